// Which workers exist and what they are told: reconciliation with the rule
// set, interface hot-plug, state reporting and counters.
#include "worker_manager.hpp"

#include "core/log.hpp"
#include "netlink/link_monitor.hpp"
#include "supervisor/worker_listener.hpp"
#include "supervisor/worker_state.hpp"

#include <set>

namespace mcr::supervisor {

namespace {

constexpr std::uint64_t kStatsIntervalUsec = 1000ULL * 1000;

// Every interface a worker needs: its ingress and each output interface.
std::set<std::string> interfaces_of(const std::vector<Rule>& rules, const std::string& ingress)
{
    std::set<std::string> names = {ingress};
    for (const Rule& rule : rules)
        for (const RuleOutput& output : rule.outputs)
            names.insert(output.interface);
    return names;
}

} // namespace

std::string_view worker_state_name(WorkerState state)
{
    switch (state) {
    case WorkerState::starting: return "starting";
    case WorkerState::active: return "active";
    case WorkerState::failed: return "failed";
    case WorkerState::waiting_for_interface: return "waiting for interface";
    case WorkerState::stopped: return "stopped";
    }
    return "stopped";
}

WorkerManager::WorkerManager(sd_event* event, WorkerSettings settings, WorkerObserver& observer)
    : event_(event), settings_(std::move(settings)), observer_(observer)
{
}

WorkerManager::~WorkerManager() { release_all(); }

Result<std::unique_ptr<WorkerManager>> WorkerManager::create(sd_event* event, sd_bus* system_bus,
                                                             WorkerSettings settings, WorkerObserver& observer)
{
    std::unique_ptr<WorkerManager> manager(new WorkerManager(event, std::move(settings), observer));
    if (manager->settings_.mode == WorkerMode::systemd) {
        if (!system_bus)
            return Error{"--worker-mode", "systemd mode needs the system bus"};
        manager->units_ = std::make_unique<WorkerUnits>(system_bus, &WorkerManager::on_unit_failure, manager.get());
        WorkerManager* self = manager.get();
        auto listener = WorkerListener::create(event, manager->settings_.worker_socket,
                                               [self](unique_fd connection, const std::string& unit) {
                                                   self->accept_unit_connection(std::move(connection), unit);
                                               });
        if (!listener)
            return listener.error();
        manager->listener_ = std::move(*listener);
    }
    sd_event_source* timer = nullptr;
    const int r = sd_event_add_time_relative(event, &timer, CLOCK_MONOTONIC, kStatsIntervalUsec, 0,
                                             &WorkerManager::on_stats_timer, manager.get());
    if (r < 0)
        return Error{"workers", "cannot arm the counters timer"};
    manager->stats_timer_.reset(timer);
    (void)sd_event_source_set_enabled(timer, SD_EVENT_ON);
    return manager;
}

void WorkerManager::apply(const RuleSet& rules)
{
    std::map<std::string, std::vector<Rule>> by_interface;
    for (const Rule& rule : rules.rules)
        by_interface[rule.input.interface].push_back(rule);
    for (auto it = workers_.begin(); it != workers_.end();) {
        if (by_interface.count(it->first)) {
            ++it;
            continue;
        }
        stop(*it->second);
        log_info("Worker for " + it->first + " is no longer needed", {{"MCR_INTERFACE", it->first}});
        it = workers_.erase(it);
    }
    for (auto& [interface, interface_rules] : by_interface) {
        auto& slot = workers_[interface];
        if (!slot) {
            slot = std::make_unique<Worker>();
            slot->manager = this;
            slot->interface = interface;
            slot->unit = worker_unit_name(settings_.namespace_name, interface);
        }
        slot->rules = std::move(interface_rules);
        ensure(*slot);
    }
    observer_.workers_changed();
}

void WorkerManager::interface_changed(const std::string& ifname, bool present)
{
    bool touched = false;
    for (auto& [interface, worker] : workers_) {
        if (!interfaces_of(worker->rules, interface).count(ifname))
            continue;
        touched = true;
        if (!present) {
            // The sockets are bound to the old ifindex: they are useless now.
            stop(*worker);
            worker->sockets = WorkerSockets{};
        }
        ensure(*worker);
    }
    if (touched)
        observer_.workers_changed();
}

void WorkerManager::ensure(Worker& worker)
{
    worker.config = worker_config_json(worker.interface, worker.rules);
    for (const std::string& needed : interfaces_of(worker.rules, worker.interface)) {
        if (!query_link(needed)) {
            stop(worker);
            worker.sockets = WorkerSockets{};
            set_state(worker, WorkerState::waiting_for_interface, "interface " + needed + " does not exist");
            return;
        }
    }
    Result<std::vector<std::string>> changed =
        update_worker_sockets(worker.interface, worker.rules, worker.config, worker.sockets);
    if (!changed) {
        stop(worker);
        worker.sockets = WorkerSockets{};
        set_state(worker, WorkerState::failed, "cannot make sockets: " + changed.error().message());
        log_error("Failed to make sockets for the worker: " + changed.error().message(),
                  {{"MCR_INTERFACE", worker.interface}});
        return;
    }
    if (worker.restart_timer)
        return;   // a restart is scheduled; it will use the new config
    const bool running = settings_.mode == WorkerMode::spawn ? worker.pid > 0 : worker.unit_started;
    if (!running) {
        start(worker);
        return;
    }
    if (worker.link && !changed->empty())
        worker.link->send_config(worker.config, worker.sockets.named(*changed));
}

void WorkerManager::set_state(Worker& worker, WorkerState state, std::string sub_state)
{
    if (worker.state == state && worker.sub_state == sub_state)
        return;
    worker.state = state;
    worker.sub_state = std::move(sub_state);
    log_debug("Worker " + worker.interface + " is " + std::string(worker_state_name(state)) +
                  (worker.sub_state.empty() ? "" : ": " + worker.sub_state),
              {{"MCR_INTERFACE", worker.interface}});
    observer_.workers_changed();
}

void WorkerManager::drop_link(Worker& worker)
{
    if (worker.link)
        closed_links_.push_back(std::move(worker.link));
}

std::vector<bus::WorkerStatus> WorkerManager::statuses() const
{
    std::vector<bus::WorkerStatus> out;
    for (const auto& [interface, worker] : workers_) {
        bus::WorkerStatus status;
        status.interface = interface;
        status.unit = settings_.mode == WorkerMode::spawn ? "spawned" : worker->unit;
        status.state = std::string(worker_state_name(worker->state));
        status.sub_state = worker->sub_state;
        status.pid = static_cast<std::uint32_t>(worker->pid);
        out.push_back(std::move(status));
    }
    return out;
}

std::string WorkerManager::rule_state(const std::string& ingress_interface) const
{
    auto it = workers_.find(ingress_interface);
    if (it == workers_.end())
        return "error: no worker";
    const Worker& worker = *it->second;
    switch (worker.state) {
    case WorkerState::active: return "active";
    case WorkerState::starting: return "worker starting";
    case WorkerState::waiting_for_interface: return "waiting for interface";
    case WorkerState::failed: return "error: " + worker.sub_state;
    case WorkerState::stopped: return "error: worker stopped";
    }
    return "error: unknown";
}

std::map<std::string, nlohmann::json> WorkerManager::stats() const
{
    std::map<std::string, nlohmann::json> out;
    for (const auto& [interface, worker] : workers_)
        if (worker->stats)
            out.emplace(interface, *worker->stats);
    return out;
}

NamedFds WorkerManager::link_sockets(const std::string& interface)
{
    auto it = workers_.find(interface);
    return it == workers_.end() ? NamedFds{} : it->second->sockets.all();
}

std::string WorkerManager::link_config(const std::string& interface)
{
    auto it = workers_.find(interface);
    return it == workers_.end() ? std::string() : it->second->config;
}

void WorkerManager::link_stats(const std::string& interface, const std::string& stats_json)
{
    auto it = workers_.find(interface);
    if (it == workers_.end())
        return;
    Worker& worker = *it->second;
    nlohmann::json parsed = nlohmann::json::parse(stats_json, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        log_warning("Worker sent unreadable counters, ignoring", {{"MCR_INTERFACE", interface}});
        return;
    }
    worker.stats = std::move(parsed);
    worker.restarts = 0;
    set_state(worker, WorkerState::active, settings_.mode == WorkerMode::spawn ? "running" : "running (unit)");
}

void WorkerManager::link_closed(const std::string& interface)
{
    auto it = workers_.find(interface);
    if (it == workers_.end())
        return;
    Worker& worker = *it->second;
    drop_link(worker);
    // Spawn mode learns about the exit from SIGCHLD; a unit is restarted by
    // systemd and reconnects.
    if (settings_.mode == WorkerMode::systemd && worker.unit_started)
        set_state(worker, WorkerState::starting, "link lost, waiting for the worker to reconnect");
}

int WorkerManager::on_stats_timer(sd_event_source* source, std::uint64_t, void* userdata)
{
    auto* self = static_cast<WorkerManager*>(userdata);
    try {
        self->closed_links_.clear();
        for (auto& [interface, worker] : self->workers_)
            if (worker->link)
                worker->link->request_stats();
        self->observer_.stats_tick();
    } catch (...) {
        log_error("Unexpected failure while polling worker counters");
    }
    std::uint64_t now = 0;
    (void)sd_event_now(sd_event_source_get_event(source), CLOCK_MONOTONIC, &now);
    (void)sd_event_source_set_time(source, now + kStatsIntervalUsec);
    (void)sd_event_source_set_enabled(source, SD_EVENT_ON);
    return 0;
}

} // namespace mcr::supervisor
