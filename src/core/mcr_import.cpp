// Import of MCR's config.json5: its rules are rewritten into mcrd's schema
// (group -> address, generated names, TTL defaults made explicit) and then
// parsed and validated like any mcrd config. What cannot be mapped becomes a
// warning. Format learnt from MCR's documented example and config structs:
//   { pinning: {"eth0": [0, 1]}, multicast_ttl: 4, pim: {...}, igmp: {...},
//     msdp: {...}, control_plane: {...},
//     rules: [ { name: "optional", input: {interface, group, port, protocol},
//                outputs: [ {interface, group, port, ttl} ] } ] }
#include "json5.hpp"
#include "json_fields.hpp"
#include "quote.hpp"
#include "rule_json.hpp"
#include "rule_name.hpp"
#include "rule_validation.hpp"

#include <algorithm>
#include <set>

namespace mcr {

using nlohmann::json;

namespace {

// MCR sends multicast copies with IP_MULTICAST_TTL 1 unless the output or the
// global multicast_ttl says otherwise; mcrd's unset TTL means "arriving TTL
// minus one", so the import writes MCR's effective value explicitly.
constexpr std::uint64_t kMcrDefaultMulticastTtl = 1;

bool is_empty_value(const json& value)
{
    return value.is_null() || ((value.is_object() || value.is_array()) && value.empty());
}

std::string ignored_reason(const std::string& key)
{
    if (key == "pinning")
        return "ignored (mcrd has one worker per ingress interface)";
    if (key == "pim" || key == "igmp" || key == "msdp")
        return "ignored (mcrd relays static rules only; it does not speak " + key + ")";
    if (key == "control_plane")
        return "ignored (mcrd has no dynamic control plane)";
    return "ignored (not an MCR key mcrd knows)";
}

// MCR names rules by a hash of the input; mcrd needs a readable name, so we
// derive one from the same input tuple: "eth0-239.1.1.1-5001".
std::string generated_name(const json& input, std::size_t index)
{
    if (input.is_object() && input.contains("interface") && input.contains("group") &&
        input.contains("port") && input["interface"].is_string() && input["group"].is_string() &&
        input["port"].is_number_unsigned())
        return derived_rule_name(input["interface"].get<std::string>(), input["group"].get<std::string>(),
                                 input["port"].get<std::uint64_t>());
    return "rule-" + std::to_string(index);
}

std::string unique_name(std::string name, std::set<std::string>& used)
{
    const std::string base = name;
    for (int suffix = 2; used.count(name) != 0; ++suffix)
        name = base.substr(0, kMaxRuleNameLength - 4) + "-" + std::to_string(suffix);
    used.insert(name);
    return name;
}

// MCR's "group" is mcrd's "address"; errors must use the words of the file.
Error in_mcr_terms(Error error)
{
    const std::string from = ".address";
    for (std::size_t at = error.path.find(from); at != std::string::npos;
         at = error.path.find(from, at + 1))
        error.path.replace(at, from.size(), ".group");
    return error;
}

class McrTranslator {
public:
    explicit McrTranslator(std::vector<std::string>& warnings) : warnings_(warnings) {}

    Status read_globals(const json& config)
    {
        for (const auto& [key, value] : config.items()) {
            if (key == "rules")
                continue;
            if (key == "multicast_ttl") {
                auto ttl = integer_field(config, "", "multicast_ttl", 1, 255);
                if (!ttl)
                    return ttl.error();
                multicast_ttl_ = *ttl;
            } else if (!is_empty_value(value)) {
                warn_ignored("", key);
            }
        }
        return Ok{};
    }

    // First pass: valid names the file gives keep priority over generated ones.
    void reserve_names(const json& rules)
    {
        for (const json& rule : rules)
            if (rule.is_object() && rule.contains("name") && rule["name"].is_string() &&
                rule_name_problem(rule["name"].get<std::string>()).empty())
                used_names_.insert(rule["name"].get<std::string>());
    }

    Result<json> translate_rule(const json& rule, std::size_t index)
    {
        const std::string path = "rules[" + std::to_string(index) + "]";
        if (!rule.is_object())
            return rule; // rule_from_json reports the type error
        json out = json::object();
        for (const auto& [key, value] : rule.items()) {
            if (key == "input")
                out["input"] = translate_input(value, path + ".input");
            else if (key == "outputs")
                out["outputs"] = translate_outputs(value, path + ".outputs");
            else if (key != "name")
                warn_ignored(path, key);
        }
        if (rule.contains("input") && rule["input"].is_object() &&
            rule["input"].value("protocol", json("udp")) == "esp")
            return Error{path + ".input.protocol", "\"esp\" is not supported (mcrd relays UDP only)"};
        auto name = translate_name(rule, index, path);
        if (!name)
            return name.error();
        out["name"] = *name;
        return out;
    }

private:
    // "<path>.<key>: ignored (why)" for a key mcrd cannot map.
    void warn_ignored(const std::string& path, const std::string& key)
    {
        std::string warning = path;
        if (!warning.empty())
            warning += '.';
        warning += key;
        warning += ": ";
        warning += ignored_reason(key);
        warnings_.push_back(std::move(warning));
    }

