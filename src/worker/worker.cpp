// Worker start-up (sockets from LISTEN_FDS or from the supervisor), config
// changes, periodic stats and shutdown. The hot path lives in engine.cpp.
#include "worker.hpp"

#include "core/atomic_file.hpp"
#include "core/c_callback.hpp"
#include "core/log.hpp"
#include "core/message_ids.hpp"
#include "core/signals.hpp"
#include "core/stream_inspection.hpp"
#include "core/worker_protocol.hpp"
#include "dataplane/bpf_filter.hpp"
#include "fd_store.hpp"
#include "sockets/socket_factory.hpp"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace mcr::worker {

namespace {
constexpr std::chrono::milliseconds kShutdownDrainLimit{200};
void attach_ingress_filter(int ingress_fd, const std::vector<Rule>& rules);
} // namespace

Worker::Worker(WorkerOptions options) : options_(std::move(options)) {}

int Worker::run(const WorkerOptions& options)
{
    Worker worker(options);
    if (Status s = worker.start(); !s) {
        log_error("Worker failed to start: " + s.error().message());
        return 1;
    }
    const int rc = sd_event_loop(worker.event_.get());
    if (rc < 0) {
        log_error(std::string("Event loop failed: ") + std::strerror(-rc));
        return 1;
    }
    return 0;
}

Status Worker::start()
{
    // sd-event reads these through a signalfd; they must not be delivered.
    sigset_t mask;
    if (const int r = block_signals({SIGTERM, SIGINT}, mask); r < 0)
        return Error{"signals", std::strerror(-r)};

    sd_event* event = nullptr;
    if (int rc = sd_event_new(&event); rc < 0)
        return Error{"sd-event", std::strerror(-rc)};
    event_.reset(event);
    auto engine = Engine::create();
    if (!engine)
        return engine.error();
    engine_ = std::move(*engine);
    engine_->set_busy_poll(std::chrono::microseconds(options_.busy_poll_usec));
    engine_->set_receive_ring(options_.receive_ring);
    engine_->set_receive_switch(options_.receive_switch);

    if (!options_.supervisor_socket.empty() || options_.bus_fd >= 0) {
        SupervisorHandlers handlers{
            [this](const std::string& text, NamedFds fds, SocketMerge merge) {
                return apply_config(text, std::move(fds), merge, have_notify_socket());
            },
            [this] { return stats_json(); },
            [this](ListeningOutputs listening) { set_listeners(std::move(listening)); }};
        link_.emplace(event_.get(), options_.supervisor_socket,
                      unique_fd(std::exchange(options_.bus_fd, -1)), std::move(handlers));
    }
    if (Status s = acquire_initial_state(); !s)
        return s;
    if (Status s = add_event_sources(); !s)
        return s;
    notify_ready("Forwarding " + std::to_string(config_.rules.size()) + " rules from " + config_.interface);
    log_info("Worker forwarding", {{"MCR_INTERFACE", config_.interface}});
    return Ok{};
}

