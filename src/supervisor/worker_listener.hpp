// systemd mode: the AF_UNIX socket workers connect to. A connection is
// accepted only from a process whose cgroup names a worker unit (from
// SO_PEERCRED's pid, never from anything the peer says).
#pragma once

#include "core/result.hpp"
#include "core/sd_ptr.hpp"
#include "core/unique_fd.hpp"

#include <systemd/sd-event.h>

#include <functional>
#include <memory>
#include <string>

namespace mcr::supervisor {

class WorkerListener {
public:
    // `accept_peer(connection, unit)` gets every connection whose peer runs
    // in a unit named mcrd-worker@….service; it decides whether that unit is
    // one we started. Others are closed at once.
    using PeerHandler = std::function<void(unique_fd connection, const std::string& unit)>;

    [[nodiscard]] static Result<std::unique_ptr<WorkerListener>> create(sd_event* event, const std::string& path,
                                                                       PeerHandler accept_peer);
    WorkerListener(const WorkerListener&) = delete;
    WorkerListener& operator=(const WorkerListener&) = delete;
    ~WorkerListener() = default;

private:
    WorkerListener() = default;
    static int on_ready(sd_event_source* source, int fd, uint32_t revents, void* userdata) noexcept;

    PeerHandler accept_peer_;
    unique_fd socket_;
    EventSourcePtr source_;   // declared after socket_: dropped first
};

} // namespace mcr::supervisor
