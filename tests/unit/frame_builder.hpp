// Test helper: builds Ethernet/IPv4/UDP and Ethernet/IPv6/UDP frames with
// correct checksums, and verifies checksums from scratch, for the data plane
// unit tests.
#pragma once

#include "dataplane/checksum.hpp"
#include "dataplane/frame.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace mcr::test {

// The payload every spec starts with. Built from a range, not an
// initializer list: GCC 12 at -O3 reports the list's backing array in a
// default member initializer as maybe-uninitialized (a false positive that
// -Werror turns into a failed release build).
inline std::vector<std::uint8_t> hello_payload()
{
    static constexpr std::array<std::uint8_t, 5> hello = {'h', 'e', 'l', 'l', 'o'};
    return {hello.begin(), hello.end()};
}

struct FrameSpec {
    std::uint32_t source_address = 0xc6336402;      // 198.51.100.2
    std::uint32_t destination_address = 0xef010101; // 239.1.1.1
    std::uint16_t source_port = 40000;
    std::uint16_t destination_port = 5000;
    std::uint8_t ttl = 64;
    bool udp_checksum = true;
    std::vector<std::uint8_t> payload = hello_payload();
    std::uint8_t tos = 0;                           // DSCP and ECN
};

inline std::uint16_t udp_checksum_from_scratch(std::uint32_t source, std::uint32_t destination, const std::uint8_t* udp,
                                               std::size_t udp_length)
{
    std::uint8_t pseudo[12];
    dataplane::store_be32(pseudo, source);
    dataplane::store_be32(pseudo + 4, destination);
    pseudo[8] = 0;
    pseudo[9] = dataplane::kIpProtocolUdp;
    dataplane::store_be16(pseudo + 10, static_cast<std::uint16_t>(udp_length));
    std::uint32_t sum = dataplane::checksum_accumulate(pseudo, 0);
    sum = dataplane::checksum_accumulate({udp, udp_length}, sum);
    return static_cast<std::uint16_t>(~dataplane::checksum_fold(sum));
}

inline std::vector<std::uint8_t> make_udp_frame(const FrameSpec& spec)
{
    const std::size_t udp_length = 8 + spec.payload.size();
    const std::size_t ip_length = 20 + udp_length;
    std::vector<std::uint8_t> f(14 + ip_length, 0);
    const std::uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 1};
    const auto dst_mac = std::vector<std::uint8_t>{0x01, 0x00, 0x5e, static_cast<std::uint8_t>((spec.destination_address >> 16) & 0x7f),
                                                   static_cast<std::uint8_t>(spec.destination_address >> 8),
                                                   static_cast<std::uint8_t>(spec.destination_address)};
    std::copy(dst_mac.begin(), dst_mac.end(), f.begin());
    std::copy(src_mac, src_mac + 6, f.begin() + 6);
    dataplane::store_be16(&f[12], dataplane::kEtherTypeIpv4);
    std::uint8_t* ip = &f[14];
    ip[0] = 0x45;
    ip[1] = spec.tos;
    dataplane::store_be16(ip + 2, static_cast<std::uint16_t>(ip_length));
    dataplane::store_be16(ip + 4, 0x1234);
    dataplane::store_be16(ip + 6, 0x4000); // DF
    ip[8] = spec.ttl;
    ip[9] = dataplane::kIpProtocolUdp;
    dataplane::store_be32(ip + 12, spec.source_address);
    dataplane::store_be32(ip + 16, spec.destination_address);
    dataplane::store_be16(ip + 10, dataplane::internet_checksum({ip, 20}));
    std::uint8_t* udp = ip + 20;
    dataplane::store_be16(udp, spec.source_port);
    dataplane::store_be16(udp + 2, spec.destination_port);
    dataplane::store_be16(udp + 4, static_cast<std::uint16_t>(udp_length));
    std::copy(spec.payload.begin(), spec.payload.end(), udp + 8);
    if (spec.udp_checksum) {
        const std::uint16_t c = udp_checksum_from_scratch(spec.source_address, spec.destination_address, udp, udp_length);
        dataplane::store_be16(udp + 6, c == 0 ? std::uint16_t{0xffff} : c);
    }
    return f;
}

// The IP header of a frame sums to 0xffff (i.e. its checksum verifies).
inline bool ip_checksum_verifies(const std::vector<std::uint8_t>& frame)
{
    return dataplane::checksum_fold(dataplane::checksum_accumulate({&frame[14], 20}, 0)) == 0xffff;
}

// The UDP checksum of a frame verifies against its pseudo header.
inline bool udp_checksum_verifies(const std::vector<std::uint8_t>& frame)
{
    const std::uint8_t* ip = &frame[14];
    const std::size_t udp_length = dataplane::load_be16(ip + 24);
    return udp_checksum_from_scratch(dataplane::load_be32(ip + 12), dataplane::load_be32(ip + 16), ip + 20, udp_length) == 0;
}

// ---- IPv6 -------------------------------------------------------------------

