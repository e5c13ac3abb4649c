// mcrctl's commands, one function each; main.cpp maps the command line onto
// them. Each prints its result (a table, or JSON with --json) and throws
// CommandFailure on error.
#pragma once

#include "relay_client.hpp"
#include "rule.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mcr::ctl {

struct GlobalOptions {
    ConnectOptions connect;
    bool json = false;
    std::string socket;   // --socket PATH: the JSON control socket instead of D-Bus
};

struct StatsOptions {
    bool watch = false;
    double interval_seconds = 1.0;
    std::optional<std::uint64_t> count;   // iterations with --watch; unbounded when unset
};

struct StatusOptions {
    double sample_seconds = 1.0;          // between the two GetStats samples; 0 = no rates
    std::size_t audit_events = 5;
};

// The rule settings AddRule's signature has no room for: anything but the
// defaults goes by AddRuleJSON.
struct AddSettings {
    std::string fast_path = "auto";       // the rule's "fast_path": "auto" | "off"
    std::string inspect = "none";         // the rule's "inspect": "none" | "rtp" | "mpegts"
    bool allow_link_local = false;        // the rule's "allow_link_local"

    [[nodiscard]] bool defaults() const { return fast_path == "auto" && inspect == "none" && !allow_link_local; }
};

// commands_rules.cpp
void command_add(const GlobalOptions& options, const std::string& name, const std::string& input,
                 const std::vector<std::string>& outputs, const AddSettings& settings);
void command_remove(const GlobalOptions& options, const std::string& name);
void command_list(const GlobalOptions& options);
void command_show(const GlobalOptions& options, const std::string& name);
void command_config_import(const GlobalOptions& options, const std::string& file, bool replace);
void command_config_export(const GlobalOptions& options);
// FILE's text ("-" = stdin), refused over kMaxConfigBytes; for both imports.
[[nodiscard]] std::string read_config_file(const std::string& file);

// One row of ListRules' a(sssqsa(ssqy)s); shared by `list`, `show` and `status`.
struct ListedRule {
    RuleInput input;
    std::string name;
    std::vector<std::string> outputs;   // formatted endpoints
    std::string state;
};
[[nodiscard]] std::vector<ListedRule> read_rules(RelayClient& client);

// commands_status.cpp
void command_stats(const GlobalOptions& options, const StatsOptions& stats);
void command_workers(const GlobalOptions& options);
// GetStats' JSON document (commands_status.cpp).
[[nodiscard]] std::string fetch_stats(RelayClient& client);
// IGMP membership per interface (all, or `interface`): commands_groups.cpp.
void command_groups(const GlobalOptions& options, const std::string& interface);

// One row of ListWorkers' a(ssssu); shared by `workers` and `status`.
struct WorkerEntry {
    std::string interface;
    std::string unit;       // the worker's systemd unit, or a spawn-mode label
    std::string state;
    std::string sub_state;
    std::uint32_t pid = 0;  // 0: not running
};
[[nodiscard]] std::vector<WorkerEntry> read_workers(RelayClient& client);
void command_reload(const GlobalOptions& options);
void command_log_level(const GlobalOptions& options, const std::optional<std::string>& level);
void command_version(const GlobalOptions& options);

// status_command.cpp
void command_status(const GlobalOptions& options, const StatusOptions& status);

// commands_socket.cpp: the same commands over the control socket (--socket),
// for an mcrd without a bus.
void socket_add(const GlobalOptions& options, const std::string& name, const std::string& input,
                const std::vector<std::string>& outputs);
void socket_remove(const GlobalOptions& options, const std::string& name);
void socket_list(const GlobalOptions& options);
void socket_show(const GlobalOptions& options, const std::string& name);
void socket_stats(const GlobalOptions& options);
void socket_workers(const GlobalOptions& options);
void socket_log_level(const GlobalOptions& options, const std::optional<std::string>& level);
void socket_config_import(const GlobalOptions& options, const std::string& file, bool replace);
void socket_config_export(const GlobalOptions& options);
void socket_version(const GlobalOptions& options);
// A command the protocol cannot express: throws a usage error naming it.
[[noreturn]] void refuse_over_socket(const std::string& command, const std::string& why);

} // namespace mcr::ctl
