// Big-endian encoding of the mcrgen payload header (network order, so a
// capture in tshark reads the same numbers).
#include "payload_header.hpp"

namespace mcr::gen {
namespace {

template <typename Int>
void store_big_endian(Int value, std::byte* out)
{
    for (std::size_t i = 0; i < sizeof(Int); ++i)
        out[i] = static_cast<std::byte>(value >> (8 * (sizeof(Int) - 1 - i)));
}

template <typename Int>
Int load_big_endian(const std::byte* in)
{
    Int value = 0;
    for (std::size_t i = 0; i < sizeof(Int); ++i)
        value = static_cast<Int>((value << 8) | std::to_integer<Int>(in[i]));
    return value;
}

constexpr std::size_t kMagicOffset = 0;
constexpr std::size_t kStreamOffset = 4;
constexpr std::size_t kSequenceOffset = 8;
constexpr std::size_t kSentOffset = 16;

} // namespace

bool encode_payload_header(const PayloadHeader& header, std::span<std::byte> payload)
{
    if (payload.size() < kPayloadHeaderBytes)
        return false;
    store_big_endian(kPayloadMagic, payload.data() + kMagicOffset);
    store_big_endian(header.stream_id, payload.data() + kStreamOffset);
    store_big_endian(header.sequence, payload.data() + kSequenceOffset);
    store_big_endian(header.sent_ns, payload.data() + kSentOffset);
    return true;
}

bool encode_rtp_prefix(std::uint32_t stream_id, std::uint64_t sequence, std::span<std::byte> payload)
{
    constexpr std::uint8_t kVersion2 = 0x80;
    constexpr std::uint8_t kPayloadType = 96;
    constexpr std::uint64_t kTicksPerPacket = 90;
    if (payload.size() < kRtpPrefixBytes)
        return false;
    payload[0] = static_cast<std::byte>(kVersion2);
    payload[1] = static_cast<std::byte>(kPayloadType);
    store_big_endian(static_cast<std::uint16_t>(sequence), payload.data() + 2);
    store_big_endian(static_cast<std::uint32_t>(sequence * kTicksPerPacket), payload.data() + 4);
    store_big_endian(stream_id, payload.data() + 8);
    return true;
}

std::optional<PayloadHeader> decode_payload_header(std::span<const std::byte> payload)
{
    if (payload.size() < kPayloadHeaderBytes)
        return std::nullopt;
    if (load_big_endian<std::uint32_t>(payload.data() + kMagicOffset) != kPayloadMagic)
        return std::nullopt;
    PayloadHeader header;
    header.stream_id = load_big_endian<std::uint32_t>(payload.data() + kStreamOffset);
    header.sequence = load_big_endian<std::uint64_t>(payload.data() + kSequenceOffset);
    header.sent_ns = load_big_endian<std::uint64_t>(payload.data() + kSentOffset);
    return header;
}

} // namespace mcr::gen
