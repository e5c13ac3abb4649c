// Installs rules into a loaded fast path's maps and reads its counters,
// through map fds alone: the worker holds them with no capability. A rule is
// switched as a whole, so no frame ever sees half of one.
#pragma once

#include "core/address.hpp"
#include "core/result.hpp"
#include "dataplane/packet_rewrite.hpp"
#include "fast_path.hpp"
#include "pass_reason.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

namespace mcr::fastpath {

inline constexpr std::size_t kMaxRules = 512;   // MCR_FP_MAX_RULES
inline constexpr std::size_t kMaxOutputs = 16;  // MCR_FP_MAX_OUTPUTS
inline constexpr unsigned kMinMtu = 68;         // RFC 791

// What a rule matches: a group of either family, the SSM source or none,
// the UDP destination port.
struct RuleMatch {
    IpAddress group;
    IpAddress source; // unspecified (0.0.0.0 or ::): any source
    std::uint16_t port = 0;

    RuleMatch() = default;
    // IPv4, addresses in host byte order; source 0: any source.
    RuleMatch(std::uint32_t ipv4_group, std::uint32_t ipv4_source, std::uint16_t udp_port)
        : group(IpAddress::from_ipv4(ipv4_group)), source(IpAddress::from_ipv4(ipv4_source)), port(udp_port)
    {
    }
    // Either family; no source: any source.
    RuleMatch(const IpAddress& group_address, const std::optional<IpAddress>& source_address, std::uint16_t udp_port);

    friend bool operator==(const RuleMatch&, const RuleMatch&) = default;
    // Spelled out: clang-tidy 14 misreads a defaulted operator<=>.
    friend bool operator<(const RuleMatch& a, const RuleMatch& b) noexcept
    {
        return std::tie(a.group, a.source, a.port) < std::tie(b.group, b.source, b.port);
    }
};

// An output the fast path can serve: a multicast copy leaving an interface,
// of the input's family or translated to the other one. Outputs the kernel
// must route (unicast) keep their rule on the userspace path.
struct Output {
    int ifindex = 0;
    unsigned mtu = 1500;                      // IP MTU of the egress interface
    bool multicast = true;                    // false: unicast, refused by install()
    dataplane::MacAddress destination_mac{};  // 01:00:5e:... or 33:33:... of the group
    dataplane::MacAddress source_mac{};       // the egress interface's MAC
    IpAddress destination_address;            // its family is the copy's
    std::uint16_t destination_port = 0;       // host order
    std::optional<std::uint8_t> ttl;          // TTL or hop limit; unset: arriving - 1
    // A translated copy's IP source: the egress interface's address of the
    // copy's family (v6design point 3). Required exactly when the families differ.
    std::optional<IpAddress> source_address;
    // The output requires a listener and none is known now: the program
    // counts its copy (no_listener) instead of sending it. Changed later
    // with RuleMaps::hold_outputs().
    bool held = false;
};

struct FastRule {
    RuleMatch match;
    bool forward_expired_ttl = false;
    std::vector<Output> outputs; // 1..kMaxOutputs
};

struct OutputTraffic {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0; // UDP payload bytes, as the worker counts
    std::uint64_t errors = 0;
    std::uint64_t no_listener = 0; // copies not sent while the output was held
};

struct RuleTraffic {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::vector<OutputTraffic> outputs;
};

class RuleMaps {
public:
    // Takes the maps over and reads back the rules already in them, so a
    // restarted worker resumes with what its predecessor installed.
    [[nodiscard]] static Result<RuleMaps> open(MapFds fds);

    // Adds the rule, or replaces the version installed for its match. Its
    // counters start at 0 when it is new and continue when it is replaced.
    [[nodiscard]] Status install(const FastRule& rule);
    [[nodiscard]] Status remove(const RuleMatch& match);
    // Removes the rule and returns its final counters: read after every
    // program run that could still count for it has finished, so nothing it
    // relayed is missing. For a caller that keeps counting a rule leaving
    // the fast path (its counters go with its id, zeroed for the next rule).
    [[nodiscard]] Result<RuleTraffic> retire(const RuleMatch& match);
    // Holds or releases the outputs of an installed rule: held[i] for the
    // rule's output i (FastRule::outputs order). One update of the rule's
    // entry, so a frame sees the old hold state or the new one, never a mix;
    // no-op when nothing changes. Its counters are untouched.
    [[nodiscard]] Status hold_outputs(const RuleMatch& match, const std::vector<bool>& held);
    // Installs every rule of `rules` and removes the installed rules it lacks.
    [[nodiscard]] Status replace_all(std::span<const FastRule> rules);

    [[nodiscard]] Result<RuleTraffic> traffic(const RuleMatch& match) const;
    [[nodiscard]] Result<PassCounts> pass_counts() const;
    [[nodiscard]] std::size_t size() const noexcept { return installed_.size(); }
    [[nodiscard]] const MapFds& fds() const noexcept { return fds_; }

private:
    // Where a rule is: its current version slot, that version's output
    // order (position -> the rule's output index) and which positions are
    // held, as the rules map says.
    struct Installed {
        std::uint32_t slot = 0;
        std::vector<std::uint8_t> order;
        std::uint32_t held_positions = 0;
    };

    explicit RuleMaps(MapFds fds);

    [[nodiscard]] Status write_version(std::uint32_t slot, const FastRule& rule, const std::vector<std::uint8_t>& order);
    [[nodiscard]] Result<std::vector<std::uint8_t>> read_order(std::uint32_t slot) const;
    [[nodiscard]] Status zero_counters(std::uint32_t rule_id);
    [[nodiscard]] Result<RuleTraffic> traffic_of(std::uint32_t slot) const;
    [[nodiscard]] Status quiesce_before_writing(std::initializer_list<std::uint32_t> slots);

    MapFds fds_;
    std::map<RuleMatch, Installed> installed_;
    std::vector<bool> rule_id_used_;
    // Slots a frame may still be reading (switched away from, or unknown
    // after open): written only after a quiesce.
    std::vector<bool> slot_may_be_read_;
    std::size_t possible_cpus_ = 0;
};

} // namespace mcr::fastpath
