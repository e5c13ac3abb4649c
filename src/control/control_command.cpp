// Parses MCR control-socket requests into typed commands. Strict on types
// and unknown fields (serde would ignore them; a typo should not silently do
// nothing on a relay), every error names the field path.
#include "control_command.hpp"

#include "json_fields.hpp"
#include "quote.hpp"
#include "rule_json.hpp"
#include "rule_name.hpp"
#include "rule_validation.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>

namespace mcr::control {
namespace {

using nlohmann::json;

constexpr std::uint8_t kMcrDefaultTtl = 1;

// MCR commands mcrd knows but deliberately does not implement, with why.
struct Unsupported {
    std::string_view command;
    std::string_view reason;
};
constexpr std::string_view kNoRouting = "mcrd is a static relay without PIM, IGMP, MSDP, RPF or event subscriptions";
constexpr std::array kUnsupportedCommands = {
    Unsupported{"SetFacilityLogLevel", "mcrd has one global log level; use SetGlobalLogLevel"},
    Unsupported{"SaveConfig", "mcrd persists every change itself"},
    Unsupported{"GetWorkerRules", "workers are per interface; use ListWorkers and ListRules"},
    Unsupported{"GetControlPlaneConfig", kNoRouting},
    Unsupported{"GetPimNeighbors", kNoRouting}, Unsupported{"EnablePim", kNoRouting},
    Unsupported{"DisablePim", kNoRouting}, Unsupported{"SetStaticRp", kNoRouting},
    Unsupported{"SetRpAddress", kNoRouting}, Unsupported{"AddExternalNeighbor", kNoRouting},
    Unsupported{"RemoveExternalNeighbor", kNoRouting}, Unsupported{"ListExternalNeighbors", kNoRouting},
    Unsupported{"ClearExternalNeighbors", kNoRouting}, Unsupported{"SetRpfProvider", kNoRouting},
    Unsupported{"GetRpfProvider", kNoRouting}, Unsupported{"QueryRpf", kNoRouting},
    Unsupported{"AddRpfRoute", kNoRouting}, Unsupported{"RemoveRpfRoute", kNoRouting},
    Unsupported{"ListRpfRoutes", kNoRouting}, Unsupported{"ClearRpfRoutes", kNoRouting},
    Unsupported{"GetIgmpGroups", kNoRouting}, Unsupported{"EnableIgmpQuerier", kNoRouting},
    Unsupported{"DisableIgmpQuerier", kNoRouting}, Unsupported{"GetMroute", kNoRouting},
    Unsupported{"GetMsdpPeers", kNoRouting}, Unsupported{"GetMsdpSaCache", kNoRouting},
    Unsupported{"AddMsdpPeer", kNoRouting}, Unsupported{"RemoveMsdpPeer", kNoRouting},
    Unsupported{"ClearMsdpSaCache", kNoRouting}, Unsupported{"Subscribe", kNoRouting},
    Unsupported{"Unsubscribe", kNoRouting}, Unsupported{"ListSubscriptions", kNoRouting},
};

Result<RuleOutput> parse_output(const json& body, const std::string& path)
{
    if (Status s = check_object(body, path, {"group", "port", "interface", "ttl", "source_ip"}); !s)
        return s.error();
    if (optional_field(body, "source_ip") != nullptr)
        return Error{key_path(path, "source_ip"), "not supported by mcrd (the kernel picks the source of unicast copies)"};
    auto endpoint = endpoint_fields<RuleOutput>(body, path, {"interface", "group", "port"});
    if (!endpoint)
        return endpoint.error();
    RuleOutput output = std::move(*endpoint);
    // MCR sends copies with TTL 1 unless told otherwise; mcrd's unset TTL
    // means "arriving TTL minus one", so MCR's default is made explicit
    // (as the config.json5 importer does).
    output.ttl = kMcrDefaultTtl;
    if (optional_field(body, "ttl") != nullptr) {
        auto value = integer_field(body, path, "ttl", 1, 255);
        if (!value)
            return value.error();
        output.ttl = static_cast<std::uint8_t>(*value);
    }
    return output;
}

// Picks the mcrd name for an MCR rule: name, else rule_id, else derived.
Result<std::string> rule_name(const json& body, const std::string& path, const RuleInput& input)
{
    for (const char* key : {"name", "rule_id"}) {
        const json* value = optional_field(body, key);
        if (value == nullptr)
            continue;
        if (!value->is_string())
            return type_error(key_path(path, key), "a string", *value);
        if (!value->get<std::string>().empty())
            return value->get<std::string>();
    }
    return derived_rule_name(input.interface, input.address.to_string(), input.port);
}

// MCR's protocol and its clients know IPv4 only, so an IPv6 rule is not
// added through it (listing shows IPv6 rules added elsewhere, in the same
// fields). The error says where IPv6 rules can be added instead. `keys`
// names the fields the way the request spelled them.
struct Ipv4OnlyKeys {
    std::string_view group;
    std::string_view source;
    std::string_view outputs;
};

Status refuse_ipv6(const Rule& rule, const std::string& path, const Ipv4OnlyKeys& keys)
{
    const auto refusal = [](std::string field_path, const IpAddress& address) -> Status {
        return Error{std::move(field_path),
                     "IPv6 address " + quoted_text(address.to_string()) +
                         " cannot be added through the MCR control socket (MCR's protocol is IPv4-only): add IPv6 "
                         "rules with mcrctl without --socket, the D-Bus API (org.mcr.Relay) or a rule file "
                         "(mcrd.json(5))"};
    };
    if (!rule.input.address.is_ipv4())
        return refusal(path + "." + std::string(keys.group), rule.input.address);
    if (rule.input.source && !rule.input.source->is_ipv4())
        return refusal(path + "." + std::string(keys.source), *rule.input.source);
    for (std::size_t i = 0; i < rule.outputs.size(); ++i)
        if (!rule.outputs[i].address.is_ipv4())
            return refusal(path + "." + std::string(keys.outputs) + "[" + std::to_string(i) + "].group",
                           rule.outputs[i].address);
    return Ok{};
}

Result<ControlCommand> parse_add_rule(const json& body)
{
    const std::string path = "AddRule";
    if (Status s = check_object(body, path, {"rule_id", "name", "input_interface", "input_group", "input_port",
                                             "input_protocol", "input_source", "outputs"});
        !s)
        return s.error();
    Rule rule;
    auto input = endpoint_fields<RuleInput>(body, path, {"input_interface", "input_group", "input_port"});
    if (!input)
        return input.error();
    rule.input = std::move(*input);
    if (const json* protocol = optional_field(body, "input_protocol");
        protocol != nullptr && !(protocol->is_number_unsigned() && protocol->get<std::uint64_t>() == kIpProtoUdp))
        return Error{key_path(path, "input_protocol"), "only UDP (17) is supported, got " + describe_json(*protocol)};
    if (optional_field(body, "input_source") != nullptr) {
        auto source = address_field(body, path, "input_source");
        if (!source)
            return source.error();
        rule.input.source = *source;
    }
    if (!body.contains("outputs"))
        return Error{key_path(path, "outputs"), "missing required key"};
    const json& outputs = body.at("outputs");
    if (!outputs.is_array())
        return type_error(key_path(path, "outputs"), "an array", outputs);
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        auto output = parse_output(outputs[i], key_path(path, "outputs") + "[" + std::to_string(i) + "]");
        if (!output)
            return output.error();
        rule.outputs.push_back(std::move(*output));
    }
    auto name = rule_name(body, path, rule.input);
    if (!name)
        return name.error();
    rule.name = *name;
    if (Status s = refuse_ipv6(rule, path, {"input_group", "input_source", "outputs"}); !s)
        return s.error();
    return ControlCommand{AddRuleCommand{std::move(rule)}};
}

Result<ControlCommand> parse_remove(const json& body, const std::string& path, const char* key)
{
    if (Status s = check_object(body, path, {key}); !s)
        return s.error();
    auto name = string_field(body, path, key);
    if (!name)
        return name.error();
    return ControlCommand{RemoveRuleCommand{*name}};
}

Result<ControlCommand> parse_set_log_level(const json& body)
{
    const std::string path = "SetGlobalLogLevel";
    if (Status s = check_object(body, path, {"level"}); !s)
        return s.error();
    auto name = string_field(body, path, "level");
    if (!name)
        return name.error();
    struct Severity {
        std::string_view name;
        LogLevel level;
    };
    // MCR's RFC 5424 severities; mcrd has no level above err or below debug.
    constexpr std::array kSeverities = {
        Severity{"emergency", LogLevel::err}, Severity{"alert", LogLevel::err},
        Severity{"critical", LogLevel::err},  Severity{"error", LogLevel::err},
        Severity{"warning", LogLevel::warning}, Severity{"notice", LogLevel::notice},
        Severity{"info", LogLevel::info},     Severity{"debug", LogLevel::debug},
        Severity{"trace", LogLevel::debug},
    };
    std::string lower;
    for (char c : *name)
        lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    for (const auto& severity : kSeverities)
        if (lower == severity.name)
            return ControlCommand{SetLogLevelCommand{severity.level}};
    return Error{key_path(path, "level"), "unknown level \"" + *name +
                                              "\" (Emergency, Alert, Critical, Error, Warning, Notice, Info, Debug, Trace)"};
}

// MCR sends its Config as a JSON object; mcrd's json5 importer reads it
// (JSON is JSON5) and reports the MCR-only keys as warnings.
Result<Json5Import> import_config(const json& body, const std::string& path)
{
    if (!body.contains("config"))
        return Error{key_path(path, "config"), "missing required key"};
    const json& config = body.at("config");
    if (!config.is_object())
        return type_error(key_path(path, "config"), "an object", config);
    auto imported = import_mcr_json5(config.dump());
    if (!imported)
        return Error{path + ".config" + (imported.error().path.empty() ? "" : "." + imported.error().path),
                     imported.error().reason};
    for (std::size_t i = 0; i < imported->rules.rules.size(); ++i)
        if (Status s = refuse_ipv6(imported->rules.rules[i], path + ".config.rules[" + std::to_string(i) + "]",
                                   {"input.group", "input.source", "outputs"});
            !s)
            return s.error();
    return imported;
}

Result<ControlCommand> parse_load_config(const json& body)
{
    const std::string path = "LoadConfig";
    if (Status s = check_object(body, path, {"config", "replace"}); !s)
        return s.error();
    auto replace = bool_field(body, path, "replace");
    if (!replace)
        return replace.error();
    auto imported = import_config(body, path);
    if (!imported)
        return imported.error();
    return ControlCommand{LoadConfigCommand{std::move(imported->rules), *replace,
                                            std::move(imported->warnings)}};
}

Result<ControlCommand> parse_check_config(const json& body)
{
    const std::string path = "CheckConfig";
    if (Status s = check_object(body, path, {"config"}); !s)
        return s.error();
    if (optional_field(body, "config") == nullptr || !body.at("config").is_object())
        return Error{key_path(path, "config"), "must be an object"};
    // An invalid config is a valid CheckConfig answer, not a request error.
    auto imported = import_config(body, path);
    if (!imported)
        return ControlCommand{CheckConfigCommand{false, {imported.error().message()}}};
    auto valid = validate_rule_set(imported->rules);
    if (!valid)
        return ControlCommand{CheckConfigCommand{false, {valid.error().message()}}};
    return ControlCommand{CheckConfigCommand{true, {}}};
}

std::optional<ControlCommand> unit_command(std::string_view name)
{
    if (name == "ListRules") return ListRulesCommand{};
    if (name == "GetStats") return GetStatsCommand{};
    if (name == "ListWorkers") return ListWorkersCommand{};
    if (name == "Ping") return PingCommand{};
    if (name == "GetVersion") return GetVersionCommand{};
    if (name == "GetLogLevels") return GetLogLevelsCommand{};
    if (name == "GetConfig") return GetConfigCommand{};
    return std::nullopt;
}

Result<ControlCommand> parse_command(const std::string& name, const json* body)
{
    for (const auto& unsupported : kUnsupportedCommands)
        if (name == unsupported.command)
            return Error{"", "'" + name + "' is not supported by mcrd: " + std::string(unsupported.reason)};
    if (auto command = unit_command(name)) {
        // serde accepts both "ListRules" and {"ListRules":null}.
        if (body != nullptr && !body->is_null())
            return Error{name, "takes no fields, got " + describe_json(*body)};
        return *command;
    }
    static const std::set<std::string, std::less<>> kCommandsWithFields = {
        "AddRule", "RemoveRule", "RemoveRuleByName", "SetGlobalLogLevel", "LoadConfig", "CheckConfig"};
    if (!kCommandsWithFields.contains(name))
        return Error{"", "unknown command '" + name + "'"};
    if (body == nullptr)
        return Error{"", "'" + name + "' needs fields: {\"" + name + "\":{...}}"};
    if (name == "AddRule") return parse_add_rule(*body);
    if (name == "RemoveRule") return parse_remove(*body, name, "rule_id");
    if (name == "RemoveRuleByName") return parse_remove(*body, name, "name");
    if (name == "SetGlobalLogLevel") return parse_set_log_level(*body);
    if (name == "LoadConfig") return parse_load_config(*body);
    return parse_check_config(*body);
}

} // namespace

