// What the public D-Bus API does, as an interface the daemon implements:
// the bus glue (relay_bus.hpp) reads arguments, authorizes and replies; the
// daemon applies, validates and persists. Failures carry the D-Bus error
// kind and the message shown unchanged to the caller.
#pragma once

#include "core/rule.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

struct WorkerStatus {
    std::string interface;
    std::string unit;                 // mcrd-worker@….service, or "spawned"
    std::string state;                // active | starting | failed | waiting for interface | stopped
    std::string sub_state;            // free text: why, restarts, ...
    std::uint32_t pid = 0;
};

class RelayApi {
public:
    virtual ~RelayApi() = default;

    // Rules. `rule` has passed the JSON structural parse; add_rule runs
    // the model validation.
    virtual ApiOutcome add_rule(Rule rule) = 0;
    virtual ApiOutcome remove_rule(const std::string& name) = 0;
    // Rule-set JSON (mcrd schema) or MCR json5; all or nothing. `added` is
    // the number of rules added (or, with replace, now present).
    virtual ApiOutcome import_rules(std::string_view text, bool replace, std::uint32_t& added) = 0;
    [[nodiscard]] virtual std::vector<RuleStatus> rules() const = 0;
    [[nodiscard]] virtual std::optional<RuleStatus> find_rule(const std::string& name) const = 0;
    [[nodiscard]] virtual std::string export_rules() const = 0;

    // Counters JSON aggregated from the workers; reset_stats() zeroes what
    // later reads report.
    [[nodiscard]] virtual std::string stats_json() const = 0;
    virtual void reset_stats() = 0;

    [[nodiscard]] virtual std::vector<WorkerStatus> workers() const = 0;
    virtual ApiOutcome reload() = 0;
    virtual ApiOutcome set_log_level(std::string_view level) = 0;
    [[nodiscard]] virtual std::string log_level_name() const = 0;
    [[nodiscard]] virtual std::string namespace_name() const = 0;
};

} // namespace mcr
