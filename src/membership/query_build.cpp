// Query layouts: IGMPv3 type 0x11 with 12 fixed bytes, MLDv2 type 130 with
// 28; both followed by the source addresses.
#include "query_build.hpp"

#include "dataplane/checksum.hpp"
#include "message_parse.hpp"
#include "time_codes.hpp"

#include <algorithm>

namespace mcr::membership {

namespace {

void put16(std::vector<std::uint8_t>& out, std::size_t at, std::uint32_t value)
{
    out[at] = static_cast<std::uint8_t>(value >> 8);
    out[at + 1] = static_cast<std::uint8_t>(value);
}

void put_address(std::vector<std::uint8_t>& out, std::size_t at, const IpAddress& address)
{
    const std::size_t length = address.is_ipv4() ? 4 : 16;
    std::copy_n(address.bytes().begin(), length, out.begin() + static_cast<std::ptrdiff_t>(at));
}

// S flag, QRV and QQIC: the byte pair both versions share.
void put_router_fields(std::vector<std::uint8_t>& out, std::size_t at, const OutgoingQuery& query)
{
    const unsigned qrv = query.robustness <= 7 ? query.robustness : 0; // 0: "use your own"
    out[at] = static_cast<std::uint8_t>((query.suppress_router_processing ? 0x08U : 0U) | qrv);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(query.query_interval).count();
    out[at + 1] = encode_code8(static_cast<std::uint32_t>(std::clamp<std::int64_t>(seconds, 0, 31744)));
}

std::vector<std::uint8_t> build_igmp_query(const OutgoingQuery& query)
{
    std::vector<std::uint8_t> out(12 + 4 * query.sources.size(), 0);
    out[0] = kIgmpQuery;
    const auto tenths = query.max_response.count() / 100;
    out[1] = encode_code8(static_cast<std::uint32_t>(std::clamp<std::int64_t>(tenths, 0, 31744)));
    put_address(out, 4, query.group);
    put_router_fields(out, 8, query);
    put16(out, 10, static_cast<std::uint32_t>(query.sources.size()));
    for (std::size_t s = 0; s < query.sources.size(); ++s)
        put_address(out, 12 + 4 * s, query.sources[s]);
    put16(out, 2, dataplane::internet_checksum(out));
    return out;
}

std::vector<std::uint8_t> build_mld_query(const OutgoingQuery& query, const IpAddress& source)
{
    std::vector<std::uint8_t> out(28 + 16 * query.sources.size(), 0);
    out[0] = kMldQuery;
    const auto ms = query.max_response.count();
    put16(out, 4, encode_code16(static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, 8'387'584))));
    if (!query.group.is_unspecified())
        put_address(out, 8, query.group);
    put_router_fields(out, 24, query);
    put16(out, 26, static_cast<std::uint32_t>(query.sources.size()));
    for (std::size_t s = 0; s < query.sources.size(); ++s)
        put_address(out, 28 + 16 * s, query.sources[s]);

    put16(out, 2, icmpv6_checksum(source, query.destination, out));
    return out;
}

} // namespace

std::vector<std::uint8_t> build_query(const OutgoingQuery& query, const IpAddress& source)
{
    return query.destination.is_ipv4() ? build_igmp_query(query) : build_mld_query(query, source);
}

IpAddress all_systems_group(AddressFamily family)
{
    return family == AddressFamily::ipv4 ? *IpAddress::parse("224.0.0.1") : *IpAddress::parse("ff02::1");
}

IpAddress report_group(AddressFamily family)
{
    return family == AddressFamily::ipv4 ? *IpAddress::parse("224.0.0.22") : *IpAddress::parse("ff02::16");
}

} // namespace mcr::membership
