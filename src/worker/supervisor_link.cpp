// sd-bus client side of the worker link. Every callback catches everything:
// no exception may cross into libsystemd.
#include "supervisor_link.hpp"

#include "core/c_callback.hpp"
#include "core/log.hpp"
#include "core/worker_protocol.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace mcr::worker {

namespace {

constexpr std::chrono::milliseconds kFirstRetryDelay{1000};
constexpr std::chrono::milliseconds kMaxRetryDelay{5000};
constexpr const char* kLocalInterface = "org.freedesktop.DBus.Local";
constexpr const char* kLocalPath = "/org/freedesktop/DBus/Local";

// D-Bus address values escape everything but [-0-9A-Za-z_/.\*].
std::string unix_address(const std::string& path)
{
    static constexpr char kHex[] = "0123456789abcdef";
    std::string address = "unix:path=";
    for (unsigned char c : path) {
        if (std::isalnum(c) || std::strchr("-_/.\\*", c) != nullptr) {
            address += static_cast<char>(c);
        } else {
            address += '%';
            address += kHex[c >> 4];
            address += kHex[c & 0xf];
        }
    }
    return address;
}

std::string errno_text(int negative_errno)
{
    return std::strerror(-negative_errno);
}

} // namespace

Result<NamedFds> read_named_fds(sd_bus_message* message)
{
    NamedFds fds;
    int rc = sd_bus_message_enter_container(message, 'a', "{sh}");
    if (rc < 0)
        return Error{"sockets", "cannot read a{sh}: " + errno_text(rc)};
    while ((rc = sd_bus_message_enter_container(message, 'e', "sh")) > 0) {
        const char* name = nullptr;
        int fd = -1;
        if ((rc = sd_bus_message_read(message, "sh", &name, &fd)) < 0)
            return Error{"sockets", "cannot read an entry: " + errno_text(rc)};
        // The message owns `fd`; keep a duplicate that outlives it.
        unique_fd copy(fcntl(fd, F_DUPFD_CLOEXEC, 3));
        if (!copy)
            return Error{std::string("sockets.") + name, "cannot duplicate: " + errno_text(-errno)};
        fds.insert_or_assign(name, std::move(copy));
        if ((rc = sd_bus_message_exit_container(message)) < 0)
            return Error{"sockets", "malformed a{sh}: " + errno_text(rc)};
    }
    if (rc < 0)
        return Error{"sockets", "malformed a{sh}: " + errno_text(rc)};
    if ((rc = sd_bus_message_exit_container(message)) < 0)
        return Error{"sockets", "malformed a{sh}: " + errno_text(rc)};
    return fds;
}

SupervisorLink::SupervisorLink(sd_event* event, std::string socket_path, unique_fd bus_fd, SupervisorHandlers handlers)
    : event_(event), socket_path_(std::move(socket_path)), bus_fd_(std::move(bus_fd)), handlers_(std::move(handlers)),
      retry_delay_(kFirstRetryDelay)
{
}

int SupervisorLink::connect()
{
    sd_bus* raw = nullptr;
    if (int rc = sd_bus_new(&raw); rc < 0)
        return rc;
    BusPtr bus(raw);
    int rc = 0;
    if (bus_fd_) {
        rc = sd_bus_set_fd(bus.get(), bus_fd_.get(), bus_fd_.get());
        if (rc >= 0)
            (void)bus_fd_.release(); // the bus owns it now; it cannot be reused after a disconnect
    } else {
        rc = sd_bus_set_address(bus.get(), unix_address(socket_path_).c_str());
    }
    if (rc < 0)
        return rc;
    if ((rc = sd_bus_negotiate_fds(bus.get(), 1)) < 0)
        return rc;
    if ((rc = sd_bus_start(bus.get())) < 0)
        return rc;
    bus_ = std::move(bus);
    return 0;
}

