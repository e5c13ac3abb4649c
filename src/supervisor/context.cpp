// Context set-up, the event loop, signals, sd_notify and idle exit.
#include "context.hpp"

#include "bus/bus_connect.hpp"
#include "bus/bus_names.hpp"
#include "core/audit_caller.hpp"
#include "core/c_callback.hpp"
#include "core/log.hpp"
#include "core/message_ids.hpp"
#include "core/signals.hpp"
#include "supervisor/admin_config.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>

#include <cstring>
#include <filesystem>
#include <memory>

namespace mcr::supervisor {

namespace {

Error errno_error(const std::string& what, int r) { return Error{"", what + ": " + std::strerror(-r)}; }

// The sender of SIGHUP: for `systemctl reload`, ExecReload's kill, run as the
// unit's user. Only root and our own user may signal us (the kernel checks),
// and they may reload: there is nothing left to authorize.
class SignalGate final : public CallerGate {
public:
    explicit SignalGate(const signalfd_siginfo& info)
        : caller_(audit::caller_of_process(static_cast<pid_t>(info.ssi_pid), info.ssi_uid))
    {
    }

    [[nodiscard]] audit::Via via() const override { return audit::Via::signal; }
    [[nodiscard]] audit::Caller caller() const override { return caller_; }
    void authorize(const char* /*action*/, Decided decided) override { decided(AccessDecision{true, {}}); }

private:
    audit::Caller caller_;
};

} // namespace

Context::Context(Options options)
    : options_(std::move(options)),
      store_(options_.state_dir + "/rules.json", options_.max_rules),
      write_path_(*this),
      relay_bus_(*this, write_path_, polkit_)
{
}

Context::~Context()
{
    // Workers hold sockets and children: stop them while the loop and the
    // buses they use still exist.
    if (workers_)
        workers_->release_all();
}

int Context::run()
{
    if (Status ready = setup(); !ready) {
        log_error("Failed to start: " + ready.error().message());
        (void)sd_notifyf(0, "STATUS=Failed to start: %s", ready.error().message().c_str());
        return 1;
    }
    notify_status();
    (void)sd_notify(0, "READY=1");
    const std::string api =
        without_bus(options_) ? options_.control_socket : bus::relay_bus_name(options_.namespace_name);
    log_info("Serving " + api + " with " + std::to_string(store_.rules().size()) + " rules");
    const int r = sd_event_loop(event_.get());
    (void)sd_notify(0, "STOPPING=1");
    relay_bus_.detach();
    if (workers_)
        workers_->release_all();
    if (r < 0) {
        log_error(std::string("Event loop failed: ") + std::strerror(-r));
        return 1;
    }
    return r;
}

Status Context::setup()
{
    sd_event* event = nullptr;
    int r = sd_event_default(&event);
    if (r < 0)
        return errno_error("cannot create the event loop", r);
    event_.reset(event);
    if (Status s = setup_signals(); !s)
        return s;
    if (Status s = load_rules(); !s)
        return s;
    if (Status s = connect_bus(); !s)
        return s;
    if (Status s = start_workers(); !s)
        return s;
    if (Status s = start_control_socket(); !s)
        return s;
    update_idle_timer();
    return Ok{};
}

Status Context::setup_signals()
{
    // SIGCHLD too: sd_event_add_child() needs it blocked.
    sigset_t mask;
    if (const int r = block_signals({SIGTERM, SIGINT, SIGHUP, SIGCHLD}, mask); r < 0)
        return errno_error("cannot block signals", r);
    struct Wanted {
        int signal_number;
        EventSourcePtr& source;
        sd_event_signal_handler_t handler;
    };
    for (const Wanted& wanted : {Wanted{SIGTERM, sigterm_source_, &Context::on_exit_signal},
                                 Wanted{SIGINT, sigint_source_, &Context::on_exit_signal},
                                 Wanted{SIGHUP, sighup_source_, &Context::on_reload_signal}}) {
        sd_event_source* source = nullptr;
        const int r = sd_event_add_signal(event_.get(), &source, wanted.signal_number, wanted.handler, this);
        if (r < 0)
            return errno_error("cannot watch signals", r);
        wanted.source.reset(source);
    }
    return Ok{};
}

Status Context::load_rules()
{
    std::error_code ec;
    std::filesystem::create_directories(options_.state_dir, ec);
    if (ec)
        return Error{options_.state_dir, "cannot create the state directory: " + ec.message()};
    if (Status loaded = store_.load_state(options_.reset_state); !loaded)
        return loaded;
    Result<RuleSet> admin = read_admin_rules(options_.config_dir, options_.config_file, options_.max_rules);
    if (!admin)
        return admin.error();
    Result<RuleChanges> merged = store_.set_admin_rules(*admin);
    if (!merged)
        return merged.error();
    return Ok{};
}

Status Context::connect_bus()
{
    if (without_bus(options_)) {
        // No D-Bus at all (a container, say): the control socket is the API
        // and its peer credentials stand in for polkit (ControlBridge).
        log_info("No bus (--bus none): serving the control socket " + options_.control_socket + " only");
        return Ok{};
    }
    int r = bus::open_bus(options_.bus, "mcrd-api", bus_);
    if (r < 0)
        return errno_error("cannot connect to the bus '" + options_.bus + "'", r);
    sd_bus* bus = bus_.get();
    if ((r = relay_bus_.attach(bus)) < 0)
        return errno_error("cannot register the D-Bus objects", r);
    if ((r = sd_bus_attach_event(bus, event_.get(), SD_EVENT_PRIORITY_NORMAL)) < 0)
        return errno_error("cannot attach the bus to the event loop", r);
    const std::string name = bus::relay_bus_name(options_.namespace_name);
    // Objects first, then the name: a caller woken by NameOwnerChanged must
    // find them in place.
    if ((r = sd_bus_request_name(bus, name.c_str(), 0)) < 0)
        return errno_error("cannot own the bus name " + name, r);
    if (options_.worker_mode == WorkerMode::systemd && options_.bus != "system") {
        sd_bus* system = nullptr;
        if ((r = sd_bus_open_system_with_description(&system, "mcrd-systemd")) < 0)
            return errno_error("cannot connect to the system bus for systemd", r);
        system_bus_.reset(system);
        if ((r = sd_bus_attach_event(system, event_.get(), SD_EVENT_PRIORITY_NORMAL)) < 0)
            return errno_error("cannot attach the system bus to the event loop", r);
    }
    return Ok{};
}

Status Context::start_workers()
{
    WorkerSettings settings{options_.worker_mode, options_.worker_binary, options_.namespace_name,
                            options_.worker_socket, std::nullopt, options_.fast_path,
                            options_.fast_path_attach};
    if (drops_worker_user(options_)) {
        Result<WorkerIdentity> identity = resolve_worker_user(options_.worker_user);
        if (!identity)
            return identity.error();
        settings.identity = std::move(*identity);
    }
    sd_bus* systemd_bus = system_bus_ ? system_bus_.get() : bus_.get();
    if (options_.worker_mode == WorkerMode::systemd) {
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(options_.worker_socket).parent_path(), ec);
    }
    Result<std::unique_ptr<WorkerManager>> manager =
        WorkerManager::create(event_.get(), systemd_bus, std::move(settings), *this);
    if (!manager)
        return manager.error();
    workers_ = std::move(*manager);
    listeners_ = std::make_unique<ListenerTracker>(event_.get(), options_.membership, *this);
    link_monitor_ = std::make_unique<LinkMonitor>([this](const LinkEvent& event) {
        // An AF_PACKET socket survives down/up, but not the interface's
        // removal (its ifindex is gone); the manager sorts that out.
        if (event.kind == LinkEventKind::added || event.kind == LinkEventKind::removed) {
            const bool present = event.kind == LinkEventKind::added;
            log_event(LogLevel::info, present ? message_id::kInterfaceBack : message_id::kInterfaceLost,
                      "Interface " + event.ifname + (present ? " appeared" : " is gone"),
                      {{"MCR_INTERFACE", event.ifname}});
        }
        workers_->link_changed(event);
        listeners_->link_changed(event);
    });
    if (const int r = link_monitor_->start(event_.get()); r < 0)
        log_warning(std::string("Cannot watch interfaces: ") + std::strerror(-r) +
                    "; interface hot-plug will go unnoticed, ignoring");
    workers_->apply(store_.rule_set());
    listeners_->apply(store_.rule_set());
    return Ok{};
}

