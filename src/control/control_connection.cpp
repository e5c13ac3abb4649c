// One control-socket client, driven by sd-event: non-blocking reads until
// the request is complete, dispatch, non-blocking writes, close. Never
// waits on the client; a deadline bounds every phase.
#include "control_connection.hpp"

#include "control_auth.hpp"
#include "control_dispatch.hpp"
#include "control_response.hpp"
#include "audit_caller.hpp"
#include "c_callback.hpp"
#include "control_command.hpp"
#include "log.hpp"

#include <nlohmann/json.hpp>

#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>

namespace mcr::control {
namespace {
constexpr std::size_t kReadChunkBytes = 4096;
}

ControlConnection::ControlConnection(ControlServer& server, unique_fd socket, PeerCredentials peer)
    : server_(server), peer_(std::move(peer)), socket_(std::move(socket))
{
}

int ControlConnection::start()
{
    sd_event_source* io = nullptr;
    int r = sd_event_add_io(server_.event_.get(), &io, socket_.get(), EPOLLIN | EPOLLRDHUP, on_io, this);
    if (r < 0)
        return r;
    io_source_.reset(io);
    sd_event_source* deadline = nullptr;
    r = sd_event_add_time_relative(server_.event_.get(), &deadline, CLOCK_MONOTONIC, server_.limits_.request_timeout_usec,
                                   0, on_deadline, this);
    if (r < 0)
        return r;
    deadline_source_.reset(deadline);
    return 0;
}

// clang-tidy 14 reports an exception escaping here only when it sees the
// bodies of handle_io's callees (the unity build that tools/lint reads): the
// body runs in guard_callback(), whose catch (...) stops every exception.
// NOLINTNEXTLINE(bugprone-exception-escape)
int ControlConnection::on_io(sd_event_source* /*source*/, int /*fd*/, uint32_t revents, void* userdata) noexcept
{
    // Keeps this connection alive until the handler returns, even if it
    // closes itself (the server drops its reference in close()).
    auto self = static_cast<ControlConnection*>(userdata)->weak_from_this().lock();
    if (!self)
        return 0;
    const auto handle = [&self, revents] {
        self->handle_io(revents);
        return 0;
    };
    constexpr int kFailed = -1;
    if (guard_callback("Control connection", handle, kFailed) == kFailed)
        self->close();
    return 0;
}

int ControlConnection::on_deadline(sd_event_source* /*source*/, uint64_t /*usec*/, void* userdata) noexcept
{
    auto self = static_cast<ControlConnection*>(userdata)->weak_from_this().lock();
    if (!self)
        return 0;
    const auto expire = [&self] {
        switch (self->phase_) {
        case Phase::reading:
            log_debug("Control client sent no complete request in time, closing");
            self->respond(format_error("request not received in time"));
            break;
        case Phase::waiting_for_handler:
            log_warning("Control request was not answered in time, closing");
            self->respond(format_error("the daemon did not answer in time"));
            break;
        case Phase::writing:
            self->close();   // the client does not read its answer
            break;
        }
        return 0;
    };
    constexpr int kFailed = -1;
    if (guard_callback("Control connection deadline", expire, kFailed) == kFailed)
        self->close();
    return 0;
}

void ControlConnection::handle_io(uint32_t revents)
{
    switch (phase_) {
    case Phase::reading:
        read_request();
        break;
    case Phase::waiting_for_handler:
        // Only HUP/ERR are watched now: the client is gone; a late
        // completion finds no connection and is dropped.
        if ((revents & (EPOLLHUP | EPOLLERR)) != 0)
            close();
        break;
    case Phase::writing:
        if ((revents & EPOLLERR) != 0)
            close();
        else
            write_response();
        break;
    }
}

void ControlConnection::read_request()
{
    std::array<char, kReadChunkBytes> chunk{};
    for (;;) {
        ssize_t n = recv(socket_.get(), chunk.data(), chunk.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            close();
            return;
        }
        if (n == 0) {   // the client shut down its write side: request complete (MCR's framing)
            dispatch();
            return;
        }
        request_.append(chunk.data(), static_cast<std::size_t>(n));
        if (request_.size() > server_.limits_.max_request_bytes) {
            log_warning("Control request too large, refusing",
                        {{"MCR_PEER_UID", std::to_string(peer_.uid)}});
            respond(format_error(request_too_large_message(server_.limits_.max_request_bytes)));
            return;
        }
    }
    if (request_complete())
        dispatch();
}

// Clients that keep their write side open (socat without -t, scripts) end a
// request with a newline; accept it once it is one whole JSON document.
bool ControlConnection::request_complete() const
{
    return !request_.empty() && request_.back() == '\n' && nlohmann::json::accept(request_);
}

// A write that never reached the handler (it did not parse) still gets
// its one audit entry, as the handler gives every write it sees.
void ControlConnection::audit_refused_write(const std::string& reason) const
{
    const auto write = attempted_write(request_);
    if (!write)
        return;
    audit::Record record;
    record.action = write->action;
    record.rule = write->rule;
    record.via = audit::Via::socket;
    record.outcome = audit::Outcome::invalid;
    record.caller = audit::caller_of_process(peer_.pid, peer_.uid);
    record.detail = reason;
    audit::emit(record);
}

void ControlConnection::dispatch()
{
    phase_ = Phase::waiting_for_handler;
    (void)sd_event_source_set_io_events(io_source_.get(), 0);
    arm_deadline(server_.limits_.reply_timeout_usec);

    auto command = parse_control_request(request_, server_.limits_.max_request_bytes);
    if (!command) {
        audit_refused_write(command.error().message());
        request_.clear();
        respond(format_error(command.error().message()));
        return;
    }
    request_.clear();
    Respond reply = [weak = weak_from_this()](std::string response) {
        if (auto self = weak.lock())
            self->respond(std::move(response));
    };
    try {
        dispatch_command(std::move(*command), peer_, may_read(peer_, server_.daemon_uid_, server_.read_gid_),
                         server_.handler_, std::move(reply));
    } catch (const std::exception& e) {
        log_error(std::string("Control request handler failed: ") + e.what());
        respond(format_error("internal error"));
    }
}

void ControlConnection::respond(std::string response)
{
    if (phase_ == Phase::writing)
        return;   // already answered (e.g. a completion after a timeout)
    phase_ = Phase::writing;
    response_ = std::move(response);
    response_written_ = 0;
    // Writing waits for the loop (EPOLLOUT) rather than happening here, so a
    // completion called from inside the handler never closes the connection
    // under its caller's feet.
    (void)sd_event_source_set_io_events(io_source_.get(), EPOLLOUT);
    arm_deadline(server_.limits_.request_timeout_usec);
}

void ControlConnection::write_response()
{
    while (response_written_ < response_.size()) {
        ssize_t n = send(socket_.get(), response_.data() + response_written_, response_.size() - response_written_,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            close();
            return;
        }
        response_written_ += static_cast<std::size_t>(n);
    }
    (void)shutdown(socket_.get(), SHUT_WR);
    close();
}

// The deadline is a one-shot timer; it may already have fired (a
// response to a timeout), so re-enable it with every new deadline.
void ControlConnection::arm_deadline(std::uint64_t usec_from_now)
{
    (void)sd_event_source_set_time_relative(deadline_source_.get(), usec_from_now);
    (void)sd_event_source_set_enabled(deadline_source_.get(), SD_EVENT_ONESHOT);
}

void ControlConnection::close() noexcept
{
    server_.close_connection(this);
}

} // namespace mcr::control
