// Caller identity for audit records, from sd-bus credentials or from a
// kernel-provided pid/uid (SO_PEERCRED, siginfo) plus sd_pid_get_unit().
#include "audit_caller.hpp"

#include "c_owned.hpp"
#include "sd_ptr.hpp"

#include <systemd/sd-login.h>

#include <cstdlib>

namespace mcr::audit {

namespace {

// sd-login returns malloc()ed strings; empty when the lookup fails.
template <typename Lookup>
std::string looked_up(Lookup lookup)
{
    char* raw = nullptr;
    if (lookup(&raw) < 0 || raw == nullptr)
        return {};
    return to_string(CString(raw));
}

} // namespace

Caller caller_of_process(pid_t pid, uid_t uid)
{
    Caller caller;
    caller.uid = uid;
    if (pid <= 0)
        return caller;
    caller.pid = pid;
    caller.unit = looked_up([pid](char** out) { return sd_pid_get_unit(pid, out); });
    if (caller.unit.empty())
        caller.unit = looked_up([pid](char** out) { return sd_pid_get_user_unit(pid, out); });
    caller.session = looked_up([pid](char** out) { return sd_pid_get_session(pid, out); });
    return caller;
}

Caller caller_of_bus_message(sd_bus_message* message)
{
    Caller caller;
    sd_bus_creds* raw = nullptr;
    const std::uint64_t mask = SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID | SD_BUS_CREDS_AUGMENT;
    if (sd_bus_query_sender_creds(message, mask, &raw) < 0)
        return caller;
    BusCredsPtr creds(raw);
    uid_t uid = 0;
    pid_t pid = 0;
    if (sd_bus_creds_get_euid(creds.get(), &uid) >= 0)
        caller.uid = uid;
    if (sd_bus_creds_get_pid(creds.get(), &pid) >= 0 && pid > 0) {
        // The unit and session come from the pid's cgroup, as for socket peers.
        const Caller from_pid = caller_of_process(pid, caller.uid.value_or(static_cast<uid_t>(-1)));
        caller.pid = pid;
        caller.unit = from_pid.unit;
        caller.session = from_pid.session;
    }
    return caller;
}

} // namespace mcr::audit
