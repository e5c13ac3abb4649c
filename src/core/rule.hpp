// The rule model every mcrd process shares: what arrives where, and where it
// is sent. Plain values; validation lives in rule_validation.hpp, (de)serial-
// isation in rule_json.hpp.
#pragma once

#include "address.hpp"

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mcr {

// Limits a rule set must respect (validation enforces them).
inline constexpr std::size_t kMaxRuleNameLength = 64;     // also keeps D-Bus paths short
inline constexpr std::size_t kMaxOutputsPerRule = 64;
inline constexpr std::size_t kDefaultMaxRules = 4096;
inline constexpr std::size_t kMaxConfigBytes = std::size_t{1024} * 1024; // a config file over this is refused
inline constexpr std::uint8_t kDefaultUnicastTtl = 64;

// Where a stream arrives: UDP to `address`:`port` on `interface`.
struct RuleInput {
    std::string interface;               // 1..IFNAMSIZ-1 chars, no '/', ':', '@' or whitespace
    IpAddress address;                   // multicast group, or a unicast destination
    std::uint16_t port = 0;              // UDP destination port: 1-65535
    std::optional<IpAddress> source;     // SSM: only this sender (unicast, same family as address)

    friend bool operator==(const RuleInput&, const RuleInput&) = default;
};

// "listeners": whether an output sends always (as MCR does) or only while
// IGMP/MLD says someone on its interface listens to its group
// (listener_policy.hpp has the spellings; src/membership the protocol).
enum class ListenerPolicy : std::uint8_t { always, required };

// One copy of the stream: sent out of `interface` to `address`:`port`.
struct RuleOutput {
    std::string interface;               // egress interface (also for unicast: SO_BINDTODEVICE)
    IpAddress address;                   // multicast group (Ethernet frame built by the worker)
                                         // or unicast (sent through kernel routing); its
                                         // family may differ from the input's (translation)
    std::uint16_t port = 0;              // UDP destination port: 1-65535
    // IP TTL (IPv6: hop limit) of the copy: 1-255. Unset means: unicast -> kDefaultUnicastTtl;
    // multicast -> the arriving TTL minus one (as a router would).
    std::optional<std::uint8_t> ttl;
    // required: multicast outputs only. A copy not sent for lack of
    // listeners is counted as "no_listener", not as a drop.
    ListenerPolicy listeners = ListenerPolicy::always;

    friend bool operator==(const RuleOutput&, const RuleOutput&) = default;
};

// "inspect": which stream health the worker tracks for the rule's input
// (stream_inspection.hpp has the spellings). Inspected rules are relayed by
// the worker, never by the in-kernel fast path: RTP and MPEG-TS state is
// per stream and sequential, which the program, run on every CPU at once,
// could only keep exact with locks.
enum class StreamInspection : std::uint8_t { none, rtp, mpegts };

struct Rule {
    std::string name;                    // 1..kMaxRuleNameLength of [A-Za-z0-9_.-], not starting with '.' or '-'
    RuleInput input;
    std::vector<RuleOutput> outputs;     // 1..kMaxOutputsPerRule, no duplicates, none equal to input
    // Packets arriving with TTL <= 1 are dropped (counted as "ttl expired")
    // unless this is set; then they are forwarded with the output's TTL.
    bool forward_expired_ttl = false;
    // IPv6 link-local addresses (groups of scope 2, ffX2::, and fe80::/10
    // unicast) are refused unless this is set: they are valid on one link
    // only, so relaying them to another is a deliberate choice (mDNS, a
    // device that only speaks link-local). IPv4 addresses are not affected.
    bool allow_link_local = false;
    // "fast_path": "auto" (true): relayed in the kernel when the fast path is
    // attached and can do the rule exactly; "off" (false): always by the
    // worker (e.g. to capture every frame on the relay with ETH_P_IP tools).
    bool fast_path = true;
    StreamInspection inspect = StreamInspection::none;

    friend bool operator==(const Rule&, const Rule&) = default;
};

struct RuleSet {
    std::vector<Rule> rules;             // names unique, inputs unique

    friend bool operator==(const RuleSet&, const RuleSet&) = default;
};

} // namespace mcr
