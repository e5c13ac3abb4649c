// Which workers exist and what they are told: reconciliation with the rule
// set, interface hot-plug, state reporting and counters.
#include "worker_manager.hpp"

#include "core/c_callback.hpp"
#include "core/log.hpp"
#include "netlink/link_monitor.hpp"
#include "core/worker_protocol.hpp"
#include "supervisor/stats_baseline.hpp"
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

// Output interfaces of `rules` (not the ingress).
bool is_output_interface(const std::vector<Rule>& rules, const std::string& ifname)
{
    for (const Rule& rule : rules)
        for (const RuleOutput& output : rule.outputs)
            if (output.interface == ifname)
                return true;
    return false;
}

std::uint64_t uptime_of(const nlohmann::json& doc)
{
    const auto it = doc.find("uptime_ms");
    return it != doc.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
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
        manager->units_ = std::make_unique<WorkerUnits>(system_bus, &WorkerManager::on_unit_failure,
                                                        &WorkerManager::on_unit_state, manager.get());
        if (Status watched = manager->watch_jobs(system_bus); !watched)
            return watched.error();
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
        if (!present && ifname == interface) {
            // The sockets are bound to the old ifindex: they are useless now.
            stop(*worker);
            worker->sockets = WorkerSockets{};
        } else if (!present) {
            // Only the outputs on it stop; the rest of the worker forwards on.
            drop_egress_sockets(*worker, ifname);
        }
        ensure(*worker);
    }
    if (touched)
        observer_.workers_changed();
}

void WorkerManager::link_changed(const LinkEvent& event)
{
    switch (event.kind) {
    case LinkEventKind::added:
    case LinkEventKind::removed:
        // Every link is "added" once at start (the monitor's first dump):
        // where no worker receives, an earlier mcrd's filter must go.
        if (event.kind == LinkEventKind::added)
            sweep_orphan_filter(event.ifname, event.ifindex);
        note_link(event.ifname, event.kind == LinkEventKind::added && event.up);
        interface_changed(event.ifname, event.kind == LinkEventKind::added);
        return;
    case LinkEventKind::up:
    case LinkEventKind::down:
        // AF_PACKET sockets unhook on down and hook again on up by
        // themselves; the rules' state changes, and the workers' configs
        // say which outputs are down (the fast path leaves those rules to
        // the worker, which counts the failed sends).
        note_link(event.ifname, event.kind == LinkEventKind::up);
        for (auto& [interface, worker] : workers_)
            if (is_output_interface(worker->rules, event.ifname))
                ensure(*worker);
        break;
    case LinkEventKind::address_changed:
    case LinkEventKind::mtu_changed:
        for (auto& [interface, worker] : workers_) {
            if (!is_output_interface(worker->rules, event.ifname))
                continue;
            // Fresh egress sockets make the worker rebuild its plan: the
            // source MAC is read from them, the MTU travels in the config.
            if (event.kind == LinkEventKind::address_changed)
                drop_egress_sockets(*worker, event.ifname);
            ensure(*worker);
        }
        break;
    }
    observer_.workers_changed();
}

bool WorkerManager::in_use(const std::string& ifname) const
{
    for (const auto& [interface, worker] : workers_)
        if (interfaces_of(worker->rules, interface).count(ifname))
            return true;
    return false;
}

void WorkerManager::note_link(const std::string& ifname, bool is_usable)
{
    if (is_usable == usable(ifname) || (!is_usable && !in_use(ifname)))
        return;
    if (is_usable)
        unusable_.erase(ifname);
    else
        unusable_.insert(ifname);
    log_info("Interface " + ifname + (is_usable ? " is usable again" : " is down or missing"),
             {{"MCR_INTERFACE", ifname}});
}

void WorkerManager::drop_egress_sockets(Worker& worker, const std::string& ifname)
{
    worker.sockets.by_name.erase(worker_protocol::packet_egress_fd_name(ifname));
    worker.sockets.by_name.erase(worker_protocol::udp_egress_fd_name(ifname));
    worker.sockets.by_name.erase(worker_protocol::udp6_egress_fd_name(ifname));
}

