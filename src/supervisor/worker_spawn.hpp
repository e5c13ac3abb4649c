// Spawn mode (no systemd): fork+exec of the worker binary with its sockets
// passed the way systemd would (LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID) and
// one end of a socketpair for the worker link (--bus-fd).
#pragma once

#include "core/result.hpp"
#include "supervisor/worker_identity.hpp"
#include "supervisor/worker_link.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace mcr::supervisor {

// `arguments` follow argv[0]; "--bus-fd N" is appended. The child gets
// SIGTERM when the supervisor dies (PR_SET_PDEATHSIG), a clean signal mask,
// and no other fds (everything else we hold is close-on-exec). With an
// `identity`, the child takes it on (become_worker_user) once its fds are
// in place, so the worker starts unprivileged with its sockets in hand.
[[nodiscard]] Result<pid_t> spawn_worker(const std::string& binary, const std::vector<std::string>& arguments,
                                         const NamedFds& sockets, int bus_fd,
                                         const std::optional<WorkerIdentity>& identity);

} // namespace mcr::supervisor
