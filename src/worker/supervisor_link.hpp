// The worker's peer-to-peer D-Bus link to its supervisor (no bus daemon: see
// core/worker_protocol.hpp for why). Calls org.mcr.Relay.Worker1 on the
// supervisor, serves org.mcr.Relay.WorkerAgent1 on the same connection, and
// reconnects with bounded backoff when the link drops (forwarding goes on).
#pragma once

#include "core/result.hpp"
#include "core/sd_ptr.hpp"
#include "core/unique_fd.hpp"
#include "named_fds.hpp"
#include "worker_config.hpp"

#include <chrono>
#include <functional>
#include <string>

namespace mcr::worker {

// How sockets that arrive with a config are merged into the held ones.
enum class SocketMerge {
    replace,      // SetConfig: the given sockets replace those of the same name
    add_missing,  // re-sync after a reconnect: keep what we hold, add the rest
};

struct SupervisorHandlers {
    std::function<Status(const std::string& config, NamedFds sockets, SocketMerge merge)> apply_config;
    std::function<std::string()> stats_json;
    std::function<void(ListeningOutputs listening)> set_listeners;
};

struct AcquiredState {
    std::string config;
    NamedFds sockets;
};

class SupervisorLink {
public:
    // `socket_path` (unix:path=) or, when >= 0, `bus_fd` (a connected
    // AF_UNIX socket inherited from the parent; not reconnectable).
    SupervisorLink(sd_event* event, std::string socket_path, unique_fd bus_fd, SupervisorHandlers handlers);
    SupervisorLink(const SupervisorLink&) = delete;
    SupervisorLink& operator=(const SupervisorLink&) = delete;

    // Connects and calls AcquireSockets() and GetConfig(), blocking; the
    // connection is kept for start().
    [[nodiscard]] Result<AcquiredState> acquire_blocking();

    // Serves WorkerAgent1 from the event loop. Connects first if needed;
    // with `resync`, fetches sockets and config once connected (also after
    // every reconnect). A failed connect is retried, never fatal.
    void start(bool resync);

private:
    [[nodiscard]] int connect();
    [[nodiscard]] int attach();
    void schedule_reconnect();
    void request_resync();
    void drop_connection();

    static int on_disconnected(sd_bus_message* message, void* userdata, sd_bus_error* error) noexcept;
    static int on_reconnect_timer(sd_event_source* source, std::uint64_t usec, void* userdata) noexcept;
    static int on_sockets_reply(sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
    static int on_config_reply(sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
    static int method_set_config(sd_bus_message* message, void* userdata, sd_bus_error* error) noexcept;
    static int method_get_stats(sd_bus_message* message, void* userdata, sd_bus_error* error) noexcept;
    static int method_set_listeners(sd_bus_message* message, void* userdata, sd_bus_error* error) noexcept;
    static const sd_bus_vtable* agent_vtable();

    sd_event* event_;
    std::string socket_path_;
    unique_fd bus_fd_; // until the bus owns it (sd_bus_set_fd)
    SupervisorHandlers handlers_;
    std::chrono::milliseconds retry_delay_;
    bool resync_ = false;
    NamedFds resync_sockets_;

    // Destruction order: slots and timer before the bus they belong to.
    BusPtr bus_;
    BusSlotPtr vtable_slot_;
    BusSlotPtr disconnect_slot_;
    BusSlotPtr pending_call_;
    EventSourcePtr reconnect_timer_;
};

// Reads an a{sh} (name -> fd) message argument into owned duplicates.
[[nodiscard]] Result<NamedFds> read_named_fds(sd_bus_message* message);

} // namespace mcr::worker
