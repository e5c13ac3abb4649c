// Starting and stopping workers: fork+exec in spawn mode (with SIGCHLD
// handling and bounded restart backoff), StartUnit/StopUnit and the peer
// check of incoming connections in systemd mode.
#include "core/c_callback.hpp"
#include "core/log.hpp"
#include "core/message_ids.hpp"
#include "supervisor/worker_manager.hpp"
#include "supervisor/worker_spawn.hpp"
#include "supervisor/worker_state.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mcr::supervisor {

namespace {

constexpr std::uint64_t kFirstRestartDelayUsec = 500ULL * 1000;
constexpr std::uint64_t kMaxRestartDelayUsec = 30ULL * 1000 * 1000;
// How long after a unit's link drops its state is asked (and asked again
// while it is on its way back): a crash restarts it in RestartSec=100ms.
constexpr std::uint64_t kUnitCheckDelayUsec = 1000ULL * 1000;

std::uint64_t restart_delay_usec(unsigned restarts)
{
    const unsigned doublings = std::min(restarts, 6U);
    return std::min(kFirstRestartDelayUsec << doublings, kMaxRestartDelayUsec);
}

std::string describe_exit(const siginfo_t* info)
{
    if (info->si_code == CLD_EXITED)
        return "exited with status " + std::to_string(info->si_status);
    return std::string("killed by signal ") + sigabbrev_np(info->si_status);
}

} // namespace

void WorkerManager::start(Worker& worker)
{
    if (settings_.mode == WorkerMode::systemd) {
        worker.unit_started = true;
        set_state(worker, WorkerState::starting, "waiting for " + worker.unit + " to connect");
        units_->start(worker.unit);
        return;
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        schedule_restart(worker, std::string("socketpair failed: ") + std::strerror(errno));
        return;
    }
    unique_fd ours(pair[0]);
    unique_fd theirs(pair[1]);
    Result<pid_t> pid = spawn_worker(settings_.binary, {"--instance", worker.interface}, worker.sockets.all(),
                                     theirs.get(), settings_.identity);
    if (!pid) {
        schedule_restart(worker, pid.error().message());
        return;
    }
    worker.pid = *pid;
    sd_event_source* child = nullptr;
    int r = sd_event_add_child(event_, &child, worker.pid, WEXITED, &WorkerManager::on_child_exit, this);
    if (r < 0) {
        // Without a child source we could never reap it: do not keep it.
        (void)::kill(worker.pid, SIGKILL);
        (void)::waitpid(worker.pid, nullptr, 0);
        worker.pid = 0;
        schedule_restart(worker, std::string("cannot watch the worker: ") + std::strerror(-r));
        return;
    }
    children_[*pid].reset(child);
    Result<std::unique_ptr<WorkerLink>> link = WorkerLink::create(event_, std::move(ours), worker.interface, *this);
    if (link)
        worker.link = std::move(*link);
    else
        log_error(link.error().message(), {{"MCR_INTERFACE", worker.interface}});
    log_event(LogLevel::info, worker.restarts ? message_id::kWorkerRestarted : message_id::kWorkerStarted,
              "Started worker for " + worker.interface + " (pid " + std::to_string(worker.pid) + ")",
              {{"MCR_INTERFACE", worker.interface}});
    set_state(worker, WorkerState::starting, "spawned, pid " + std::to_string(worker.pid));
}

void WorkerManager::stop(Worker& worker, bool detach)
{
    worker.restart_timer.reset();
    worker.unit_check_timer.reset();
    // A cls_bpf filter (tc-legacy) outlives every process: ours to remove
    // (the worker has no capability). A tcx link goes with its fds below.
    if (detach)
        detach_fast_path(worker);
    drop_link(worker);
    // Fds not handed over yet go now (closing the link detaches); the
    // worker's own go with it. A later start decides afresh. First, so
    // that the counters retire with the fast path's share (its maps end).
    forget_fast_path_fds(worker);
    retire_stats(worker);
    worker.fast_path_program = 0;
    worker.fast_path_refusal.reset();
    if (worker.pid > 0) {
        // Its child source stays in children_ until it is reaped.
        (void)::kill(worker.pid, SIGTERM);
        worker.pid = 0;
    }
    if (worker.unit_started) {
        worker.unit_started = false;
        units_->stop(worker.unit);
    }
    // The caller sets the new state: stopping is always a step towards one.
}

