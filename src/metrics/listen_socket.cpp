// The listening socket: from systemd or bound here; see listen_socket.hpp.
#include "metrics/listen_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <charconv>
#include <cstring>
#include <string>

namespace mcr::metrics {

namespace {

constexpr int kListenBacklog = 64;

Error listen_error(std::string_view spec, std::string reason)
{
    return Error{"--listen '" + std::string(spec) + "'", std::move(reason)};
}

} // namespace

Result<std::optional<unique_fd>> socket_from_systemd()
{
    // unset_environment=1: nothing this process starts should see them.
    const int count = sd_listen_fds(1);
    if (count < 0)
        return Error{"LISTEN_FDS", std::string("cannot read the passed sockets: ") + std::strerror(-count)};
    if (count == 0)
        return std::optional<unique_fd>{};
    unique_fd socket(SD_LISTEN_FDS_START);
    // Any other passed fd would leak: close them before refusing.
    for (int extra = SD_LISTEN_FDS_START + 1; extra < SD_LISTEN_FDS_START + count; ++extra)
        unique_fd{extra}.reset();
    if (count != 1)
        return Error{"LISTEN_FDS", "expected one socket, got " + std::to_string(count)};
    if (sd_is_socket(socket.get(), AF_UNSPEC, SOCK_STREAM, 1) <= 0)
        return Error{"LISTEN_FDS", "the passed fd is not a listening stream socket (ListenStream= in the .socket unit)"};
    return std::optional<unique_fd>{std::move(socket)};
}

Result<unique_fd> listen_on(std::string_view spec)
{
    std::string_view host;
    std::string_view port_text;
    if (!spec.empty() && spec.front() == '[') {
        const std::size_t close = spec.find("]:");
        if (close == std::string_view::npos)
            return listen_error(spec, "expected [IPV6]:PORT");
        host = spec.substr(1, close - 1);
        port_text = spec.substr(close + 2);
    } else {
        const std::size_t colon = spec.rfind(':');
        if (colon == std::string_view::npos)
            return listen_error(spec, "expected ADDRESS:PORT");
        host = spec.substr(0, colon);
        port_text = spec.substr(colon + 1);
    }
    unsigned port = 0;
    const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
        return listen_error(spec, "the port must be 1..65535");

    sockaddr_storage storage{};
    socklen_t length = 0;
    const std::string host_text(host);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET, host_text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<std::uint16_t>(port));
        length = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host_text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(port));
        length = sizeof(*v6);
    } else {
        return listen_error(spec, "'" + host_text + "' is not a numeric IPv4 or IPv6 address");
    }
    unique_fd socket(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket)
        return listen_error(spec, std::string("socket: ") + std::strerror(errno));
    const int on = 1;
    // A restart must not wait for the previous run's TIME_WAIT connections.
    (void)setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(socket.get(), reinterpret_cast<const sockaddr*>(&storage), length) < 0)
        return listen_error(spec, std::string("bind: ") + std::strerror(errno));
    if (listen(socket.get(), kListenBacklog) < 0)
        return listen_error(spec, std::string("listen: ") + std::strerror(errno));
    return socket;
}

} // namespace mcr::metrics
