// Where mcrd-metrics listens: the one stream socket systemd passed
// (mcrd-metrics.socket, LISTEN_FDS) or, run by hand, one it binds itself
// (--listen ADDR:PORT).
#pragma once

#include "core/result.hpp"
#include "core/unique_fd.hpp"

#include <optional>
#include <string_view>

namespace mcr::metrics {

// The socket passed by socket activation; nullopt when none was passed; an
// error when more than one, or one that is not a listening stream socket.
[[nodiscard]] Result<std::optional<unique_fd>> socket_from_systemd();

// "127.0.0.1:10998", "[::1]:10998": numeric addresses only (no name lookup).
[[nodiscard]] Result<unique_fd> listen_on(std::string_view address_and_port);

} // namespace mcr::metrics
