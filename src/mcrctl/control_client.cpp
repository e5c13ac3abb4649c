// The wire side of mcrctl --socket: connect, write the request, half-close
// (the daemon answers once it sees EOF, as MCR's clients do), read the one
// JSON response until EOF; every step bounded by a timeout.
#include "control_client.hpp"

#include "relay_client.hpp"
#include "unique_fd.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace mcr::ctl {
namespace {

// The daemon answers at once or times a request out itself after 5 s; this
// only keeps a wedged daemon from hanging the caller.
constexpr time_t kTimeoutSeconds = 25;
// Larger than any answer mcrd sends for its rule limit, small enough to
// refuse something that is not mcrd.
constexpr std::size_t kMaxResponseBytes = std::size_t{64} * 1024 * 1024;

[[noreturn]] void fail_errno(const std::string& path, const char* what, int error_number)
{
    throw CommandFailure(exit_code_for_errno(-error_number),
                         "Failed to " + std::string(what) + " the control socket " + path + ": " +
                             std::strerror(error_number));
}

unique_fd connect_to(const std::string& path)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(address.sun_path))
        throw CommandFailure(ExitCode::usage, "--socket: '" + path + "' is not a usable socket path");
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    unique_fd socket_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket_fd)
        fail_errno(path, "create a socket for", errno);
    const timeval timeout{kTimeoutSeconds, 0};
    if (::setsockopt(socket_fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
        ::setsockopt(socket_fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0)
        fail_errno(path, "set timeouts on", errno);
    if (::connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0)
        fail_errno(path, "connect to", errno);
    return socket_fd;
}

// The daemon's refusals are plain text; their exit codes follow the words
// mcrd uses for them (control_bridge.cpp, the API's messages).
ExitCode exit_code_for_refusal(std::string_view message)
{
    if (message.starts_with("access denied"))
        return ExitCode::access_denied;
    if (message.starts_with("No rule named"))
        return ExitCode::not_found;
    return ExitCode::invalid;
}

} // namespace

nlohmann::json ControlClient::request(const nlohmann::json& request, std::string_view expected) const
{
    unique_fd socket_fd = connect_to(path_);
    const std::string text = request.dump();
    std::string_view rest = text;
    while (!rest.empty()) {
        const ssize_t n = ::send(socket_fd.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail_errno(path_, "write to", errno);
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::shutdown(socket_fd.get(), SHUT_WR) < 0)
        fail_errno(path_, "half-close", errno);
    std::string response;
    std::array<char, 65536> buffer{};
    for (;;) {
        const ssize_t n = ::recv(socket_fd.get(), buffer.data(), buffer.size(), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail_errno(path_, errno == EAGAIN ? "get an answer in time from" : "read from", errno == EAGAIN ? ETIMEDOUT : errno);
        if (n == 0)
            break;
        response.append(buffer.data(), static_cast<std::size_t>(n));
        if (response.size() > kMaxResponseBytes)
            throw CommandFailure(ExitCode::failure, "The answer on " + path_ + " is larger than " +
                                                        std::to_string(kMaxResponseBytes) + " bytes");
    }
    if (response.empty())
        throw CommandFailure(ExitCode::unreachable, "The control socket " + path_ + " closed without an answer");
    nlohmann::json document = nlohmann::json::parse(response, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || !document.is_object() || document.size() != 1)
        throw CommandFailure(ExitCode::failure, "The answer on " + path_ + " is not a control-socket response: " + response);
    if (auto error = document.find("Error"); error != document.end()) {
        const std::string message = error->is_string() ? error->get<std::string>() : error->dump();
        throw CommandFailure(exit_code_for_refusal(message), message);
    }
    auto value = document.find(std::string(expected));
    if (value == document.end())
        throw CommandFailure(ExitCode::failure, "Expected a '" + std::string(expected) + "' answer on " + path_ +
                                                    ", got: " + response);
    return *value;
}

} // namespace mcr::ctl
