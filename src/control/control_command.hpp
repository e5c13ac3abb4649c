// Requests on the JSON control socket, as MCR's mcrctl sends them (serde's
// externally tagged enum): unit commands are a bare string ("ListRules"),
// commands with fields an object with one key ({"RemoveRule":{"rule_id":"x"}}).
// parse_control_request() turns one request into a typed ControlCommand or
// an Error naming the offending field.
#pragma once

#include "audit.hpp"
#include "log.hpp"
#include "result.hpp"
#include "rule.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mcr::control {

// MCR's input_protocol: the IP protocol number of UDP, the only one a rule
// can carry (parsed from requests, written into replies).
inline constexpr unsigned kIpProtoUdp = 17;

// MCR's PROTOCOL_VERSION this server speaks.
inline constexpr unsigned kProtocolVersion = 1;

// {"AddRule":{"rule_id"?, "name"?, "input_interface", "input_group", "input_port",
//             "input_protocol"? (17 only), "input_source"?, "outputs":[{"group","port",
//             "interface","ttl"? (default 1, as MCR),"source_ip"? (unsupported)}]}}
// The mcrd rule name is `name`, else `rule_id`, else derived from the input
// (mcr::derived_rule_name(), as the config.json5 import does).
struct AddRuleCommand { Rule rule; };
// {"RemoveRule":{"rule_id"}} and {"RemoveRuleByName":{"name"}}: mcrd rules
// have one identity, their name, so both name it.
struct RemoveRuleCommand { std::string name; };
struct ListRulesCommand {};      // "ListRules"
struct GetStatsCommand {};       // "GetStats"
struct ListWorkersCommand {};    // "ListWorkers"
struct PingCommand {};           // "Ping"
struct GetVersionCommand {};     // "GetVersion"
struct GetLogLevelsCommand {};   // "GetLogLevels"
struct GetConfigCommand {};      // "GetConfig"
// {"SetGlobalLogLevel":{"level":"Debug"}}. MCR's severities map onto
// mcrd's: Emergency/Alert/Critical/Error -> err, Trace -> debug.
struct SetLogLevelCommand { LogLevel level = LogLevel::info; };
// {"LoadConfig":{"config":{MCR Config},"replace":bool}}
struct LoadConfigCommand {
    RuleSet rules;
    bool replace = false;
    std::vector<std::string> warnings;   // MCR keys mcrd does not use
};
// {"CheckConfig":{"config":{MCR Config}}}: answered by the server alone.
struct CheckConfigCommand {
    bool valid = false;
    std::vector<std::string> errors;
};

using ControlCommand = std::variant<AddRuleCommand, RemoveRuleCommand, ListRulesCommand,
                                    GetStatsCommand, ListWorkersCommand, PingCommand,
                                    GetVersionCommand, GetLogLevelsCommand, GetConfigCommand,
                                    SetLogLevelCommand, LoadConfigCommand, CheckConfigCommand>;

// Whether a command changes daemon state (then polkit decides) or only
// reads it (then group membership decides).
[[nodiscard]] bool is_write_command(const ControlCommand& command) noexcept;

// For a request that failed to parse: the write it attempted, if its one
// key names a write command, with the rule name when the body has one
// (so the refusal gets its audit entry); nullopt for reads and garbage.
struct AttemptedWrite {
    audit::Action action;
    std::string rule;
};
[[nodiscard]] std::optional<AttemptedWrite> attempted_write(std::string_view request);

// Parses one complete request. Errors: "request is not valid JSON: ...",
// "unknown command 'X'", "'SetFacilityLogLevel' is not supported by mcrd: ...",
// "AddRule.input_port: must be an integer 1..65535, got \"x\"", ...
// Requests larger than `max_bytes` are refused before parsing.
[[nodiscard]] Result<ControlCommand> parse_control_request(std::string_view request,
                                                           std::size_t max_bytes);

// The error text for a request over `max_bytes` (the server uses it
// before it has the whole request).
[[nodiscard]] std::string request_too_large_message(std::size_t max_bytes);

} // namespace mcr::control