Status Worker::acquire_initial_state()
{
    NamedFds stored = take_listen_fds();
    if (!stored.empty()) {
        // Restart from the FD store (or the test launcher): resume at once,
        // even while the supervisor is down.
        const auto config_fd = stored.find(worker_protocol::kConfigFd);
        if (config_fd == stored.end())
            return Error{"LISTEN_FDNAMES", "no \"config\" fd among the passed fds"};
        auto text = sockets::read_config_memfd(config_fd->second.get(), kMaxConfigBytes);
        if (!text)
            return text.error();
        if (Status s = apply_config(*text, std::move(stored), SocketMerge::replace, false); !s)
            return s;
        if (link_)
            link_->start(true);
        return Ok{};
    }
    if (!link_)
        return Error{"sockets", "none passed (LISTEN_FDS) and no --supervisor-socket/--bus-fd to ask for them"};
    auto acquired = link_->acquire_blocking();
    if (!acquired)
        return acquired.error();
    if (Status s = apply_config(acquired->config, std::move(acquired->sockets), SocketMerge::replace,
                                have_notify_socket());
        !s)
        return s;
    link_->start(false);
    return Ok{};
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): taken by value on purpose, its fds are moved out below
Status Worker::apply_config(const std::string& text, NamedFds incoming, SocketMerge merge, bool store)
{
    auto parsed = parse_worker_config(text);
    if (!parsed)
        return parsed.error();
    auto table = dataplane::RuleTable::build(parsed->rules);
    if (!table)
        return table.error();
    if (!config_.interface.empty() && parsed->interface != config_.interface)
        return Error{"interface", "this worker serves " + config_.interface + ", not " + parsed->interface};

    if (fd_named(sockets_, worker_protocol::kIngressFd) < 0 && fd_named(incoming, worker_protocol::kIngressFd) < 0)
        return Error{"sockets", "no \"ingress\" socket"};

    // Merge sockets; replaced ones stay open until the engine switched over.
    NamedFds retired;
    std::vector<std::string> changed;
    for (auto& [name, fd] : incoming) {
        if (name == worker_protocol::kConfigFd)
            continue; // config travels as text; the stored memfd is rewritten below
        auto held = sockets_.find(name);
        if (held != sockets_.end() && merge == SocketMerge::add_missing)
            continue;
        if (held != sockets_.end())
            retired.insert_or_assign(name, std::move(held->second));
        sockets_.insert_or_assign(name, std::move(fd));
        changed.push_back(name);
    }
    const IngressFds ipv4{fd_named(sockets_, worker_protocol::kIngressFd),
                          fd_named(sockets_, worker_protocol::kIngressQuietFd)};
    const IngressFds ipv6{fd_named(sockets_, worker_protocol::kIngress6Fd),
                          fd_named(sockets_, worker_protocol::kIngress6QuietFd)};

    ForwardingPlan plan;
    plan.table = std::move(*table);
    for (const Rule& rule : parsed->rules)
        plan.forward_expired_ttl.push_back(rule.forward_expired_ttl);
    plan.targets = build_egress_targets(*parsed, sockets_);
    // Before the engine switches: a rule leaving the fast path is already
    // in the userspace plan (both plans hold every rule), so no frame is lost.
    fast_path_.apply(*parsed, sockets_, plan.targets);
    // On every ingress socket: the fanout group chooses the socket first,
    // then that socket's filter decides.
    for (const int fd : {ipv4.ring, ipv4.quiet, ipv6.ring, ipv6.quiet})
        if (fd >= 0)
            attach_ingress_filter(fd, parsed->rules);
    if (ipv6.ring < 0 && std::any_of(parsed->rules.begin(), parsed->rules.end(),
                                     [](const Rule& rule) { return !rule.input.address.is_ipv4(); }))
        log_warning("No \"ingress6\" socket: IPv6 inputs receive nothing", {{"MCR_INTERFACE", parsed->interface}});
    engine_->set_packet_ring_geometry(RingGeometry::for_mtu(parsed->ingress_mtu));
    auto carried = carry_over_counters(config_.rules, engine_->counters().rules, parsed->rules);
    engine_->install(std::move(plan), std::move(carried.rules), carried.remap, ipv4, ipv6);

    const bool config_changed = text != config_text_;
    config_ = std::move(*parsed);
    config_text_ = text;
    if (store)
        store_in_fd_store(changed, config_changed);
    log_info("Config applied: " + std::to_string(config_.rules.size()) + " rules",
             {{"MCR_INTERFACE", config_.interface}});
    return Ok{};
}

namespace {

// SO_ATTACH_FILTER needs no privilege and replaces the previous program, so
// a config change swaps the filter atomically. Failure is not fatal: the
// engine classifies every frame anyway, it only costs CPU.
void attach_ingress_filter(int ingress_fd, const std::vector<Rule>& rules)
{
    std::vector<sock_filter> program = dataplane::build_ingress_filter(rules);
    const sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    if (setsockopt(ingress_fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) < 0)
        log_warning(std::string("Cannot attach the ingress BPF filter, filtering in userspace only: ") +
                    std::strerror(errno));
}

} // namespace

void Worker::store_in_fd_store(const std::vector<std::string>& names, bool config_changed)
{
    for (const std::string& name : names)
        if (int rc = replace_stored_fd(name, fd_named(sockets_, name)); rc < 0)
            log_warning("Cannot store socket in the FD store: " + std::string(std::strerror(-rc)),
                        {{"MCR_SOCKET", name}});
    if (!config_changed)
        return;
    auto memfd = sockets::make_config_memfd(config_text_);
    if (!memfd) {
        log_warning("Cannot store the config: " + memfd.error().message());
        return;
    }
    if (int rc = replace_stored_fd(worker_protocol::kConfigFd, memfd->get()); rc < 0)
        log_warning("Cannot store the config in the FD store: " + std::string(std::strerror(-rc)));
}

// Only the held flags change: the installed plan's and, for rules on the
// fast path, one map update per rule whose state changed; no new plan or
// filter work, so a join reaches the send path at once.
void Worker::set_listeners(ListeningOutputs listening)
{
    config_.listening = std::move(listening);
    const std::vector<std::vector<bool>> held = held_outputs(config_);
    engine_->hold_outputs(held);
    fast_path_.hold(config_, held);
    store_listening();
}

// The config in the FD store gets the new "listening" too: a worker
// restarted from it installs the hold state the program has now, rather
// than the one of the last config, until the supervisor's re-sync.
void Worker::store_listening()
{
    if (!have_notify_socket())
        return;
    nlohmann::json document = nlohmann::json::parse(config_text_, nullptr, false);
    if (!document.is_object())
        return;
    nlohmann::json listening = nlohmann::json::array();
    for (const auto& [rule, output] : config_.listening)
        listening.push_back({rule, output});
    document["listening"] = std::move(listening);
    config_text_ = document.dump();
    store_in_fd_store({}, true);
}

