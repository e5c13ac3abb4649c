// mcrd's JSON schema for rules and rule sets (config files, the state file,
// D-Bus AddRule, mcrctl --json), and import of MCR's config.json5.
//
// Schema (unknown keys are an error, not ignored):
//   { "rules": [ {
//       "name": "video1",
//       "input":   { "interface": "eth0", "address": "239.1.1.1", "port": 5000,
//                    "source": "192.0.2.10" },               // source optional (SSM)
//       "outputs": [ { "interface": "eth1", "address": "239.2.2.2", "port": 6000,
//                      "ttl": 16 } ],                          // ttl optional
//       "forward_expired_ttl": false,                          // optional
//       "allow_link_local": false,                             // optional (IPv6 ffX2::, fe80::/10)
//       "fast_path": "auto",                                   // optional: "auto" | "off"
//       "inspect": "none" } ] }                                // optional: "none" | "rtp" | "mpegts"
// Addresses are IPv4 or IPv6 text ("ff3e::1", no zone suffix); input and
// outputs may differ in family (the relay translates), a source may not.
#pragma once

#include "json_fields.hpp"
#include "result.hpp"
#include "rule.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace mcr {

[[nodiscard]] nlohmann::json rule_to_json(const Rule& rule);
[[nodiscard]] nlohmann::json rule_set_to_json(const RuleSet& set);

// Structural parse only (types, required/unknown keys, address syntax,
// ranges); callers run validate_rule()/validate_rule_set() for the model's
// constraints. `path` prefixes errors ("rules[2]").
[[nodiscard]] Result<Rule> rule_from_json(const nlohmann::json& j, const std::string& path = {});
[[nodiscard]] Result<RuleSet> rule_set_from_json(const nlohmann::json& j);

// Refuses text over kMaxConfigBytes (Error names both sizes).
[[nodiscard]] Status check_config_size(std::string_view text);

// JSON text (with // and /* */ comments) -> a JSON value, refusing text over
// kMaxConfigBytes, nesting deeper than 32 levels and objects with a repeated
// key; syntax errors carry "line N, column M". Shared by parse_rule_set and
// import_mcr_json5.
[[nodiscard]] Result<nlohmann::json> parse_json_text(std::string_view text);

// Text -> parsed and validated rule set. Refuses text over kMaxConfigBytes.
// Accepts // and /* */ comments (nlohmann's ignore_comments).
[[nodiscard]] Result<RuleSet> parse_rule_set(std::string_view text);

// MCR's config.json5: rules[].name, input{interface,group,port},
// outputs[]{interface,group,port}; other keys (pinning, multicast_ttl, ...)
// are not ours and are reported in `warnings`, never silently dropped.
struct Json5Import {
    RuleSet rules;
    std::vector<std::string> warnings;
};
[[nodiscard]] Result<Json5Import> import_mcr_json5(std::string_view text);

// Rule-set text in mcrd's JSON schema or MCR's config.json5: JSON is tried
// first; MCR's format only when that fails. Validated as a set.
[[nodiscard]] Result<RuleSet> parse_rules_text(std::string_view text, std::vector<std::string>& warnings);

} // namespace mcr
