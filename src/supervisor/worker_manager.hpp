// One worker per ingress interface in use: decides which are needed from the
// rule set, makes their sockets, starts them (spawned child or systemd unit),
// keeps them configured over the worker link, restarts crashed spawned ones
// with bounded backoff and polls their counters once a second.
#pragma once

#include "api/relay_api.hpp"
#include "core/result.hpp"
#include "core/rule.hpp"
#include "core/sd_ptr.hpp"
#include "netlink/link_monitor.hpp"
#include "supervisor/options.hpp"
#include "supervisor/worker_identity.hpp"
#include "supervisor/worker_link.hpp"
#include "supervisor/worker_sockets.hpp"
#include "supervisor/worker_units.hpp"

#include <nlohmann/json.hpp>
#include <systemd/sd-event.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mcr::supervisor {

class WorkerListener;

enum class WorkerState { starting, active, failed, waiting_for_interface, stopped };

// What the Context hears from the manager (from event-loop callbacks).
class WorkerObserver {
public:
    virtual ~WorkerObserver() = default;
    virtual void workers_changed() = 0;   // a state, a pid or the set of workers changed
    virtual void stats_tick() = 0;        // once a second, after counters were refreshed
};

struct WorkerSettings {
    WorkerMode mode = WorkerMode::spawn;
    std::string binary;            // spawn mode
    std::string namespace_name;
    std::string worker_socket;     // systemd mode: where workers connect
    std::optional<WorkerIdentity> identity;   // spawn mode: the user workers switch to (--worker-user)
    bool fast_path = true;         // load and attach the in-kernel fast path where it works
    FastPathAttach fast_path_attach = FastPathAttach::automatic;
};

class WorkerManager final : public WorkerLinkOwner {
public:
    // `system_bus` is used in systemd mode only (may be null otherwise).
    [[nodiscard]] static Result<std::unique_ptr<WorkerManager>> create(sd_event* event, sd_bus* system_bus,
                                                                      WorkerSettings settings,
                                                                      WorkerObserver& observer);
    ~WorkerManager() override;
    WorkerManager(const WorkerManager&) = delete;
    WorkerManager& operator=(const WorkerManager&) = delete;

    // Brings the workers in line with `rules`.
    void apply(const RuleSet& rules);
    // The outputs with listeners now, by input interface (ListenerTracker):
    // workers whose set changed get it by SetListeners, and in their config.
    void set_listening(const std::map<std::string, worker_protocol::ListeningOutputs>& by_interface);
    // A link appeared/vanished: workers using it are rebuilt.
    void interface_changed(const std::string& ifname, bool present);
    // Any rtnetlink event: existence (above), up/down (rules wait while an
    // interface they use is down; AF_PACKET sockets resume by themselves on
    // up), MAC/IPv4 address and MTU changes (egress sockets and the worker's
    // plan are rebuilt).
    void link_changed(const LinkEvent& event);
    // Shutdown: spawned workers are stopped (they cannot outlive us), worker
    // units are left running: they keep forwarding from their FD store and
    // reconnect to the next supervisor.
    void release_all();

    [[nodiscard]] std::vector<WorkerStatus> statuses() const;
    // "active", "worker starting", "waiting for interface", "error: …".
    [[nodiscard]] std::string rule_state(const std::string& ingress_interface) const;
    // The same for one rule, looking at its outputs too: "waiting for
    // interface" when its input or all of its output interfaces are down or
    // missing, "degraded: waiting for interface X[, Y]" when only some are.
    [[nodiscard]] std::string rule_state(const Rule& rule) const;
    // Counters of each worker by ingress interface: its last document plus
    // what earlier runs of it counted (a crashed or restarted worker starts
    // from zero; the totals here never go back).
    [[nodiscard]] std::map<std::string, nlohmann::json> stats() const;

    // WorkerLinkOwner
    NamedFds link_sockets(const std::string& interface) override;
    std::string link_config(const std::string& interface) override;
    void link_stats(const std::string& interface, const std::string& stats_json) override;
    void link_closed(const std::string& interface) override;
    void link_sockets_handed(const std::string& interface) override;

private:
    struct Worker;

    WorkerManager(sd_event* event, WorkerSettings settings, WorkerObserver& observer);

    void ensure(Worker& worker);
    void start(Worker& worker);
    // Stops the worker and detaches its fast path (unless `detach` is false:
    // worker units left running at shutdown keep theirs).
    void stop(Worker& worker, bool detach = true);
    void set_state(Worker& worker, WorkerState state, std::string sub_state);
    void drop_link(Worker& worker);
    void schedule_restart(Worker& worker, const std::string& why);
    void retire_stats(Worker& worker);
    void note_link(const std::string& ifname, bool is_usable);
    // Fast path (worker_fast_path.cpp): attaches one when the worker has
    // none and nothing refused it; returns the fd names to hand over.
    [[nodiscard]] std::vector<std::string> plan_fast_path(Worker& worker);
    void refuse_fast_path(Worker& worker, std::string reason, const std::string& message);
    // Removes the worker's cls_bpf filter (attach mode tc-legacy), if any.
    void detach_fast_path(const Worker& worker);
    // Removes our cls_bpf filter from an interface no worker uses as input.
    void sweep_orphan_filter(const std::string& ifname, int ifindex);
    void follow_fast_path_report(Worker& worker);
    [[nodiscard]] nlohmann::json fast_path_status(const Worker& worker) const;
    static void forget_fast_path_fds(Worker& worker);
    [[nodiscard]] bool in_use(const std::string& ifname) const;
    static void drop_egress_sockets(Worker& worker, const std::string& ifname);
    [[nodiscard]] bool usable(const std::string& ifname) const { return !unusable_.count(ifname); }
    void accept_unit_connection(unique_fd connection, const std::string& unit);
    Worker* find_by_pid(pid_t pid);

    static int on_child_exit(sd_event_source* source, const siginfo_t* info, void* userdata) noexcept;
    static int on_restart_timer(sd_event_source* source, std::uint64_t usec, void* userdata) noexcept;
    static int on_stats_timer(sd_event_source* source, std::uint64_t usec, void* userdata) noexcept;
    static void on_unit_failure(void* userdata, const std::string& unit, const std::string& message);
    static void on_unit_state(void* userdata, const std::string& unit, const std::string& active_state,
                              std::uint32_t job_id);
    static int on_unit_check_timer(sd_event_source* source, std::uint64_t usec, void* userdata) noexcept;
    void check_unit_later(Worker& worker);
    static int on_job_removed(sd_bus_message* message, void* userdata, sd_bus_error* error) noexcept;
    [[nodiscard]] Status watch_jobs(sd_bus* system_bus);

    sd_event* event_;   // not owned: the Context's loop outlives us
    WorkerSettings settings_;
    WorkerObserver& observer_;
    std::unique_ptr<WorkerUnits> units_;
    BusSlotPtr job_match_;   // systemd mode: JobRemoved of the start jobs we asked for
    std::unique_ptr<WorkerListener> listener_;
    std::map<std::string, std::unique_ptr<Worker>> workers_;   // by ingress interface
    std::vector<std::unique_ptr<WorkerLink>> closed_links_;    // freed on the next tick, never inside their callback
    std::map<pid_t, EventSourcePtr> children_;                 // every spawned child until reaped
    EventSourcePtr stats_timer_;
    std::set<std::string> unusable_;   // interfaces some worker uses that are missing or down
};

} // namespace mcr::supervisor
