// The supervisor's one Context (hostnamed-style): it owns the event loop,
// the buses, the rule store, polkit state, the write path, the public D-Bus
// objects, the control socket, the workers and the link monitor, and
// implements RelayApi, what the front ends ask of the daemon. Members are
// declared in destruction order: what uses a thing is declared after it,
// so it goes first.
#pragma once

#include "api/relay_api.hpp"
#include "api/write_path.hpp"
#include "bus/polkit.hpp"
#include "bus/relay_bus.hpp"
#include "core/sd_ptr.hpp"
#include "control_server.hpp"
#include "netlink/link_monitor.hpp"
#include "supervisor/control_bridge.hpp"
#include "supervisor/listener_tracker.hpp"
#include "supervisor/options.hpp"
#include "supervisor/rule_store.hpp"
#include "supervisor/worker_manager.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>

namespace mcr::supervisor {

// One rule's counters summed over its workers, as the API shows them (after
// ResetStats baselines); the worker's own per-rule record is worker::RuleCounters.
struct RuleTotals {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t drops = 0;

    friend bool operator==(const RuleTotals&, const RuleTotals&) = default;
};

class Context final : public RelayApi, public WorkerObserver, public ListenerObserver {
public:
    explicit Context(Options options);
    ~Context() override;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    // Sets everything up and runs the loop until SIGTERM/SIGINT or idle
    // exit. Returns the process exit code; failures are logged here once.
    [[nodiscard]] int run();

    // RelayApi: writes (reached only through write_path_)
    ApiOutcome add_rule(Rule rule) override;
    ApiOutcome remove_rule(const std::string& name) override;
    ApiOutcome import_rules(const RuleSet& rules, bool replace) override;
    void reset_stats() override;
    ApiOutcome reload() override;
    void set_log_level(LogLevel level) override;
    // RelayApi: reads
    [[nodiscard]] std::vector<RuleStatus> rules() const override;
    [[nodiscard]] std::optional<RuleStatus> find_rule(const std::string& name) const override;
    [[nodiscard]] std::string export_rules() const override;
    [[nodiscard]] std::string stats_json() const override;
    [[nodiscard]] std::optional<std::string> membership_json(const std::string& interface) const override;
    [[nodiscard]] std::vector<WorkerStatus> workers() const override;
    [[nodiscard]] std::string log_level_name() const override;
    [[nodiscard]] std::string namespace_name() const override { return options_.namespace_name; }

    // WorkerObserver
    void workers_changed() override;
    void stats_tick() override;

    // ListenerObserver
    void listeners_changed() override;
    void group_listeners_changed(const std::string& interface, const IpAddress& group, bool present) override;

private:
    [[nodiscard]] Status setup();
    [[nodiscard]] Status setup_signals();
    [[nodiscard]] Status load_rules();
    [[nodiscard]] Status connect_bus();
    [[nodiscard]] Status start_workers();
    [[nodiscard]] Status start_control_socket();
    void after_change(const RuleChanges& changes);
    void update_idle_timer();
    void notify_status();
    [[nodiscard]] RuleStatus status_of(const StoredRule& stored) const;
    [[nodiscard]] std::map<std::string, nlohmann::json> stats_since_reset() const;
    [[nodiscard]] std::map<std::string, RuleTotals> rule_counters() const;

    static int on_exit_signal(sd_event_source* source, const struct signalfd_siginfo* info, void* userdata) noexcept;
    static int on_reload_signal(sd_event_source* source, const struct signalfd_siginfo* info, void* userdata) noexcept;
    static int on_idle_timer(sd_event_source* source, std::uint64_t usec, void* userdata) noexcept;

    Options options_;
    RuleStore store_;
    EventPtr event_;
    BusPtr bus_;              // the public API's bus
    BusPtr system_bus_;       // systemd mode, when the API is not on the system bus
    bus::PolkitAuthorizer polkit_;
    WritePath write_path_;
    bus::RelayBus relay_bus_;
    std::unique_ptr<ControlBridge> control_bridge_;
    std::unique_ptr<control::ControlServer> control_server_;
    std::unique_ptr<WorkerManager> workers_;
    std::unique_ptr<ListenerTracker> listeners_; // gates workers_: goes first
    std::unique_ptr<LinkMonitor> link_monitor_;
    EventSourcePtr sigterm_source_;
    EventSourcePtr sigint_source_;
    EventSourcePtr sighup_source_;
    EventSourcePtr idle_timer_;

    std::map<std::string, nlohmann::json> stats_baseline_;   // by interface, from ResetStats
    std::map<std::string, RuleTotals> emitted_counters_;   // what PropertiesChanged last said
    std::map<std::string, std::string> emitted_states_;
    std::size_t emitted_worker_count_ = 0;
    std::uint64_t last_total_packets_ = 0;
    std::uint64_t packets_per_second_ = 0;
};

} // namespace mcr::supervisor
