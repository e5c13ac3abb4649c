// One peer-to-peer D-Bus connection to a worker (no bus daemon: see
// core/worker_protocol.hpp). The supervisor is the server: it serves
// org.mcr.Relay.Worker1 (AcquireSockets, GetConfig) and calls the worker's
// org.mcr.Relay.WorkerAgent1 (SetConfig, GetStats).
#pragma once

#include "core/result.hpp"
#include "core/sd_ptr.hpp"
#include "core/unique_fd.hpp"
#include "core/worker_protocol.hpp"

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mcr::supervisor {

// (fd name, fd) pairs; the fds stay owned by the caller (sd-bus dups them).
using NamedFds = std::vector<std::pair<std::string, int>>;

// What the link asks of the worker's owner. Called from sd-bus callbacks;
// implementations must not throw and must not destroy the link inside
// link_closed() (defer that).
class WorkerLinkOwner {
public:
    virtual ~WorkerLinkOwner() = default;
    [[nodiscard]] virtual NamedFds link_sockets(const std::string& interface) = 0;
    [[nodiscard]] virtual std::string link_config(const std::string& interface) = 0;
    virtual void link_stats(const std::string& interface, const std::string& stats_json) = 0;
    virtual void link_closed(const std::string& interface) = 0;
    // The sockets were sent (AcquireSockets reply or SetConfig): fds that
    // must have one holder only (the fast path's) can be closed now.
    virtual void link_sockets_handed(const std::string& interface) = 0;
};

class WorkerLink {
public:
    // Runs an sd-bus server on `connection` (already authenticated by the
    // caller: a socketpair we made, or a peer whose unit we checked).
    [[nodiscard]] static Result<std::unique_ptr<WorkerLink>> create(sd_event* event, unique_fd connection,
                                                                   std::string interface, WorkerLinkOwner& owner);
    WorkerLink(const WorkerLink&) = delete;
    WorkerLink& operator=(const WorkerLink&) = delete;
    ~WorkerLink();

    // SetConfig(config, sockets); a failure is logged (the worker keeps
    // its previous config and can ask again with GetConfig). Until the
    // worker has synced (served its GetConfig or answered a GetStats) it is
    // not sent: a SetConfig crossing the worker's own start-up calls broke
    // the connection. The first GetStats answer after such a held change
    // sends the whole current set instead.
    void send_config(const std::string& config, const NamedFds& sockets);
    // GetStats(); the answer reaches owner.link_stats(). One at a time.
    void request_stats();
    // SetListeners(listening). Before the worker synced it is not sent: the
    // config it fetches carries the same set. A failure is logged.
    void send_listeners(const worker_protocol::ListeningOutputs& listening);

    [[nodiscard]] const std::string& interface() const { return interface_; }

private:
    WorkerLink(std::string interface, WorkerLinkOwner& owner) : interface_(std::move(interface)), owner_(owner) {}

    // Sends `method` of the worker's interface with the arguments
    // `append_arguments` adds; the reply goes to `on_reply` via `slot`.
    [[nodiscard]] int call_worker(const char* method, const std::function<int(sd_bus_message*)>& append_arguments,
                                  sd_bus_message_handler_t on_reply, std::uint64_t timeout_usec, BusSlotPtr& slot);

    static int method_acquire_sockets(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept;
    static int method_get_config(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept;
    static int on_disconnected(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept;
    static int on_set_config_reply(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept;
    static int on_stats_reply(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept;
    static int on_listeners_reply(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept;

    std::string interface_;
    WorkerLinkOwner& owner_;
    // Destruction order (last first): calls in flight, then the served
    // objects, then the connection itself.
    BusPtr bus_;
    BusSlotPtr vtable_slot_;
    BusSlotPtr disconnect_slot_;
    BusSlotPtr set_config_slot_;
    BusSlotPtr stats_slot_;
    BusSlotPtr listeners_slot_;
    bool synced_ = false;      // the worker finished its start-up calls
    bool held_change_ = false; // a config change came before that
};

// Appends `a{sh}` built from `sockets` to `message`.
[[nodiscard]] int append_named_fds(sd_bus_message* message, const NamedFds& sockets);

} // namespace mcr::supervisor
