// Frame classification: every length is checked here, once, so later stages
// (lookup, rewrite) can index the frame without further bounds checks.
#include "frame.hpp"

#include "checksum.hpp"

namespace mcr::dataplane {

ParsedFrame parse_frame(std::span<const std::uint8_t> frame) noexcept
{
    ParsedFrame out;
    if (frame.size() < kEthernetHeaderBytes)
        return out; // malformed
    const std::uint8_t* eth = frame.data();
    if (load_be16(eth + 12) != kEtherTypeIpv4) {
        out.kind = FrameClass::not_ip;
        return out;
    }
    const std::size_t ip_room = frame.size() - kEthernetHeaderBytes;
    if (ip_room < kIpv4MinHeaderBytes)
        return out;
    const std::uint8_t* ip = eth + kEthernetHeaderBytes;
    const unsigned version = ip[0] >> 4;
    const std::size_t header_bytes = std::size_t{ip[0] & 0x0fU} * 4;
    if (version != 4 || header_bytes < kIpv4MinHeaderBytes || header_bytes > ip_room)
        return out;
    const std::uint16_t total_length = load_be16(ip + 2);
    // Ethernet pads short frames to 60 bytes, so the frame may be longer
    // than the IP packet but never shorter.
    if (total_length > ip_room || total_length < header_bytes)
        return out;
    const std::uint16_t flags_fragment = load_be16(ip + 6);
    if ((flags_fragment & kIpMoreFragmentsFlag) != 0 || (flags_fragment & kIpFragmentOffsetMask) != 0) {
        out.kind = FrameClass::fragment;
        return out;
    }
    if (header_bytes > kIpv4MinHeaderBytes) {
        out.kind = FrameClass::ip_options;
        return out;
    }
    if (ip[9] != kIpProtocolUdp) {
        out.kind = FrameClass::not_udp;
        return out;
    }
    if (total_length < header_bytes + kUdpHeaderBytes)
        return out;
    const std::uint8_t* udp = ip + header_bytes;
    const std::uint16_t udp_length = load_be16(udp + 4);
    if (udp_length != total_length - header_bytes)
        return out;

    out.kind = FrameClass::accepted;
    UdpFrameView& v = out.udp;
    v.frame = frame;
    v.ttl = ip[8];
    v.ip_checksum = load_be16(ip + 10);
    v.source_address = load_be32(ip + 12);
    v.destination_address = load_be32(ip + 16);
    v.ip_total_length = total_length;
    v.source_port = load_be16(udp);
    v.destination_port = load_be16(udp + 2);
    v.udp_checksum = load_be16(udp + 6);
    v.payload_offset = kEthernetHeaderBytes + header_bytes + kUdpHeaderBytes;
    v.payload_length = udp_length - kUdpHeaderBytes;
    return out;
}

bool complete_partial_checksum(std::span<std::uint8_t> frame, std::size_t csum_start, std::size_t csum_offset) noexcept
{
    if (frame.size() < kEthernetHeaderBytes + kIpv4MinHeaderBytes || load_be16(frame.data() + 12) != kEtherTypeIpv4)
        return false;
    const std::uint8_t* ip = frame.data() + kEthernetHeaderBytes;
    const std::size_t ip_end = kEthernetHeaderBytes + load_be16(ip + 2);
    if (ip_end > frame.size() || csum_start < kEthernetHeaderBytes + kIpv4MinHeaderBytes ||
        csum_start + csum_offset + 2 > ip_end)
        return false;
    std::uint16_t checksum = static_cast<std::uint16_t>(
        ~checksum_fold(checksum_accumulate(frame.subspan(csum_start, ip_end - csum_start), 0)));
    // For UDP a computed 0 goes out as 0xffff (0 would mean "no checksum").
    if (checksum == 0 && ip[9] == kIpProtocolUdp)
        checksum = 0xffff;
    store_be16(frame.data() + csum_start + csum_offset, checksum);
    return true;
}

} // namespace mcr::dataplane
