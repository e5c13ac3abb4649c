// Rules to and from mcrd's JSON schema (see rule_json.hpp), and config text
// to a validated rule set. Structural errors name the key path and quote the
// offending JSON value.
#include "rule_json.hpp"

#include "json5.hpp"
#include "json_fields.hpp"
#include "quote.hpp"
#include "rule_validation.hpp"
#include "stream_inspection.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string_view>

namespace mcr {

using nlohmann::json;

namespace {

constexpr std::int64_t kRuleSetVersion = 1;

// Deeper nesting than any config needs is refused at parse time, so that
// nothing recursive (dump, copy) ever meets a 500000-level array.
constexpr int kMaxJsonDepth = 32;

// The interface/address/port triple inputs and outputs share. `extra` is
// the one optional key each adds (source, ttl).
template <typename Endpoint>
Result<Endpoint> endpoint_from_json(const json& j, const std::string& path, std::string_view extra)
{
    if (Status s = check_object(j, path, {"interface", "address", "port", extra},
                                {"interface", "address", "port"});
        !s)
        return s.error();
    return endpoint_fields<Endpoint>(j, path, {"interface", "address", "port"});
}

Result<RuleInput> input_from_json(const json& j, const std::string& path)
{
    auto input = endpoint_from_json<RuleInput>(j, path, "source");
    if (input && j.contains("source")) {
        auto source = address_field(j, path, "source");
        if (!source)
            return source.error();
        input->source = *source;
    }
    return input;
}

Result<RuleOutput> output_from_json(const json& j, const std::string& path)
{
    auto output = endpoint_from_json<RuleOutput>(j, path, "ttl");
    if (output && j.contains("ttl")) {
        auto ttl = integer_field(j, path, "ttl", 1, 255);
        if (!ttl)
            return ttl.error();
        output->ttl = static_cast<std::uint8_t>(*ttl);
    }
    return output;
}

// Finds the first object with a repeated key, which nlohmann would
// otherwise resolve silently by keeping the last value, and nesting deeper
// than kMaxJsonDepth.
class StructureChecker {
public:
    bool operator()(int depth, json::parse_event_t event, json& parsed)
    {
        if (depth > kMaxJsonDepth)
            too_deep_ = true;
        if (event == json::parse_event_t::object_start)
            keys_.emplace_back();
        else if (event == json::parse_event_t::object_end && !keys_.empty())
            keys_.pop_back();
        else if (event == json::parse_event_t::key && !keys_.empty() && duplicate_.empty() &&
                 !keys_.back().insert(parsed.get<std::string>()).second)
            duplicate_ = parsed.get<std::string>();
        return true;
    }
    [[nodiscard]] const std::string& duplicate() const { return duplicate_; }
    [[nodiscard]] bool too_deep() const { return too_deep_; }

private:
    bool too_deep_ = false;
    std::vector<std::set<std::string>> keys_;
    std::string duplicate_;
};

// nlohmann's what() is "[json.exception.parse_error.101] parse error at line
// 1, column 2: reason"; we keep the reason and compute the position ourselves.
Error parse_error_to_error(std::string_view text, const json::parse_error& e)
{
    std::string_view what = e.what();
    std::string_view reason = what;
    if (const auto at = what.find("parse error"); at != std::string_view::npos)
        if (const auto colon = what.find(": ", at); colon != std::string_view::npos)
            reason = what.substr(colon + 2);
    const std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    return error_at_offset(text, offset, std::string(reason));
}

} // namespace

json rule_to_json(const Rule& rule)
{
    json input = {{"interface", rule.input.interface},
                  {"address", rule.input.address.to_string()},
                  {"port", rule.input.port}};
    if (rule.input.source)
        input["source"] = rule.input.source->to_string();
    json outputs = json::array();
    for (const RuleOutput& output : rule.outputs) {
        json o = {{"interface", output.interface},
                  {"address", output.address.to_string()},
                  {"port", output.port}};
        if (output.ttl)
            o["ttl"] = *output.ttl;
        outputs.push_back(std::move(o));
    }
    json out = {{"name", rule.name},
                {"input", std::move(input)},
                {"outputs", std::move(outputs)},
                {"forward_expired_ttl", rule.forward_expired_ttl}};
    // Only the non-default is written: documents of rules that never set it
    // stay as they were.
    if (rule.allow_link_local)
        out["allow_link_local"] = true;
    if (!rule.fast_path)
        out["fast_path"] = "off";
    if (rule.inspect != StreamInspection::none)
        out["inspect"] = std::string(inspection_name(rule.inspect));
    return out;
}

json rule_set_to_json(const RuleSet& set)
{
    json rules = json::array();
    for (const Rule& rule : set.rules)
        rules.push_back(rule_to_json(rule));
    return {{"rules", std::move(rules)}};
}

Result<Rule> rule_from_json(const json& j, const std::string& path)
{
    if (Status s = check_object(j, path,
                                {"name", "input", "outputs", "forward_expired_ttl", "allow_link_local", "fast_path",
                                 "inspect"},
                                {"name", "input", "outputs"});
        !s)
        return s.error();
    Rule rule;
    auto name = string_field(j, path, "name");
    if (!name)
        return name.error();
    rule.name = std::move(*name);
    auto input = input_from_json(j.at("input"), key_path(path, "input"));
    if (!input)
        return input.error();
    rule.input = std::move(*input);
    const std::string outputs_path = key_path(path, "outputs");
    const json& outputs = j.at("outputs");
    if (!outputs.is_array())
        return type_error(outputs_path, "an array", outputs);
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        auto output = output_from_json(outputs[i], outputs_path + "[" + std::to_string(i) + "]");
        if (!output)
            return output.error();
        rule.outputs.push_back(std::move(*output));
    }
    if (j.contains("forward_expired_ttl")) {
        auto flag = bool_field(j, path, "forward_expired_ttl");
        if (!flag)
            return flag.error();
        rule.forward_expired_ttl = *flag;
    }
    if (j.contains("allow_link_local")) {
        auto flag = bool_field(j, path, "allow_link_local");
        if (!flag)
            return flag.error();
        rule.allow_link_local = *flag;
    }
    if (j.contains("fast_path")) {
        const json& setting = j.at("fast_path");
        if (!setting.is_string() || (setting != "auto" && setting != "off"))
            return type_error(key_path(path, "fast_path"), "\"auto\" or \"off\"", setting);
        rule.fast_path = setting == "auto";
    }
    if (j.contains("inspect")) {
        const json& setting = j.at("inspect");
        const auto inspection =
            setting.is_string() ? inspection_from_name(setting.get<std::string>()) : std::nullopt;
        if (!inspection)
            return type_error(key_path(path, "inspect"), kInspectionChoices, setting);
        rule.inspect = *inspection;
    }
    return rule;
}

