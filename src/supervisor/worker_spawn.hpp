// Spawn mode (no systemd): fork+exec of the worker binary with its sockets
// passed the way systemd would (LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID) and
// one end of a socketpair for the worker link (--bus-fd).
#pragma once

#include "core/result.hpp"
#include "supervisor/worker_link.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace mcr::supervisor {

// `arguments` follow argv[0]; "--bus-fd N" is appended. The child gets
// SIGTERM when the supervisor dies (PR_SET_PDEATHSIG), a clean signal mask,
// and no other fds (everything else we hold is close-on-exec).
[[nodiscard]] Result<pid_t> spawn_worker(const std::string& binary, const std::vector<std::string>& arguments,
                                         const NamedFds& sockets, int bus_fd);

} // namespace mcr::supervisor
