// One worker process: owns the event loop, the io_uring engine, the sockets
// it holds and the supervisor link, and wires them together.
#pragma once

#include "core/result.hpp"
#include "core/sd_ptr.hpp"
#include "engine.hpp"
#include "fast_path_rules.hpp"
#include "named_fds.hpp"
#include "supervisor_link.hpp"
#include "worker_config.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace mcr::worker {

inline constexpr unsigned kDefaultStatsIntervalMs = 1000;
inline constexpr unsigned kDefaultBusyPollUsec = 50;
inline constexpr unsigned kMaxBusyPollUsec = 1000;

struct WorkerOptions {
    std::string supervisor_socket;   // empty: none (unless bus_fd)
    int bus_fd = -1;                 // inherited connected AF_UNIX socket
    std::string stats_file;          // empty: none
    unsigned stats_interval_ms = kDefaultStatsIntervalMs;
    unsigned busy_poll_usec = kDefaultBusyPollUsec;
    bool receive_ring = true;           // --receive-mode ring: TPACKET_V3 ring (ingress_ring.hpp); socket: recv
    bool receive_switch = true;         // ring: the quiet socket at low rates; ring-only: the ring at every rate
};

class Worker {
public:
    // Runs until SIGTERM/SIGINT; returns the process exit code.
    [[nodiscard]] static int run(const WorkerOptions& options);

    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker() = default;

private:
    explicit Worker(WorkerOptions options);
    [[nodiscard]] Status start();
    [[nodiscard]] Status acquire_initial_state();
    [[nodiscard]] Status apply_config(const std::string& text, NamedFds incoming, SocketMerge merge, bool store);
    [[nodiscard]] std::string stats_json();
    void set_listeners(ListeningOutputs listening);
    void watch_stream_health();
    void write_stats_file();
    void store_in_fd_store(const std::vector<std::string>& names, bool config_changed);
    void store_listening();
    [[nodiscard]] Status add_event_sources();
    void shut_down();

    static int on_uring_readable(sd_event_source* source, int fd, std::uint32_t events, void* userdata) noexcept;
    static int on_stats_timer(sd_event_source* source, std::uint64_t usec, void* userdata) noexcept;
    static int on_signal(sd_event_source* source, const struct signalfd_siginfo* info, void* userdata) noexcept;

    WorkerOptions options_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    EventPtr event_;                 // declared first: destroyed last
    std::unique_ptr<Engine> engine_;
    FastPathRules fast_path_;
    NamedFds sockets_;
    WorkerConfig config_;
    std::string config_text_;
    std::optional<SupervisorLink> link_;
    EventSourcePtr uring_source_;
    EventSourcePtr stats_timer_;
    EventSourcePtr sigterm_source_;
    EventSourcePtr sigint_source_;
};

} // namespace mcr::worker