    Result<std::string> translate_name(const json& rule, std::size_t index, const std::string& path)
    {
        if (!rule.contains("name"))
            return unique_name(generated_name(rule.value("input", json()), index), used_names_);
        const json& name = rule["name"];
        if (!name.is_string())
            return type_error(key_path(path, "name"), "a string", name);
        const std::string wanted = name.get<std::string>();
        if (rule_name_problem(wanted).empty())
            return wanted;
        std::string renamed = unique_name(sanitized_rule_name(wanted), used_names_);
        warnings_.push_back(path + ".name: " + quoted_text(wanted) + " renamed to " + quoted_text(renamed) +
                            " (" + rule_name_problem(wanted) + ")");
        return renamed;
    }

    // Copies the keys mcrd knows under its own names; missing or mistyped
    // ones are left for rule_from_json to report.
    json translate_endpoint(const json& endpoint, const std::string& path,
                            std::initializer_list<const char*> extra_keys)
    {
        if (!endpoint.is_object())
            return endpoint;
        json out = json::object();
        for (const auto& item : endpoint.items()) {
            const std::string& key = item.key();
            if (key == "interface" || key == "port")
                out[key] = item.value();
            else if (key == "group")
                out["address"] = item.value();
            else if (std::none_of(extra_keys.begin(), extra_keys.end(),
                                  [&key](const char* extra) { return key == extra; }))
                warn_ignored(path, key);
        }
        return out;
    }

    json translate_input(const json& input, const std::string& path)
    {
        return translate_endpoint(input, path, {"protocol"});
    }

    json translate_outputs(const json& outputs, const std::string& path)
    {
        if (!outputs.is_array())
            return outputs;
        json out = json::array();
        for (std::size_t i = 0; i < outputs.size(); ++i) {
            const std::string output_path = path + "[" + std::to_string(i) + "]";
            json output = translate_endpoint(outputs[i], output_path, {"ttl"});
            if (output.is_object())
                apply_ttl(outputs[i], output, output_path);
            out.push_back(std::move(output));
        }
        return out;
    }

    // MCR applies TTLs to multicast copies only (IP_MULTICAST_TTL).
    void apply_ttl(const json& mcr_output, json& output, const std::string& path)
    {
        const bool multicast = mcr_output.contains("group") && mcr_output["group"].is_string() &&
                               IpAddress::parse(mcr_output["group"].get<std::string>()) &&
                               IpAddress::parse(mcr_output["group"].get<std::string>())->is_multicast();
        if (mcr_output.contains("ttl") && multicast)
            output["ttl"] = mcr_output["ttl"];
        else if (mcr_output.contains("ttl"))
            warnings_.push_back(path + ".ttl: ignored (MCR applies it to multicast outputs only)");
        else if (multicast)
            output["ttl"] = multicast_ttl_;
    }

    std::vector<std::string>& warnings_;
    std::uint64_t multicast_ttl_ = kMcrDefaultMulticastTtl;
    std::set<std::string> used_names_;
};

} // namespace

Result<Json5Import> import_mcr_json5(std::string_view text)
{
    if (Status s = check_config_size(text); !s)
        return s.error();
    auto converted = json5_to_json(text);
    if (!converted)
        return converted.error();
    auto config = parse_json_text(*converted);
    if (!config)
        return config.error();
    if (!config->is_object())
        return type_error("", "an object", *config);

    Json5Import result;
    McrTranslator translator(result.warnings);
    if (Status s = translator.read_globals(*config); !s)
        return s.error();
    const json rules = config->value("rules", json::array());
    if (!rules.is_array())
        return type_error("rules", "an array", rules);
    translator.reserve_names(rules);
    json mcrd_rules = json::array();
    for (std::size_t i = 0; i < rules.size(); ++i) {
        auto rule = translator.translate_rule(rules[i], i);
        if (!rule)
            return rule.error();
        mcrd_rules.push_back(std::move(*rule));
    }
    auto set = rule_set_from_json(json{{"rules", std::move(mcrd_rules)}});
    if (!set)
        return in_mcr_terms(set.error());
    if (Status s = validate_rule_set(*set); !s)
        return in_mcr_terms(s.error());
    result.rules = std::move(*set);
    return result;
}

Result<RuleSet> parse_rules_text(std::string_view text, std::vector<std::string>& warnings)
{
    Result<RuleSet> ours = parse_rule_set(text);
    if (ours)
        return ours;
    // Only text that is not our JSON at all is tried as MCR's format: a
    // schema error in valid mcrd JSON is reported as such.
    const bool is_json = parse_json_text(text).ok();
    Result<Json5Import> theirs = import_mcr_json5(text);
    if (!theirs)
        return is_json ? ours.error() : theirs.error();
    if (Status valid = validate_rule_set(theirs->rules); !valid)
        return valid.error();
    warnings = std::move(theirs->warnings);
    return std::move(theirs->rules);
}

} // namespace mcr
