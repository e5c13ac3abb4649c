// Builds MCR-shaped response documents from mcrd's rule model and the
// handler's answers.
#include "control_response.hpp"

#include "control_command.hpp"

#include <nlohmann/json.hpp>

namespace mcr::control {
namespace {

using nlohmann::json;

std::string tagged(std::string_view tag, json value)
{
    json document = json::object();
    document[std::string(tag)] = std::move(value);
    // One response per connection; the newline only helps humans using socat.
    return document.dump() + "\n";
}

json output_destination(const RuleOutput& output)
{
    json j = {{"group", output.address.to_string()}, {"port", output.port}, {"interface", output.interface}};
    if (output.ttl)
        j["ttl"] = *output.ttl;
    return j;
}

json outputs_of(const Rule& rule)
{
    json outputs = json::array();
    for (const auto& output : rule.outputs)
        outputs.push_back(output_destination(output));
    return outputs;
}

json forwarding_rule(const Rule& rule)
{
    json j = {{"rule_id", rule.name},
              {"name", rule.name},
              {"input_interface", rule.input.interface},
              {"input_group", rule.input.address.to_string()},
              {"input_port", rule.input.port},
              {"input_protocol", kIpProtoUdp},
              {"outputs", outputs_of(rule)},
              {"source", "Static"}};   // mcrd rules are all configured, none learned
    if (rule.input.source)
        j["input_source"] = rule.input.source->to_string();
    return j;
}

json config_rule(const Rule& rule)
{
    return {{"name", rule.name},
            {"input", {{"interface", rule.input.interface},
                       {"group", rule.input.address.to_string()},
                       {"port", rule.input.port}}},
            {"outputs", outputs_of(rule)}};
}

} // namespace

std::string format_success(std::string_view message) { return tagged("Success", std::string(message)); }

std::string format_error(std::string_view message) { return tagged("Error", std::string(message)); }

std::string format_rules(const RuleSet& rules)
{
    json list = json::array();
    for (const auto& rule : rules.rules)
        list.push_back(forwarding_rule(rule));
    return tagged("Rules", std::move(list));
}

std::string format_stats(const std::vector<RuleStats>& stats)
{
    json list = json::array();
    for (const auto& rule : stats)
        list.push_back({{"input_group", rule.input.address.to_string()},
                        {"input_port", rule.input.port},
                        {"input_protocol", kIpProtoUdp},
                        {"packets_relayed", rule.packets},
                        {"bytes_relayed", rule.bytes},
                        {"packets_per_second", rule.packets_per_second},
                        {"bits_per_second", rule.bits_per_second}});
    return tagged("Stats", std::move(list));
}

std::string format_workers(const std::vector<WorkerStatus>& workers)
{
    json list = json::array();
    for (const auto& worker : workers) {
        // MCR knows only Running and Restarting; any state but active is a
        // worker systemd is (re)starting or has given up on.
        json status = worker.state == "active" ? json("Running") : json{{"Restarting", {{"backoff_ms", 0}}}};
        list.push_back({{"pid", worker.pid},
                        {"worker_type", "DataPlane"},
                        {"core_id", nullptr},
                        {"interface", worker.interface},
                        {"status", std::move(status)}});
    }
    return tagged("Workers", std::move(list));
}

std::string_view mcr_severity_name(LogLevel level)
{
    switch (level) {
    case LogLevel::err: return "Error";
    case LogLevel::warning: return "Warning";
    case LogLevel::notice: return "Notice";
    case LogLevel::info: return "Info";
    case LogLevel::debug: return "Debug";
    }
    return "Info";
}

std::string format_log_levels(LogLevel level)
{
    return tagged("LogLevels", {{"global", std::string(mcr_severity_name(level))},
                                {"facility_overrides", json::object()}});
}

std::string format_version(unsigned protocol_version)
{
    return tagged("Version", {{"protocol_version", protocol_version}});
}

std::string format_config(const RuleSet& rules)
{
    json list = json::array();
    for (const auto& rule : rules.rules)
        list.push_back(config_rule(rule));
    return tagged("Config", {{"pinning", json::object()}, {"rules", std::move(list)}, {"multicast_ttl", nullptr}});
}

std::string format_config_validation(bool valid, const std::vector<std::string>& errors)
{
    return tagged("ConfigValidation", {{"valid", valid}, {"errors", errors}});
}

} // namespace mcr::control
