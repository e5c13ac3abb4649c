// Listening socket for workers started as systemd units.
#include "worker_listener.hpp"

#include "core/c_callback.hpp"
#include "core/c_owned.hpp"
#include "core/log.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace mcr::supervisor {

namespace {

constexpr int kListenBacklog = 16;
// Workers run with DynamicUser=: any uid must be able to connect; the peer
// check below is what keeps other processes out.
constexpr mode_t kWorkerSocketMode = 0666;

bool is_worker_unit(const std::string& unit)
{
    const std::string prefix = "mcrd-worker@";
    const std::string suffix = ".service";
    return unit.size() > prefix.size() + suffix.size() && unit.compare(0, prefix.size(), prefix) == 0 &&
           unit.compare(unit.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

Result<std::unique_ptr<WorkerListener>> WorkerListener::create(sd_event* event, const std::string& path,
                                                               PeerHandler accept_peer)
{
    std::unique_ptr<WorkerListener> listener(new WorkerListener());
    listener->accept_peer_ = std::move(accept_peer);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path))
        return Error{path, "socket path too long"};
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    listener->socket_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listener->socket_)
        return Error{path, std::string("socket: ") + std::strerror(errno)};
    (void)::unlink(path.c_str());   // a stale socket from a previous run
    if (::bind(listener->socket_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) < 0)
        return Error{path, std::string("bind: ") + std::strerror(errno)};
    if (::chmod(path.c_str(), kWorkerSocketMode) < 0 || ::listen(listener->socket_.get(), kListenBacklog) < 0)
        return Error{path, std::string("listen: ") + std::strerror(errno)};
    sd_event_source* source = nullptr;
    const int r = sd_event_add_io(event, &source, listener->socket_.get(), EPOLLIN, on_ready, listener.get());
    if (r < 0)
        return Error{path, std::string("cannot watch: ") + std::strerror(-r)};
    listener->source_.reset(source);
    return listener;
}

int WorkerListener::on_ready(sd_event_source*, int fd, uint32_t, void* userdata) noexcept
{
    auto* listener = static_cast<WorkerListener*>(userdata);
    return guard_callback("Accepting a worker connection", [&]() -> int {
        for (;;) {
            unique_fd connection(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
            if (!connection) {
                if (errno != EAGAIN && errno != EINTR)
                    log_warning(std::string("Failed to accept a worker connection: ") + std::strerror(errno));
                return 0;
            }
            ucred peer{};
            socklen_t length = sizeof(peer);
            if (::getsockopt(connection.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0)
                continue;
            char* unit_text = nullptr;
            const int r = sd_pid_get_unit(peer.pid, &unit_text);
            const CString owned(unit_text);
            const std::string unit = r >= 0 ? to_string(owned) : "";
            if (!is_worker_unit(unit)) {
                log_warning("Refusing a worker connection from pid " + std::to_string(peer.pid) +
                            (unit.empty() ? " (no unit)" : " (unit " + unit + ")"));
                continue;
            }
            listener->accept_peer_(std::move(connection), unit);
        }
        return 0;
    });
}

} // namespace mcr::supervisor
