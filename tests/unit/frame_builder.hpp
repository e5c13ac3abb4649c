// Test helper: builds Ethernet/IPv4/UDP frames with correct checksums, and
// verifies checksums from scratch, for the data plane unit tests.
#pragma once

#include "dataplane/checksum.hpp"
#include "dataplane/frame.hpp"

#include <cstdint>
#include <vector>

namespace mcr::test {

struct FrameSpec {
    std::uint32_t source_address = 0xc6336402;      // 198.51.100.2
    std::uint32_t destination_address = 0xef010101; // 239.1.1.1
    std::uint16_t source_port = 40000;
    std::uint16_t destination_port = 5000;
    std::uint8_t ttl = 64;
    bool udp_checksum = true;
    std::vector<std::uint8_t> payload = {'h', 'e', 'l', 'l', 'o'};
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

} // namespace mcr::test
