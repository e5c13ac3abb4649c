// Classifies a received Ethernet frame and, for IPv4 UDP, exposes the fields
// the relay needs. Pure function over a byte span: no allocation, no syscall.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mcr::dataplane {

inline constexpr std::size_t kEthernetHeaderBytes = 14;
inline constexpr std::size_t kIpv4MinHeaderBytes = 20;
inline constexpr std::size_t kUdpHeaderBytes = 8;
inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint8_t kIpProtocolUdp = 17;
inline constexpr std::uint16_t kIpMoreFragmentsFlag = 0x2000;
inline constexpr std::uint16_t kIpFragmentOffsetMask = 0x1fff;

// What a frame is, in the order the checks run (the first that applies):
//   malformed   shorter than an Ethernet header, truncated IP header, IP
//               version != 4, IHL < 5, IP total length beyond the frame or
//               shorter than the header (+ 8 for UDP), UDP length != IP payload
//   not_ip      EtherType is not IPv4 (an 802.1Q-tagged frame counts here:
//               the kernel normally strips tags before AF_PACKET sees them)
//   fragment    MF set or fragment offset != 0 (no reassembly: counted, dropped)
//   ip_options  IHL > 5 (counted and dropped: routers rarely see such
//               multicast, and rewriting past options is not worth the risk)
//   not_udp     IPv4 but another protocol
//   accepted    IPv4 UDP, every length consistent
enum class FrameClass : std::uint8_t { accepted, not_ip, malformed, fragment, ip_options, not_udp };

// Field values in host byte order; offsets index into `frame`.
struct UdpFrameView {
    std::span<const std::uint8_t> frame;
    std::uint32_t source_address = 0;
    std::uint32_t destination_address = 0;
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    std::uint8_t ttl = 0;
    std::uint16_t ip_total_length = 0;   // IP header + UDP header + payload
    std::uint16_t ip_checksum = 0;       // as on the wire, read big-endian
    std::uint16_t udp_checksum = 0;      // 0 = sender sent none
    std::size_t payload_offset = 0;      // first UDP payload byte
    std::size_t payload_length = 0;

    [[nodiscard]] std::span<const std::uint8_t> payload() const noexcept
    {
        return frame.subspan(payload_offset, payload_length);
    }
};

struct ParsedFrame {
    FrameClass kind = FrameClass::malformed;
    UdpFrameView udp;  // filled only when kind == accepted
};

[[nodiscard]] ParsedFrame parse_frame(std::span<const std::uint8_t> frame) noexcept;

// Finishes a CHECKSUM_PARTIAL IPv4 frame in place, as a NIC would: a frame
// sent by a local socket with checksum offload carries only the pseudo-header
// sum in its UDP/TCP checksum field (the kernel says so through the
// virtio_net_hdr of a PACKET_VNET_HDR socket: NEEDS_CSUM, csum_start and
// csum_offset, offsets from the Ethernet header). Sums from csum_start to the
// end of the IP packet (never over Ethernet padding). Returns false, leaving
// the frame alone, when the offsets do not fit the frame.
[[nodiscard]] bool complete_partial_checksum(std::span<std::uint8_t> frame, std::size_t csum_start,
                                             std::size_t csum_offset) noexcept;

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

} // namespace mcr::dataplane
