// The worker's half of the in-kernel fast path: with the link and map fds the
// supervisor handed over (worker_protocol.hpp "fastpath-*"), it installs the
// rules the tc program can relay exactly and adds the program's counters to
// its own. Needs no capability: only map fds. Rules it cannot relay exactly
// stay on the userspace path, which sees every frame the program leaves alone.
#pragma once

#include "egress.hpp"
#include "named_fds.hpp"
#include "worker_config.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace mcr::worker {

class FastPathRules {
public:
    FastPathRules();
    ~FastPathRules();
    FastPathRules(const FastPathRules&) = delete;
    FastPathRules& operator=(const FastPathRules&) = delete;

    // Follows a config just applied: (re)opens the maps when the fds are new
    // (RuleMaps::open() reads back what a predecessor installed, counters
    // untouched) and installs `config`'s eligible rules, removing the rest.
    // targets[rule][output] as build_egress_targets() made them: their
    // sockets give each output's ifindex and MAC. Never fails: what cannot
    // be done stays on the userspace path, with a reason.
    void apply(const WorkerConfig& config, const NamedFds& sockets,
               const std::vector<std::vector<EgressTarget>>& targets);

    // Follows SetListeners: holds and releases the installed rules' outputs,
    // held[rule][output] as held_outputs(config) made it, one map update per
    // rule whose state changed. Rules not in the maps are the userspace
    // path's (the engine holds those).
    void hold(const WorkerConfig& config, const std::vector<std::vector<bool>>& held);

    // Adds the fast path's counters and each rule's path to a stats document
    // (core/worker_protocol.hpp) built for the same config.
    void add_to_stats(nlohmann::json& document) const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace mcr::worker
