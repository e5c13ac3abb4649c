// The record the manager keeps per worker (shared by worker_manager.cpp and
// worker_lifecycle.cpp; not part of the manager's public interface).
#pragma once

#include "supervisor/fast_path_attach.hpp"
#include "supervisor/worker_manager.hpp"

namespace mcr::supervisor {

struct WorkerManager::Worker {
    WorkerManager* manager = nullptr;    // for callbacks whose userdata is the worker
    std::string interface;               // ingress interface (the worker's identity)
    std::string unit;                    // systemd mode: mcrd-worker@….service
    std::vector<Rule> rules;             // rules whose input is on `interface`
    std::string config;                  // worker config JSON for `rules`
    worker_protocol::ListeningOutputs listening; // its required outputs that have listeners now
    WorkerSockets sockets;
    WorkerState state = WorkerState::stopped;
    std::string sub_state;
    pid_t pid = 0;                       // spawn mode, 0 when not running
    bool unit_started = false;           // systemd mode: StartUnit sent and not stopped since
    unsigned restarts = 0;               // consecutive crashes, reset once counters flow
    EventSourcePtr restart_timer;
    EventSourcePtr unit_check_timer;     // systemd mode: its link dropped; is the unit stopped for good?
    std::unique_ptr<WorkerLink> link;
    std::optional<nlohmann::json> stats; // last document of the running worker
    std::optional<nlohmann::json> carried; // sum of the final documents of its earlier runs
    // The fast path on `interface`. In systemd mode its fds sit in `sockets`
    // only until they are handed over: then the worker (its FD store) holds
    // the only link, so stopping the worker detaches the program and nothing
    // is left behind. Spawn mode keeps them here, as the FD store would.
    std::uint32_t fast_path_program = 0;   // attached by us or reported by the worker; 0: none known
    std::optional<FastPathRefusal> fast_path_refusal;   // kept until the worker is stopped
};

[[nodiscard]] std::string_view worker_state_name(WorkerState state);

} // namespace mcr::supervisor
