// mcrctl add / remove / list / show / config import / config export.
#include "commands.hpp"

#include "bus/bus_marshal.hpp"
#include "endpoint_args.hpp"
#include "output_table.hpp"
#include "rule.hpp"
#include "rule_json.hpp"
#include "stats_view.hpp"
#include "stream_inspection.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

namespace mcr::ctl {
namespace {


std::string read_string(sd_bus_message* m, const char* what)
{
    const char* value = nullptr;
    check_read(sd_bus_message_read_basic(m, 's', &value), what);
    return value;
}

// The daemon sends addresses it validated; a bad one here is a daemon bug,
// shown verbatim rather than hidden.
IpAddress address_or_unspecified(const std::string& text)
{
    return IpAddress::parse(text).value_or(IpAddress{});
}

std::string call_returning_string(RelayClient& client, const char* method, const RelayClient::AppendArgs& args = {})
{
    auto reply = client.call(method, args);
    return read_string(reply.get(), method);
}

// The daemon's JSON, indented for people and still importable.
void print_json_text(const std::string& text)
{
    auto document = nlohmann::json::parse(text, nullptr, false);
    std::cout << (document.is_discarded() ? text : document.dump(2)) << "\n";
}

} // namespace

std::string read_config_file(const std::string& file)
{
    std::ostringstream content;
    if (file == "-") {
        content << std::cin.rdbuf();
    } else {
        std::ifstream stream(file, std::ios::binary);
        if (!stream)
            throw CommandFailure(ExitCode::failure, "Failed to open '" + file + "'");
        content << stream.rdbuf();
    }
    std::string text = content.str();
    if (text.size() > kMaxConfigBytes)
        throw CommandFailure(ExitCode::invalid, "'" + file + "' is larger than " + std::to_string(kMaxConfigBytes) +
                                                    " bytes");
    return text;
}

std::vector<ListedRule> read_rules(RelayClient& client)
{
    auto reply = client.call("ListRules");
    sd_bus_message* m = reply.get();
    std::vector<ListedRule> rules;
    check_read(sd_bus_message_enter_container(m, 'a', "(sssqsa(ssqy)s)"), "rules");
    int r = 0;
    while ((r = sd_bus_message_enter_container(m, 'r', "sssqsa(ssqy)s")) > 0) {
        ListedRule rule;
        const char* name = nullptr;
        const char* interface = nullptr;
        const char* address = nullptr;
        const char* source = nullptr;
        std::uint16_t port = 0;
        check_read(sd_bus_message_read(m, "sssqs", &name, &interface, &address, &port, &source), "rule");
        rule.name = name;
        rule.input.interface = interface;
        rule.input.address = address_or_unspecified(address);
        rule.input.port = port;
        if (source != nullptr && *source != '\0')
            rule.input.source = address_or_unspecified(source);
        check_read(sd_bus_message_enter_container(m, 'a', "(ssqy)"), "outputs");
        const char* out_interface = nullptr;
        const char* out_address = nullptr;
        std::uint16_t out_port = 0;
        std::uint8_t ttl = 0;
        while ((r = sd_bus_message_read(m, "(ssqy)", &out_interface, &out_address, &out_port, &ttl)) > 0) {
            RuleOutput output{out_interface, address_or_unspecified(out_address), out_port, std::nullopt};
            if (ttl != 0)
                output.ttl = ttl;
            rule.outputs.push_back(format_output_endpoint(output));
        }
        check_read(r, "output");
        check_read(sd_bus_message_exit_container(m), "outputs");
        rule.state = read_string(m, "state");
        check_read(sd_bus_message_exit_container(m), "rule");
        rules.push_back(std::move(rule));
    }
    check_read(r, "rule");
    return rules;
}

void command_add(const GlobalOptions& options, const std::string& name, const std::string& input_text,
                 const std::vector<std::string>& output_texts, const AddSettings& settings)
{
    auto input = parse_input_endpoint(input_text);
    if (!input)
        throw CommandFailure(ExitCode::usage, input.error().message());
    std::vector<RuleOutput> outputs;
    for (const auto& text : output_texts) {
        auto output = parse_output_endpoint(text);
        if (!output)
            throw CommandFailure(ExitCode::usage, output.error().message());
        outputs.push_back(std::move(*output));
    }
    RelayClient client(options.connect);
    const bool listeners_required = std::any_of(outputs.begin(), outputs.end(), [](const RuleOutput& output) {
        return output.listeners == ListenerPolicy::required;
    });
    if (!settings.defaults() || listeners_required) {
        // AddRule's signature has no room for them; the JSON form has.
        const auto inspect = inspection_from_name(settings.inspect);
        if (!inspect)
            throw CommandFailure(ExitCode::usage, "--inspect must be " + std::string(kInspectionChoices) + ", got '" +
                                                      settings.inspect + "'");
        Rule rule;
        rule.name = name;
        rule.input = *input;
        rule.outputs = std::move(outputs);
        rule.fast_path = settings.fast_path != "off";
        rule.inspect = *inspect;
        rule.allow_link_local = settings.allow_link_local;
        const std::string text = rule_to_json(rule).dump();
        (void)client.call("AddRuleJSON", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", text.c_str()); });
        return;
    }
    const std::string source = input->source ? input->source->to_string() : std::string();
    const std::string address = input->address.to_string();
    (void)client.call("AddRule", [&](sd_bus_message* m) {
        int r = sd_bus_message_append(m, "sssqs", name.c_str(), input->interface.c_str(), address.c_str(),
                                      input->port, source.c_str());
        return r < 0 ? r : bus::append_outputs(m, outputs);
    });
}

void command_remove(const GlobalOptions& options, const std::string& name)
{
    RelayClient client(options.connect);
    (void)client.call("RemoveRule", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", name.c_str()); });
}

void command_list(const GlobalOptions& options)
{
    RelayClient client(options.connect);
    if (options.json) {
        // The rule-set document `mcrctl config import` accepts: a round trip.
        print_json_text(call_returning_string(client, "ExportRules"));
        return;
    }
    OutputTable table({{"NAME"}, {"INPUT"}, {"OUTPUTS"}, {"STATE"}});
    auto rules = read_rules(client);
    for (const auto& rule : rules) {
        std::string outputs;
        for (const auto& output : rule.outputs)
            outputs += (outputs.empty() ? "" : ",") + output;
        table.add_row({rule.name, format_input_endpoint(rule.input), outputs, rule.state});
    }
    std::cout << table.render() << "\n" << rules.size() << (rules.size() == 1 ? " rule" : " rules") << " listed.\n";
}

void command_show(const GlobalOptions& options, const std::string& name)
{
    RelayClient client(options.connect);
    const std::string text = call_returning_string(
        client, "GetRule", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", name.c_str()); });
    if (options.json) {
        print_json_text(text);
        return;
    }
    auto document = nlohmann::json::parse(text, nullptr, false);
    auto rule = document.is_discarded() ? Result<Rule>(Error{"", "not JSON"}) : rule_from_json(document);
    if (!rule)
        throw CommandFailure(ExitCode::failure, "The daemon's rule is unreadable (" + rule.error().message() + "): " + text);
    std::string state = "unknown";
    for (const auto& listed : read_rules(client))
        if (listed.name == name)
            state = listed.state;
    // Counters only when something on the screen needs them: the stream's
    // health, or the state of outputs that require listeners.
    const bool gated = std::any_of(rule->outputs.begin(), rule->outputs.end(), [](const RuleOutput& output) {
        return output.listeners == ListenerPolicy::required;
    });
    std::optional<StatsSnapshot> stats;
    if (gated || rule->inspect != StreamInspection::none)
        if (auto read = parse_stats(call_returning_string(client, "GetStats")))
            stats = std::move(*read);
    const RuleStatsRow* counters = nullptr;
    if (stats)
        for (const RuleStatsRow& row : stats->rules)
            if (row.name == name)
                counters = &row;
    std::cout << "   Name: " << rule->name << "\n  Input: " << format_input_endpoint(rule->input) << "\n";
    for (std::size_t i = 0; i < rule->outputs.size(); ++i) {
        const RuleOutput& output = rule->outputs[i];
        std::cout << (i == 0 ? "Outputs: " : "         ") << format_output_endpoint(output) << "\n";
        if (output.listeners != ListenerPolicy::required)
            continue;
        const OutputStatsRow* reported =
            counters != nullptr && i < counters->outputs.size() ? &counters->outputs[i] : nullptr;
        std::cout << "           listeners: "
                  << (reported != nullptr && reported->listeners
                          ? listener_summary(*reported->listeners,
                                             membership_of(stats->membership, reported->interface, reported->address),
                                             reported->interface)
                          : std::string("not reported yet (no worker relays it)"))
                  << "\n";
    }
    if (rule->forward_expired_ttl)
        std::cout << "Expired: forwarded (forward_expired_ttl)\n";
    if (rule->allow_link_local)
        std::cout << "   Link: link-local IPv6 addresses allowed (allow_link_local)\n";
    if (!rule->fast_path)
        std::cout << "   Path: userspace only (fast_path off)\n";
    std::cout << "  State: " << state << "\n";
    if (rule->inspect != StreamInspection::none) {
        std::cout << "Inspect: " << inspection_name(rule->inspect) << " (relayed by the worker)\n";
        const std::optional<HealthStatsRow> health = counters != nullptr ? counters->health : std::nullopt;
        std::cout << " Health: " << (health ? health_text(*health) : "not reported yet (no worker relays it)") << "\n";
    }
}

void command_config_import(const GlobalOptions& options, const std::string& file, bool replace)
{
    const std::string text = read_config_file(file);
    RelayClient client(options.connect);
    auto reply = client.call("ImportRules", [&](sd_bus_message* m) {
        return sd_bus_message_append(m, "sb", text.c_str(), static_cast<int>(replace));
    });
    std::uint32_t count = 0;
    check_read(sd_bus_message_read(reply.get(), "u", &count), "count");
    if (options.json)
        std::cout << nlohmann::json{{"imported", count}, {"replace", replace}}.dump() << "\n";
    else
        std::cout << "Imported " << count << (count == 1 ? " rule" : " rules") << (replace ? " (replaced the rule set)" : "")
                  << ".\n";
}

void command_config_export(const GlobalOptions& options)
{
    RelayClient client(options.connect);
    print_json_text(call_returning_string(client, "ExportRules"));
}

} // namespace mcr::ctl
