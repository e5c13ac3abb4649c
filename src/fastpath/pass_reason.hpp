// Why the fast path left a frame to the stack (and so to the worker), as the
// C++ side names it; mirrors enum mcr_fp_pass_reason of relay_abi.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mcr::fastpath {

enum class PassReason : std::uint8_t {
    not_ipv4,
    malformed,
    fragment,
    ip_options,
    not_udp,
    bad_ip_checksum,
    vlan,
    aggregated,
    no_rule,
    rule_changing,
    ttl_expired,
    too_big,
    kernel_refused,
    ipv6_extension_headers,
    zero_udp_checksum,
    translation_needs_checksum,
};

inline constexpr std::size_t kPassReasons = 16;

// Frames left to the stack, indexed by PassReason, summed over CPUs.
using PassCounts = std::array<std::uint64_t, kPassReasons>;

[[nodiscard]] inline std::uint64_t count_of(const PassCounts& counts, PassReason reason) noexcept
{
    return counts[static_cast<std::size_t>(reason)];
}

// The name stats surfaces show ("ttl-expired"), stable for scripts. The
// IPv6 reasons are spelled as v6design.md point 5 fixes them for every
// surface ("zero_udp_checksum", the worker's drop reason too).
[[nodiscard]] std::string_view pass_reason_name(PassReason reason) noexcept;

} // namespace mcr::fastpath
