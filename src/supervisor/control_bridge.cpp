// ControlHandler as a front end of WritePath: each write becomes a
// WriteRequest for the peer's CallerGate; WritePath's result becomes the
// answer, its message passed through unchanged.
#include "control_bridge.hpp"

#include "control_auth.hpp"
#include "control_server.hpp"
#include "core/audit_caller.hpp"
#include "core/rule_json.hpp"

#include <unistd.h>

#include <cstring>
#include <memory>
#include <utility>

namespace mcr::supervisor {

namespace {

// A control-socket peer (SO_PEERCRED at accept): polkit decides with the
// process as subject, never interactively, as there is no agent on this
// socket.
class PeerGate final : public CallerGate {
public:
    PeerGate(bus::PolkitAuthorizer& polkit, sd_bus* polkit_bus, const control::PeerCredentials& peer)
        : polkit_(polkit), polkit_bus_(polkit_bus), pid_(peer.pid), uid_(peer.uid),
          caller_(audit::caller_of_process(peer.pid, peer.uid))
    {
    }

    [[nodiscard]] audit::Via via() const override { return audit::Via::socket; }
    [[nodiscard]] audit::Caller caller() const override { return caller_; }

    void authorize(const char* action, Decided decided) override
    {
        // polkit calls back only when the query was sent (r >= 0).
        const int r = polkit_.check_unix_process(polkit_bus_, pid_, bus::process_start_time(pid_), uid_, action,
                                                 /*interactive=*/false, [decided](const bus::AuthDecision& answer) {
                                                     decided(AccessDecision{answer.allowed(), answer.message});
                                                 });
        if (r < 0)
            decided(AccessDecision{false, std::string("cannot ask polkit: ") + std::strerror(-r)});
    }

private:
    bus::PolkitAuthorizer& polkit_;
    sd_bus* polkit_bus_;
    pid_t pid_;
    uid_t uid_;
    audit::Caller caller_;   // looked up at once: the peer may be gone when polkit answers
};

// A control-socket peer when there is no bus and so no polkit (mcrd --bus
// none, e.g. in a container): the socket file's mode (0660 root:mcr) keeps
// strangers from connecting, and this decides on what the kernel says about
// the peer, as MCR's root-only socket does, widened to group "mcr": the same
// rule as for reads (control::may_read), so that a file mode loosened by
// hand still lets no one else write.
class PeerRuleGate final : public CallerGate {
public:
    PeerRuleGate(const control::PeerCredentials& peer, uid_t daemon_uid, std::optional<gid_t> writer_gid)
        : allowed_(control::may_read(peer, daemon_uid, writer_gid)), uid_(peer.uid),
          caller_(audit::caller_of_process(peer.pid, peer.uid))
    {
    }

    [[nodiscard]] audit::Via via() const override { return audit::Via::socket; }
    [[nodiscard]] audit::Caller caller() const override { return caller_; }

    void authorize(const char* /*action*/, Decided decided) override
    {
        if (allowed_)
            decided(AccessDecision{true, {}});
        else
            decided(AccessDecision{false, "without a bus, writes need root or membership in group '" +
                                              std::string(control::kReadGroup) + "' (peer uid " +
                                              std::to_string(uid_) + ")"});
    }

private:
    bool allowed_;
    uid_t uid_;
    audit::Caller caller_;
};

Ok nothing(const WriteResult& /*result*/) { return Ok{}; }

} // namespace

ControlBridge::ControlBridge(const RelayApi& api, WritePath& writes, bus::PolkitAuthorizer& polkit,
                             sd_bus* polkit_bus)
    : api_(api), writes_(writes), polkit_(polkit), polkit_bus_(polkit_bus), daemon_uid_(geteuid()),
      writer_gid_(polkit_bus ? std::nullopt : control::lookup_group(control::kReadGroup))
{
}

template <typename T, typename ValueOf>
void ControlBridge::submit(const control::PeerCredentials& peer, WriteRequest&& request, control::Completion<T> done,
                           ValueOf value_of)
{
    std::shared_ptr<CallerGate> gate;
    if (polkit_bus_)
        gate = std::make_shared<PeerGate>(polkit_, polkit_bus_, peer);
    else
        gate = std::make_shared<PeerRuleGate>(peer, daemon_uid_, writer_gid_);
    writes_.submit(std::move(request), std::move(gate),
                   [done = std::move(done), value_of = std::move(value_of)](const WriteResult& result) {
                       if (result.denied)
                           done(Error{"", "access denied: " + *result.denied});
                       else if (!result.outcome.ok())
                           done(Error{"", result.outcome.failure->message});
                       else
                           done(value_of(result));
                   });
}

void ControlBridge::add_rule(const control::PeerCredentials& peer, Rule rule, control::Completion<Ok> done)
{
    std::string name = rule.name;
    std::string requested = rule_to_json(rule).dump();
    submit(peer, AddRuleRequest{std::move(rule), std::move(name), std::move(requested)}, std::move(done), nothing);
}

void ControlBridge::remove_rule(const control::PeerCredentials& peer, std::string name, control::Completion<Ok> done)
{
    submit(peer, RemoveRuleRequest{std::move(name)}, std::move(done), nothing);
}

void ControlBridge::import_rules(const control::PeerCredentials& peer, RuleSet rules, bool replace,
                                 control::Completion<std::size_t> done)
{
    submit(peer, ImportRulesRequest{std::move(rules), replace}, std::move(done),
           [](const WriteResult& result) { return static_cast<std::size_t>(result.imported); });
}

void ControlBridge::set_log_level(const control::PeerCredentials& peer, LogLevel level,
                                  control::Completion<Ok> done)
{
    submit(peer, SetLogLevelRequest{std::string(log_level_name(level))}, std::move(done), nothing);
}

void ControlBridge::list_rules(control::Completion<RuleSet> done)
{
    RuleSet set;
    for (const RuleStatus& status : api_.rules())
        set.rules.push_back(status.rule);
    done(std::move(set));
}

void ControlBridge::get_stats(control::Completion<std::vector<control::RuleStats>> done)
{
    std::vector<control::RuleStats> stats;
    for (const RuleStatus& status : api_.rules()) {
        control::RuleStats entry;
        entry.name = status.rule.name;
        entry.input = status.rule.input;
        entry.packets = status.packets;
        entry.bytes = status.bytes;
        stats.push_back(std::move(entry));
    }
    done(std::move(stats));
}

void ControlBridge::list_workers(control::Completion<std::vector<WorkerStatus>> done)
{
    done(api_.workers());
}

LogLevel ControlBridge::log_level() const
{
    LogLevel level = LogLevel::info;
    (void)parse_log_level(api_.log_level_name(), level);
    return level;
}

} // namespace mcr::supervisor
