// Per-output rewrite: copies the packet once and patches addresses, port and
// TTL (hop limit), updating the checksums incrementally (RFC 1624) instead
// of summing the payload again. A translated copy gets a new IP header; its
// UDP checksum still changes incrementally, except when an IPv4 sender sent
// none (0), which IPv6 does not allow: then it is summed once.
#include "packet_rewrite.hpp"

#include "checksum.hpp"

#include <cstring>

namespace mcr::dataplane {

namespace {
constexpr std::size_t kIpTtlOffset = 8;
constexpr std::size_t kIpChecksumOffset = 10;
constexpr std::size_t kIpDestinationOffset = 16;
constexpr std::size_t kIpv6HopLimitOffset = 7;
constexpr std::size_t kIpv6SourceOffset = 8;
constexpr std::size_t kIpv6DestinationOffset = 24;
constexpr std::size_t kUdpDestinationPortOffset = 2;
constexpr std::size_t kUdpChecksumOffset = 6;
// An IPv4 copy of an IPv6 packet is sent with DF: IPv6 routers never
// fragment, so neither may the routers behind us (RFC 6864 lets an atomic
// datagram's identification be 0).
constexpr std::uint16_t kIpDontFragment = 0x4000;

std::size_t address_bytes(AddressFamily family) noexcept
{
    return family == AddressFamily::ipv4 ? 4 : 16;
}

// The pseudo-header's address words of one family.
std::uint32_t address_sum(AddressFamily family, const AddressBytes& source, const AddressBytes& destination) noexcept
{
    const std::size_t n = address_bytes(family);
    return checksum_accumulate({destination.data(), n}, checksum_accumulate({source.data(), n}, 0));
}

// A computed 0 is sent as 0xffff, since 0 would mean "none".
void store_udp_checksum(std::uint8_t* udp, std::uint16_t checksum) noexcept
{
    store_be16(udp + kUdpChecksumOffset, checksum == 0 ? std::uint16_t{0xffff} : checksum);
}

// IPv4 -> IPv4: the arriving header is kept but for TTL and destination.
void rewrite_ipv4(const UdpFrameView& in, const OutputRewrite& out, std::uint8_t* ip) noexcept
{
    std::memcpy(ip, in.frame.data() + in.ip_offset, kIpv4MinHeaderBytes + in.udp_length);
    std::uint8_t* udp = ip + kIpv4MinHeaderBytes; // parse_frame accepts no IP options
    const std::uint32_t old_destination = in.destination_ipv4();
    const std::uint32_t new_destination = load_be32(out.destination_address.data());
    const std::uint8_t new_ttl = output_ttl(in, out);
    // TTL shares its 16-bit word with the protocol byte.
    const auto old_ttl_word = static_cast<std::uint16_t>((in.ttl << 8) | ip[kIpTtlOffset + 1]);
    const auto new_ttl_word = static_cast<std::uint16_t>((new_ttl << 8) | ip[kIpTtlOffset + 1]);
    std::uint16_t ip_check = checksum_replace16(in.ip_checksum, old_ttl_word, new_ttl_word);
    ip_check = checksum_replace32(ip_check, old_destination, new_destination);
    ip[kIpTtlOffset] = new_ttl;
    store_be32(ip + kIpDestinationOffset, new_destination);
    store_be16(ip + kIpChecksumOffset, ip_check);

    store_be16(udp + kUdpDestinationPortOffset, out.destination_port);
    // A UDP checksum of 0 means "none" (RFC 768): keep it that way.
    if (in.udp_checksum != 0) {
        std::uint16_t udp_check = checksum_replace32(in.udp_checksum, old_destination, new_destination);
        store_udp_checksum(udp, checksum_replace16(udp_check, in.destination_port, out.destination_port));
    }
}

// A fresh IPv6 base header: the arriving one's version, traffic class and
// flow label for an IPv6 packet, else the IPv4 TOS as traffic class and
// flow label 0 (RFC 7915 5.1). `source` is the arriving packet's or the
// egress interface's.
void write_ipv6_header(const UdpFrameView& in, const OutputRewrite& out, const AddressBytes& source,
                       std::uint8_t* ip) noexcept
{
    if (in.is_ipv4())
        store_be32(ip, (std::uint32_t{6} << 28) | (std::uint32_t{in.traffic_class} << 20));
    else
        std::memcpy(ip, in.frame.data() + in.ip_offset, 4);
    store_be16(ip + 4, in.udp_length); // no extension headers are carried
    ip[6] = kIpProtocolUdp;
    ip[kIpv6HopLimitOffset] = output_ttl(in, out);
    std::memcpy(ip + kIpv6SourceOffset, source.data(), 16);
    std::memcpy(ip + kIpv6DestinationOffset, out.destination_address.data(), 16);
}

// An IPv4 header for an IPv6 packet (RFC 7915 4.1, without options).
void write_ipv4_header(const UdpFrameView& in, const OutputRewrite& out, const AddressBytes& source,
                       std::uint8_t* ip) noexcept
{
    ip[0] = 0x45;
    ip[1] = in.traffic_class;
    store_be16(ip + 2, static_cast<std::uint16_t>(kIpv4MinHeaderBytes + in.udp_length));
    store_be16(ip + 4, 0);
    store_be16(ip + 6, kIpDontFragment);
    ip[kIpTtlOffset] = output_ttl(in, out);
    ip[9] = kIpProtocolUdp;
    store_be16(ip + kIpChecksumOffset, 0);
    std::memcpy(ip + 12, source.data(), 4);
    std::memcpy(ip + kIpDestinationOffset, out.destination_address.data(), 4);
    store_be16(ip + kIpChecksumOffset, internet_checksum({ip, kIpv4MinHeaderBytes}));
}

// IPv6 -> IPv6 and both translations: new IP header, then UDP and payload
// copied, port and checksum patched for what changed in the pseudo-header.
void rewrite_with_new_header(const UdpFrameView& in, const OutputRewrite& out, std::uint8_t* ip) noexcept
{
    const bool translated = translates(in, out);
    const AddressBytes& source = translated ? *out.source_address : in.source_address;
    std::size_t header_bytes = kIpv6HeaderBytes;
    if (out.family == AddressFamily::ipv6) {
        write_ipv6_header(in, out, source, ip);
    } else {
        write_ipv4_header(in, out, source, ip);
        header_bytes = kIpv4MinHeaderBytes;
    }
    std::uint8_t* udp = ip + header_bytes;
    std::memcpy(udp, in.frame.data() + in.udp_offset, in.udp_length);
    store_be16(udp + kUdpDestinationPortOffset, out.destination_port);
    const std::uint32_t new_addresses = address_sum(out.family, source, out.destination_address);
    if (in.udp_checksum == 0) {
        // Only an IPv4 input has none; IPv6 requires one. The pseudo-header's
        // length and protocol words sum alike in both families.
        store_be16(udp + kUdpChecksumOffset, 0);
        std::uint32_t sum = new_addresses + in.udp_length + kIpProtocolUdp;
        sum = checksum_accumulate({udp, in.udp_length}, sum);
        store_udp_checksum(udp, static_cast<std::uint16_t>(~checksum_fold(sum)));
        return;
    }
    const std::uint32_t old_addresses = address_sum(in.family, in.source_address, in.destination_address);
    const std::uint16_t check = checksum_replace_sum(in.udp_checksum, old_addresses, new_addresses);
    store_udp_checksum(udp, checksum_replace16(check, in.destination_port, out.destination_port));
}

} // namespace

MacAddress multicast_mac(std::uint32_t group) noexcept
{
    return {0x01, 0x00, 0x5e, static_cast<std::uint8_t>((group >> 16) & 0x7fU),
            static_cast<std::uint8_t>(group >> 8), static_cast<std::uint8_t>(group)};
}

MacAddress multicast_mac(AddressFamily family, const AddressBytes& group) noexcept
{
    if (family == AddressFamily::ipv4)
        return multicast_mac(load_be32(group.data()));
    return {0x33, 0x33, group[12], group[13], group[14], group[15]};
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
    if (length > buffer.size() || lacks_source_address(in, out))
        return 0;
    if (!out.multicast) {
        std::memcpy(buffer.data(), in.frame.data() + in.payload_offset, in.payload_length);
        return length;
    }

    std::uint8_t* eth = buffer.data();
    std::memcpy(eth, out.destination_mac.data(), out.destination_mac.size());
    std::memcpy(eth + 6, out.source_mac.data(), out.source_mac.size());
    store_be16(eth + 12, out.family == AddressFamily::ipv4 ? kEtherTypeIpv4 : kEtherTypeIpv6);
    std::uint8_t* ip = eth + kEthernetHeaderBytes;
    if (in.is_ipv4() && out.family == AddressFamily::ipv4)
        rewrite_ipv4(in, out, ip);
    else
        rewrite_with_new_header(in, out, ip);
    return length;
}

} // namespace mcr::dataplane