void WorkerManager::release_all()
{
    for (auto& [interface, worker] : workers_) {
        worker->unit_started = false;   // stop() must not send StopUnit
        // Spawned workers end with us, and so must their filters; units
        // forward on with theirs.
        stop(*worker, settings_.mode == WorkerMode::spawn);
    }
    workers_.clear();
}

void WorkerManager::schedule_restart(Worker& worker, const std::string& why)
{
    const std::uint64_t delay = restart_delay_usec(worker.restarts);
    ++worker.restarts;
    sd_event_source* timer = nullptr;
    const int r = sd_event_add_time_relative(event_, &timer, CLOCK_MONOTONIC, delay, 0,
                                             &WorkerManager::on_restart_timer, &worker);
    if (r >= 0)
        worker.restart_timer.reset(timer);
    const std::string sub = why + "; restart " + std::to_string(worker.restarts) + " in " +
                            std::to_string(delay / 1000) + " ms";
    log_event(LogLevel::warning, message_id::kWorkerFailed, "Worker for " + worker.interface + " failed: " + sub,
              {{"MCR_INTERFACE", worker.interface}});
    set_state(worker, WorkerState::failed, sub);
}

WorkerManager::Worker* WorkerManager::find_by_pid(pid_t pid)
{
    for (auto& [interface, worker] : workers_)
        if (worker->pid == pid)
            return worker.get();
    return nullptr;
}

int WorkerManager::on_child_exit(sd_event_source*, const siginfo_t* info, void* userdata) noexcept
{
    auto* self = static_cast<WorkerManager*>(userdata);
    return guard_callback("Handling a worker exit", [&]() -> int {
        // Move the source out before anything else: erasing it frees the
        // source we are running in, which sd-event allows (it holds a ref).
        auto node = self->children_.extract(info->si_pid);
        Worker* worker = self->find_by_pid(info->si_pid);
        if (!worker)
            return 0;   // one we stopped on purpose
        worker->pid = 0;
        self->drop_link(*worker);
        self->retire_stats(*worker);
        self->schedule_restart(*worker, describe_exit(info));
        return 0;
    });
}

int WorkerManager::on_restart_timer(sd_event_source*, std::uint64_t, void* userdata) noexcept
{
    auto* worker = static_cast<Worker*>(userdata);
    return guard_callback("Restarting a worker", [&]() -> int {
        worker->restart_timer.reset();   // sd-event keeps the running source alive
        worker->manager->ensure(*worker);
        return 0;
    });
}

void WorkerManager::on_unit_failure(void* userdata, const std::string& unit, const std::string& message)
{
    auto* self = static_cast<WorkerManager*>(userdata);
    for (auto& [interface, worker] : self->workers_) {
        if (worker->unit != unit || !worker->unit_started)
            continue;
        // Not started after all: try again with back-off (ensure() on the
        // timer), the reason stays in the worker's and the rule's state.
        worker->unit_started = false;
        if (!worker->restart_timer)
            self->schedule_restart(*worker, message);
    }
}

// A worker unit's link dropped. A crash or restart brings it back with its
// FD store; "systemctl stop" (or a start limit hit) empties the store, which
// detaches a tcx link by itself, but not a cls_bpf filter (tc-legacy): the
// kernel holds that, and only we may remove it. So ask systemd until the
// unit is either back or inactive/failed with no job queued, which is when
// systemd releases the FD store (FileDescriptorStorePreserve=restart, the
// default). Done here rather than by an ExecStopPost= of the worker unit:
// that would run on every crash too (before the restart), and would need a
// privileged command in the unprivileged worker's unit.
void WorkerManager::check_unit_later(Worker& worker)
{
    if (worker.unit_check_timer)
        return;
    sd_event_source* timer = nullptr;
    if (sd_event_add_time_relative(event_, &timer, CLOCK_MONOTONIC, kUnitCheckDelayUsec, 0,
                                   &WorkerManager::on_unit_check_timer, &worker) >= 0)
        worker.unit_check_timer.reset(timer);
}

