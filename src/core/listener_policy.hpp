// The spellings of an output's "listeners" setting, shared by the JSON
// schema, mcrctl and the stats document: "always", "required".
#pragma once

#include "rule.hpp"

#include <optional>
#include <string_view>

namespace mcr {

inline constexpr std::string_view kListenerPolicyChoices = "\"always\" or \"required\"";

[[nodiscard]] constexpr std::string_view listener_policy_name(ListenerPolicy policy) noexcept
{
    return policy == ListenerPolicy::required ? "required" : "always";
}

[[nodiscard]] constexpr std::optional<ListenerPolicy> listener_policy_from_name(std::string_view name) noexcept
{
    for (const ListenerPolicy policy : {ListenerPolicy::always, ListenerPolicy::required})
        if (listener_policy_name(policy) == name)
            return policy;
    return std::nullopt;
}

} // namespace mcr
