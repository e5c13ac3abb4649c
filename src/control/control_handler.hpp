// What the JSON control socket asks of the daemon: the supervisor implements
// ControlHandler; the control server parses requests, checks read access and
// formats MCR-compatible responses around it.
//
// Contract for implementers (the supervisor's Context):
//  * Every method completes by calling `done` exactly once, synchronously or
//    later (writes usually after an async polkit check). Calling it after the
//    client went away is harmless (the reply is dropped).
//  * Writes carry the peer's credentials (from SO_PEERCRED at accept): the
//    handler authorizes them (polkit, subject = unix-process peer.pid/uid,
//    never interactive on this socket) and returns an Error whose message()
//    says what failed ("access denied: ...", "rules[0].outputs[0].port: ...").
//  * Reads are already authorized by the server (root or group "mcr").
//  * `done` must not throw; the handler must not throw out of these methods
//    (the server catches and answers "internal error", but it is a bug).
#pragma once

#include "api/relay_api.hpp"
#include "log.hpp"
#include "result.hpp"
#include "rule.hpp"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mcr::control {

// Who is on the other end of a control connection, captured once at accept
// (SO_PEERCRED / SO_PEERGROUPS), so later checks never depend on the client.
struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    std::vector<gid_t> groups;   // supplementary groups at connect time

    friend bool operator==(const PeerCredentials&, const PeerCredentials&) = default;
};

// Counters for one rule, as the control protocol reports them (MCR's
// FlowStats). Rates are per second over the handler's last sampling
// interval; 0 when it has none yet.
struct RuleStats {
    std::string name;
    RuleInput input;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    double packets_per_second = 0;
    double bits_per_second = 0;
};

// The one way a handler answers: a value, or an Error whose message() the
// client sees verbatim.
template <typename T>
using Completion = std::function<void(Result<T>)>;

class ControlHandler {
public:
    ControlHandler() = default;
    ControlHandler(const ControlHandler&) = delete;
    ControlHandler& operator=(const ControlHandler&) = delete;
    virtual ~ControlHandler() = default;

    // ---- writes: the handler authorizes with polkit, then applies ----------
    // `rule` is structurally parsed, not yet validated against the set.
    virtual void add_rule(const PeerCredentials& peer, Rule rule, Completion<Ok> done) = 0;
    // Unknown name: Error{"", "no rule named 'x'"}.
    virtual void remove_rule(const PeerCredentials& peer, std::string name, Completion<Ok> done) = 0;
    // Like D-Bus ImportRules: merge (replace=false) or replace the rule set;
    // completes with the number of rules imported.
    virtual void import_rules(const PeerCredentials& peer, RuleSet rules, bool replace,
                              Completion<std::size_t> done) = 0;
    virtual void set_log_level(const PeerCredentials& peer, LogLevel level, Completion<Ok> done) = 0;

    // ---- reads: already authorized by the server -----------------------------
    virtual void list_rules(Completion<RuleSet> done) = 0;
    virtual void get_stats(Completion<std::vector<RuleStats>> done) = 0;
    virtual void list_workers(Completion<std::vector<WorkerStatus>> done) = 0;
    [[nodiscard]] virtual LogLevel log_level() const = 0;

protected:
    ControlHandler(ControlHandler&&) = default;
    ControlHandler& operator=(ControlHandler&&) = default;
};

} // namespace mcr::control
