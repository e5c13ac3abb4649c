// The record the manager keeps per worker (shared by worker_manager.cpp and
// worker_lifecycle.cpp; not part of the manager's public interface).
#pragma once

#include "supervisor/worker_manager.hpp"

namespace mcr::supervisor {

struct WorkerManager::Worker {
    WorkerManager* manager = nullptr;    // for callbacks whose userdata is the worker
    std::string interface;               // ingress interface (the worker's identity)
    std::string unit;                    // systemd mode: mcrd-worker@….service
    std::vector<Rule> rules;             // rules whose input is on `interface`
    std::string config;                  // worker config JSON for `rules`
    WorkerSockets sockets;
    WorkerState state = WorkerState::stopped;
    std::string sub_state;
    pid_t pid = 0;                       // spawn mode, 0 when not running
    bool unit_started = false;           // systemd mode: StartUnit sent and not stopped since
    unsigned restarts = 0;               // consecutive crashes, reset once counters flow
    EventSourcePtr restart_timer;
    std::unique_ptr<WorkerLink> link;
    std::optional<nlohmann::json> stats; // last document of the running worker
    std::optional<nlohmann::json> carried; // sum of the final documents of its earlier runs
};

[[nodiscard]] std::string_view worker_state_name(WorkerState state);

} // namespace mcr::supervisor
