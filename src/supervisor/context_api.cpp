// The operations behind the front ends (RelayApi): rule changes with their
// announcements, reload, log level, worker listing. WritePath has
// authorized each write and writes its audit record.
#include "context.hpp"

#include "core/log.hpp"
#include "core/rule_json.hpp"
#include "supervisor/admin_config.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace mcr::supervisor {

RuleStatus Context::status_of(const StoredRule& stored) const
{
    RuleStatus status;
    status.rule = stored.rule;
    status.from_admin_config = stored.from_admin_config;
    status.state = workers_ ? workers_->rule_state(stored.rule) : "worker starting";
    if (auto it = emitted_counters_.find(stored.rule.name); it != emitted_counters_.end()) {
        status.packets = it->second.packets;
        status.bytes = it->second.bytes;
        status.drops = it->second.drops;
    }
    return status;
}

void Context::after_change(const RuleChanges& changes)
{
    for (const std::string& name : changes.removed) {
        // The write's audit entry (core/audit.hpp) is the journal record.
        log_debug("Rule " + name + " removed", {{"MCR_RULE", name}});
        emitted_counters_.erase(name);
        emitted_states_.erase(name);
        relay_bus_.rule_removed(name);
    }
    for (const std::string& name : changes.added) {
        const StoredRule* stored = store_.find(name);
        const std::string definition = stored ? rule_to_json(stored->rule).dump() : std::string();
        log_debug("Rule " + name + " added: " + definition, {{"MCR_RULE", name}});
        relay_bus_.rule_added(name);
    }
    if (workers_)
        workers_->apply(store_.rule_set());
    if (listeners_)
        listeners_->apply(store_.rule_set());
    update_idle_timer();
    notify_status();
}

void Context::listeners_changed()
{
    if (workers_ && listeners_)
        workers_->set_listening(listeners_->listening());
}

void Context::group_listeners_changed(const std::string& interface, const IpAddress& group, bool present)
{
    // The journal entry is the tracker's; this is the bus's.
    relay_bus_.group_listeners_changed(interface, group.to_string(), present);
}

ApiOutcome Context::add_rule(Rule rule)
{
    RuleChanges changes;
    ApiOutcome outcome = store_.add(std::move(rule), changes);
    if (outcome.ok())
        after_change(changes);
    return outcome;
}

ApiOutcome Context::remove_rule(const std::string& name)
{
    RuleChanges changes;
    ApiOutcome outcome = store_.remove(name, changes);
    if (outcome.ok())
        after_change(changes);
    return outcome;
}

ApiOutcome Context::import_rules(const RuleSet& rules, bool replace)
{
    RuleChanges changes;
    ApiOutcome outcome = store_.import(rules, replace, changes);
    if (outcome.ok())
        after_change(changes);
    return outcome;
}

std::vector<RuleStatus> Context::rules() const
{
    std::vector<RuleStatus> out;
    for (const StoredRule& stored : store_.rules())
        out.push_back(status_of(stored));
    return out;
}

std::optional<RuleStatus> Context::find_rule(const std::string& name) const
{
    const StoredRule* stored = store_.find(name);
    if (!stored)
        return std::nullopt;
    return status_of(*stored);
}

std::string Context::export_rules() const { return store_.export_json(); }

std::vector<WorkerStatus> Context::workers() const
{
    return workers_ ? workers_->statuses() : std::vector<WorkerStatus>{};
}

ApiOutcome Context::reload()
{
    timespec now{};
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                      static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
    (void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration", usec);
    ApiOutcome outcome = ApiOutcome::success();
    Result<RuleSet> admin = read_admin_rules(options_.config_dir, options_.config_file, options_.max_rules);
    if (!admin) {
        // The caller's audit entry carries the reason as MCR_DETAIL.
        log_debug("Reload failed, keeping the current rules: " + admin.error().message());
        outcome = ApiOutcome::fail(ApiError::invalid_rule, admin.error().message());
    } else if (Result<RuleChanges> changes = store_.set_admin_rules(*admin); !changes) {
        log_debug("Reload failed: " + changes.error().message());
        outcome = ApiOutcome::fail(ApiError::persist_failed, changes.error().message());
    } else {
        log_debug("Configuration reloaded: " + std::to_string(changes->added.size()) + " rules added, " +
                  std::to_string(changes->removed.size()) + " removed");
        after_change(*changes);
    }
    (void)sd_notify(0, "READY=1");
    notify_status();
    return outcome;
}

void Context::set_log_level(LogLevel level)
{
    if (level == mcr::log_level())
        return;
    mcr::set_log_level(level);
    log_debug("Log level set to " + std::string(mcr::log_level_name(level)));
    relay_bus_.manager_properties_changed({"LogLevel"});
}

std::string Context::log_level_name() const { return std::string(mcr::log_level_name(mcr::log_level())); }

} // namespace mcr::supervisor