bool is_write_command(const ControlCommand& command) noexcept
{
    return std::holds_alternative<AddRuleCommand>(command) || std::holds_alternative<RemoveRuleCommand>(command) ||
           std::holds_alternative<SetLogLevelCommand>(command) || std::holds_alternative<LoadConfigCommand>(command);
}

std::optional<AttemptedWrite> attempted_write(std::string_view request)
{
    static const std::array<std::pair<std::string_view, audit::Action>, 5> kWrites = {{
        {"AddRule", audit::Action::add_rule},
        {"RemoveRule", audit::Action::remove_rule},
        {"RemoveRuleByName", audit::Action::remove_rule},
        {"SetGlobalLogLevel", audit::Action::set_log_level},
        {"LoadConfig", audit::Action::import_rules},
    }};
    const json document = json::parse(request, nullptr, /*allow_exceptions=*/false);
    if (!document.is_object() || document.size() != 1)
        return std::nullopt;
    // Not `*document.items().begin()`: that binds to a dead temporary proxy.
    const auto first = document.begin();
    const std::string& key = first.key();
    const json& body = first.value();
    for (const auto& [command, action] : kWrites) {
        if (key != command)
            continue;
        AttemptedWrite write{action, {}};
        if (body.is_object()) {
            for (const char* field : {"name", "rule_id"})
                if (body.contains(field) && body[field].is_string())
                    write.rule = body[field].get<std::string>();
        }
        return write;
    }
    return std::nullopt;
}

Result<ControlCommand> parse_control_request(std::string_view request, std::size_t max_bytes)
{
    if (request.size() > max_bytes)
        return Error{"", request_too_large_message(max_bytes)};
    json document;
    try {
        document = json::parse(request);
    } catch (const json::exception& e) {
        // parse_error, or out_of_range.406 for a number beyond double ("1e999").
        // nlohmann prefixes "[json.exception.parse_error.101] "; users need the rest.
        std::string what = e.what();
        auto start = what.find("] ");
        return Error{"", "request is not valid JSON: " + (start == std::string::npos ? what : what.substr(start + 2))};
    }
    if (document.is_string())
        return parse_command(document.get<std::string>(), nullptr);
    if (document.is_object() && document.size() == 1)
        return parse_command(document.begin().key(), &document.begin().value());
    return Error{"", "request must be a command name (\"ListRules\") or an object with one command key "
                     "({\"RemoveRule\":{...}}), got " + describe_json(document)};
}

std::string request_too_large_message(std::size_t max_bytes)
{
    return "request exceeds the limit of " + std::to_string(max_bytes) + " bytes";
}

} // namespace mcr::control
