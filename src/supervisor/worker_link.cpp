// The supervisor's side of the worker link: an sd-bus server per connection.
#include "worker_link.hpp"

#include "bus/bus_marshal.hpp"
#include "core/c_callback.hpp"
#include "core/log.hpp"
#include "core/worker_protocol.hpp"

#include <systemd/sd-id128.h>

#include <cstring>

namespace mcr::supervisor {

namespace wp = worker_protocol;

namespace {

// GetStats runs every second; a worker that takes longer is busy or stuck,
// and the next poll asks again.
constexpr std::uint64_t kStatsTimeoutUsec = 5ULL * 1000 * 1000;
constexpr std::uint64_t kSetConfigTimeoutUsec = 10ULL * 1000 * 1000;

std::string errno_text(int r) { return std::strerror(-r); }

} // namespace

int append_named_fds(sd_bus_message* message, const NamedFds& sockets)
{
    int r = sd_bus_message_open_container(message, 'a', "{sh}");
    for (const auto& [name, fd] : sockets) {
        if (r < 0)
            return r;
        r = sd_bus_message_append(message, "{sh}", name.c_str(), fd);
    }
    if (r < 0)
        return r;
    return sd_bus_message_close_container(message);
}

Result<std::unique_ptr<WorkerLink>> WorkerLink::create(sd_event* event, unique_fd connection, std::string interface,
                                                       WorkerLinkOwner& owner)
{
    std::unique_ptr<WorkerLink> link(new WorkerLink(std::move(interface), owner));
    auto fail = [&](const char* what, int r) {
        return Error{link->interface_, std::string("worker link: ") + what + ": " + errno_text(r)};
    };
    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    if (r < 0)
        return fail("cannot allocate a bus", r);
    link->bus_.reset(raw);
    sd_id128_t server_id{};
    r = sd_id128_randomize(&server_id);
    if (r < 0)
        return fail("cannot make a server id", r);
    const int fd = connection.get();
    r = sd_bus_set_fd(raw, fd, fd);
    if (r < 0)
        return fail("cannot use the connection", r);
    (void)connection.release();  // the bus owns it now
    if ((r = sd_bus_set_server(raw, 1, server_id)) < 0 || (r = sd_bus_negotiate_fds(raw, 1)) < 0)
        return fail("cannot make a server", r);

    // UNPRIVILEGED: the worker runs as a DynamicUser= uid, which sd-bus would
    // otherwise refuse as a stranger. The connection itself is the
    // authorization: only the peer whose cgroup names its worker unit (or
    // the child we spawned) ever gets a bus here.
    static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("AcquireSockets", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sh}", sockets),
                                method_acquire_sockets, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetConfig", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", config), method_get_config,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
    };
    sd_bus_slot* slot = nullptr;
    r = sd_bus_add_object_vtable(raw, &slot, wp::kObjectPath, wp::kSupervisorInterface, vtable, link.get());
    if (r < 0)
        return fail("cannot serve the worker interface", r);
    link->vtable_slot_.reset(slot);
    // sd-bus synthesizes this local signal when the peer hangs up.
    r = sd_bus_match_signal(raw, &slot, nullptr, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                            "Disconnected", on_disconnected, link.get());
    if (r < 0)
        return fail("cannot watch for hang-up", r);
    link->disconnect_slot_.reset(slot);
    if ((r = sd_bus_start(raw)) < 0)
        return fail("cannot start", r);
    if ((r = sd_bus_attach_event(raw, event, SD_EVENT_PRIORITY_NORMAL)) < 0)
        return fail("cannot attach to the event loop", r);
    return link;
}

WorkerLink::~WorkerLink()
{
    // Slots first (they point at this object), then the bus.
    listeners_slot_.reset();
    stats_slot_.reset();
    set_config_slot_.reset();
    disconnect_slot_.reset();
    vtable_slot_.reset();
    if (bus_)
        (void)sd_bus_detach_event(bus_.get());
}

int WorkerLink::method_acquire_sockets(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    auto* link = static_cast<WorkerLink*>(userdata);
    return run_guarded(error, [&]() -> int {
        const NamedFds sockets = link->owner_.link_sockets(link->interface_);
        if (sockets.empty())
            return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "No sockets for interface '%s' yet",
                                     link->interface_.c_str());
        sd_bus_message* raw = nullptr;
        int r = sd_bus_message_new_method_return(m, &raw);
        if (r < 0)
            return r;
        BusMessagePtr reply(raw);
        if ((r = append_named_fds(reply.get(), sockets)) < 0)
            return r;
        if ((r = sd_bus_send(nullptr, reply.get(), nullptr)) < 0)
            return r;
        link->owner_.link_sockets_handed(link->interface_);
        return r;
    });
}

int WorkerLink::method_get_config(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    auto* link = static_cast<WorkerLink*>(userdata);
    return run_guarded(error, [&]() -> int {
        link->synced_ = true;   // the last call of its start-up or re-sync
        return sd_bus_reply_method_return(m, "s", link->owner_.link_config(link->interface_).c_str());
    });
}