Result<AcquiredState> SupervisorLink::acquire_blocking()
{
    if (!bus_)
        if (int rc = connect(); rc < 0)
            return Error{socket_path_.empty() ? "bus-fd" : socket_path_, "cannot connect to the supervisor: " + errno_text(rc)};
    AcquiredState state;
    {
        BusError error;
        sd_bus_message* raw = nullptr;
        int rc = sd_bus_call_method(bus_.get(), nullptr, worker_protocol::kObjectPath,
                                    worker_protocol::kSupervisorInterface, "AcquireSockets", error.get(), &raw, "");
        BusMessagePtr reply(raw);
        if (rc < 0)
            return Error{"AcquireSockets", error.is_set() ? bus_error_text(error.get()) : errno_text(rc)};
        auto fds = read_named_fds(reply.get());
        if (!fds)
            return fds.error();
        state.sockets = std::move(*fds);
    }
    BusError error;
    sd_bus_message* raw = nullptr;
    int rc = sd_bus_call_method(bus_.get(), nullptr, worker_protocol::kObjectPath, worker_protocol::kSupervisorInterface,
                                "GetConfig", error.get(), &raw, "");
    BusMessagePtr reply(raw);
    if (rc < 0)
        return Error{"GetConfig", error.is_set() ? bus_error_text(error.get()) : errno_text(rc)};
    const char* config = nullptr;
    if ((rc = sd_bus_message_read(reply.get(), "s", &config)) < 0)
        return Error{"GetConfig", "malformed reply: " + errno_text(rc)};
    state.config = config;
    return state;
}

int SupervisorLink::attach()
{
    sd_bus_slot* slot = nullptr;
    int rc = sd_bus_add_object_vtable(bus_.get(), &slot, worker_protocol::kObjectPath, worker_protocol::kWorkerInterface,
                                      agent_vtable(), this);
    if (rc < 0)
        return rc;
    vtable_slot_.reset(slot);
    rc = sd_bus_match_signal(bus_.get(), &slot, nullptr, kLocalPath, kLocalInterface, "Disconnected",
                             &SupervisorLink::on_disconnected, this);
    if (rc < 0)
        return rc;
    disconnect_slot_.reset(slot);
    return sd_bus_attach_event(bus_.get(), event_, SD_EVENT_PRIORITY_NORMAL);
}

void SupervisorLink::start(bool resync)
{
    resync_ = resync;
    if (!bus_) {
        if (int rc = connect(); rc < 0) {
            log_warning("Cannot connect to the supervisor (" + errno_text(rc) + "), will retry",
                        {{"MCR_SOCKET", socket_path_}});
            schedule_reconnect();
            return;
        }
    }
    if (int rc = attach(); rc < 0) {
        log_warning("Cannot serve the supervisor link (" + errno_text(rc) + "), will retry");
        drop_connection();
        schedule_reconnect();
        return;
    }
    retry_delay_ = kFirstRetryDelay;
    if (resync_)
        request_resync();
}

void SupervisorLink::drop_connection()
{
    pending_call_.reset();
    disconnect_slot_.reset();
    vtable_slot_.reset();
    if (bus_)
        (void)sd_bus_detach_event(bus_.get());
    bus_.reset();
}

void SupervisorLink::schedule_reconnect()
{
    if (socket_path_.empty()) {
        log_warning("The supervisor link was an inherited fd (--bus-fd): not reconnecting");
        return;
    }
    sd_event_source* source = nullptr;
    const auto delay_us = static_cast<std::uint64_t>(retry_delay_.count()) * 1000;
    if (sd_event_add_time_relative(event_, &source, CLOCK_MONOTONIC, delay_us, 0, &SupervisorLink::on_reconnect_timer,
                                   this) >= 0)
        reconnect_timer_.reset(source);
    retry_delay_ = std::min(retry_delay_ * 2, kMaxRetryDelay);
}

void SupervisorLink::request_resync()
{
    sd_bus_slot* slot = nullptr;
    if (sd_bus_call_method_async(bus_.get(), &slot, nullptr, worker_protocol::kObjectPath,
                                 worker_protocol::kSupervisorInterface, "AcquireSockets",
                                 &SupervisorLink::on_sockets_reply, this, "") >= 0)
        pending_call_.reset(slot);
}

int SupervisorLink::on_disconnected(sd_bus_message*, void* userdata, sd_bus_error*) noexcept
{
    auto* self = static_cast<SupervisorLink*>(userdata);
    return guard_callback("Handling the supervisor link's loss", [self] {
        log_warning("Supervisor link lost, forwarding continues");
        self->resync_ = true;
        // The bus is dropped from the timer, not from inside its own callback.
        self->schedule_reconnect();
        return 0;
    });
}

