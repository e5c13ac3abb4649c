// Who may use read commands on the control socket, and how the peer's
// identity is captured. The decision is a pure function (unit-tested); the
// capture reads the kernel's view of the peer at accept time.
#pragma once

#include "control_handler.hpp"
#include "result.hpp"

#include <sys/types.h>

#include <optional>

namespace mcr::control {

// Reads are allowed for root, for the daemon's own user (it owns the state
// anyway), and for members of the read group (primary or supplementary).
// Writes are not decided here: the handler asks polkit.
[[nodiscard]] bool may_read(const PeerCredentials& peer, uid_t daemon_uid,
                            std::optional<gid_t> read_gid) noexcept;

// SO_PEERCRED (pid, uid, gid) and SO_PEERGROUPS (supplementary groups, as
// they were at connect(), so a later setgroups() in the client changes
// nothing). Negative errno on failure.
[[nodiscard]] Result<PeerCredentials> peer_credentials(int socket_fd);

// The gid of group `name`, or nullopt when it does not exist.
[[nodiscard]] std::optional<gid_t> lookup_group(const char* name);

} // namespace mcr::control
