// mcrctl's exit codes, and how a D-Bus error or a failed connection maps
// onto them. Scripts rely on these; --help lists them.
//   0 ok, 1 failure, 2 usage error, 3 no such rule or interface, 4 access denied,
//   5 invalid rule or argument, 6 daemon not reachable.
#pragma once

#include <string_view>

namespace mcr::ctl {

enum class ExitCode : int {
    ok = 0,
    failure = 1,
    usage = 2,
    not_found = 3,
    access_denied = 4,
    invalid = 5,
    unreachable = 6,
};

inline constexpr std::string_view kExitCodeHelp =
    "Exit status: 0 ok, 1 failure, 2 usage error, 3 no such rule or interface,\n"
    "4 access denied, 5 invalid rule or argument, 6 daemon not reachable.";

// By D-Bus error name ("org.mcr.Relay.Error.NoSuchRule" -> not_found).
[[nodiscard]] ExitCode exit_code_for_bus_error(std::string_view error_name) noexcept;
// A negative errno from connecting or calling without a D-Bus error name.
[[nodiscard]] ExitCode exit_code_for_errno(int negative_errno) noexcept;

} // namespace mcr::ctl