int SupervisorLink::on_reconnect_timer(sd_event_source*, std::uint64_t, void* userdata) noexcept
{
    auto* self = static_cast<SupervisorLink*>(userdata);
    return guard_callback("Reconnecting to the supervisor", [self] {
        self->reconnect_timer_.reset();
        self->drop_connection();
        self->start(self->resync_);
        if (self->bus_ && self->vtable_slot_)
            log_info("Supervisor link re-established", {{"MCR_SOCKET", self->socket_path_}});
        return 0;
    });
}

int SupervisorLink::on_sockets_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) noexcept
{
    auto* self = static_cast<SupervisorLink*>(userdata);
    return guard_callback("Re-sync (AcquireSockets)", [self, reply] {
        self->pending_call_.reset();
        if (sd_bus_message_is_method_error(reply, nullptr)) {
            log_warning(std::string("Re-sync: AcquireSockets failed: ") + bus_error_text(sd_bus_message_get_error(reply)));
            return 0;
        }
        auto fds = read_named_fds(reply);
        if (!fds) {
            log_warning("Re-sync: " + fds.error().message());
            return 0;
        }
        self->resync_sockets_ = std::move(*fds);
        sd_bus_slot* slot = nullptr;
        if (sd_bus_call_method_async(self->bus_.get(), &slot, nullptr, worker_protocol::kObjectPath,
                                     worker_protocol::kSupervisorInterface, "GetConfig",
                                     &SupervisorLink::on_config_reply, self, "") >= 0)
            self->pending_call_.reset(slot);
        return 0;
    });
}

int SupervisorLink::on_config_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) noexcept
{
    auto* self = static_cast<SupervisorLink*>(userdata);
    return guard_callback("Re-sync (GetConfig)", [self, reply] {
        self->pending_call_.reset();
        const char* config = nullptr;
        if (sd_bus_message_is_method_error(reply, nullptr) || sd_bus_message_read(reply, "s", &config) < 0) {
            log_warning("Re-sync: GetConfig failed, keeping the current config");
            return 0;
        }
        if (Status s = self->handlers_.apply_config(config, std::move(self->resync_sockets_), SocketMerge::add_missing); !s)
            log_warning("Re-sync: config refused, keeping the current one: " + s.error().message());
        else
            self->resync_ = false;
        self->resync_sockets_.clear();
        return 0;
    });
}

int SupervisorLink::method_set_config(sd_bus_message* message, void* userdata, sd_bus_error* error) noexcept
{
    auto* self = static_cast<SupervisorLink*>(userdata);
    return run_guarded(error, [&]() -> int {
        const char* config = nullptr;
        if (int rc = sd_bus_message_read(message, "s", &config); rc < 0)
            return rc;
        auto fds = read_named_fds(message);
        if (!fds)
            return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, fds.error().message().c_str());
        if (Status s = self->handlers_.apply_config(config, std::move(*fds), SocketMerge::replace); !s)
            return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, s.error().message().c_str());
        return sd_bus_reply_method_return(message, "");
    });
}

int SupervisorLink::method_get_stats(sd_bus_message* message, void* userdata, sd_bus_error* error) noexcept
{
    auto* self = static_cast<SupervisorLink*>(userdata);
    return run_guarded(error, [self, message] {
        const std::string stats = self->handlers_.stats_json();
        return sd_bus_reply_method_return(message, "s", stats.c_str());
    });
}

int SupervisorLink::method_set_listeners(sd_bus_message* message, void* userdata, sd_bus_error* error) noexcept
{
    auto* self = static_cast<SupervisorLink*>(userdata);
    return run_guarded(error, [&]() -> int {
        ListeningOutputs listening;
        int rc = sd_bus_message_enter_container(message, 'a', "(su)");
        if (rc < 0)
            return rc;
        const char* rule = nullptr;
        std::uint32_t output = 0;
        while ((rc = sd_bus_message_read(message, "(su)", &rule, &output)) > 0)
            listening.emplace(rule, output);
        if (rc < 0 || (rc = sd_bus_message_exit_container(message)) < 0)
            return rc;
        self->handlers_.set_listeners(std::move(listening));
        return sd_bus_reply_method_return(message, "");
    });
}

// The supervisor is the only peer on this private connection, so no polkit
// check applies.
const sd_bus_vtable* SupervisorLink::agent_vtable()
{
    static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("SetConfig", "sa{sh}", "", &SupervisorLink::method_set_config, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("GetStats", "", "s", &SupervisorLink::method_get_stats, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("SetListeners", "a(su)", "", &SupervisorLink::method_set_listeners, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
    };
    return vtable;
}

} // namespace mcr::worker