int WorkerManager::on_unit_check_timer(sd_event_source*, std::uint64_t, void* userdata) noexcept
{
    auto* worker = static_cast<Worker*>(userdata);
    return guard_callback("Checking a worker unit", [&]() -> int {
        worker->unit_check_timer.reset();   // sd-event keeps the running source alive
        if (!worker->link && worker->unit_started)
            worker->manager->units_->query_state(worker->unit);
        return 0;
    });
}

void WorkerManager::on_unit_state(void* userdata, const std::string& unit, const std::string& active_state,
                                  std::uint32_t job_id)
{
    auto* self = static_cast<WorkerManager*>(userdata);
    for (auto& [interface, worker] : self->workers_) {
        if (worker->unit != unit || !worker->unit_started || worker->link)
            continue;   // not ours to judge, or back already
        if ((active_state != "inactive" && active_state != "failed") || job_id != 0) {
            self->check_unit_later(*worker);   // on its way back (or down): ask again
            continue;
        }
        log_warning("Worker unit " + unit + " is " + active_state + " without mcrd stopping it; its fast path is " +
                        "detached, its rules wait until the unit runs again",
                    {{"MCR_UNIT", unit}, {"MCR_INTERFACE", interface}});
        self->detach_fast_path(*worker);
        worker->fast_path_program = 0;
        self->set_state(*worker, WorkerState::starting, unit + " is " + active_state + ", stopped outside mcrd");
    }
}

Status WorkerManager::watch_jobs(sd_bus* system_bus)
{
    // systemd sends JobRemoved to the client that queued the job even
    // without Subscribe(), so this sees every StartUnit we sent.
    sd_bus_slot* slot = nullptr;
    const int r = sd_bus_match_signal_async(system_bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                            "org.freedesktop.systemd1.Manager", "JobRemoved",
                                            &WorkerManager::on_job_removed, nullptr, this);
    if (r < 0)
        return Error{"workers", std::string("cannot watch systemd jobs: ") + std::strerror(-r)};
    job_match_.reset(slot);
    return Ok{};
}

int WorkerManager::on_job_removed(sd_bus_message* message, void* userdata, sd_bus_error*) noexcept
{
    auto* self = static_cast<WorkerManager*>(userdata);
    return guard_callback("Handling a systemd job result", [&]() -> int {
        std::uint32_t id = 0;
        const char* job = nullptr;
        const char* unit = nullptr;
        const char* result = nullptr;
        if (sd_bus_message_read(message, "uoss", &id, &job, &unit, &result) < 0)
            return 0;
        const std::string_view outcome(result);
        // "canceled": replaced by a newer job of ours; "skipped": nothing to do.
        if (outcome == "done" || outcome == "canceled" || outcome == "skipped")
            return 0;
        on_unit_failure(self, unit, std::string("start job of ") + unit + " ended with result '" + result + "'");
        return 0;
    });
}

void WorkerManager::accept_unit_connection(unique_fd connection, const std::string& unit)
{
    for (auto& [interface, worker] : workers_) {
        if (worker->unit != unit || !worker->unit_started)
            continue;
        drop_link(*worker);
        Result<std::unique_ptr<WorkerLink>> link = WorkerLink::create(event_, std::move(connection), interface, *this);
        if (!link) {
            log_error(link.error().message(), {{"MCR_INTERFACE", interface}});
            return;
        }
        worker->link = std::move(*link);
        worker->unit_check_timer.reset();
        set_state(*worker, WorkerState::starting, "connected, waiting for counters");
        return;
    }
    log_warning("Refusing a connection from " + unit + ": no such worker is wanted", {{"MCR_UNIT", unit}});
}

} // namespace mcr::supervisor