Status Context::start_control_socket()
{
    if (options_.control_socket == "-")
        return Ok{};
    // Socket activation (mcrd.socket) hands us the listening socket; a plain
    // run makes its own.
    unique_fd listening;
    const int passed = sd_listen_fds(1);
    for (int i = 0; i < passed; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        if (!listening && sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) > 0)
            listening.reset(fd);
    }
    if (!listening) {
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(options_.control_socket).parent_path(), ec);
        Result<unique_fd> made = control::ControlServer::listen_on_path(options_.control_socket);
        if (!made)
            return Error{options_.control_socket, made.error().message()};
        listening = std::move(*made);
    }
    sd_bus* polkit_bus = system_bus_ ? system_bus_.get() : bus_.get();
    control_bridge_ = std::make_unique<ControlBridge>(*this, write_path_, polkit_, polkit_bus);
    Result<std::unique_ptr<control::ControlServer>> server =
        control::ControlServer::create(event_.get(), std::move(listening), *control_bridge_);
    if (!server)
        return Error{options_.control_socket, server.error().message()};
    control_server_ = std::move(*server);
    return Ok{};
}

void Context::notify_status()
{
    std::size_t active = 0;
    for (const WorkerStatus& worker : workers())
        active += worker.state == "active" ? 1 : 0;
    (void)sd_notifyf(0, "STATUS=%zu rules, %zu/%zu workers active, %llu pkt/s", store_.rules().size(), active,
                     workers().size(), static_cast<unsigned long long>(packets_per_second_));
}

