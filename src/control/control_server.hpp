// The JSON control socket (MCR-compatible): an sd-event server on a
// listening AF_UNIX stream socket. One request per connection, as MCR does:
// the client writes one JSON document and shuts down its write side; the
// server answers with one JSON document and closes.
//
// Defences: request size limit, per-connection deadline, connection limit,
// non-blocking I/O only; the event loop never waits on a client.
#pragma once

#include "control_handler.hpp"
#include "result.hpp"
#include "sd_ptr.hpp"
#include "unique_fd.hpp"

#include <sys/types.h>
#include <systemd/sd-event.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mcr::control {

inline constexpr std::size_t kMaxRequestBytes = std::size_t{64} * 1024;
inline constexpr std::uint64_t kRequestTimeoutUsec = 5'000'000;   // to receive the whole request
inline constexpr std::uint64_t kReplyTimeoutUsec = 120'000'000;   // for the handler (polkit) to answer
inline constexpr std::size_t kMaxConnections = 64;
inline constexpr mode_t kControlSocketMode = 0660;                // root:mcr, see ARCHITECTURE.md §6
inline constexpr const char* kDefaultControlSocket = "/run/mcr/control.sock";
inline constexpr const char* kReadGroup = "mcr";                  // members may use read commands

struct ControlServerLimits {
    std::size_t max_request_bytes = kMaxRequestBytes;
    std::uint64_t request_timeout_usec = kRequestTimeoutUsec;
    std::uint64_t reply_timeout_usec = kReplyTimeoutUsec;
    std::size_t max_connections = kMaxConnections;
};

class ControlConnection;

// Typical use in the supervisor (socket activation first, then the path):
//   unique_fd fd = <the "control" fd from sd_listen_fds_with_names()>;
//   if (!fd) fd = std::move(*ControlServer::listen_on_path(options.control_socket));
//   auto server = ControlServer::create(event, std::move(fd), context /* ControlHandler& */);
//   if (!server) log_error("Failed to serve the control socket: " + server.error().message());

class ControlServer {
public:
    // Takes a listening SOCK_STREAM AF_UNIX socket (from socket activation or
    // listen_on_path()) and serves it on `event`. `handler` must outlive the
    // server. The read group is resolved here (getgrnam(kReadGroup)); when it
    // does not exist only root and the daemon's own uid may read.
    [[nodiscard]] static Result<std::unique_ptr<ControlServer>>
    create(sd_event* event, unique_fd listening_socket, ControlHandler& handler,
           ControlServerLimits limits = {});

    // Creates a listening socket at `path`: removes a stale socket file,
    // binds, sets `mode`, listens. Non-blocking, close-on-exec.
    [[nodiscard]] static Result<unique_fd> listen_on_path(const std::string& path,
                                                          mode_t mode = kControlSocketMode);

    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;
    ~ControlServer();

    [[nodiscard]] std::size_t connection_count() const noexcept;

private:
    friend class ControlConnection;

// Typical use in the supervisor (socket activation first, then the path):
//   unique_fd fd = <the "control" fd from sd_listen_fds_with_names()>;
//   if (!fd) fd = std::move(*ControlServer::listen_on_path(options.control_socket));
//   auto server = ControlServer::create(event, std::move(fd), context /* ControlHandler& */);
//   if (!server) log_error("Failed to serve the control socket: " + server.error().message());
    struct Connections;

    ControlServer(sd_event* event, unique_fd listening_socket, ControlHandler& handler,
                  ControlServerLimits limits, std::optional<gid_t> read_gid);

    static int on_listen_ready(sd_event_source* source, int fd, uint32_t revents, void* userdata) noexcept;
    static int on_accept_retry(sd_event_source* source, uint64_t usec, void* userdata) noexcept;
    [[nodiscard]] int start();
    void accept_pending();
    void pause_accepting(bool until_retry_timer);
    void close_connection(ControlConnection* connection) noexcept;

    // Members in destruction order (last first): connections (they use the
    // loop and the handler), then the sources, then the listening socket.
    EventPtr event_;   // holds a reference: the loop outlives every source below
    ControlHandler& handler_;
    ControlServerLimits limits_;
    std::optional<gid_t> read_gid_;
    uid_t daemon_uid_;
    unique_fd listening_socket_;
    EventSourcePtr listen_source_;
    EventSourcePtr accept_retry_source_;
    std::unique_ptr<Connections> connections_;
};

} // namespace mcr::control
