// Names on the public D-Bus API (bus names, object paths, interfaces, error
// names) and the helpers that derive per-namespace and per-rule names.
#pragma once

#include "core/result.hpp"

#include <string>
#include <string_view>

namespace mcr::bus {

inline constexpr const char* kBusName = "org.mcr.Relay";
inline constexpr const char* kObjectPath = "/org/mcr/Relay";
inline constexpr const char* kRulePathPrefix = "/org/mcr/Relay/rule";
inline constexpr const char* kManagerInterface = "org.mcr.Relay.Manager";
inline constexpr const char* kRuleInterface = "org.mcr.Relay.Rule";

// Error names: the message of each is the core Error::message() or a
// sentence naming the rule, unchanged from what the journal shows.
inline constexpr const char* kErrorInvalidRule = "org.mcr.Relay.Error.InvalidRule";
inline constexpr const char* kErrorNoSuchRule = "org.mcr.Relay.Error.NoSuchRule";
inline constexpr const char* kErrorRuleExists = "org.mcr.Relay.Error.RuleExists";
inline constexpr const char* kErrorInputConflict = "org.mcr.Relay.Error.InputConflict";
inline constexpr const char* kErrorTooManyRules = "org.mcr.Relay.Error.TooManyRules";
inline constexpr const char* kErrorPersistFailed = "org.mcr.Relay.Error.PersistFailed";
inline constexpr const char* kErrorInvalidArgument = "org.mcr.Relay.Error.InvalidArgument";
// Added beyond the base API: a rule from the admin config (/etc/mcrd) cannot
// be removed or replaced over D-Bus; the admin edits the file instead.
inline constexpr const char* kErrorAdminRule = "org.mcr.Relay.Error.AdminRule";
// GetMembership of an interface where no output requires listeners, so
// mcrd runs no IGMP or MLD there.
inline constexpr const char* kErrorNoSuchInterface = "org.mcr.Relay.Error.NoSuchInterface";

// A network namespace name as given to --namespace / mcrd@NS: 1..64 bytes,
// no '/', not "." or "..", printable ASCII. Returns a reason or "".
[[nodiscard]] std::string namespace_name_problem(std::string_view ns);

// "org.mcr.Relay" for the host, "org.mcr.Relay.ns.<escaped>" for a
// namespace: bytes outside [A-Za-z0-9] and a leading digit become _xx
// (lowercase hex), so any valid namespace name gives a valid bus name.
[[nodiscard]] std::string relay_bus_name(std::string_view ns);
[[nodiscard]] std::string escape_bus_name_element(std::string_view text);

// /org/mcr/Relay/rule/<sd_bus_path_encode(name)>; "" if encoding fails
// (out of memory only).
[[nodiscard]] std::string rule_object_path(std::string_view rule_name);
// The reverse; "" if `path` is not a rule object path.
[[nodiscard]] std::string rule_name_from_path(const char* path);

} // namespace mcr::bus
