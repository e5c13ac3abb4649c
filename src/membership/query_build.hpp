// The queries mcrd sends: IGMPv3 (RFC 3376 4.1) and MLDv2 (RFC 3810 5.1)
// general, group-specific and group-and-source-specific queries. Older hosts
// read them as their own version's query (RFC 3376 7.2.1, RFC 3810 8.2.1).
// The builder returns the IGMP or ICMPv6 message; the IP header and its
// router alert come from the sending socket (router_alert_option below).
#pragma once

#include "core/address.hpp"
#include "membership_config.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace mcr::membership {

struct OutgoingQuery {
    IpAddress destination; // 224.0.0.1 / ff02::1 for general queries, else the group
    IpAddress group;       // unspecified: a general query
    std::vector<IpAddress> sources;
    bool suppress_router_processing = false;
    Milliseconds max_response{0};
    unsigned robustness = 0;
    Milliseconds query_interval{0};
};

// `source` is the sending address; MLD's checksum covers it (the kernel
// recomputes ICMPv6 checksums on raw sockets, but tests read ours).
[[nodiscard]] std::vector<std::uint8_t> build_query(const OutgoingQuery& query, const IpAddress& source);

// IPv4 Router Alert option (RFC 2113) for IP_OPTIONS.
inline constexpr std::array<std::uint8_t, 4> kIpv4RouterAlertOption = {0x94, 0x04, 0x00, 0x00};
// IPv6 Hop-by-Hop header with Router Alert value 0 "MLD" (RFC 2711) and a
// PadN to 8 bytes, for IPV6_HOPOPTS; the kernel fills the next-header byte.
inline constexpr std::array<std::uint8_t, 8> kIpv6RouterAlertHopByHop = {0x00, 0x00, 0x05, 0x02,
                                                                         0x00, 0x00, 0x01, 0x00};

[[nodiscard]] IpAddress all_systems_group(AddressFamily family); // 224.0.0.1 / ff02::1
[[nodiscard]] IpAddress report_group(AddressFamily family);      // 224.0.0.22 / ff02::16

} // namespace mcr::membership
