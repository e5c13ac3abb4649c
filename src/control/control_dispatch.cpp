// Maps each control command onto ControlHandler calls and MCR responses.
#include "control_dispatch.hpp"

#include "control_response.hpp"

#include <type_traits>
#include <utility>

namespace mcr::control {
namespace {

// Wraps `respond` into a handler completion: a value is formatted by
// `format`, an Error becomes {"Error": message}.
template <typename T, typename Format>
Completion<T> answer_with(Respond respond, Format format)
{
    return [respond = std::move(respond), format = std::move(format)](Result<T> result) {
        respond(result ? format(result.value()) : format_error(result.error().message()));
    };
}

std::string import_message(std::size_t count, bool replace, const std::vector<std::string>& warnings)
{
    // Same wording as MCR's LoadConfig answers, plus what mcrd ignored.
    std::string message = replace ? "Configuration loaded (" + std::to_string(count) + " rules, replaced existing)"
                                  : "Configuration merged (" + std::to_string(count) + " rules imported)";
    for (const auto& warning : warnings)
        message += "; warning: " + warning;
    return message;
}

constexpr const char* kReadDenied =
    "access denied: reading mcrd state needs root or membership in group 'mcr'";

} // namespace

void dispatch_command(ControlCommand command, const PeerCredentials& peer, bool peer_may_read,
                      ControlHandler& handler, Respond respond)
{
    const bool needs_read_access = !is_write_command(command) && !std::holds_alternative<PingCommand>(command) &&
                                   !std::holds_alternative<GetVersionCommand>(command);
    if (needs_read_access && !peer_may_read) {
        respond(format_error(kReadDenied));
        return;
    }
    std::visit(
        [&](auto& c) {
            using C = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<C, AddRuleCommand>) {
                std::string name = c.rule.name;
                handler.add_rule(peer, std::move(c.rule), answer_with<Ok>(std::move(respond), [name](const Ok&) {
                    return format_success("Rule " + name + " added");
                }));
            } else if constexpr (std::is_same_v<C, RemoveRuleCommand>) {
                std::string name = c.name;
                handler.remove_rule(peer, std::move(c.name), answer_with<Ok>(std::move(respond), [name](const Ok&) {
                    return format_success("Rule " + name + " removed");
                }));
            } else if constexpr (std::is_same_v<C, SetLogLevelCommand>) {
                LogLevel level = c.level;
                handler.set_log_level(peer, level, answer_with<Ok>(std::move(respond), [level](const Ok&) {
                    return format_success("Global log level set to " + std::string(mcr_severity_name(level)));
                }));
            } else if constexpr (std::is_same_v<C, LoadConfigCommand>) {
                handler.import_rules(peer, std::move(c.rules), c.replace,
                                     answer_with<std::size_t>(std::move(respond),
                                                              [replace = c.replace, warnings = c.warnings](std::size_t n) {
                                                                  return format_success(import_message(n, replace, warnings));
                                                              }));
            } else if constexpr (std::is_same_v<C, ListRulesCommand>) {
                handler.list_rules(answer_with<RuleSet>(std::move(respond), format_rules));
            } else if constexpr (std::is_same_v<C, GetConfigCommand>) {
                handler.list_rules(answer_with<RuleSet>(std::move(respond), format_config));
            } else if constexpr (std::is_same_v<C, GetStatsCommand>) {
                handler.get_stats(answer_with<std::vector<RuleStats>>(std::move(respond), format_stats));
            } else if constexpr (std::is_same_v<C, ListWorkersCommand>) {
                handler.list_workers(answer_with<std::vector<WorkerStatus>>(std::move(respond), format_workers));
            } else if constexpr (std::is_same_v<C, GetLogLevelsCommand>) {
                respond(format_log_levels(handler.log_level()));
            } else if constexpr (std::is_same_v<C, PingCommand>) {
                respond(format_success("pong"));   // the loop answering is the health signal
            } else if constexpr (std::is_same_v<C, GetVersionCommand>) {
                respond(format_version(kProtocolVersion));
            } else if constexpr (std::is_same_v<C, CheckConfigCommand>) {
                respond(format_config_validation(c.valid, c.errors));
            } else {
                static_assert(!sizeof(C), "every ControlCommand alternative must be dispatched");
            }
        },
        command);
}

} // namespace mcr::control
