// ControlHandler over RelayApi: authorization, then the same operation the
// D-Bus method runs, with its message passed through unchanged.
#include "control_bridge.hpp"

#include "bus/bus_names.hpp"
#include "core/audit_caller.hpp"
#include "api/audit_outcome.hpp"
#include "core/rule_json.hpp"

#include <cstring>

namespace mcr::supervisor {

namespace {

Error error_of(const ApiOutcome& outcome) { return Error{"", outcome.failure->message}; }

// Audits what the API did with an authorized write, then gives the
// socket's answer: `value` or the API's message.
template <typename T>
Result<T> audited(audit::Record& record, const ApiOutcome& outcome, T value)
{
    audit::set_outcome(record, outcome);
    audit::emit(record);
    if (!outcome.ok())
        return error_of(outcome);
    return value;
}

audit::Record draft(audit::Action action, std::string rule = {})
{
    audit::Record record;
    record.action = action;
    record.rule = std::move(rule);
    return record;
}

} // namespace

template <typename T, typename Apply>
void ControlBridge::authorized(const control::PeerCredentials& peer, const char* action, audit::Record record,
                               control::Completion<T> done, Apply apply)
{
    record.via = audit::Via::socket;
    record.caller = audit::caller_of_process(peer.pid, peer.uid);
    auto on_decision = [done, record, apply = std::move(apply)](const bus::AuthDecision& decision) mutable {
        if (!decision.allowed()) {
            record.outcome = audit::Outcome::denied;
            record.detail = decision.message;
            audit::emit(record);
            done(Error{"", "access denied: " + decision.message});
            return;
        }
        done(apply(record));
    };
    const int r = polkit_.check_unix_process(bus_, peer.pid, bus::process_start_time(peer.pid), peer.uid, action,
                                             /*interactive=*/false, on_decision);
    if (r < 0) {
        record.outcome = audit::Outcome::denied;
        record.detail = std::string("cannot ask polkit: ") + std::strerror(-r);
        audit::emit(record);
        done(Error{"", "access denied: " + record.detail});
    }
}

void ControlBridge::add_rule(const control::PeerCredentials& peer, Rule rule, control::Completion<Ok> done)
{
    audit::Record record = draft(audit::Action::add_rule, rule.name);
    record.after = rule_to_json(rule).dump();
    authorized<Ok>(peer, bus::kActionManageRules, std::move(record), std::move(done),
                   [this, rule = std::move(rule)](audit::Record& audit) -> Result<Ok> {
                       return audited(audit, api_.add_rule(rule), Ok{});
                   });
}

void ControlBridge::remove_rule(const control::PeerCredentials& peer, std::string name, control::Completion<Ok> done)
{
    audit::Record record = draft(audit::Action::remove_rule, name);
    if (auto existing = api_.find_rule(name))
        record.before = rule_to_json(existing->rule).dump();
    authorized<Ok>(peer, bus::kActionManageRules, std::move(record), std::move(done),
                   [this, name = std::move(name)](audit::Record& audit) -> Result<Ok> {
                       return audited(audit, api_.remove_rule(name), Ok{});
                   });
}

void ControlBridge::import_rules(const control::PeerCredentials& peer, RuleSet rules, bool replace,
                                 control::Completion<std::size_t> done)
{
    audit::Record record = draft(audit::Action::import_rules);
    record.before = api_.export_rules();
    std::string requested = rule_set_to_json(rules).dump();
    record.after = requested;
    authorized<std::size_t>(peer, bus::kActionManageRules, std::move(record), std::move(done),
                            [this, requested = std::move(requested), replace](audit::Record& audit) -> Result<std::size_t> {
                                std::uint32_t added = 0;
                                const ApiOutcome outcome = api_.import_rules(requested, replace, added);
                                if (outcome.ok())
                                    audit.after = api_.export_rules();
                                return audited(audit, outcome, static_cast<std::size_t>(added));
                            });
}

void ControlBridge::set_log_level(const control::PeerCredentials& peer, LogLevel level,
                                  control::Completion<Ok> done)
{
    audit::Record record = draft(audit::Action::set_log_level);
    record.before = nlohmann::json(api_.log_level_name()).dump();
    record.after = nlohmann::json(log_level_name(level)).dump();
    record.detail = log_level_name(level);
    authorized<Ok>(peer, bus::kActionSetLogLevel, std::move(record), std::move(done),
                   [this, level](audit::Record& audit) -> Result<Ok> {
                       return audited(audit, api_.set_log_level(log_level_name(level)), Ok{});
                   });
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

void ControlBridge::list_workers(control::Completion<std::vector<control::WorkerState>> done)
{
    std::vector<control::WorkerState> workers;
    for (const WorkerStatus& status : api_.workers())
        workers.push_back(control::WorkerState{status.interface, status.unit, status.state, status.sub_state,
                                               status.pid});
    done(std::move(workers));
}

LogLevel ControlBridge::log_level() const
{
    LogLevel level = LogLevel::info;
    (void)parse_log_level(api_.log_level_name(), level);
    return level;
}

} // namespace mcr::supervisor
