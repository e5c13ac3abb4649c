// `mcrctl status`: what one screen shows (instance, units, rules, recent
// audit events) as plain data, and its text and JSON renderings; the
// collection from D-Bus and the journal is in status_sources.hpp.
#pragma once

#include "listener_view.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mcr::ctl {

struct UnitStatus {
    std::string unit;                      // "mcrd.service", or "" when not run by systemd
    std::string interface;                 // workers: the input interface
    std::string active_state;              // systemd ActiveState, or mcrd's own worker state
    std::string sub_state;
    std::optional<std::uint32_t> restarts; // systemd NRestarts; unknown outside systemd
    std::uint32_t pid = 0;
    std::string fast_path_mode;            // workers: "tc"/"tc-legacy" (program attached) or "userspace"; "" unknown
    std::string fast_path_reason;          // why userspace
};

// One output of a rule: its endpoint, and once its worker reported it,
// whether it sends only while listeners are known and what is known.
struct OutputLine {
    std::string endpoint;                  // as ListRules gives it (format_output_endpoint)
    bool reported = false;                 // GetStats had it (its worker runs)
    std::optional<OutputListenerRow> listeners; // required outputs only
    OutputMembership membership;
};

struct RuleLine {
    std::string name;
    std::string input;                     // "eth0 239.1.1.1:5000"
    std::string state;                     // active | waiting for interface | error: ...
    std::uint64_t packets = 0;
    std::uint64_t drops = 0;
    std::optional<double> packets_per_second;   // unknown without two samples
    std::string path;                      // "tc", "tc-legacy" or "userspace"; "" unknown
    std::string path_reason;               // why userspace
    std::vector<OutputLine> outputs;
};

struct AuditLine {
    std::uint64_t realtime_usec = 0;
    std::string result;                    // MCR_RESULT
    std::string action;                    // MCR_ACTION
    std::string rule;                      // MCR_RULE
    std::string via;                       // MCR_VIA
    std::string uid;                       // MCR_CALLER_UID
    std::string pid;                       // MCR_CALLER_PID
};

struct StatusReport {
    std::string instance;                  // namespace, "" = the host's
    std::string bus_name;
    std::string version;
    std::optional<std::uint64_t> uptime_seconds;
    UnitStatus supervisor;
    std::vector<UnitStatus> workers;
    std::vector<RuleLine> rules;
    std::vector<AuditLine> audit;
    std::string audit_problem;             // why the audit events could not be read; "" when they were
};

// 3725 -> "1h 2min 5s", like systemctl's timespans.
[[nodiscard]] std::string format_uptime(std::uint64_t seconds);
[[nodiscard]] std::string render_status(const StatusReport& report);
[[nodiscard]] nlohmann::json status_to_json(const StatusReport& report);

} // namespace mcr::ctl
