// mcrctl --socket PATH: the commands MCR's control-socket protocol can
// express, for an mcrd without a bus (mcrd --bus none). What the protocol
// cannot say (reload, status, stats --watch, an output without a TTL) is
// refused by name before anything is sent.
#include "commands.hpp"

#include "control_client.hpp"
#include "endpoint_args.hpp"
#include "json5.hpp"
#include "mcr_config.h"
#include "output_table.hpp"
#include "rule_json.hpp"

#include <algorithm>
#include <iostream>

namespace mcr::ctl {
namespace {

using nlohmann::json;

// MCR's protocol version mcrctl speaks (src/control kProtocolVersion).
constexpr unsigned kSpokenProtocolVersion = 1;

std::string text_field(const json& object, const char* key)
{
    auto it = object.find(key);
    if (it == object.end() || !it->is_string())
        throw CommandFailure(ExitCode::failure, std::string("The daemon's answer lacks '") + key + "': " + object.dump());
    return it->get<std::string>();
}

std::uint64_t number_field(const json& object, const char* key)
{
    auto it = object.find(key);
    if (it == object.end() || !it->is_number_unsigned())
        throw CommandFailure(ExitCode::failure, std::string("The daemon's answer lacks '") + key + "': " + object.dump());
    return it->get<std::uint64_t>();
}

IpAddress address_field(const json& object, const char* key)
{
    const std::string text = text_field(object, key);
    auto address = IpAddress::parse(text);
    if (!address)
        throw CommandFailure(ExitCode::failure, std::string("The daemon's '") + key + "' is not an address: " + text);
    return *address;
}

// MCR's ForwardingRule (format_rules in src/control) back into a Rule.
Rule rule_of(const json& forwarding)
{
    Rule rule;
    rule.name = text_field(forwarding, "name");
    rule.input.interface = text_field(forwarding, "input_interface");
    rule.input.address = address_field(forwarding, "input_group");
    rule.input.port = static_cast<std::uint16_t>(number_field(forwarding, "input_port"));
    if (forwarding.contains("input_source"))
        rule.input.source = address_field(forwarding, "input_source");
    for (const json& destination : forwarding.value("outputs", json::array())) {
        RuleOutput output{text_field(destination, "interface"), address_field(destination, "group"),
                          static_cast<std::uint16_t>(number_field(destination, "port")), std::nullopt};
        if (destination.contains("ttl"))
            output.ttl = static_cast<std::uint8_t>(number_field(destination, "ttl"));
        rule.outputs.push_back(std::move(output));
    }
    return rule;
}

RuleSet list_rules(const ControlClient& client)
{
    RuleSet set;
    const json rules = client.request("ListRules", "Rules");
    for (const json& forwarding : rules)
        set.rules.push_back(rule_of(forwarding));
    return set;
}

json output_body(const RuleOutput& output, const std::string& text)
{
    // MCR's protocol has no "TTL unset" (arriving TTL minus one): an output
    // without one would silently become TTL 1 there.
    if (!output.ttl)
        throw CommandFailure(ExitCode::usage, "add --socket: output '" + text +
                                                  "' needs an explicit TTL (IF:ADDRESS:PORT:TTL): the control "
                                                  "socket's protocol cannot express 'TTL unset'");
    return {{"interface", output.interface}, {"group", output.address.to_string()}, {"port", output.port},
            {"ttl", *output.ttl}};
}

} // namespace

[[noreturn]] void refuse_over_socket(const std::string& command, const std::string& why)
{
    throw CommandFailure(ExitCode::usage, "'" + command + "' is not available with --socket: " + why +
                                              "; use it over D-Bus (without --socket)");
}

void socket_add(const GlobalOptions& options, const std::string& name, const std::string& input_text,
                const std::vector<std::string>& output_texts)
{
    auto input = parse_input_endpoint(input_text);
    if (!input)
        throw CommandFailure(ExitCode::usage, input.error().message());
    std::vector<RuleOutput> output_list;
    for (const auto& text : output_texts) {
        auto output = parse_output_endpoint(text);
        if (!output)
            throw CommandFailure(ExitCode::usage, output.error().message());
        output_list.push_back(std::move(*output));
    }
    // Refused here, before anything is sent, as the daemon would refuse it.
    const auto ipv6 = [](const IpAddress& address) { return !address.is_ipv4(); };
    if (ipv6(input->address) || (input->source && ipv6(*input->source)) ||
        std::any_of(output_list.begin(), output_list.end(), [&](const RuleOutput& o) { return ipv6(o.address); }))
        refuse_over_socket("add with an IPv6 address", "MCR's protocol is IPv4-only");
    json outputs = json::array();
    for (std::size_t i = 0; i < output_list.size(); ++i)
        outputs.push_back(output_body(output_list[i], output_texts[i]));
    json body = {{"name", name},
                 {"input_interface", input->interface},
                 {"input_group", input->address.to_string()},
                 {"input_port", input->port},
                 {"outputs", std::move(outputs)}};
    if (input->source)
        body["input_source"] = input->source->to_string();
    (void)ControlClient(options.socket).request(json{{"AddRule", std::move(body)}}, "Success");
}

void socket_remove(const GlobalOptions& options, const std::string& name)
{
    (void)ControlClient(options.socket).request(json{{"RemoveRuleByName", {{"name", name}}}}, "Success");
}

void socket_list(const GlobalOptions& options)
{
    const RuleSet set = list_rules(ControlClient(options.socket));
    if (options.json) {
        std::cout << rule_set_to_json(set).dump(2) << "\n";
        return;
    }
    // No STATE column: the protocol does not carry a rule's state.
    OutputTable table({{"NAME"}, {"INPUT"}, {"OUTPUTS"}});
    for (const Rule& rule : set.rules) {
        std::string outputs;
        for (const auto& output : rule.outputs)
            outputs += (outputs.empty() ? "" : ",") + format_output_endpoint(output);
        table.add_row({rule.name, format_input_endpoint(rule.input), outputs});
    }
    std::cout << table.render() << "\n" << set.rules.size() << (set.rules.size() == 1 ? " rule" : " rules")
              << " listed.\n";
}

void socket_show(const GlobalOptions& options, const std::string& name)
{
    for (const Rule& rule : list_rules(ControlClient(options.socket)).rules) {
        if (rule.name != name)
            continue;
        if (options.json) {
            std::cout << rule_to_json(rule).dump(2) << "\n";
            return;
        }
        std::cout << "   Name: " << rule.name << "\n  Input: " << format_input_endpoint(rule.input) << "\n";
        for (std::size_t i = 0; i < rule.outputs.size(); ++i)
            std::cout << (i == 0 ? "Outputs: " : "         ") << format_output_endpoint(rule.outputs[i]) << "\n";
        return;
    }
    throw CommandFailure(ExitCode::not_found, "No rule named '" + name + "'");
}

void socket_stats(const GlobalOptions& options)
{
    const json stats = ControlClient(options.socket).request("GetStats", "Stats");
    if (options.json) {
        std::cout << stats.dump(2) << "\n";
        return;
    }
    // The protocol reports per input (MCR's FlowStats), not per rule name.
    OutputTable table({{"INPUT"}, {"PACKETS", true}, {"BYTES", true}});
    for (const json& flow : stats)
        table.add_row({format_address(text_field(flow, "input_group")) + ":" + std::to_string(number_field(flow, "input_port")),
                       std::to_string(number_field(flow, "packets_relayed")),
                       std::to_string(number_field(flow, "bytes_relayed"))});
    std::cout << table.render() << "\n";
}

void socket_workers(const GlobalOptions& options)
{
    const json workers = ControlClient(options.socket).request("ListWorkers", "Workers");
    if (options.json) {
        std::cout << workers.dump(2) << "\n";
        return;
    }
    OutputTable table({{"INTERFACE"}, {"STATUS"}, {"PID", true}});
    for (const json& worker : workers) {
        const json& status = worker.at("status");
        table.add_row({text_field(worker, "interface"),
                       status.is_string() ? status.get<std::string>() : status.begin().key(),
                       std::to_string(number_field(worker, "pid"))});
    }
    std::cout << table.render() << "\n";
}

void socket_log_level(const GlobalOptions& options, const std::optional<std::string>& level)
{
    const ControlClient client(options.socket);
    if (level) {
        (void)client.request(json{{"SetGlobalLogLevel", {{"level", *level}}}}, "Success");
        return;
    }
    const json levels = client.request("GetLogLevels", "LogLevels");
    std::cout << (options.json ? levels.dump() : text_field(levels, "global")) << "\n";
}

void socket_config_import(const GlobalOptions& options, const std::string& file, bool replace)
{
    // LoadConfig carries MCR's configuration as a JSON object; json5 is
    // turned into that here, the daemon reads and reports the rest.
    Result<std::string> text = json5_to_json(read_config_file(file));
    if (!text)
        throw CommandFailure(ExitCode::invalid, "'" + file + "': " + text.error().message());
    json config = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded() || !config.is_object())
        throw CommandFailure(ExitCode::invalid, "'" + file + "' is not a configuration object");
    const json answer =
        ControlClient(options.socket).request(json{{"LoadConfig", {{"config", config}, {"replace", replace}}}}, "Success");
    std::cout << (answer.is_string() ? answer.get<std::string>() : answer.dump()) << "\n";
}

void socket_config_export(const GlobalOptions& options)
{
    std::cout << rule_set_to_json(list_rules(ControlClient(options.socket))).dump(2) << "\n";
}

void socket_version(const GlobalOptions& options)
{
    const json version = ControlClient(options.socket).request("GetVersion", "Version");
    const std::uint64_t protocol = number_field(version, "protocol_version");
    if (options.json) {
        std::cout << json{{"mcrctl", MCR_VERSION}, {"protocol_version", protocol}}.dump() << "\n";
        return;
    }
    std::cout << "mcrctl " << MCR_VERSION << "\ncontrol socket protocol " << protocol
              << (protocol == kSpokenProtocolVersion ? "" : " (mcrctl speaks 1)") << "\n";
}

} // namespace mcr::ctl
