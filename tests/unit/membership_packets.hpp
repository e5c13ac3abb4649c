// Builders for IGMP and MLD test messages, with correct checksums unless a
// test breaks one on purpose.
#pragma once

#include "core/address.hpp"
#include "dataplane/checksum.hpp"
#include "membership/message_parse.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace membership_test {

using mcr::IpAddress;
using Bytes = std::vector<std::uint8_t>;

inline IpAddress ip(const std::string& text)
{
    return *IpAddress::parse(text);
}

inline void put_address(Bytes& out, const IpAddress& a)
{
    const std::size_t n = a.is_ipv4() ? 4 : 16;
    out.insert(out.end(), a.bytes().begin(), a.bytes().begin() + static_cast<std::ptrdiff_t>(n));
}

inline void put16(Bytes& out, std::size_t value)
{
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

struct RecordSpec {
    std::uint8_t type;
    std::string group;
    std::vector<std::string> sources;
};

inline void set_igmp_checksum(Bytes& m)
{
    m[2] = m[3] = 0;
    const std::uint16_t sum = mcr::dataplane::internet_checksum(m);
    m[2] = static_cast<std::uint8_t>(sum >> 8);
    m[3] = static_cast<std::uint8_t>(sum);
}

inline void set_mld_checksum(Bytes& m, const IpAddress& source, const IpAddress& destination)
{
    m[2] = m[3] = 0;
    const std::uint16_t sum = mcr::membership::icmpv6_checksum(source, destination, m);
    m[2] = static_cast<std::uint8_t>(sum >> 8);
    m[3] = static_cast<std::uint8_t>(sum);
}

// IGMPv3 (0x22) or MLDv2 (143) report, by the records' address family.
inline Bytes v3_report(const std::vector<RecordSpec>& records, bool ipv6 = false)
{
    Bytes m = {static_cast<std::uint8_t>(ipv6 ? 143 : 0x22), 0, 0, 0, 0, 0};
    put16(m, records.size());
    for (const RecordSpec& r : records) {
        m.push_back(r.type);
        m.push_back(0);
        put16(m, r.sources.size());
        put_address(m, ip(r.group));
        for (const std::string& s : r.sources)
            put_address(m, ip(s));
    }
    return m;
}

inline Bytes igmp_v3_report(const std::vector<RecordSpec>& records)
{
    Bytes m = v3_report(records);
    set_igmp_checksum(m);
    return m;
}

// IGMP 8-byte message: type 0x12 (v1 report), 0x16 (v2 report), 0x17 (leave), 0x11 (v1/v2 query).
inline Bytes igmp_short(std::uint8_t type, const std::string& group, std::uint8_t code = 0)
{
    Bytes m = {type, code, 0, 0};
    put_address(m, ip(group));
    set_igmp_checksum(m);
    return m;
}

// MLDv1 24-byte message: 130 query, 131 report, 132 done.
inline Bytes mld_v1(std::uint8_t type, const std::string& group, const IpAddress& source,
                    const IpAddress& destination)
{
    Bytes m = {type, 0, 0, 0, 0, 0, 0, 0};
    put_address(m, ip(group));
    set_mld_checksum(m, source, destination);
    return m;
}

inline mcr::membership::ReceivedPacket igmp_packet(const Bytes& payload, const std::string& source = "192.0.2.10",
                                                   const std::string& destination = "224.0.0.22")
{
    return {payload, ip(source), ip(destination), 1, true};
}

} // namespace membership_test
