// Range checks for the protocol variables: every value must be encodable in
// both IGMPv3 and MLDv2 queries, so one configuration serves both families.
#include "membership_config.hpp"

#include <string>

namespace mcr::membership {

namespace {

constexpr Milliseconds kLargestMaxResponse{3'174'400}; // IGMPv3 code 0xff, in 0.1 s
constexpr Milliseconds kLargestQueryInterval{31'744'000}; // QQIC 0xff, in s
constexpr Milliseconds kMaxResponseResolution{100};        // IGMP counts tenths

std::string ms_text(Milliseconds value)
{
    return std::to_string(value.count()) + " ms";
}

} // namespace

Status validate(const MembershipConfig& config)
{
    if (config.robustness < 1 || config.robustness > 7)
        return Error{"robustness", "must be 1..7, not " + std::to_string(config.robustness)};
    if (config.query_interval < Milliseconds{1'000} || config.query_interval > kLargestQueryInterval)
        return Error{"query_interval", "must be 1 s..31744 s, not " + ms_text(config.query_interval)};
    if (config.query_response_interval < kMaxResponseResolution ||
        config.query_response_interval > kLargestMaxResponse)
        return Error{"query_response_interval",
                     "must be 100 ms..3174.4 s, not " + ms_text(config.query_response_interval)};
    if (config.query_response_interval >= config.query_interval)
        return Error{"query_response_interval", "must be below query_interval (" +
                                                    ms_text(config.query_interval) + "), not " +
                                                    ms_text(config.query_response_interval)};
    if (config.last_member_interval < kMaxResponseResolution ||
        config.last_member_interval > kLargestMaxResponse)
        return Error{"last_member_interval",
                     "must be 100 ms..3174.4 s, not " + ms_text(config.last_member_interval)};
    if (config.max_groups < 1 || config.max_groups > 65536)
        return Error{"max_groups", "must be 1..65536, not " + std::to_string(config.max_groups)};
    if (config.max_sources_per_group < 1 || config.max_sources_per_group > 4096)
        return Error{"max_sources_per_group",
                     "must be 1..4096, not " + std::to_string(config.max_sources_per_group)};
    return Ok{};
}

} // namespace mcr::membership