int WorkerLink::on_disconnected(sd_bus_message*, void* userdata, sd_bus_error*) noexcept
{
    auto* link = static_cast<WorkerLink*>(userdata);
    return guard_callback("Closing a worker link", [link] {
        link->owner_.link_closed(link->interface_);
        return 0;
    });
}

int WorkerLink::call_worker(const char* method, const std::function<int(sd_bus_message*)>& append_arguments,
                            sd_bus_message_handler_t on_reply, std::uint64_t timeout_usec, BusSlotPtr& slot)
{
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_.get(), &raw, nullptr, wp::kObjectPath, wp::kWorkerInterface, method);
    if (r < 0)
        return r;
    BusMessagePtr call(raw);
    if ((r = append_arguments(call.get())) < 0)
        return r;
    sd_bus_slot* raw_slot = nullptr;
    if ((r = sd_bus_call_async(bus_.get(), &raw_slot, call.get(), on_reply, this, timeout_usec)) < 0)
        return r;
    slot.reset(raw_slot);
    return 0;
}

void WorkerLink::send_config(const std::string& config, const NamedFds& sockets)
{
    if (!synced_) {
        held_change_ = true;
        return;
    }
    const int r = call_worker(
        "SetConfig",
        [&](sd_bus_message* call) {
            const int appended = sd_bus_message_append(call, "s", config.c_str());
            return appended < 0 ? appended : append_named_fds(call, sockets);
        },
        on_set_config_reply, kSetConfigTimeoutUsec, set_config_slot_);
    if (r < 0)
        log_error("Failed to send the config to the worker: " + errno_text(r), {{"MCR_INTERFACE", interface_}});
    else
        owner_.link_sockets_handed(interface_);
}

int WorkerLink::on_set_config_reply(sd_bus_message* m, void* userdata, sd_bus_error*) noexcept
{
    auto* link = static_cast<WorkerLink*>(userdata);
    if (const sd_bus_error* e = sd_bus_message_get_error(m))
        (void)guard_callback("Logging a refused config", [link, e] {
            log_error(std::string("Worker refused its config: ") + bus_error_text(e),
                      {{"MCR_INTERFACE", link->interface_}});
            return 0;
        });
    link->set_config_slot_.reset();
    return 0;
}

void WorkerLink::send_listeners(const worker_protocol::ListeningOutputs& listening)
{
    if (!synced_)
        return;
    // A newer set replaces one still in flight: dropping the slot only
    // forgets its reply, and the worker applies both in order.
    const int r = call_worker(
        "SetListeners",
        [&](sd_bus_message* call) {
            int appended = sd_bus_message_open_container(call, 'a', "(su)");
            for (const auto& [rule, output] : listening) {
                if (appended < 0)
                    return appended;
                appended = sd_bus_message_append(call, "(su)", rule.c_str(), output);
            }
            return appended < 0 ? appended : sd_bus_message_close_container(call);
        },
        on_listeners_reply, kSetConfigTimeoutUsec, listeners_slot_);
    if (r < 0)
        log_error("Failed to send listener state to the worker: " + errno_text(r), {{"MCR_INTERFACE", interface_}});
}

int WorkerLink::on_listeners_reply(sd_bus_message* m, void* userdata, sd_bus_error*) noexcept
{
    auto* link = static_cast<WorkerLink*>(userdata);
    if (const sd_bus_error* e = sd_bus_message_get_error(m))
        (void)guard_callback("Logging refused listener state", [link, e] {
            log_error(std::string("Worker refused listener state: ") + bus_error_text(e),
                      {{"MCR_INTERFACE", link->interface_}});
            return 0;
        });
    link->listeners_slot_.reset();
    return 0;
}

void WorkerLink::request_stats()
{
    if (stats_slot_)
        return;  // the previous poll is still out
    const int r = call_worker("GetStats", [](sd_bus_message*) { return 0; }, on_stats_reply, kStatsTimeoutUsec,
                              stats_slot_);
    if (r < 0)
        log_debug("Failed to ask the worker for counters: " + errno_text(r), {{"MCR_INTERFACE", interface_}});
}

int WorkerLink::on_stats_reply(sd_bus_message* m, void* userdata, sd_bus_error*) noexcept
{
    auto* link = static_cast<WorkerLink*>(userdata);
    return guard_callback("Reading worker counters", [link, m] {
        link->stats_slot_.reset();
        const char* stats = nullptr;
        if (sd_bus_message_get_error(m) || sd_bus_message_read(m, "s", &stats) < 0)
            return 0;
        link->synced_ = true;
        if (link->held_change_) {
            link->held_change_ = false;
            link->send_config(link->owner_.link_config(link->interface_), link->owner_.link_sockets(link->interface_));
        }
        link->owner_.link_stats(link->interface_, stats);
        return 0;
    });
}

} // namespace mcr::supervisor
