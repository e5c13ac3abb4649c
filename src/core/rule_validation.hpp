// Checks a rule or a whole rule set against the model's constraints and
// names the first offending field (path + reason, quoting the bad value).
#pragma once

#include "result.hpp"
#include "rule.hpp"
#include "rule_name.hpp"

#include <string>
#include <string_view>

namespace mcr {

// "eth0", "veth-in.100": 1..IFNAMSIZ-1 bytes, none of '/', ':', '@' or
// whitespace, not "." or "..". Returns a reason, or "" when valid.
[[nodiscard]] std::string interface_name_problem(std::string_view name);

// One rule on its own. `path` prefixes every error ("rules[2]").
[[nodiscard]] Status validate_rule(const Rule& rule, const std::string& path = {});

// Every rule, plus what only the set can tell: duplicate names, two rules
// with the same input, more than `max_rules` rules.
[[nodiscard]] Status validate_rule_set(const RuleSet& set, std::size_t max_rules = kDefaultMaxRules);

// Whether `rule` can join `set` (by name and input); used by AddRule.
[[nodiscard]] Status validate_new_rule(const RuleSet& set, const Rule& rule,
                                       std::size_t max_rules = kDefaultMaxRules);

} // namespace mcr
