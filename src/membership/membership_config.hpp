// The router-side protocol variables of IGMPv3 (RFC 3376 section 8) and
// MLDv2 (RFC 3810 section 9), with the RFCs' defaults, and the intervals
// derived from them. One set per mcrd instance; tests shorten them here
// instead of sleeping.
#pragma once

#include "core/result.hpp"

#include <chrono>
#include <cstddef>

namespace mcr::membership {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Milliseconds = std::chrono::milliseconds;

struct MembershipConfig {
    // Robustness Variable: 1..7 (the 3-bit QRV field). The RFCs advise 2.
    unsigned robustness = 2;
    // Query Interval: between general queries (QQIC carries it, 1..31744 s).
    Milliseconds query_interval{125'000};
    // Query Response Interval: the Max Response Time of general queries;
    // below the query interval, at most 3174.4 s (IGMPv3's largest code).
    Milliseconds query_response_interval{10'000};
    // Last Member Query Interval: the Max Response Time of group-specific
    // and group-and-source-specific queries, and the time between them;
    // 100 ms resolution on IGMP.
    Milliseconds last_member_interval{1'000};
    // Groups tracked per interface and family. Reports for further groups
    // are refused (counted, and reported once as a limit event) so that a
    // flood of reports cannot grow memory without bound.
    std::size_t max_groups = 1024;
    // Sources tracked per group, for the same reason; a source refused on
    // an INCLUDE group is not forwarded, one refused on EXCLUDE is.
    std::size_t max_sources_per_group = 256;

    // RFC 3376 8.4 / RFC 3810 9.4: (R * QI) + QRI.
    [[nodiscard]] Milliseconds group_membership_interval() const
    {
        return robustness * query_interval + query_response_interval;
    }
    // 8.5 / 9.5: (R * QI) + QRI / 2.
    [[nodiscard]] Milliseconds other_querier_present_interval() const
    {
        return robustness * query_interval + query_response_interval / 2;
    }
    // 8.6 / 9.6: QI / 4, sent R times (8.7).
    [[nodiscard]] Milliseconds startup_query_interval() const { return query_interval / 4; }
    [[nodiscard]] unsigned startup_query_count() const { return robustness; }
    // 8.9 / 9.9: LMQC = R, LMQT = LMQI * LMQC.
    [[nodiscard]] unsigned last_member_query_count() const { return robustness; }
    [[nodiscard]] Milliseconds last_member_query_time() const
    {
        return last_member_query_count() * last_member_interval;
    }
    // 8.13 / 9.12: (R * QI) + QRI, how long an older-version host is
    // remembered on a group.
    [[nodiscard]] Milliseconds older_host_present_interval() const
    {
        return robustness * query_interval + query_response_interval;
    }
};

// The field names in errors are the mcrd option names ("robustness", ...).
[[nodiscard]] Status validate(const MembershipConfig& config);

} // namespace mcr::membership