void WorkerManager::ensure(Worker& worker)
{
    std::set<std::string> missing;
    for (const std::string& needed : interfaces_of(worker.rules, worker.interface)) {
        const std::optional<LinkInfo> link = query_link(needed);
        note_link(needed, link && link->up);
        if (!link)
            missing.insert(needed);
    }
    worker.config = worker_config_json(worker.interface, worker.rules, unusable_);
    if (missing.count(worker.interface)) {
        stop(worker);
        worker.sockets = WorkerSockets{};
        set_state(worker, WorkerState::waiting_for_interface, "interface " + worker.interface + " does not exist");
        return;
    }
    // A missing output interface holds back only its own outputs: they count
    // send errors until it appears and gets its socket.
    Result<std::vector<std::string>> changed =
        update_worker_sockets(worker.interface, worker.rules, worker.config, missing, worker.sockets);

    if (!changed) {
        stop(worker);
        worker.sockets = WorkerSockets{};
        set_state(worker, WorkerState::failed, "cannot make sockets: " + changed.error().message());
        log_error("Failed to make sockets for the worker: " + changed.error().message(),
                  {{"MCR_INTERFACE", worker.interface}});
        return;
    }
    for (std::string& name : plan_fast_path(worker))
        changed->push_back(std::move(name));
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

std::vector<WorkerStatus> WorkerManager::statuses() const
{
    std::vector<WorkerStatus> out;
    for (const auto& [interface, worker] : workers_) {
        WorkerStatus status;
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

std::string WorkerManager::rule_state(const Rule& rule) const
{
    std::string state = rule_state(rule.input.interface);
    if (state != "active" && state != "worker starting")
        return state;
    if (!usable(rule.input.interface))
        return "waiting for interface";
    std::set<std::string> waiting;
    std::size_t waiting_outputs = 0;
    for (const RuleOutput& output : rule.outputs)
        if (!usable(output.interface)) {
            ++waiting_outputs;
            waiting.insert(output.interface);
        }
    if (waiting_outputs == 0)
        return state;
    if (waiting_outputs == rule.outputs.size())
        return "waiting for interface";
    std::string names;
    for (const std::string& name : waiting)
        names += (names.empty() ? "" : ", ") + name;
    return "degraded: waiting for interface " + names;
}

std::map<std::string, nlohmann::json> WorkerManager::stats() const
{
    std::map<std::string, nlohmann::json> out;
    for (const auto& [interface, worker] : workers_) {
        nlohmann::json doc;
        if (worker->stats)
            doc = worker->carried ? add_counters(*worker->stats, *worker->carried) : *worker->stats;
        else if (worker->carried)
            doc = *worker->carried;
        else
            continue;
        // The worker's counters, the supervisor's word on the mode (it knows
        // refusals the worker never hears of).
        nlohmann::json& fast_path = doc["fast_path"];
        if (!fast_path.is_object())
            fast_path = nlohmann::json::object();
        fast_path.update(fast_path_status(*worker));
        out.emplace(interface, std::move(doc));
    }
    return out;
}

void WorkerManager::retire_stats(Worker& worker)
{
    if (!worker.stats)
        return;
    // While we hold the fast path's maps (spawn mode), they and their
    // counters go on into the next run's documents: carry only the rest.
    nlohmann::json finished = worker.sockets.by_name.count(std::string(worker_protocol::kFastPathAttachmentFd))
                                  ? without_fast_path_share(*worker.stats)
                                  : *worker.stats;
    worker.carried = worker.carried ? add_counters(finished, *worker.carried) : std::move(finished);
    worker.stats.reset();
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
    // A smaller uptime: the worker restarted (systemd brought it back from
    // its FD store) and counts from zero again.
    if (worker.stats && uptime_of(parsed) < uptime_of(*worker.stats)) {
        // The fast path's counters live in its maps: when the new run kept
        // them (FD store), its document already holds the old run's share.
        if (same_fast_path_maps(*worker.stats, parsed))
            worker.stats = without_fast_path_share(*worker.stats);
        retire_stats(worker);
    }
    worker.stats = std::move(parsed);
    follow_fast_path_report(worker);
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
    // systemd and reconnects, unless someone stopped it (see check_unit_later).
    if (settings_.mode == WorkerMode::systemd && worker.unit_started) {
        set_state(worker, WorkerState::starting, "link lost, waiting for the worker to reconnect");
        check_unit_later(worker);
    }
}

int WorkerManager::on_stats_timer(sd_event_source* source, std::uint64_t, void* userdata) noexcept
{
    auto* self = static_cast<WorkerManager*>(userdata);
    (void)guard_callback("Polling worker counters", [&]() -> int {
        self->closed_links_.clear();
        for (auto& [interface, worker] : self->workers_)
            if (worker->link)
                worker->link->request_stats();
        self->observer_.stats_tick();
        return 0;
    });
    std::uint64_t now = 0;
    (void)sd_event_now(sd_event_source_get_event(source), CLOCK_MONOTONIC, &now);
    (void)sd_event_source_set_time(source, now + kStatsIntervalUsec);
    (void)sd_event_source_set_enabled(source, SD_EVENT_ON);
    return 0;
}

} // namespace mcr::supervisor
