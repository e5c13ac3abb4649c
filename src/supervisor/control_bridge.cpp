// ControlHandler over RelayApi: authorization, then the same operation the
// D-Bus method runs, with its message passed through unchanged.
#include "control_bridge.hpp"

#include "bus/bus_names.hpp"
#include "core/rule_json.hpp"

#include <cstring>

namespace mcr::supervisor {

namespace {

Error error_of(const bus::ApiOutcome& outcome) { return Error{"", outcome.failure->message}; }

} // namespace

template <typename T, typename Apply>
void ControlBridge::authorized(const control::PeerCredentials& peer, const char* action,
                               control::Completion<T> done, Apply apply)
{
    auto on_decision = [done, apply = std::move(apply)](const bus::AuthDecision& decision) mutable {
        if (!decision.allowed()) {
            done(Error{"", "access denied: " + decision.message});
            return;
        }
        done(apply());
    };
    const int r = polkit_.check_unix_process(bus_, peer.pid, bus::process_start_time(peer.pid), peer.uid, action,
                                             /*interactive=*/false, on_decision);
    if (r < 0)
        done(Error{"", std::string("access denied: cannot ask polkit: ") + std::strerror(-r)});
}

void ControlBridge::add_rule(const control::PeerCredentials& peer, Rule rule, control::Completion<Ok> done)
{
    authorized<Ok>(peer, bus::kActionManageRules, std::move(done), [this, rule = std::move(rule)]() -> Result<Ok> {
        bus::ApiOutcome outcome = api_.add_rule(rule);
        return outcome.ok() ? Result<Ok>(Ok{}) : Result<Ok>(error_of(outcome));
    });
}

void ControlBridge::remove_rule(const control::PeerCredentials& peer, std::string name, control::Completion<Ok> done)
{
    authorized<Ok>(peer, bus::kActionManageRules, std::move(done), [this, name = std::move(name)]() -> Result<Ok> {
        bus::ApiOutcome outcome = api_.remove_rule(name);
        return outcome.ok() ? Result<Ok>(Ok{}) : Result<Ok>(error_of(outcome));
    });
}

void ControlBridge::import_rules(const control::PeerCredentials& peer, RuleSet rules, bool replace,
                                 control::Completion<std::size_t> done)
{
    authorized<std::size_t>(peer, bus::kActionManageRules, std::move(done),
                            [this, rules = std::move(rules), replace]() -> Result<std::size_t> {
                                std::uint32_t added = 0;
                                bus::ApiOutcome outcome =
                                    api_.import_rules(rule_set_to_json(rules).dump(), replace, added);
                                if (!outcome.ok())
                                    return error_of(outcome);
                                return static_cast<std::size_t>(added);
                            });
}

void ControlBridge::set_log_level(const control::PeerCredentials& peer, LogLevel level,
                                  control::Completion<Ok> done)
{
    authorized<Ok>(peer, bus::kActionSetLogLevel, std::move(done), [this, level]() -> Result<Ok> {
        bus::ApiOutcome outcome = api_.set_log_level(log_level_name(level));
        return outcome.ok() ? Result<Ok>(Ok{}) : Result<Ok>(error_of(outcome));
    });
}

void ControlBridge::list_rules(control::Completion<RuleSet> done)
{
    RuleSet set;
    for (const bus::RuleStatus& status : api_.rules())
        set.rules.push_back(status.rule);
    done(std::move(set));
}

void ControlBridge::get_stats(control::Completion<std::vector<control::RuleStats>> done)
{
    std::vector<control::RuleStats> stats;
    for (const bus::RuleStatus& status : api_.rules()) {
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
    for (const bus::WorkerStatus& status : api_.workers())
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
