// Names of the pass-through reasons, checked against the program's enum so
// the two cannot drift apart.
#include "pass_reason.hpp"

#include "relay_abi.h"

namespace mcr::fastpath {

static_assert(kPassReasons == MCR_FP_PASS_REASONS);
static_assert(static_cast<int>(PassReason::not_ipv4) == MCR_FP_PASS_NOT_IPV4);
static_assert(static_cast<int>(PassReason::malformed) == MCR_FP_PASS_MALFORMED);
static_assert(static_cast<int>(PassReason::fragment) == MCR_FP_PASS_FRAGMENT);
static_assert(static_cast<int>(PassReason::ip_options) == MCR_FP_PASS_IP_OPTIONS);
static_assert(static_cast<int>(PassReason::not_udp) == MCR_FP_PASS_NOT_UDP);
static_assert(static_cast<int>(PassReason::bad_ip_checksum) == MCR_FP_PASS_BAD_IP_CHECKSUM);
static_assert(static_cast<int>(PassReason::vlan) == MCR_FP_PASS_VLAN);
static_assert(static_cast<int>(PassReason::aggregated) == MCR_FP_PASS_AGGREGATED);
static_assert(static_cast<int>(PassReason::no_rule) == MCR_FP_PASS_NO_RULE);
static_assert(static_cast<int>(PassReason::rule_changing) == MCR_FP_PASS_RULE_CHANGING);
static_assert(static_cast<int>(PassReason::ttl_expired) == MCR_FP_PASS_TTL_EXPIRED);
static_assert(static_cast<int>(PassReason::too_big) == MCR_FP_PASS_TOO_BIG);
static_assert(static_cast<int>(PassReason::kernel_refused) == MCR_FP_PASS_KERNEL_REFUSED);
static_assert(static_cast<int>(PassReason::ipv6_extension_headers) == MCR_FP_PASS_IPV6_EXTENSION_HEADERS);
static_assert(static_cast<int>(PassReason::zero_udp_checksum) == MCR_FP_PASS_ZERO_UDP_CHECKSUM);
static_assert(static_cast<int>(PassReason::translation_needs_checksum) == MCR_FP_PASS_TRANSLATION_NEEDS_CHECKSUM);

std::string_view pass_reason_name(PassReason reason) noexcept
{
    switch (reason) {
    case PassReason::not_ipv4:
        return "not-ipv4";
    case PassReason::malformed:
        return "malformed";
    case PassReason::fragment:
        return "fragment";
    case PassReason::ip_options:
        return "ip-options";
    case PassReason::not_udp:
        return "not-udp";
    case PassReason::bad_ip_checksum:
        return "bad-ip-checksum";
    case PassReason::vlan:
        return "vlan";
    case PassReason::aggregated:
        return "aggregated";
    case PassReason::no_rule:
        return "no-rule";
    case PassReason::rule_changing:
        return "rule-changing";
    case PassReason::ttl_expired:
        return "ttl-expired";
    case PassReason::too_big:
        return "too-big";
    case PassReason::ipv6_extension_headers:
        return "ipv6_extension_headers";
    case PassReason::zero_udp_checksum:
        return "zero_udp_checksum";
    case PassReason::translation_needs_checksum:
        return "translation_needs_checksum";
    case PassReason::kernel_refused:
        break;
    }
    return "kernel-refused";
}

} // namespace mcr::fastpath
