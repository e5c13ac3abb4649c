// Per-output rewrite: copies the packet once and patches addresses, port and
// TTL, updating both checksums incrementally (RFC 1624) instead of summing
// the payload again.
#include "packet_rewrite.hpp"

#include "checksum.hpp"

#include <cstring>

namespace mcr::dataplane {

namespace {
constexpr std::size_t kIpTtlOffset = 8;
constexpr std::size_t kIpChecksumOffset = 10;
constexpr std::size_t kIpDestinationOffset = 16;
constexpr std::size_t kUdpDestinationPortOffset = 2;
constexpr std::size_t kUdpChecksumOffset = 6;
} // namespace

MacAddress multicast_mac(std::uint32_t group) noexcept
{
    return {0x01, 0x00, 0x5e, static_cast<std::uint8_t>((group >> 16) & 0x7fU),
            static_cast<std::uint8_t>(group >> 8), static_cast<std::uint8_t>(group)};
}

std::uint8_t output_ttl(const UdpFrameView& in, const OutputRewrite& out) noexcept
{
    if (out.ttl)
        return *out.ttl;
    return in.ttl > 1 ? static_cast<std::uint8_t>(in.ttl - 1) : std::uint8_t{1};
}

std::size_t rewrite_for_output(const UdpFrameView& in, const OutputRewrite& out, std::span<std::uint8_t> buffer) noexcept
{
    const std::size_t length = rewritten_length(in, out);
    if (length > buffer.size())
        return 0;
    if (!out.multicast) {
        std::memcpy(buffer.data(), in.frame.data() + in.payload_offset, in.payload_length);
        return length;
    }

    std::uint8_t* eth = buffer.data();
    std::memcpy(eth, out.destination_mac.data(), out.destination_mac.size());
    std::memcpy(eth + 6, out.source_mac.data(), out.source_mac.size());
    store_be16(eth + 12, kEtherTypeIpv4);
    std::memcpy(eth + kEthernetHeaderBytes, in.frame.data() + kEthernetHeaderBytes, in.ip_total_length);

    std::uint8_t* ip = eth + kEthernetHeaderBytes;
    std::uint8_t* udp = ip + kIpv4MinHeaderBytes; // parse_frame accepts no IP options
    const std::uint8_t new_ttl = output_ttl(in, out);
    // TTL shares its 16-bit word with the protocol byte.
    const auto old_ttl_word = static_cast<std::uint16_t>((in.ttl << 8) | ip[kIpTtlOffset + 1]);
    const auto new_ttl_word = static_cast<std::uint16_t>((new_ttl << 8) | ip[kIpTtlOffset + 1]);
    std::uint16_t ip_check = checksum_replace16(in.ip_checksum, old_ttl_word, new_ttl_word);
    ip_check = checksum_replace32(ip_check, in.destination_address, out.destination_address);
    ip[kIpTtlOffset] = new_ttl;
    store_be32(ip + kIpDestinationOffset, out.destination_address);
    store_be16(ip + kIpChecksumOffset, ip_check);

    store_be16(udp + kUdpDestinationPortOffset, out.destination_port);
    // A UDP checksum of 0 means "none" (RFC 768): keep it that way.
    if (in.udp_checksum != 0) {
        std::uint16_t udp_check = checksum_replace32(in.udp_checksum, in.destination_address, out.destination_address);
        udp_check = checksum_replace16(udp_check, in.destination_port, out.destination_port);
        // A computed 0 is sent as 0xffff, since 0 would mean "none".
        store_be16(udp + kUdpChecksumOffset, udp_check == 0 ? std::uint16_t{0xffff} : udp_check);
    }
    return length;
}

} // namespace mcr::dataplane
