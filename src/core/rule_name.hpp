// What a rule name may be and how one is made when none is given: the one
// derivation shared by the control socket's AddRule, the config.json5 import
// and validation, so a rule gets the same name whichever way it arrives.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mcr {

// [A-Za-z0-9_.-]: the characters a rule name may hold.
[[nodiscard]] bool is_rule_name_char(char c);

// [A-Za-z0-9_.-]{1,64}, not starting with '.' or '-'. Returns a reason or "".
[[nodiscard]] std::string rule_name_problem(std::string_view name);

// `wanted` made valid: cut to kMaxRuleNameLength, other characters become
// '_', a leading '.' or '-' becomes '_'; "rule" when `wanted` is empty.
[[nodiscard]] std::string sanitized_rule_name(std::string_view wanted);

// The name of a rule that has none, from its input: "eth0-239.1.1.1-5000",
// sanitized. `group` is the group as the caller has it (text from a file,
// or an address formatted by the caller).
[[nodiscard]] std::string derived_rule_name(std::string_view interface, std::string_view group,
                                            std::uint64_t port);

} // namespace mcr
