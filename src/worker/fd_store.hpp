// The worker's side of systemd's FD store and of LISTEN_FDS: sockets come in
// by name (sd_listen_fds_with_names), go out by name (FDSTORE=1 + FDNAME=).
#pragma once

#include "named_fds.hpp"

#include <string_view>

namespace mcr::worker {

// Takes every fd passed with LISTEN_FDS/LISTEN_FDNAMES (unsetting them, so
// children do not inherit them), marked close-on-exec. Unnamed fds get
// systemd's "unknown" name; a duplicate name keeps the first fd.
[[nodiscard]] NamedFds take_listen_fds();

// Whether systemd is listening for sd_notify (NOTIFY_SOCKET is set).
[[nodiscard]] bool have_notify_socket();

// FDSTORE=1 with FDNAME=`name` and FDPOLL=0 (without it systemd drops an
// AF_PACKET fd when its link goes down). Returns 0 or a negative errno.
[[nodiscard]] int store_fd(std::string_view name, int fd);
// FDSTOREREMOVE=1 for `name`: drops every stored fd of that name.
[[nodiscard]] int remove_stored_fd(std::string_view name);
// Replaces the stored fd named `name` (remove, then store).
[[nodiscard]] int replace_stored_fd(std::string_view name, int fd);

// READY=1 with STATUS=`status`, and STATUS= alone.
void notify_ready(std::string_view status);
void notify_status(std::string_view status);
void notify_stopping();

} // namespace mcr::worker
