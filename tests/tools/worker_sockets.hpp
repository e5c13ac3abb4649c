// Test-side stand-in for the supervisor's socket hand-over: every socket a
// worker config needs (group joins done), plus the config memfd, by name.
#pragma once

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "worker/worker_config.hpp"

#include <string>
#include <vector>

namespace mcr::test {

struct NamedSocket {
    std::string name;
    unique_fd fd;
};

// Made with the socket factory in the current network namespace.
[[nodiscard]] Result<std::vector<NamedSocket>> make_worker_sockets(const worker::WorkerConfig& config,
                                                                  const std::string& config_text);

} // namespace mcr::test
