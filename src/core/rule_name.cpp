// Rule names: the allowed alphabet, the reason a name is refused, and the
// sanitizing every place that makes up a name goes through.
#include "rule_name.hpp"

#include "quote.hpp"
#include "rule.hpp"

namespace mcr {

bool is_rule_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

std::string rule_name_problem(std::string_view name)
{
    if (name.empty())
        return "rule name must not be empty";
    if (name.size() > kMaxRuleNameLength)
        return "rule name " + quoted_text(name) + " is " + std::to_string(name.size()) +
               " characters, at most " + std::to_string(kMaxRuleNameLength) + " allowed";
    if (name.front() == '.' || name.front() == '-')
        return "rule name " + quoted_text(name) + " must not start with '" +
               std::string(1, name.front()) + "'";
    for (const char c : name)
        if (!is_rule_name_char(c))
            return "rule name " + quoted_text(name) + " contains " + quoted_text(std::string_view(&c, 1)) +
                   "; allowed are A-Z a-z 0-9 _ . -";
    return {};
}

std::string sanitized_rule_name(std::string_view wanted)
{
    std::string name;
    for (const char c : wanted.substr(0, kMaxRuleNameLength))
        name += is_rule_name_char(c) ? c : '_';
    if (name.empty())
        return "rule";
    if (name.front() == '.' || name.front() == '-')
        name.front() = '_';
    return name;
}

std::string derived_rule_name(std::string_view interface, std::string_view group, std::uint64_t port)
{
    return sanitized_rule_name(std::string(interface) + "-" + std::string(group) + "-" + std::to_string(port));
}

} // namespace mcr
