// Sockets a worker holds, by their worker_protocol name ("ingress",
// "pkt.eth1", ...). The map owns them.
#pragma once

#include "core/unique_fd.hpp"

#include <functional>
#include <map>
#include <string>

namespace mcr::worker {

using NamedFds = std::map<std::string, unique_fd, std::less<>>;

// The fd stored under `name`, or -1.
[[nodiscard]] inline int fd_named(const NamedFds& fds, std::string_view name)
{
    const auto it = fds.find(name);
    return it == fds.end() ? -1 : it->second.get();
}

} // namespace mcr::worker
