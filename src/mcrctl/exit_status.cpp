// Maps D-Bus errors and errnos onto mcrctl exit codes.
#include "exit_status.hpp"

#include <array>
#include <cerrno>

namespace mcr::ctl {

ExitCode exit_code_for_bus_error(std::string_view error_name) noexcept
{
    struct Mapping {
        std::string_view name;
        ExitCode code;
    };
    static constexpr std::array kMappings = {
        Mapping{"org.mcr.Relay.Error.NoSuchRule", ExitCode::not_found},
        Mapping{"org.mcr.Relay.Error.NoSuchInterface", ExitCode::not_found},
        Mapping{"org.mcr.Relay.Error.InvalidRule", ExitCode::invalid},
        Mapping{"org.mcr.Relay.Error.InvalidArgument", ExitCode::invalid},
        Mapping{"org.mcr.Relay.Error.RuleExists", ExitCode::invalid},
        Mapping{"org.mcr.Relay.Error.InputConflict", ExitCode::invalid},
        Mapping{"org.mcr.Relay.Error.TooManyRules", ExitCode::invalid},
        Mapping{"org.freedesktop.DBus.Error.InvalidArgs", ExitCode::invalid},
        Mapping{"org.freedesktop.DBus.Error.AccessDenied", ExitCode::access_denied},
        Mapping{"org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", ExitCode::access_denied},
        Mapping{"org.mcr.Relay.Error.AccessDenied", ExitCode::access_denied},
        // Nobody owns the name and activation failed or is not set up.
        Mapping{"org.freedesktop.DBus.Error.ServiceUnknown", ExitCode::unreachable},
        Mapping{"org.freedesktop.DBus.Error.NameHasNoOwner", ExitCode::unreachable},
        Mapping{"org.freedesktop.DBus.Error.NoReply", ExitCode::unreachable},
        Mapping{"org.freedesktop.DBus.Error.Timeout", ExitCode::unreachable},
        Mapping{"org.freedesktop.DBus.Error.Disconnected", ExitCode::unreachable},
        Mapping{"org.freedesktop.DBus.Error.NoServer", ExitCode::unreachable},
        Mapping{"org.freedesktop.DBus.Error.FileNotFound", ExitCode::unreachable},
    };
    for (const auto& mapping : kMappings)
        if (error_name == mapping.name)
            return mapping.code;
    if (error_name.starts_with("org.freedesktop.DBus.Error.Spawn."))
        return ExitCode::unreachable;   // bus activation could not start mcrd
    return ExitCode::failure;
}

ExitCode exit_code_for_errno(int negative_errno) noexcept
{
    switch (-negative_errno) {
    case ENOENT:
    case ECONNREFUSED:
    case ECONNRESET:
    case ENOTCONN:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENXIO:
        return ExitCode::unreachable;
    case EACCES:
    case EPERM:
        return ExitCode::access_denied;
    case EINVAL:
        return ExitCode::invalid;
    default:
        return ExitCode::failure;
    }
}

} // namespace mcr::ctl
