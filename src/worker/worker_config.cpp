// Parsing of the worker config document; rule objects go through the core's
// rule_from_json()/validate_rule() so the worker accepts exactly what the
// supervisor's schema defines.
#include "worker_config.hpp"

#include "core/quote.hpp"
#include "core/rule_json.hpp"
#include "core/rule_validation.hpp"
#include "core/worker_protocol.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace mcr::worker {

namespace {

using nlohmann::json;

// `usable`: where an "egress" entry may say "usable" (null: not allowed).
Result<unsigned> parse_mtu(const json& entry, const std::string& path, bool* usable = nullptr)
{
    if (!entry.is_object())
        return Error{path, "must be an object like {\"mtu\": 1500}"};
    unsigned mtu = kDefaultEgressMtu;
    for (const auto& [key, value] : entry.items()) {
        if (key == "usable" && usable) {
            if (!value.is_boolean())
                return Error{path + ".usable", "must be true or false, got " + value.dump()};
            *usable = value.get<bool>();
            continue;
        }
        if (key != "mtu")
            return Error{path + "." + key, "unknown key"};
        if (!value.is_number_unsigned() || value.get<std::uint64_t>() < kMinEgressMtu ||
            value.get<std::uint64_t>() > kMaxEgressMtu)
            return Error{path + ".mtu", "must be an integer " + std::to_string(kMinEgressMtu) + ".." +
                                            std::to_string(kMaxEgressMtu) + ", got " + value.dump()};
        mtu = value.get<unsigned>();
    }
    return mtu;
}

Status check_rule_fits(const Rule& rule, const WorkerConfig& config, const std::string& path)
{
    if (rule.input.interface != config.interface)
        return Error{path + ".input.interface", mcr::quoted_text(rule.input.interface) + " is not this worker's interface " +
                                                    mcr::quoted_text(config.interface)};
    for (std::size_t o = 0; o < rule.outputs.size(); ++o) {
        const RuleOutput& output = rule.outputs[o];
        const std::string output_path = path + ".outputs[" + std::to_string(o) + "]";
        if (!config.egress.contains(output.interface))
            return Error{output_path + ".interface", mcr::quoted_text(output.interface) + " has no entry in \"egress\""};
    }
    return Ok{};
}

// Takes the outputs' "source_address" out of a rule object (the rule schema
// has no such key) into `sources`, checked against each output's address.
Result<json> take_source_addresses(const json& rule, const std::string& path,
                                   std::vector<std::optional<IpAddress>>& sources)
{
    json stripped = rule;
    if (!stripped.is_object() || !stripped.contains("outputs") || !stripped["outputs"].is_array())
        return stripped; // rule_from_json() reports what is wrong
    json& outputs = stripped["outputs"];
    sources.assign(outputs.size(), std::nullopt);
    for (std::size_t o = 0; o < outputs.size(); ++o) {
        json& output = outputs[o];
        if (!output.is_object() || !output.contains("source_address"))
            continue;
        const std::string field = path + ".outputs[" + std::to_string(o) + "].source_address";
        const json& value = output["source_address"];
        auto address = value.is_string() ? IpAddress::parse(value.get<std::string>()) : std::nullopt;
        if (!address || address->is_multicast() || address->is_unspecified())
            return Error{field, "must be a unicast IPv4 or IPv6 address, got " + value.dump()};
        auto destination = output.contains("address") && output["address"].is_string()
                               ? IpAddress::parse(output["address"].get<std::string>())
                               : std::nullopt;
        if (destination && destination->family() != address->family())
            return Error{field, address->to_string() + " is not of the output address's family"};
        sources[o] = *address;
        output.erase("source_address");
    }
    return stripped;
}

Result<WorkerConfig> config_from_json(const json& document)
{
    if (!document.is_object())
        return Error{"", "worker config must be a JSON object"};
    for (const auto& [key, value] : document.items()) {
        (void)value;
        if (key != "interface" && key != "rules" && key != "egress" && key != "receive_buffer_bytes" &&
            key != "ingress")
            return Error{key, "unknown key"};
    }
    WorkerConfig config;
    if (!document.contains("interface") || !document["interface"].is_string())
        return Error{"interface", "missing or not a string"};
    config.interface = document["interface"].get<std::string>();
    if (std::string problem = interface_name_problem(config.interface); !problem.empty())
        return Error{"interface", problem};

    if (document.contains("receive_buffer_bytes")) {
        const json& value = document["receive_buffer_bytes"];
        if (!value.is_number_unsigned() || value.get<std::uint64_t>() < kMinReceiveBufferBytes ||
            value.get<std::uint64_t>() > kMaxReceiveBufferBytes)
            return Error{"receive_buffer_bytes", "must be an integer " + std::to_string(kMinReceiveBufferBytes) + ".." +
                                                     std::to_string(kMaxReceiveBufferBytes) + ", got " + value.dump()};
        config.receive_buffer_bytes = value.get<int>();
    }

    if (document.contains("ingress")) {
        auto mtu = parse_mtu(document["ingress"], "ingress");
        if (!mtu)
            return mtu.error();
        config.ingress_mtu = *mtu;
    }

    if (document.contains("egress")) {
        const json& egress = document["egress"];
        if (!egress.is_object())
            return Error{"egress", "must be an object keyed by interface name"};
        for (const auto& [ifname, entry] : egress.items()) {
            const std::string path = "egress." + ifname;
            if (std::string problem = interface_name_problem(ifname); !problem.empty())
                return Error{path, problem};
            bool usable = true;
            auto mtu = parse_mtu(entry, path, &usable);
            if (!mtu)
                return mtu.error();
            config.egress[ifname] = EgressInterface{*mtu, usable};
        }
    }

    if (!document.contains("rules") || !document["rules"].is_array())
        return Error{"rules", "missing or not an array"};
    const json& rules = document["rules"];
    std::set<std::string> names;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const std::string path = "rules[" + std::to_string(i) + "]";
        std::vector<std::optional<IpAddress>> sources;
        auto stripped = take_source_addresses(rules[i], path, sources);
        if (!stripped)
            return stripped.error();
        auto rule = rule_from_json(*stripped, path);
        if (!rule)
            return rule.error();
        if (Status valid = validate_rule(*rule, path); !valid)
            return valid.error();
        if (Status fits = check_rule_fits(*rule, config, path); !fits)
            return fits.error();
        if (!names.insert(rule->name).second)
            return Error{path + ".name", "duplicate rule name " + mcr::quoted_text(rule->name)};
        sources.resize(rule->outputs.size());
        config.source_addresses.push_back(std::move(sources));
        config.rules.push_back(std::move(*rule));
    }
    return config;
}

} // namespace

Result<WorkerConfig> parse_worker_config(std::string_view text)
{
    if (text.size() > kMaxConfigBytes)
        return Error{"", "worker config is larger than " + std::to_string(kMaxConfigBytes) + " bytes"};
    json document = json::parse(text, nullptr, false);
    if (document.is_discarded())
        return Error{"", "worker config is not valid JSON"};
    return config_from_json(document);
}

std::vector<std::string> required_socket_names(const WorkerConfig& config)
{
    std::set<std::string> names{std::string(worker_protocol::kIngressFd), std::string(worker_protocol::kMembershipFd)};
    for (const Rule& rule : config.rules) {
        if (!rule.input.address.is_ipv4())
            names.insert(std::string(worker_protocol::kIngress6Fd));
        for (const RuleOutput& output : rule.outputs)
            names.insert(worker_protocol::egress_fd_name(output.interface, output.address));
    }
    return {names.begin(), names.end()};
}

} // namespace mcr::worker
