// Responses on the JSON control socket in MCR's shape (serde's externally
// tagged Response enum): {"Success":"..."}, {"Error":"..."}, {"Rules":[...]},
// {"Stats":[...]}, {"Workers":[...]}, {"LogLevels":{...}}, {"Version":{...}},
// {"Config":{...}}, {"ConfigValidation":{...}}. Each is one line of JSON.
#pragma once

#include "control_handler.hpp"
#include "log.hpp"
#include "rule.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mcr::control {

[[nodiscard]] std::string format_success(std::string_view message);
[[nodiscard]] std::string format_error(std::string_view message);
// MCR ForwardingRule per rule; rule_id and name are both the mcrd name.
[[nodiscard]] std::string format_rules(const RuleSet& rules);
// MCR FlowStats per rule.
[[nodiscard]] std::string format_stats(const std::vector<RuleStats>& stats);
// MCR WorkerInfo per worker: status "Running" when active, else Restarting.
[[nodiscard]] std::string format_workers(const std::vector<WorkerStatus>& workers);
[[nodiscard]] std::string format_log_levels(LogLevel level);
[[nodiscard]] std::string format_version(unsigned protocol_version);
// MCR Config: {"pinning":{},"rules":[ConfigRule...],"multicast_ttl":null}.
[[nodiscard]] std::string format_config(const RuleSet& rules);
[[nodiscard]] std::string format_config_validation(bool valid, const std::vector<std::string>& errors);

// MCR's severity name for an mcrd level ("Info").
[[nodiscard]] std::string_view mcr_severity_name(LogLevel level);

} // namespace mcr::control
