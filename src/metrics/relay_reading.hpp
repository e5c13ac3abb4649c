// What one scrape read from mcrd's public, read-only D-Bus API, before it
// becomes metrics: the Manager's properties, GetStats and ListWorkers, and
// for workers that are systemd units, systemd's restart count.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mcr::metrics {

struct WorkerReading {
    std::string interface;
    std::string unit;        // mcrd-worker@….service, or "spawned"
    std::string state;       // active | starting | failed | waiting for interface | stopped
    std::uint32_t pid = 0;
    // systemd's NRestarts of `unit` (Restart=on-failure restarts); nullopt
    // for spawned workers and when systemd could not be asked.
    std::optional<std::uint64_t> restarts;
};

// The implicit noexcept move runs nlohmann::json's invariant assertion,
// which holds for any parsed document.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct RelayReading {
    std::string version;             // Manager.Version
    std::uint32_t rule_count = 0;    // Manager.RuleCount
    std::uint32_t worker_count = 0;  // Manager.WorkerCount
    nlohmann::json stats;            // GetStats, the document of org.mcr.Relay(5)
    std::vector<WorkerReading> workers;
};

} // namespace mcr::metrics
