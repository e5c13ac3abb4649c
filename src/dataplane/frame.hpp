// Classifies a received Ethernet frame and, for IPv4 or IPv6 UDP, exposes
// the fields the relay needs. Pure function over a byte span: no allocation,
// no syscall.
#pragma once

#include "core/address.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mcr::dataplane {

inline constexpr std::size_t kEthernetHeaderBytes = 14;
inline constexpr std::size_t kIpv4MinHeaderBytes = 20;
inline constexpr std::size_t kIpv6HeaderBytes = 40;
inline constexpr std::size_t kUdpHeaderBytes = 8;
inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::uint8_t kIpProtocolUdp = 17;
inline constexpr std::uint16_t kIpMoreFragmentsFlag = 0x2000;
inline constexpr std::uint16_t kIpFragmentOffsetMask = 0x1fff;
// IPv6 extension headers walked: at most this many hop-by-hop and
// destination options headers before the upper-layer header.
inline constexpr unsigned kMaxIpv6ExtensionHeaders = 8;

// What a frame is, in the order the checks run (the first that applies):
//   malformed   shorter than an Ethernet header; IPv4: truncated IP header,
//               version != 4, IHL < 5, IP total length beyond the frame or
//               shorter than the header (+ 8 for UDP), UDP length != IP
//               payload; IPv6: truncated base header, version != 6, payload
//               length beyond the frame, UDP header beyond the packet, UDP
//               length != what the packet holds after the extension headers
//   not_ip      EtherType is neither IPv4 nor IPv6 (an 802.1Q-tagged frame
//               counts here: the kernel normally strips tags before
//               AF_PACKET sees them)
//   fragment    IPv4: MF set or fragment offset != 0 (no reassembly)
//   ip_options  IPv4: IHL > 5 (counted and dropped: routers rarely see such
//               multicast, and rewriting past options is not worth the risk)
//   ipv6_extension_chain  IPv6: a chain the relay cannot walk: more than
//               kMaxIpv6ExtensionHeaders hop-by-hop/destination options
//               headers, hop-by-hop anywhere but first, an extension header
//               it does not walk (AH, mobility, HIP, shim6, experimental),
//               or one that runs past the packet
//   ipv6_fragment         IPv6: a fragment header (no reassembly)
//   ipv6_routing_header   IPv6: a routing header (the destination on the
//               wire is not the final one: never relayed)
//   not_udp     another upper-layer protocol
//   zero_udp_checksum     IPv6 UDP with checksum 0, invalid (RFC 8200 8.1)
//   accepted    UDP, every length consistent
enum class FrameClass : std::uint8_t {
    accepted,
    not_ip,
    malformed,
    fragment,
    ip_options,
    not_udp,
    ipv6_fragment,
    ipv6_routing_header,
    ipv6_extension_chain,
    zero_udp_checksum,
};

// An address as a frame or rule carries it: network-order bytes, the first
// 4 for IPv4 (the rest zero), all 16 for IPv6: mcr::IpAddress::bytes().
using AddressBytes = std::array<std::uint8_t, 16>;

// Field values in host byte order unless said otherwise; offsets index into
// `frame`. The relayed copy is built from the IP header's fields here and
// the UDP header + payload at udp_offset, so IPv6 extension headers (walked,
// not copied) never matter past the parser.
struct UdpFrameView {
    std::span<const std::uint8_t> frame;
    AddressFamily family = AddressFamily::ipv4;
    // Network order, as AddressBytes says; written whole by parse_frame() for
    // an accepted frame. Not value-initialised on purpose: zeroing the whole
    // view for every frame (rep stos) cost more than the rest of the parse.
    AddressBytes source_address;
    AddressBytes destination_address;
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    std::uint8_t ttl = 0;                // IPv4 TTL or IPv6 hop limit
    std::uint8_t traffic_class = 0;      // IPv4 TOS byte or IPv6 traffic class: DSCP and ECN
    std::uint16_t ip_checksum = 0;       // IPv4 only: as on the wire, read big-endian
    std::uint16_t udp_checksum = 0;      // 0 = sender sent none (IPv4 only: IPv6 refuses 0)
    std::uint16_t udp_length = 0;        // UDP header + payload
    std::size_t ip_offset = kEthernetHeaderBytes;
    std::size_t udp_offset = 0;          // first UDP header byte
    std::size_t payload_offset = 0;      // first UDP payload byte
    std::size_t payload_length = 0;

    [[nodiscard]] std::span<const std::uint8_t> payload() const noexcept
    {
        return frame.subspan(payload_offset, payload_length);
    }
    [[nodiscard]] bool is_ipv4() const noexcept { return family == AddressFamily::ipv4; }
    // IPv4 addresses in host order (only meaningful when is_ipv4()).
    [[nodiscard]] std::uint32_t source_ipv4() const noexcept;
    [[nodiscard]] std::uint32_t destination_ipv4() const noexcept;
};

struct ParsedFrame {
    FrameClass kind = FrameClass::malformed;
    UdpFrameView udp;  // filled only when kind == accepted
};

[[nodiscard]] ParsedFrame parse_frame(std::span<const std::uint8_t> frame) noexcept;

// Finishes a CHECKSUM_PARTIAL IPv4 or IPv6 frame in place, as a NIC would: a
// frame sent by a local socket with checksum offload carries only the
// pseudo-header sum in its UDP/TCP checksum field (the kernel says so
// through the virtio_net_hdr of a PACKET_VNET_HDR socket: NEEDS_CSUM,
// csum_start and csum_offset, offsets from the Ethernet header). Sums from
// csum_start to the end of the IP packet (never over Ethernet padding).
// Returns false, leaving the frame alone, when the offsets do not fit the
// frame.
[[nodiscard]] bool complete_partial_checksum(std::span<std::uint8_t> frame, std::size_t csum_start,
                                             std::size_t csum_offset) noexcept;
// The same for a frame flagged partial without offsets (a TPACKET_V3 ring
// says only TP_STATUS_CSUMNOTREADY): a UDP datagram right after the IPv4
// header (its IHL) or the fixed IPv6 header (next header UDP; a local
// sender's datagram with extension headers is not relayed anyway). Returns
// false, leaving the frame alone, for anything else.
[[nodiscard]] bool complete_partial_udp_checksum(std::span<std::uint8_t> frame) noexcept;

// Big-endian loads and stores, shared by parser, rewriter and tests.
[[nodiscard]] inline std::uint16_t load_be16(const std::uint8_t* p) noexcept
{
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
[[nodiscard]] inline std::uint32_t load_be32(const std::uint8_t* p) noexcept
{
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) noexcept
{
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) noexcept
{
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

inline std::uint32_t UdpFrameView::source_ipv4() const noexcept
{
    return load_be32(source_address.data());
}
inline std::uint32_t UdpFrameView::destination_ipv4() const noexcept
{
    return load_be32(destination_address.data());
}

// AddressBytes of an IPv4 address given in host order.
[[nodiscard]] inline AddressBytes ipv4_address_bytes(std::uint32_t host_order) noexcept
{
    AddressBytes bytes{};
    store_be32(bytes.data(), host_order);
    return bytes;
}

} // namespace mcr::dataplane