std::string Worker::stats_json()
{
    engine_->poll_kernel_stats();
    const auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
    nlohmann::json document = nlohmann::json::parse(stats_to_json(
        config_.interface, static_cast<std::uint64_t>(uptime.count()), config_.rules, engine_->counters()));
    fast_path_.add_to_stats(document);
    return document.dump();
}

// One journal entry per rule and state change (ok -> losing -> ok), never
// per packet: the state is sampled on the stats tick.
void Worker::watch_stream_health()
{
    const auto now = std::chrono::steady_clock::now();
    const std::vector<RuleCounters>& counters = engine_->counters().rules;
    for (std::size_t r = 0; r < config_.rules.size() && r < counters.size(); ++r) {
        StreamHealth* health = counters[r].health.get();
        if (health == nullptr)
            continue;
        const std::uint64_t impairments = health->impairments();
        const auto changed = health->watch().update(impairments, now);
        if (!changed)
            continue;
        const Rule& rule = config_.rules[r];
        const std::string count = std::to_string(impairments);
        const bool losing = *changed == HealthState::losing;
        log_event(losing ? LogLevel::warning : LogLevel::notice,
                  losing ? message_id::kStreamLosing : message_id::kStreamRecovered,
                  "Stream of rule " + rule.name + (losing ? " is losing packets (" : " recovered (") + count +
                      " impairments so far)",
                  {{"MCR_RULE", rule.name},
                   {"MCR_INTERFACE", config_.interface},
                   {"MCR_INSPECT", inspection_name(rule.inspect)},
                   {"MCR_IMPAIRMENTS", count}});
    }
}

void Worker::write_stats_file()
{
    if (options_.stats_file.empty())
        return;
    if (int rc = write_file_atomic(options_.stats_file, stats_json() + "\n", 0644, Durability::readers_only);
        rc < 0)
        log_warning("Cannot write the stats file: " + std::string(std::strerror(-rc)),
                    {{"MCR_PATH", options_.stats_file}});
}

Status Worker::add_event_sources()
{
    sd_event_source* source = nullptr;
    if (int rc = sd_event_add_io(event_.get(), &source, engine_->uring_fd(), EPOLLIN, &Worker::on_uring_readable, this);
        rc < 0)
        return Error{"sd-event", std::string("cannot watch the io_uring: ") + std::strerror(-rc)};
    uring_source_.reset(source);
    const std::uint64_t interval_us = std::uint64_t{options_.stats_interval_ms} * 1000;
    if (int rc = sd_event_add_time_relative(event_.get(), &source, CLOCK_MONOTONIC, interval_us, 0,
                                            &Worker::on_stats_timer, this);
        rc < 0)
        return Error{"sd-event", std::string("cannot add the stats timer: ") + std::strerror(-rc)};
    stats_timer_.reset(source);
    if (int rc = sd_event_add_signal(event_.get(), &source, SIGTERM, &Worker::on_signal, this); rc < 0)
        return Error{"sd-event", std::string("cannot watch SIGTERM: ") + std::strerror(-rc)};
    sigterm_source_.reset(source);
    if (int rc = sd_event_add_signal(event_.get(), &source, SIGINT, &Worker::on_signal, this); rc < 0)
        return Error{"sd-event", std::string("cannot watch SIGINT: ") + std::strerror(-rc)};
    sigint_source_.reset(source);
    return Ok{};
}

int Worker::on_uring_readable(sd_event_source*, int, std::uint32_t, void* userdata) noexcept
{
    auto* self = static_cast<Worker*>(userdata);
    // Only the (rare) error log lines allocate on this path.
    return guard_callback("Processing io_uring completions", [self] {
        self->engine_->process_completions();
        return 0;
    });
}

int Worker::on_stats_timer(sd_event_source* source, std::uint64_t, void* userdata) noexcept
{
    auto* self = static_cast<Worker*>(userdata);
    (void)guard_callback("Stats tick", [self] {
        self->engine_->rearm_receive_if_stopped();
        self->engine_->poll_kernel_stats();
        self->watch_stream_health();
        self->write_stats_file();
        return 0;
    });
    (void)sd_event_source_set_time_relative(source, std::uint64_t{self->options_.stats_interval_ms} * 1000);
    (void)sd_event_source_set_enabled(source, SD_EVENT_ON);
    return 0;
}

int Worker::on_signal(sd_event_source*, const struct signalfd_siginfo*, void* userdata) noexcept
{
    auto* self = static_cast<Worker*>(userdata);
    (void)guard_callback("Shutdown (final stats)", [self] {
        self->shut_down();
        return 0;
    });
    (void)sd_event_exit(self->event_.get(), 0);
    return 0;
}

void Worker::shut_down()
{
    notify_stopping();
    engine_->drain(kShutdownDrainLimit);
    write_stats_file();
    log_info("Worker stopping", {{"MCR_INTERFACE", config_.interface}});
}

} // namespace mcr::worker