void Context::update_idle_timer()
{
    if (options_.idle_exit_sec == 0 || !store_.rules().empty()) {
        idle_timer_.reset();
        return;
    }
    if (idle_timer_)
        return;
    sd_event_source* timer = nullptr;
    const int r = sd_event_add_time_relative(event_.get(), &timer, CLOCK_MONOTONIC,
                                             options_.idle_exit_sec * 1000 * 1000, 0, &Context::on_idle_timer, this);
    if (r < 0) {
        log_warning(std::string("Cannot arm the idle timer: ") + std::strerror(-r) + ", ignoring");
        return;
    }
    idle_timer_.reset(timer);
}

int Context::on_idle_timer(sd_event_source*, std::uint64_t, void* userdata) noexcept
{
    auto* self = static_cast<Context*>(userdata);
    return guard_callback("The idle timer", [self] {
        if (self->store_.rules().empty()) {
            log_info("No rules and idle: exiting until needed again");
            return sd_event_exit(self->event_.get(), 0);
        }
        self->idle_timer_.reset();
        return 0;
    });
}

int Context::on_exit_signal(sd_event_source*, const struct signalfd_siginfo* info, void* userdata) noexcept
{
    auto* self = static_cast<Context*>(userdata);
    (void)guard_callback("Logging the exit signal", [info] {
        log_info(std::string("Received ") + sigabbrev_np(static_cast<int>(info->ssi_signo)) + ", exiting");
        return 0;
    });
    return sd_event_exit(self->event_.get(), 0);
}

int Context::on_reload_signal(sd_event_source*, const struct signalfd_siginfo* info, void* userdata) noexcept
{
    auto* self = static_cast<Context*>(userdata);
    return guard_callback("Reloading", [self, info] {
        // The audit record carries any failure; there is no one to answer.
        self->write_path_.submit(ReloadRequest{}, std::make_shared<SignalGate>(*info), [](const WriteResult&) {});
        return 0;
    });
}

} // namespace mcr::supervisor
