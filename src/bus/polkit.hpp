// Authorization of privileged operations through polkit's
// CheckAuthorization, asynchronously so the daemon never blocks on an
// authentication dialog.
#pragma once

#include "core/sd_ptr.hpp"

#include <systemd/sd-bus.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace mcr::bus {

struct AuthDecision {
    enum class Outcome { allowed, denied, challenge, unavailable };
    Outcome outcome = Outcome::denied;
    std::string message;   // why it was not allowed, for the caller and the journal

    [[nodiscard]] bool allowed() const { return outcome == Outcome::allowed; }
};

// Owns the in-flight CheckAuthorization calls. Declare it after the buses
// it uses in the owner, so that it (and its slots) go first.
class PolkitAuthorizer {
public:
    PolkitAuthorizer();
    PolkitAuthorizer(const PolkitAuthorizer&) = delete;
    PolkitAuthorizer& operator=(const PolkitAuthorizer&) = delete;
    ~PolkitAuthorizer();

    // For a D-Bus method handler, modelled on systemd's
    // bus_verify_polkit_async(): returns 1 when the sender may run
    // `action` (root always may, if the bus driver vouches for its euid:
    // see creds_prove_root()), 0 when a polkit query was started and the
    // same message will be dispatched to the handler again once it answers
    // (the handler must then return 1 without replying), or a negative
    // errno with `error` set (AccessDenied / InteractiveAuthorizationRequired).
    // The subject is the sender's unique bus name, never an argument.
    [[nodiscard]] int verify_bus_call(sd_bus_message* message, const char* action, sd_bus_error* error);

    // The handler has answered `message` (which polkit may have
    // re-dispatched) without asking verify_bus_call() again: the request
    // could not succeed whatever polkit said, e.g. the rule it names was
    // removed while polkit decided. Drops polkit's answer to it, which
    // nothing would consume otherwise; a query still waiting is kept.
    void forget_answered(sd_bus_message* message);

    // Bus queries held: waiting for polkit, or answered and not yet consumed.
    [[nodiscard]] std::size_t bus_queries_held() const { return bus_queries_.size(); }

    // For the control socket: the subject is a process (from SO_PEERCRED).
    // uid 0 is allowed at once. `done` is called exactly once, possibly
    // before this returns; returns a negative errno if no query could be
    // sent (then `done` is not called).
    using DecisionCallback = std::function<void(const AuthDecision&)>;
    [[nodiscard]] int check_unix_process(sd_bus* bus, pid_t pid, std::uint64_t start_time, uid_t uid,
                                         const char* action, bool interactive, DecisionCallback done);

private:
    struct BusQuery;
    struct ProcessQuery;

    static int on_bus_query_reply(sd_bus_message* reply, void* userdata, sd_bus_error* ret_error) noexcept;
    static int on_process_query_reply(sd_bus_message* reply, void* userdata, sd_bus_error* ret_error) noexcept;

    std::map<sd_bus_message*, std::unique_ptr<BusQuery>> bus_queries_;
    std::map<std::uint64_t, std::unique_ptr<ProcessQuery>> process_queries_;
    std::uint64_t next_process_query_id_ = 1;
};

// Whether `creds` show effective uid 0 from a source that cannot lie: the
// bus driver or the socket, not /proc (sd-bus "augments" missing fields
// from /proc/PID, racing with pid reuse). The root shortcut of
// verify_bus_call() asks this.
[[nodiscard]] bool creds_prove_root(sd_bus_creds* creds);

// The start time of `pid` (field 22 of /proc/PID/stat, in clock ticks since
// boot), which polkit pairs with the pid so a recycled pid cannot pass as
// the original process; 0 when unreadable (polkit then looks it up itself).
[[nodiscard]] std::uint64_t process_start_time(pid_t pid);

// Sets `error` from a decision that is not `allowed` and returns -EACCES.
int set_auth_error(const AuthDecision& decision, sd_bus_error* error);

} // namespace mcr::bus
