// Accepts control-socket clients on the event loop, at most
// limits.max_connections at a time (further clients wait in the listen
// backlog until one finishes or times out), and owns their connections.
#include "control_server.hpp"

#include "c_callback.hpp"
#include "control_auth.hpp"
#include "control_connection.hpp"
#include "log.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

namespace mcr::control {
namespace {

// Out of fds: wait this long before accepting again instead of spinning on
// a listening socket that stays readable.
constexpr std::uint64_t kAcceptRetryUsec = 100'000;
constexpr int kListenBacklog = 128;

Error errno_error(const std::string& what, int error_number)
{
    return Error{"", what + ": " + std::strerror(error_number)};
}

} // namespace

struct ControlServer::Connections {
    std::unordered_map<ControlConnection*, std::shared_ptr<ControlConnection>> by_address;
};

ControlServer::ControlServer(sd_event* event, unique_fd listening_socket, ControlHandler& handler,
                             ControlServerLimits limits, std::optional<gid_t> read_gid)
    : event_(sd_event_ref(event)),
      handler_(handler),
      limits_(limits),
      read_gid_(read_gid),
      daemon_uid_(geteuid()),
      listening_socket_(std::move(listening_socket)),
      connections_(std::make_unique<Connections>())
{
}

ControlServer::~ControlServer() = default;

Result<std::unique_ptr<ControlServer>> ControlServer::create(sd_event* event, unique_fd listening_socket,
                                                             ControlHandler& handler, ControlServerLimits limits)
{
    // A socket from systemd may be blocking; accept() must never wait.
    int flags = fcntl(listening_socket.get(), F_GETFL);
    if (flags < 0 || fcntl(listening_socket.get(), F_SETFL, flags | O_NONBLOCK) < 0)
        return errno_error("control socket: O_NONBLOCK", errno);
    std::unique_ptr<ControlServer> server(
        new ControlServer(event, std::move(listening_socket), handler, limits, lookup_group(kReadGroup)));
    if (int r = server->start(); r < 0)
        return errno_error("control socket: watching for clients", -r);
    return server;
}

int ControlServer::start()
{
    sd_event_source* source = nullptr;
    int r = sd_event_add_io(event_.get(), &source, listening_socket_.get(), EPOLLIN, on_listen_ready, this);
    if (r < 0)
        return r;
    listen_source_.reset(source);
    r = sd_event_add_time_relative(event_.get(), &source, CLOCK_MONOTONIC, kAcceptRetryUsec, 0, on_accept_retry, this);
    if (r < 0)
        return r;
    accept_retry_source_.reset(source);
    return sd_event_source_set_enabled(source, SD_EVENT_OFF);
}

Result<unique_fd> ControlServer::listen_on_path(const std::string& path, mode_t mode)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(address.sun_path))
        return Error{"", "control socket path \"" + path + "\": must be 1.." +
                             std::to_string(sizeof(address.sun_path) - 1) + " bytes"};
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

    unique_fd socket_fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket_fd)
        return errno_error("control socket: socket()", errno);
    // A socket file left by a previous run would make bind() fail.
    struct stat existing {};
    if (lstat(path.c_str(), &existing) == 0 && S_ISSOCK(existing.st_mode))
        (void)unlink(path.c_str());
    if (bind(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0)
        return errno_error("control socket: bind(" + path + ")", errno);
    if (chmod(path.c_str(), mode) < 0)
        return errno_error("control socket: chmod(" + path + ")", errno);
    // Group "mcr" may connect (ARCHITECTURE.md §6). Only possible when the
    // daemon is root or a member; otherwise the unit's socket (SocketGroup=)
    // provides it, so a failure here is not an error.
    // (chown() is warn_unused_result, which a (void) cast does not silence.)
    if (auto read_gid = lookup_group(kReadGroup)) {
        const int owned = chown(path.c_str(), static_cast<uid_t>(-1), *read_gid);
        (void)owned;
    }
    if (listen(socket_fd.get(), kListenBacklog) < 0)
        return errno_error("control socket: listen()", errno);
    return socket_fd;
}

std::size_t ControlServer::connection_count() const noexcept
{
    return connections_->by_address.size();
}

int ControlServer::on_listen_ready(sd_event_source* /*source*/, int /*fd*/, uint32_t /*revents*/,
                                   void* userdata) noexcept
{
    auto* server = static_cast<ControlServer*>(userdata);
    // A failure is logged and the next readiness tries again.
    return guard_callback("Accepting a control client", [server] {
        server->accept_pending();
        return 0;
    });
}

int ControlServer::on_accept_retry(sd_event_source* /*source*/, uint64_t /*usec*/, void* userdata) noexcept
{
    auto* server = static_cast<ControlServer*>(userdata);
    (void)sd_event_source_set_enabled(server->listen_source_.get(), SD_EVENT_ON);
    return 0;
}

void ControlServer::pause_accepting(bool until_retry_timer)
{
    (void)sd_event_source_set_enabled(listen_source_.get(), SD_EVENT_OFF);
    if (until_retry_timer) {
        (void)sd_event_source_set_time_relative(accept_retry_source_.get(), kAcceptRetryUsec);
        (void)sd_event_source_set_enabled(accept_retry_source_.get(), SD_EVENT_ONESHOT);
    }
}

void ControlServer::accept_pending()
{
    while (connection_count() < limits_.max_connections) {
        unique_fd client(accept4(listening_socket_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!client) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warning(std::string("Failed to accept control client: ") + std::strerror(errno) +
                            ", retrying shortly");
                pause_accepting(true);
            }
            return;   // EAGAIN: backlog drained
        }
        auto peer = peer_credentials(client.get());
        if (!peer) {
            log_warning("Failed to read control client credentials: " + peer.error().message() + ", closing");
            continue;
        }
        auto connection = std::make_shared<ControlConnection>(*this, std::move(client), std::move(*peer));
        if (int r = connection->start(); r < 0) {
            log_warning(std::string("Failed to watch control client: ") + std::strerror(-r) + ", closing");
            continue;
        }
        connections_->by_address.emplace(connection.get(), std::move(connection));
    }
    // At the limit: leave further clients in the backlog until one closes.
    pause_accepting(false);
}

void ControlServer::close_connection(ControlConnection* connection) noexcept
{
    connections_->by_address.erase(connection);
    if (connection_count() < limits_.max_connections &&
        sd_event_source_get_enabled(accept_retry_source_.get(), nullptr) == 0)
        (void)sd_event_source_set_enabled(listen_source_.get(), SD_EVENT_ON);
}

} // namespace mcr::control