inline dataplane::AddressBytes address6(const char* text)
{
    dataplane::AddressBytes bytes{};
    const auto parsed = IpAddress::parse(text);
    if (parsed)
        bytes = parsed->bytes();
    return bytes;
}

// One extension header: its type and total length (a multiple of 8, at
// least 8; zero bytes are Pad1 options, valid in hop-by-hop/destination).
struct ExtensionHeader {
    std::uint8_t type = 0;
    std::size_t bytes = 8;
};

struct Frame6Spec {
    dataplane::AddressBytes source_address = address6("2001:db8::2");
    dataplane::AddressBytes destination_address = address6("ff3e::1");
    std::uint16_t source_port = 40000;
    std::uint16_t destination_port = 5000;
    std::uint8_t hop_limit = 64;
    std::uint8_t traffic_class = 0;
    std::uint32_t flow_label = 0;
    std::vector<ExtensionHeader> extension_headers;
    std::uint8_t upper_protocol = dataplane::kIpProtocolUdp;
    bool udp_checksum = true;
    std::vector<std::uint8_t> payload = hello_payload();
};

inline std::uint16_t udp6_checksum_from_scratch(const std::uint8_t* source, const std::uint8_t* destination,
                                                const std::uint8_t* udp, std::size_t udp_length)
{
    std::uint8_t pseudo[40] = {};
    std::memcpy(pseudo, source, 16);
    std::memcpy(pseudo + 16, destination, 16);
    dataplane::store_be32(pseudo + 32, static_cast<std::uint32_t>(udp_length));
    pseudo[39] = dataplane::kIpProtocolUdp;
    std::uint32_t sum = dataplane::checksum_accumulate(pseudo, 0);
    sum = dataplane::checksum_accumulate({udp, udp_length}, sum);
    return static_cast<std::uint16_t>(~dataplane::checksum_fold(sum));
}

inline std::vector<std::uint8_t> make_udp6_frame(const Frame6Spec& spec)
{
    std::size_t extension_bytes = 0;
    for (const auto& header : spec.extension_headers)
        extension_bytes += header.bytes;
    const std::size_t udp_length = 8 + spec.payload.size();
    const std::size_t payload_length = extension_bytes + udp_length;
    std::vector<std::uint8_t> f(14 + 40 + payload_length, 0);
    const std::uint8_t dst_mac[6] = {0x33, 0x33, spec.destination_address[12], spec.destination_address[13],
                                     spec.destination_address[14], spec.destination_address[15]};
    const std::uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 1};
    std::copy(dst_mac, dst_mac + 6, f.begin());
    std::copy(src_mac, src_mac + 6, f.begin() + 6);
    dataplane::store_be16(&f[12], dataplane::kEtherTypeIpv6);
    std::uint8_t* ip = &f[14];
    dataplane::store_be32(ip, (std::uint32_t{6} << 28) | (std::uint32_t{spec.traffic_class} << 20) |
                                  (spec.flow_label & 0xfffffU));
    dataplane::store_be16(ip + 4, static_cast<std::uint16_t>(payload_length));
    ip[6] = spec.extension_headers.empty() ? spec.upper_protocol : spec.extension_headers[0].type;
    ip[7] = spec.hop_limit;
    std::memcpy(ip + 8, spec.source_address.data(), 16);
    std::memcpy(ip + 24, spec.destination_address.data(), 16);
    std::uint8_t* next = ip + 40;
    for (std::size_t i = 0; i < spec.extension_headers.size(); ++i) {
        next[0] = i + 1 < spec.extension_headers.size() ? spec.extension_headers[i + 1].type : spec.upper_protocol;
        next[1] = static_cast<std::uint8_t>(spec.extension_headers[i].bytes / 8 - 1);
        next += spec.extension_headers[i].bytes;
    }
    std::uint8_t* udp = next;
    dataplane::store_be16(udp, spec.source_port);
    dataplane::store_be16(udp + 2, spec.destination_port);
    dataplane::store_be16(udp + 4, static_cast<std::uint16_t>(udp_length));
    std::copy(spec.payload.begin(), spec.payload.end(), udp + 8);
    if (spec.udp_checksum) {
        const std::uint16_t c = udp6_checksum_from_scratch(ip + 8, ip + 24, udp, udp_length);
        dataplane::store_be16(udp + 6, c == 0 ? std::uint16_t{0xffff} : c);
    }
    return f;
}

// The UDP checksum of a frame of either family (UDP right after the base
// header) verifies against its pseudo header.
inline bool any_udp_checksum_verifies(const std::vector<std::uint8_t>& frame)
{
    if (dataplane::load_be16(&frame[12]) == dataplane::kEtherTypeIpv4)
        return udp_checksum_verifies(frame);
    const std::uint8_t* ip = &frame[14];
    const std::size_t udp_length = dataplane::load_be16(ip + 40 + 4);
    return udp6_checksum_from_scratch(ip + 8, ip + 24, ip + 40, udp_length) == 0;
}

} // namespace mcr::test
