// mcrd-fake-supervisor: a minimal stand-in for mcrd's worker link, to test a
// worker's peer-to-peer D-Bus side. Listens on --socket, serves
// org.mcr.Relay.Worker1 (AcquireSockets: fresh sockets for --config;
// GetConfig: its text) to every connection, polls each worker's GetStats
// every 200 ms into --stats-out, and on SIGHUP re-reads --config and pushes
// it with SetConfig(config, {}).
//
//   mcrd-fake-supervisor --config worker.json --socket /tmp/w.sock --stats-out stats.json
#include "core/atomic_file.hpp"
#include "core/sd_ptr.hpp"
#include "core/worker_protocol.hpp"
#include "worker/worker_config.hpp"
#include "worker_sockets.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <list>
#include <string>

namespace {

namespace wp = mcr::worker_protocol;
constexpr std::uint64_t kStatsPollUs = 200'000;

struct Connection {
    mcr::BusPtr bus;
    mcr::BusSlotPtr vtable_slot;
};

struct Context {
    std::string config_path;
    std::string config_text;
    std::string stats_out;
    mcr::EventPtr event;
    mcr::unique_fd listener;
    std::list<Connection> connections;
};

int reply_error(sd_bus_error* error, const std::string& message)
{
    return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, message.c_str());
}

int method_acquire_sockets(sd_bus_message* message, void* userdata, sd_bus_error* error)
{
    auto* context = static_cast<Context*>(userdata);
    try {
        auto config = mcr::worker::parse_worker_config(context->config_text);
        if (!config)
            return reply_error(error, config.error().message());
        auto sockets = mcr::test::make_worker_sockets(*config, context->config_text);
        if (!sockets)
            return reply_error(error, sockets.error().message());
        sd_bus_message* raw = nullptr;
        if (int rc = sd_bus_message_new_method_return(message, &raw); rc < 0)
            return rc;
        mcr::BusMessagePtr reply(raw);
        int rc = sd_bus_message_open_container(reply.get(), 'a', "{sh}");
        for (const auto& socket : *sockets) {
            if (rc >= 0 && socket.name != wp::kConfigFd)
                rc = sd_bus_message_append(reply.get(), "{sh}", socket.name.c_str(), socket.fd.get());
        }
        if (rc >= 0)
            rc = sd_bus_message_close_container(reply.get());
        if (rc < 0)
            return rc;
        return sd_bus_send(nullptr, reply.get(), nullptr);
    } catch (...) {
        return reply_error(error, "internal error");
    }
}

int method_get_config(sd_bus_message* message, void* userdata, sd_bus_error*)
{
    auto* context = static_cast<Context*>(userdata);
    return sd_bus_reply_method_return(message, "s", context->config_text.c_str());
}

