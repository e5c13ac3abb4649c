// `mcrctl status`: collects a StatusReport from mcrd's API, systemd and the
// journal, and prints it (text, or --json).
#include "commands.hpp"

#include "endpoint_args.hpp"
#include "stats_view.hpp"
#include "status_report.hpp"
#include "status_sources.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace mcr::ctl {

namespace {

std::string read_stats(RelayClient& client)
{
    auto reply = client.call("GetStats");
    const char* text = nullptr;
    check_read(sd_bus_message_read_basic(reply.get(), 's', &text), "stats");
    return text;
}

std::vector<UnitStatus> list_workers(RelayClient& client)
{
    std::vector<UnitStatus> workers;
    for (WorkerEntry& entry : read_workers(client)) {
        UnitStatus worker;
        worker.interface = std::move(entry.interface);
        // Spawn mode names no unit; only a real unit has systemd state.
        worker.unit = entry.unit.ends_with(".service") ? std::move(entry.unit) : std::string();
        worker.active_state = std::move(entry.state);
        worker.sub_state = std::move(entry.sub_state);
        worker.pid = entry.pid;
        workers.push_back(std::move(worker));
    }
    return workers;
}

std::vector<RuleLine> list_rules(RelayClient& client)
{
    std::vector<RuleLine> rules;
    for (ListedRule& rule : read_rules(client)) {
        std::string input = rule.input.interface + " " + endpoint_text(rule.input.address, rule.input.port);
        if (rule.input.source)
            input += "@" + format_address(*rule.input.source);
        std::vector<OutputLine> outputs;
        for (std::string& endpoint : rule.outputs)
            outputs.push_back(OutputLine{std::move(endpoint), false, std::nullopt, {}});
        rules.push_back(RuleLine{std::move(rule.name), std::move(input), std::move(rule.state), 0, 0, std::nullopt, {},
                                 {}, std::move(outputs)});
    }
    return rules;
}

// Counters and paths from one GetStats sample, rates from a second one
// `sample_seconds` later; each worker's fast path from the last sample.
void add_counters(RelayClient& client, double sample_seconds, std::vector<RuleLine>& rules,
                  std::vector<UnitStatus>& workers)
{
    auto first = parse_stats(read_stats(client));
    if (!first)
        throw CommandFailure(ExitCode::failure, first.error().message());
    StatsSnapshot last = *first;
    std::map<std::string, RuleRate> rates;
    if (sample_seconds > 0) {
        const auto start = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(std::chrono::duration<double>(sample_seconds));
        auto second = parse_stats(read_stats(client));
        if (!second)
            throw CommandFailure(ExitCode::failure, second.error().message());
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        rates = rule_rates(*first, *second, elapsed);
        last = std::move(*second);
    }
    for (RuleLine& rule : rules) {
        for (const RuleStatsRow& counters : last.rules) {
            if (counters.name != rule.name)
                continue;
            rule.packets = counters.packets;
            rule.drops = counters.drops;
            rule.path = counters.path;
            rule.path_reason = counters.path_reason;
            // Outputs are listed in the rule's order by both ListRules and GetStats.
            for (std::size_t o = 0; o < rule.outputs.size() && o < counters.outputs.size(); ++o) {
                const OutputStatsRow& reported = counters.outputs[o];
                OutputLine& output = rule.outputs[o];
                output.reported = true;
                output.listeners = reported.listeners;
                output.membership = membership_of(last.membership, reported.interface, reported.address);
            }
        }
        if (auto it = rates.find(rule.name); it != rates.end())
            rule.packets_per_second = it->second.packets_per_second;
        else if (sample_seconds > 0)
            rule.packets_per_second = 0.0;   // sampled, counters reset in between: no traffic measured
    }
    for (UnitStatus& worker : workers)
        for (const WorkerStatsRow& counters : last.workers)
            if (counters.interface == worker.interface) {
                worker.fast_path_mode = counters.fast_path_mode;
                worker.fast_path_reason = counters.fast_path_reason;
            }
}

// systemd is on the system bus even when mcrd's API is on a private one.
BusPtr systemd_bus(const GlobalOptions& options, RelayClient& client, sd_bus*& use)
{
    const bool private_api = !options.connect.bus_address.empty() || std::getenv("MCRCTL_BUS_ADDRESS") != nullptr;
    if (!private_api) {
        use = client.bus();
        return nullptr;
    }
    sd_bus* raw = nullptr;
    if (sd_bus_open_system(&raw) < 0)
        return nullptr;
    use = raw;
    return BusPtr(raw);
}

} // namespace

void command_status(const GlobalOptions& options, const StatusOptions& status)
{
    RelayClient client(options.connect);
    StatusReport report;
    report.instance = options.connect.ns;
    report.bus_name = client.bus_name();
    report.version = client.get_string_property("Version");

    sd_bus* system_bus = nullptr;
    const BusPtr owned_system_bus = systemd_bus(options, client, system_bus);
    if (const auto daemon = daemon_process(client.bus(), report.bus_name)) {
        report.supervisor.pid = static_cast<std::uint32_t>(daemon->pid);
        report.supervisor.unit = daemon->unit;
        report.uptime_seconds = process_uptime(daemon->pid);
    }
    if (!fill_from_systemd(system_bus, report.supervisor)) {
        // It answered on the bus, so it runs; outside systemd there is no more to say.
        report.supervisor.active_state = "active";
        report.supervisor.sub_state = "running";
    }
    report.workers = list_workers(client);
    for (UnitStatus& worker : report.workers)
        (void)fill_from_systemd(system_bus, worker);
    report.rules = list_rules(client);
    add_counters(client, status.sample_seconds, report.rules, report.workers);
    report.audit_problem = read_audit_events(report.supervisor.unit, status.audit_events, report.audit);

    if (options.json)
        std::cout << status_to_json(report).dump(2) << "\n";
    else
        std::cout << render_status(report);
}

} // namespace mcr::ctl