Result<RuleSet> rule_set_from_json(const json& j)
{
    if (Status s = check_object(j, "", {"version", "rules"}, {"rules"}); !s)
        return s.error();
    if (j.contains("version")) {
        const json& version = j.at("version");
        if (!version.is_number_integer() || version.get<std::int64_t>() != kRuleSetVersion)
            return Error{"version", "unsupported version " + describe_json(version) +
                                        " (this mcrd reads version 1)"};
    }
    const json& rules = j.at("rules");
    if (!rules.is_array())
        return type_error("rules", "an array", rules);
    RuleSet set;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        auto rule = rule_from_json(rules[i], "rules[" + std::to_string(i) + "]");
        if (!rule)
            return rule.error();
        set.rules.push_back(std::move(*rule));
    }
    return set;
}

Status check_config_size(std::string_view text)
{
    if (text.size() > kMaxConfigBytes)
        return Error{"", "config is " + std::to_string(text.size()) + " bytes, at most " +
                             std::to_string(kMaxConfigBytes) + " allowed"};
    return Ok{};
}

Result<json> parse_json_text(std::string_view text)
{
    if (Status s = check_config_size(text); !s)
        return s.error();
    StructureChecker checker;
    json parsed;
    try {
        parsed = json::parse(text, std::ref(checker), true, true);
    } catch (const json::parse_error& e) {
        return parse_error_to_error(text, e);
    } catch (const json::out_of_range& e) {
        // A number beyond double's range ("1e999") comes as out_of_range.406, not parse_error.
        const std::string what = e.what();
        const auto start = what.find("] ");
        return Error{"", start == std::string::npos ? what : what.substr(start + 2)};
    }
    if (checker.too_deep())
        return Error{"", "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
    if (!checker.duplicate().empty())
        return Error{"", "duplicate key " + quoted_text(checker.duplicate()) + " in an object"};
    return parsed;
}

Result<RuleSet> parse_rule_set(std::string_view text)
{
    auto parsed = parse_json_text(text);
    if (!parsed)
        return parsed.error();
    auto set = rule_set_from_json(*parsed);
    if (!set)
        return set.error();
    if (Status s = validate_rule_set(*set); !s)
        return s.error();
    return set;
}

} // namespace mcr
