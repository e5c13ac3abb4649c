// Who a spawned worker runs as (--worker-user): resolved once at start, and
// taken on in the forked child after it got its sockets, before exec.
#pragma once

#include "core/result.hpp"

#include <sys/types.h>

#include <string>

namespace mcr::supervisor {

struct WorkerIdentity {
    std::string user;   // as named on the command line, for messages
    uid_t uid = 0;      // never 0: resolve_worker_user() refuses root
    gid_t gid = 0;      // the user's primary group; no supplementary groups
};

// Looks `user` up (a name, or a numeric uid with its passwd entry). Refuses
// root and unknown users with a message naming --worker-user.
[[nodiscard]] Result<WorkerIdentity> resolve_worker_user(const std::string& user);

// In the forked child, async-signal-safe: no supplementary groups, gid and
// uid switched (real, effective, saved), every capability gone from the
// effective, permitted, inheritable and ambient sets, and no_new_privs, so
// that nothing the worker execs can gain a privilege back. The bounding set
// was emptied by the supervisor at start (restrict_capabilities). Returns
// false on any failure; the child must then exit without exec.
[[nodiscard]] bool become_worker_user(const WorkerIdentity& identity) noexcept;

} // namespace mcr::supervisor
