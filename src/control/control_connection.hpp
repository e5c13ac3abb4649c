// One client of the control socket: reads one request (bounded in size and
// time), dispatches it, writes the response, closes. Internal to
// ControlServer; owned by it through a shared_ptr so that handler
// completions can hold a weak_ptr and outlive a client that went away.
#pragma once

#include "control_handler.hpp"
#include "control_server.hpp"
#include "sd_ptr.hpp"
#include "unique_fd.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace mcr::control {

class ControlConnection : public std::enable_shared_from_this<ControlConnection> {
public:
    ControlConnection(ControlServer& server, unique_fd socket, PeerCredentials peer);
    ControlConnection(const ControlConnection&) = delete;
    ControlConnection& operator=(const ControlConnection&) = delete;
    ~ControlConnection() = default;

    // Registers the I/O and deadline sources; negative errno on failure.
    [[nodiscard]] int start();

private:
    enum class Phase { reading, waiting_for_handler, writing };

    // NOLINTNEXTLINE(bugprone-exception-escape): see on_io in the .cpp.
    static int on_io(sd_event_source* source, int fd, uint32_t revents, void* userdata) noexcept;
    static int on_deadline(sd_event_source* source, uint64_t usec, void* userdata) noexcept;

    void handle_io(uint32_t revents);
    void read_request();
    [[nodiscard]] bool request_complete() const;
    void dispatch();
    void audit_refused_write(const std::string& reason) const;
    void respond(std::string response);
    void write_response();
    void arm_deadline(std::uint64_t usec_from_now);
    void close() noexcept;

    ControlServer& server_;
    PeerCredentials peer_;
    Phase phase_ = Phase::reading;
    std::string request_;
    std::string response_;
    std::size_t response_written_ = 0;
    // Destruction order: sources before the socket they watch.
    unique_fd socket_;
    EventSourcePtr io_source_;
    EventSourcePtr deadline_source_;
};

} // namespace mcr::control
