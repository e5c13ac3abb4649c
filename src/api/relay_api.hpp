// What the daemon does, typed, as one interface the supervisor's Context
// implements: it validates, applies and persists, and never authorizes or
// audits. Front ends (D-Bus, the JSON control socket, SIGHUP) read through
// a const RelayApi and write only through WritePath (write_path.hpp).
// Failures carry the error kind (a D-Bus error name on the bus) and the
// message shown unchanged to the caller.
#pragma once

#include "core/log.hpp"
#include "core/rule.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mcr {

enum class ApiError {
    invalid_rule,      // org.mcr.Relay.Error.InvalidRule
    no_such_rule,      // .NoSuchRule
    rule_exists,       // .RuleExists
    input_conflict,    // .InputConflict
    too_many_rules,    // .TooManyRules
    persist_failed,    // .PersistFailed
    invalid_argument,  // .InvalidArgument
    admin_rule,        // .AdminRule
};

struct ApiFailure {
    ApiError kind;
    std::string message;
};

struct [[nodiscard]] ApiOutcome {
    std::optional<ApiFailure> failure;

    [[nodiscard]] bool ok() const { return !failure.has_value(); }
    static ApiOutcome success() { return {}; }
    static ApiOutcome fail(ApiError kind, std::string message)
    {
        return ApiOutcome{ApiFailure{kind, std::move(message)}};
    }
};

// One rule as the API shows it: the definition plus live state.
struct RuleStatus {
    Rule rule;
    bool from_admin_config = false;   // from CONFIG_DIR: read-only over the API
    std::string state;                // active | waiting for interface | worker starting | error: ...
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t drops = 0;
};

// One worker as D-Bus ListWorkers and the control socket's ListWorkers show it.
struct WorkerStatus {
    std::string interface;
    std::string unit;                 // mcrd-worker@….service, or "spawned"
    std::string state;                // active | starting | failed | waiting for interface | stopped
    std::string sub_state;            // free text: why, restarts, ...
    std::uint32_t pid = 0;
};

class RelayApi {
public:
    RelayApi() = default;
    RelayApi(const RelayApi&) = delete;
    RelayApi& operator=(const RelayApi&) = delete;
    virtual ~RelayApi() = default;

    // ---- writes: WritePath calls these once the caller is authorized ------
    // `rule` has passed the structural parse; add_rule runs the model
    // validation against the set.
    virtual ApiOutcome add_rule(Rule rule) = 0;
    virtual ApiOutcome remove_rule(const std::string& name) = 0;
    // A parsed rule set, merged into the run-time rules or (replace)
    // replacing them; all or nothing.
    virtual ApiOutcome import_rules(const RuleSet& rules, bool replace) = 0;
    // Zeroes what later counter reads report.
    virtual void reset_stats() = 0;
    // Reads the admin configuration again.
    virtual ApiOutcome reload() = 0;
    virtual void set_log_level(LogLevel level) = 0;

    // ---- reads ---------------------------------------------------------------
    [[nodiscard]] virtual std::vector<RuleStatus> rules() const = 0;
    [[nodiscard]] virtual std::optional<RuleStatus> find_rule(const std::string& name) const = 0;
    [[nodiscard]] virtual std::string export_rules() const = 0;
    // Counters JSON aggregated from the workers.
    [[nodiscard]] virtual std::string stats_json() const = 0;
    // IGMP/MLD membership as a JSON array, one entry per interface and
    // protocol (GetStats' "membership"): all interfaces for "", else those of
    // `interface`; nullopt when no output there requires listeners, so no
    // querier runs on it.
    [[nodiscard]] virtual std::optional<std::string> membership_json(const std::string& interface) const = 0;
    [[nodiscard]] virtual std::vector<WorkerStatus> workers() const = 0;
    [[nodiscard]] virtual std::string log_level_name() const = 0;
    [[nodiscard]] virtual std::string namespace_name() const = 0;

protected:
    RelayApi(RelayApi&&) = default;
    RelayApi& operator=(RelayApi&&) = default;
};

} // namespace mcr
