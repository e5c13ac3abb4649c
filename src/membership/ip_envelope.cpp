// IPv4 (RFC 791) options and IPv6 (RFC 8200) Hop-by-Hop options are
// walked with every length checked against the datagram first.
#include "ip_envelope.hpp"

#include <array>

namespace mcr::membership {

namespace {

constexpr std::size_t kIpv4HeaderBytes = 20;
constexpr std::size_t kIpv6HeaderBytes = 40;
constexpr std::uint8_t kProtocolIgmp = 2;
constexpr std::uint8_t kNextHopByHop = 0;
constexpr std::uint8_t kNextIcmpv6 = 58;
constexpr std::uint8_t kIpv4OptionEnd = 0;
constexpr std::uint8_t kIpv4OptionNop = 1;
constexpr std::uint8_t kIpv4OptionRouterAlert = 148;
constexpr std::uint8_t kIpv6OptionPad1 = 0;
constexpr std::uint8_t kIpv6OptionRouterAlert = 5;

using Bytes = std::span<const std::uint8_t>;

// Type-length-value options from `at` to `end`: sets `router_alert` when
// `alert_type` is present; false when an option overruns.
bool scan_options(Bytes b, std::size_t at, std::size_t end, std::uint8_t alert_type, std::uint8_t single_byte,
                  bool ipv4, bool& router_alert)
{
    while (at < end) {
        const std::uint8_t type = b[at];
        if (ipv4 && type == kIpv4OptionEnd)
            return true;
        if (type == single_byte) {
            ++at;
            continue;
        }
        if (end - at < 2)
            return false;
        // IPv4 option lengths count the type and length bytes, IPv6's do not.
        const std::size_t length = ipv4 ? b[at + 1] : std::size_t{b[at + 1]} + 2;
        if (length < 2 || end - at < length)
            return false;
        if (type == alert_type)
            router_alert = true;
        at += length;
    }
    return true;
}

} // namespace

Result<ReceivedPacket, ParseError> unwrap_ipv4(Bytes d)
{
    if (d.size() < kIpv4HeaderBytes || (d[0] >> 4) != 4)
        return ParseError::truncated;
    const std::size_t header = std::size_t{d[0] & 0x0fU} * 4;
    const std::size_t total = (std::size_t{d[2]} << 8) | d[3];
    if (header < kIpv4HeaderBytes || total < header || total > d.size())
        return ParseError::truncated;
    if ((((d[6] << 8) | d[7]) & 0x3fff) != 0) // MF set or an offset: a fragment
        return ParseError::truncated;
    if (d[9] != kProtocolIgmp)
        return ParseError::not_membership;
    ReceivedPacket packet;
    if (!scan_options(d, kIpv4HeaderBytes, header, kIpv4OptionRouterAlert, kIpv4OptionNop, true, packet.router_alert))
        return ParseError::truncated;
    auto address = [&](std::size_t at) {
        return IpAddress::from_ipv4((std::uint32_t{d[at]} << 24) | (std::uint32_t{d[at + 1]} << 16) |
                                    (std::uint32_t{d[at + 2]} << 8) | d[at + 3]);
    };
    packet.source = address(12);
    packet.destination = address(16);
    packet.hop_limit = d[8];
    packet.payload = d.subspan(header, total - header);
    return packet;
}

Result<ReceivedPacket, ParseError> unwrap_ipv6(Bytes d)
{
    if (d.size() < kIpv6HeaderBytes || (d[0] >> 4) != 6)
        return ParseError::truncated;
    const std::size_t payload_length = (std::size_t{d[4]} << 8) | d[5];
    if (payload_length > d.size() - kIpv6HeaderBytes)
        return ParseError::truncated;
    const std::size_t end = kIpv6HeaderBytes + payload_length;
    ReceivedPacket packet;
    std::uint8_t next = d[6];
    std::size_t at = kIpv6HeaderBytes;
    if (next == kNextHopByHop) {
        if (end - at < 8)
            return ParseError::truncated;
        const std::size_t length = (std::size_t{d[at + 1]} + 1) * 8;
        if (end - at < length)
            return ParseError::truncated;
        if (!scan_options(d, at + 2, at + length, kIpv6OptionRouterAlert, kIpv6OptionPad1, false, packet.router_alert))
            return ParseError::truncated;
        next = d[at];
        at += length;
    }
    if (next != kNextIcmpv6)
        return ParseError::not_membership;
    auto address = [&](std::size_t offset) {
        std::array<std::uint8_t, 16> bytes{};
        for (std::size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = d[offset + i];
        return IpAddress::from_ipv6(bytes);
    };
    packet.source = address(8);
    packet.destination = address(24);
    packet.hop_limit = d[7];
    packet.payload = d.subspan(at, end - at);
    return packet;
}

} // namespace mcr::membership
