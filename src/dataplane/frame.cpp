// Frame classification: every length is checked here, once, so later stages
// (lookup, rewrite) can index the frame without further bounds checks.
#include "frame.hpp"

#include "checksum.hpp"

#include <cstring>

namespace mcr::dataplane {

namespace {

// IPv6 next-header values (IANA "Assigned Internet Protocol Numbers").
constexpr std::uint8_t kNextHopByHop = 0;
constexpr std::uint8_t kNextRouting = 43;
constexpr std::uint8_t kNextFragment = 44;
constexpr std::uint8_t kNextAuthentication = 51;
constexpr std::uint8_t kNextDestinationOptions = 60;
constexpr std::uint8_t kNextMobility = 135;
constexpr std::uint8_t kNextHip = 139;
constexpr std::uint8_t kNextShim6 = 140;
constexpr std::uint8_t kNextExperimental1 = 253;
constexpr std::uint8_t kNextExperimental2 = 254;

// Extension headers (RFC 8200 4, RFC 7045) that the relay does not walk:
// after one of them it cannot tell where, or whether, UDP begins.
bool unwalkable_extension(std::uint8_t next) noexcept
{
    return next == kNextAuthentication || next == kNextMobility || next == kNextHip || next == kNextShim6 ||
           next == kNextExperimental1 || next == kNextExperimental2;
}

// The UDP header at `udp` (inside the IP packet, which ends at `ip_end`):
// lengths consistent, then the view filled. `view` has its IP fields set.
FrameClass take_udp(std::span<const std::uint8_t> frame, std::size_t udp_offset, std::size_t ip_end,
                    UdpFrameView& view) noexcept
{
    if (udp_offset + kUdpHeaderBytes > ip_end)
        return FrameClass::malformed;
    const std::uint8_t* udp = frame.data() + udp_offset;
    const std::uint16_t udp_length = load_be16(udp + 4);
    if (udp_length != ip_end - udp_offset)
        return FrameClass::malformed;
    view.frame = frame;
    view.source_port = load_be16(udp);
    view.destination_port = load_be16(udp + 2);
    view.udp_checksum = load_be16(udp + 6);
    view.udp_length = udp_length;
    view.udp_offset = udp_offset;
    view.payload_offset = udp_offset + kUdpHeaderBytes;
    view.payload_length = udp_length - kUdpHeaderBytes;
    return FrameClass::accepted;
}

FrameClass parse_ipv4(std::span<const std::uint8_t> frame, UdpFrameView& view) noexcept
{
    const std::size_t ip_room = frame.size() - kEthernetHeaderBytes;
    if (ip_room < kIpv4MinHeaderBytes)
        return FrameClass::malformed;
    const std::uint8_t* ip = frame.data() + kEthernetHeaderBytes;
    const unsigned version = ip[0] >> 4;
    const std::size_t header_bytes = std::size_t{ip[0] & 0x0fU} * 4;
    if (version != 4 || header_bytes < kIpv4MinHeaderBytes || header_bytes > ip_room)
        return FrameClass::malformed;
    const std::uint16_t total_length = load_be16(ip + 2);
    // Ethernet pads short frames to 60 bytes, so the frame may be longer
    // than the IP packet but never shorter.
    if (total_length > ip_room || total_length < header_bytes)
        return FrameClass::malformed;
    const std::uint16_t flags_fragment = load_be16(ip + 6);
    if ((flags_fragment & kIpMoreFragmentsFlag) != 0 || (flags_fragment & kIpFragmentOffsetMask) != 0)
        return FrameClass::fragment;
    if (header_bytes > kIpv4MinHeaderBytes)
        return FrameClass::ip_options;
    if (ip[9] != kIpProtocolUdp)
        return FrameClass::not_udp;
    const FrameClass kind = take_udp(frame, kEthernetHeaderBytes + header_bytes,
                                     kEthernetHeaderBytes + total_length, view);
    if (kind != FrameClass::accepted)
        return kind;
    view.family = AddressFamily::ipv4;
    view.traffic_class = ip[1];
    view.ttl = ip[8];
    view.ip_checksum = load_be16(ip + 10);
    view.source_address = ipv4_address_bytes(load_be32(ip + 12));
    view.destination_address = ipv4_address_bytes(load_be32(ip + 16));
    return FrameClass::accepted;
}

FrameClass parse_ipv6(std::span<const std::uint8_t> frame, UdpFrameView& view) noexcept
{
    const std::size_t ip_room = frame.size() - kEthernetHeaderBytes;
    if (ip_room < kIpv6HeaderBytes)
        return FrameClass::malformed;
    const std::uint8_t* ip = frame.data() + kEthernetHeaderBytes;
    if ((ip[0] >> 4) != 6)
        return FrameClass::malformed;
    const std::size_t payload_length = load_be16(ip + 4);
    // A jumbogram (payload length 0, RFC 2675) never fits an Ethernet frame:
    // it is malformed below, its UDP header past the packet.
    if (kIpv6HeaderBytes + payload_length > ip_room)
        return FrameClass::malformed;
    const std::size_t ip_end = kEthernetHeaderBytes + kIpv6HeaderBytes + payload_length;
    std::size_t offset = kEthernetHeaderBytes + kIpv6HeaderBytes;
    std::uint8_t next = ip[6];
    // Bounded walk over hop-by-hop and destination options headers; each
    // header's length is checked against the packet before it is skipped.
    for (unsigned walked = 0; next == kNextHopByHop || next == kNextDestinationOptions; ++walked) {
        if (walked == kMaxIpv6ExtensionHeaders || (next == kNextHopByHop && walked != 0) || offset + 2 > ip_end)
            return FrameClass::ipv6_extension_chain;
        const std::size_t header_bytes = (std::size_t{frame[offset + 1]} + 1) * 8;
        if (offset + header_bytes > ip_end)
            return FrameClass::ipv6_extension_chain;
        next = frame[offset];
        offset += header_bytes;
    }
    if (next == kNextFragment)
        return FrameClass::ipv6_fragment;
    if (next == kNextRouting)
        return FrameClass::ipv6_routing_header;
    if (unwalkable_extension(next))
        return FrameClass::ipv6_extension_chain;
    if (next != kIpProtocolUdp)
        return FrameClass::not_udp;
    const FrameClass kind = take_udp(frame, offset, ip_end, view);
    if (kind != FrameClass::accepted)
        return kind;
    if (view.udp_checksum == 0)
        return FrameClass::zero_udp_checksum;
    view.family = AddressFamily::ipv6;
    view.traffic_class = static_cast<std::uint8_t>((load_be16(ip) >> 4) & 0xffU);
    view.ttl = ip[7];
    std::memcpy(view.source_address.data(), ip + 8, 16);
    std::memcpy(view.destination_address.data(), ip + 24, 16);
    return FrameClass::accepted;
}

} // namespace

ParsedFrame parse_frame(std::span<const std::uint8_t> frame) noexcept
{
    ParsedFrame out;
    if (frame.size() < kEthernetHeaderBytes)
        return out; // malformed
    const std::uint16_t ether_type = load_be16(frame.data() + 12);
    if (ether_type == kEtherTypeIpv4)
        out.kind = parse_ipv4(frame, out.udp);
    else if (ether_type == kEtherTypeIpv6)
        out.kind = parse_ipv6(frame, out.udp);
    else
        out.kind = FrameClass::not_ip;
    return out;
}

bool complete_partial_checksum(std::span<std::uint8_t> frame, std::size_t csum_start, std::size_t csum_offset) noexcept
{
    constexpr std::size_t kUdpChecksumOffset = 6;
    if (frame.size() < kEthernetHeaderBytes)
        return false;
    const std::uint16_t ether_type = load_be16(frame.data() + 12);
    const std::uint8_t* ip = frame.data() + kEthernetHeaderBytes;
    std::size_t ip_end = 0;
    std::size_t header_bytes = 0;
    bool udp = false;
    if (ether_type == kEtherTypeIpv4 && frame.size() >= kEthernetHeaderBytes + kIpv4MinHeaderBytes) {
        ip_end = kEthernetHeaderBytes + load_be16(ip + 2);
        header_bytes = kIpv4MinHeaderBytes;
        udp = ip[9] == kIpProtocolUdp;
    } else if (ether_type == kEtherTypeIpv6 && frame.size() >= kEthernetHeaderBytes + kIpv6HeaderBytes) {
        ip_end = kEthernetHeaderBytes + kIpv6HeaderBytes + load_be16(ip + 4);
        header_bytes = kIpv6HeaderBytes;
        // Extension headers may sit between: the offset tells UDP (6) from
        // TCP (16), the two protocols the kernel offloads here.
        udp = csum_offset == kUdpChecksumOffset;
    } else {
        return false;
    }
    if (ip_end > frame.size() || csum_start < kEthernetHeaderBytes + header_bytes || csum_start + csum_offset + 2 > ip_end)
        return false;
    std::uint16_t checksum = static_cast<std::uint16_t>(
        ~checksum_fold(checksum_accumulate(frame.subspan(csum_start, ip_end - csum_start), 0)));
    // For UDP a computed 0 goes out as 0xffff (0 would mean "no checksum").
    if (checksum == 0 && udp)
        checksum = 0xffff;
    store_be16(frame.data() + csum_start + csum_offset, checksum);
    return true;
}

bool complete_partial_udp_checksum(std::span<std::uint8_t> frame) noexcept
{
    constexpr std::size_t kUdpChecksumOffset = 6;
    constexpr std::size_t kIpv6NextHeaderOffset = 6;
    if (frame.size() < kEthernetHeaderBytes + kIpv4MinHeaderBytes)
        return false;
    const std::uint16_t ether_type = load_be16(frame.data() + 12);
    const std::uint8_t* ip = frame.data() + kEthernetHeaderBytes;
    if (ether_type == kEtherTypeIpv4 && ip[9] == kIpProtocolUdp)
        return complete_partial_checksum(frame, kEthernetHeaderBytes + std::size_t{ip[0] & 0x0fU} * 4,
                                         kUdpChecksumOffset);
    if (ether_type == kEtherTypeIpv6 && frame.size() >= kEthernetHeaderBytes + kIpv6HeaderBytes &&
        ip[kIpv6NextHeaderOffset] == kIpProtocolUdp)
        return complete_partial_checksum(frame, kEthernetHeaderBytes + kIpv6HeaderBytes, kUdpChecksumOffset);
    return false;
}

} // namespace mcr::dataplane
