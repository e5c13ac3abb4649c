// `mcrctl stats`: reads the daemon's GetStats JSON (tolerantly: missing
// counters are 0, "drops" may be a number or an object of per-reason
// counts), computes rates from two snapshots, and renders tables.
#pragma once

#include "listener_view.hpp"
#include "result.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcr::ctl {

// Rows of the stats table as read from GetStats (drops summed over reasons);
// named apart from the worker's RuleCounters/OutputCounters/WorkerCounters,
// the records that JSON is made from.
struct OutputStatsRow {
    std::string interface;
    std::string address;
    std::uint64_t port = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t drops = 0;   // sum over reasons
    std::optional<std::uint64_t> gaps; // inspected rules: copies of the stream this output dropped
    std::optional<OutputListenerRow> listeners; // outputs whose listeners are "required"
};

// A rule's stream health ("inspect": rtp or mpegts); for MPEG-TS in RTP the
// RTP layer's loss and jitter are shown.
struct HealthStatsRow {
    std::string kind;          // "rtp" or "mpegts"
    std::string state;         // "ok" or "losing"
    std::uint64_t lost = 0;
    std::uint64_t reordered = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t malformed = 0;
    std::uint64_t cc_errors = 0;
    std::optional<double> jitter_us;
    std::string detail;        // "pt 96, ssrc 0x1234abcd" or "pcr pid 256, 3 pids"
};

struct RuleStatsRow {
    std::string name;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t drops = 0;   // sum over reasons
    std::vector<OutputStatsRow> outputs;
    std::string path;          // "tc"/"tc-legacy" (the in-kernel fast path, by attach mode) or "userspace"; "" when not reported
    std::string path_reason;   // why userspace ("off", "output-interface-down", "inspect", ...)
    std::optional<HealthStatsRow> health;
};

struct WorkerStatsRow {
    std::string interface;
    std::uint64_t kernel_packets = 0;
    std::uint64_t kernel_drops = 0;
    std::string fast_path_mode;   // "tc"/"tc-legacy" (program attached to the interface) or "userspace"
    std::string fast_path_reason; // why userspace ("off", "foreign-program", ...)
    std::string receive;          // the IPv4 ingress: mode and switches, as receive_text() writes it; "-": not said
    std::string receive6;         // the same for IPv6; "-" without an IPv6 ingress
};

struct StatsSnapshot {
    std::vector<RuleStatsRow> rules;
    std::vector<WorkerStatsRow> workers;
    std::vector<MembershipRow> membership;   // IGMP/MLD per interface
};

struct RuleRate {
    double packets_per_second = 0;
    double bits_per_second = 0;
};

[[nodiscard]] Result<StatsSnapshot> parse_stats(std::string_view json_text);

// A path and its reason as the tables show them: "tc", "userspace (off)",
// "-" when not reported (a daemon without the fast path's fields).
[[nodiscard]] std::string path_text(const std::string& path, const std::string& reason);

// Per rule name present in both snapshots with counters that did not go
// backwards (a reset or restart gives no rate rather than a negative one).
[[nodiscard]] std::map<std::string, RuleRate> rule_rates(const StatsSnapshot& before, const StatsSnapshot& after,
                                                         double elapsed_seconds);

// One line: "rtp ok: lost 0, reordered 0, duplicates 0, malformed 0, jitter 12.5 us (pt 96, ssrc 0x..)".
[[nodiscard]] std::string health_text(const HealthStatsRow& health);

// Rules table (with PKT/S and BIT/S columns when `rates` is given, and the
// path that relays each rule), outputs table (with GAPS when a rule is
// inspected, LISTENERS and NO-LISTENER when an output requires listeners), health table (inspected rules), workers' table (kernel
// counters and the interface's fast path).
[[nodiscard]] std::string render_stats(const StatsSnapshot& stats, const std::map<std::string, RuleRate>* rates);

} // namespace mcr::ctl
