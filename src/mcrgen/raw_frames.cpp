// Frame layout for mcrgen's raw sender, in network byte order throughout.
#include "raw_frames.hpp"

#include "dataplane/checksum.hpp"

#include <charconv>
#include <cstdio>

namespace mcr::gen {
namespace {

using dataplane::checksum_accumulate;
using dataplane::checksum_fold;
using dataplane::kEthernetHeaderBytes;
using dataplane::kIpProtocolUdp;
using dataplane::kIpv4MinHeaderBytes;
using dataplane::kIpv6HeaderBytes;
using dataplane::kUdpHeaderBytes;

constexpr std::uint8_t kIpv4VersionIhl = 0x45;       // version 4, 5 words: no options
constexpr std::uint16_t kIpv4DontFragment = 0x4000;
constexpr std::uint8_t kIpv6Version = 0x60;

void put16(std::byte* out, std::uint16_t value)
{
    dataplane::store_be16(reinterpret_cast<std::uint8_t*>(out), value);
}

std::span<const std::uint8_t> as_octets(std::span<const std::byte> bytes)
{
    return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}

std::size_t ip_header_bytes(const IpAddress& address)
{
    return address.is_ipv4() ? kIpv4MinHeaderBytes : kIpv6HeaderBytes;
}

std::span<const std::uint8_t> address_octets(const IpAddress& address)
{
    return std::span(address.bytes()).first(address.is_ipv4() ? 4 : 16);
}

// Writes the IPv4 header at `out` with its checksum, which stays valid for
// every packet: nothing in it changes per packet. The identification is 0
// with DF set, as RFC 6864 allows for datagrams that are never fragmented.
void write_ipv4_header(std::byte* out, const RawFrameSpec& spec, std::size_t udp_bytes)
{
    out[0] = static_cast<std::byte>(kIpv4VersionIhl);
    out[1] = std::byte{0};
    put16(out + 2, static_cast<std::uint16_t>(kIpv4MinHeaderBytes + udp_bytes));
    put16(out + 4, 0);
    put16(out + 6, kIpv4DontFragment);
    out[8] = static_cast<std::byte>(spec.ttl);
    out[9] = static_cast<std::byte>(kIpProtocolUdp);
    put16(out + 10, 0);
    for (std::size_t i = 0; i < 4; ++i) {
        out[12 + i] = static_cast<std::byte>(spec.source.bytes()[i]);
        out[16 + i] = static_cast<std::byte>(spec.destination.bytes()[i]);
    }
    put16(out + 10, dataplane::internet_checksum(as_octets({out, kIpv4MinHeaderBytes})));
}

void write_ipv6_header(std::byte* out, const RawFrameSpec& spec, std::size_t udp_bytes)
{
    out[0] = static_cast<std::byte>(kIpv6Version);  // traffic class and flow label 0
    out[1] = out[2] = out[3] = std::byte{0};
    put16(out + 4, static_cast<std::uint16_t>(udp_bytes));
    out[6] = static_cast<std::byte>(kIpProtocolUdp);
    out[7] = static_cast<std::byte>(spec.ttl);
    for (std::size_t i = 0; i < 16; ++i) {
        out[8 + i] = static_cast<std::byte>(spec.source.bytes()[i]);
        out[24 + i] = static_cast<std::byte>(spec.destination.bytes()[i]);
    }
}

// The pseudo-header sum (RFC 768 / RFC 8200 8.1): addresses, protocol and
// UDP length; the two layouts differ in width only, their sums alike.
std::uint32_t pseudo_header_sum(const RawFrameSpec& spec, std::size_t udp_bytes)
{
    std::uint32_t sum = checksum_accumulate(address_octets(spec.source), 0);
    sum = checksum_accumulate(address_octets(spec.destination), sum);
    sum += kIpProtocolUdp;
    sum += static_cast<std::uint32_t>(udp_bytes >> 16);
    sum += static_cast<std::uint32_t>(udp_bytes & 0xffffU);
    return sum;
}

} // namespace

std::optional<MacAddress> parse_mac(std::string_view text)
{
    constexpr std::size_t kTextBytes = 17;  // six pairs, five colons
    if (text.size() != kTextBytes)
        return std::nullopt;
    MacAddress mac{};
    for (std::size_t i = 0; i < mac.size(); ++i) {
        const char* pair = text.data() + 3 * i;
        const auto [end, error] = std::from_chars(pair, pair + 2, mac[i], 16);
        if (error != std::errc{} || end != pair + 2 || (i + 1 < mac.size() && *end != ':'))
            return std::nullopt;
    }
    return mac;
}

std::string mac_to_string(const MacAddress& mac)
{
    std::array<char, 18> text{};
    (void)std::snprintf(text.data(), text.size(), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                        mac[4], mac[5]);
    return text.data();
}

std::optional<MacAddress> multicast_mac(const IpAddress& group)
{
    if (!group.is_multicast())
        return std::nullopt;
    const auto& b = group.bytes();
    if (group.is_ipv4())
        return MacAddress{0x01, 0x00, 0x5e, static_cast<std::uint8_t>(b[1] & 0x7f), b[2], b[3]};
    return MacAddress{0x33, 0x33, b[12], b[13], b[14], b[15]};
}

std::size_t raw_frame_bytes(const IpAddress& destination, std::size_t payload_bytes) noexcept
{
    return kEthernetHeaderBytes + ip_header_bytes(destination) + kUdpHeaderBytes + payload_bytes;
}

RawFrameTemplate::RawFrameTemplate(const RawFrameSpec& spec, std::span<const std::byte> payload)
    : bytes_(raw_frame_bytes(spec.destination, payload.size())),
      payload_offset_(kEthernetHeaderBytes + ip_header_bytes(spec.destination) + kUdpHeaderBytes),
      stamped_bytes_(spec.stamped_bytes)
{
    std::byte* frame = bytes_.data();
    for (std::size_t i = 0; i < 6; ++i) {
        frame[i] = static_cast<std::byte>(spec.destination_mac[i]);
        frame[6 + i] = static_cast<std::byte>(spec.source_mac[i]);
    }
    const bool ipv4 = spec.destination.is_ipv4();
    put16(frame + 12, ipv4 ? dataplane::kEtherTypeIpv4 : dataplane::kEtherTypeIpv6);

    const std::size_t udp_bytes = kUdpHeaderBytes + payload.size();
    std::byte* ip = frame + kEthernetHeaderBytes;
    if (ipv4)
        write_ipv4_header(ip, spec, udp_bytes);
    else
        write_ipv6_header(ip, spec, udp_bytes);

    std::byte* udp = frame + payload_offset_ - kUdpHeaderBytes;
    put16(udp, spec.source_port);
    put16(udp + 2, spec.destination_port);
    put16(udp + 4, static_cast<std::uint16_t>(udp_bytes));
    put16(udp + 6, 0);
    for (std::size_t i = 0; i < payload.size(); ++i)
        frame[payload_offset_ + i] = payload[i];

    std::uint32_t sum = pseudo_header_sum(spec, udp_bytes);
    sum = checksum_accumulate(as_octets({udp, kUdpHeaderBytes}), sum);
    unstamped_sum_ = checksum_accumulate(as_octets(payload.subspan(stamped_bytes_)), sum);
    seal(bytes_);
}

void RawFrameTemplate::seal(std::span<std::byte> frame) const noexcept
{
    const auto stamped = frame.subspan(payload_offset_, stamped_bytes_);
    auto checksum = static_cast<std::uint16_t>(~checksum_fold(checksum_accumulate(as_octets(stamped), unstamped_sum_)));
    // UDP sends a computed zero as all ones: zero means "no checksum" (IPv4)
    // and is forbidden (IPv6).
    if (checksum == 0)
        checksum = 0xffff;
    put16(frame.data() + payload_offset_ - 2, checksum);
}

} // namespace mcr::gen