const sd_bus_vtable kWorker1Vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("AcquireSockets", "", "a{sh}", method_acquire_sockets, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetConfig", "", "s", method_get_config, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

int on_stats_reply(sd_bus_message* reply, void* userdata, sd_bus_error*)
{
    auto* context = static_cast<Context*>(userdata);
    const char* stats = nullptr;
    if (!sd_bus_message_is_method_error(reply, nullptr) && sd_bus_message_read(reply, "s", &stats) >= 0 &&
        !context->stats_out.empty())
        (void)mcr::write_file_atomic(context->stats_out, std::string(stats) + "\n");
    return 0;
}

int on_stats_timer(sd_event_source* source, std::uint64_t, void* userdata)
{
    auto* context = static_cast<Context*>(userdata);
    // Drop closed connections, ask the others for stats (floating calls).
    context->connections.remove_if([](const Connection& c) { return !sd_bus_is_open(c.bus.get()); });
    for (Connection& connection : context->connections)
        (void)sd_bus_call_method_async(connection.bus.get(), nullptr, nullptr, wp::kObjectPath, wp::kWorkerInterface,
                                       "GetStats", on_stats_reply, context, "");
    (void)sd_event_source_set_time_relative(source, kStatsPollUs);
    (void)sd_event_source_set_enabled(source, SD_EVENT_ON);
    return 0;
}

int on_hangup(sd_event_source*, const struct signalfd_siginfo*, void* userdata)
{
    auto* context = static_cast<Context*>(userdata);
    auto text = mcr::read_file_limited(context->config_path, mcr::kMaxConfigBytes);
    if (!text) {
        std::fprintf(stderr, "mcrd-fake-supervisor: %s\n", text.error().message().c_str());
        return 0;
    }
    context->config_text = *text;
    for (Connection& connection : context->connections)
        (void)sd_bus_call_method_async(connection.bus.get(), nullptr, nullptr, wp::kObjectPath, wp::kWorkerInterface,
                                       "SetConfig", nullptr, nullptr, "sa{sh}", context->config_text.c_str(), 0);
    return 0;
}

int on_accept(sd_event_source*, int fd, std::uint32_t, void* userdata)
{
    auto* context = static_cast<Context*>(userdata);
    mcr::unique_fd peer(accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!peer)
        return 0;
    sd_bus* raw = nullptr;
    if (sd_bus_new(&raw) < 0)
        return 0;
    Connection connection{mcr::BusPtr(raw), {}};
    sd_id128_t id;
    sd_bus_slot* slot = nullptr;
    if (sd_id128_randomize(&id) < 0 || sd_bus_set_fd(raw, peer.get(), peer.get()) < 0)
        return 0;
    (void)peer.release(); // the bus owns it now
    if (sd_bus_set_server(raw, 1, id) < 0 || sd_bus_negotiate_fds(raw, 1) < 0 ||
        sd_bus_add_object_vtable(raw, &slot, wp::kObjectPath, wp::kSupervisorInterface, kWorker1Vtable, context) < 0)
        return 0;
    connection.vtable_slot.reset(slot);
    if (sd_bus_attach_event(raw, context->event.get(), 0) < 0 || sd_bus_start(raw) < 0)
        return 0;
    context->connections.push_back(std::move(connection));
    return 0;
}

int fail(const std::string& message)
{
    std::fprintf(stderr, "mcrd-fake-supervisor: %s\n", message.c_str());
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    Context context;
    std::string socket_path;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--config")
            context.config_path = argv[i + 1];
        else if (option == "--socket")
            socket_path = argv[i + 1];
        else if (option == "--stats-out")
            context.stats_out = argv[i + 1];
        else
            return fail("unknown option " + option);
    }
    if (context.config_path.empty() || socket_path.empty())
        return fail("usage: mcrd-fake-supervisor --config worker.json --socket PATH [--stats-out FILE]");
    auto text = mcr::read_file_limited(context.config_path, mcr::kMaxConfigBytes);
    if (!text)
        return fail(text.error().message());
    context.config_text = *text;

    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(address.sun_path))
        return fail("socket path too long");
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size());
    (void)unlink(socket_path.c_str());
    context.listener.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!context.listener || bind(context.listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) < 0 ||
        listen(context.listener.get(), 8) < 0)
        return fail(std::string("cannot listen on ") + socket_path + ": " + std::strerror(errno));

    sigset_t mask;
    sigemptyset(&mask);
    for (int signal : {SIGTERM, SIGINT, SIGHUP})
        sigaddset(&mask, signal);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    sd_event* event = nullptr;
    if (sd_event_new(&event) < 0)
        return fail("sd_event_new failed");
    context.event.reset(event);
    mcr::EventSourcePtr accept_source, stats_timer, hangup;
    sd_event_source* source = nullptr;
    if (sd_event_add_io(event, &source, context.listener.get(), EPOLLIN, on_accept, &context) < 0)
        return fail("cannot watch the listener");
    accept_source.reset(source);
    if (sd_event_add_time_relative(event, &source, CLOCK_MONOTONIC, kStatsPollUs, 0, on_stats_timer, &context) < 0)
        return fail("cannot add the stats timer");
    stats_timer.reset(source);
    if (sd_event_add_signal(event, &source, SIGHUP, on_hangup, &context) < 0 ||
        sd_event_add_signal(event, nullptr, SIGTERM, nullptr, nullptr) < 0 ||
        sd_event_add_signal(event, nullptr, SIGINT, nullptr, nullptr) < 0)
        return fail("cannot watch signals");
    hangup.reset(source);
    const int rc = sd_event_loop(event);
    context.connections.clear();
    (void)unlink(socket_path.c_str());
    return rc < 0 ? 1 : 0;
}
