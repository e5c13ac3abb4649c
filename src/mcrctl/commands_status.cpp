// mcrctl stats / workers / reload / log-level / version.
#include "commands.hpp"

#include "mcr_config.h"
#include "output_table.hpp"
#include "stats_view.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <thread>

namespace mcr::ctl {

std::string fetch_stats(RelayClient& client)
{
    auto reply = client.call("GetStats");
    const char* text = nullptr;
    check_read(sd_bus_message_read_basic(reply.get(), 's', &text), "stats");
    return text;
}

namespace {

using nlohmann::json;

StatsSnapshot parse_or_fail(const std::string& text)
{
    auto snapshot = parse_stats(text);
    if (!snapshot)
        throw CommandFailure(ExitCode::failure, snapshot.error().message() + ": " + text);
    return std::move(*snapshot);
}

// --json --watch: one compact document per line, with the rates mcrctl
// computed added under "rates" (by rule name).
void print_json_stats(const std::string& text, const std::map<std::string, RuleRate>* rates)
{
    auto document = json::parse(text, nullptr, false);
    if (document.is_discarded() || !document.is_object())
        throw CommandFailure(ExitCode::failure, "the daemon's statistics are not a JSON object: " + text);
    if (rates != nullptr) {
        json by_rule = json::object();
        for (const auto& [name, rate] : *rates)
            by_rule[name] = {{"packets_per_second", rate.packets_per_second}, {"bits_per_second", rate.bits_per_second}};
        document["rates"] = std::move(by_rule);
    }
    std::cout << (rates != nullptr || document.empty() ? document.dump() : document.dump(2)) << std::endl;
}

} // namespace

void command_stats(const GlobalOptions& options, const StatsOptions& stats)
{
    RelayClient client(options.connect);
    if (!stats.watch) {
        const std::string text = fetch_stats(client);
        if (options.json)
            print_json_stats(text, nullptr);
        else
            std::cout << render_stats(parse_or_fail(text), nullptr);
        return;
    }
    using Clock = std::chrono::steady_clock;
    const auto interval = std::chrono::duration<double>(stats.interval_seconds);
    std::optional<StatsSnapshot> previous;
    Clock::time_point previous_time;
    for (std::uint64_t iteration = 0; !stats.count || iteration < *stats.count; ++iteration) {
        if (iteration > 0)
            std::this_thread::sleep_for(interval);
        const std::string text = fetch_stats(client);
        const auto now = Clock::now();
        StatsSnapshot snapshot = parse_or_fail(text);
        std::map<std::string, RuleRate> rates;
        if (previous)
            rates = rule_rates(*previous, snapshot, std::chrono::duration<double>(now - previous_time).count());
        if (options.json) {
            print_json_stats(text, &rates);
        } else {
            if (iteration > 0)
                std::cout << "\n";
            std::cout << render_stats(snapshot, &rates) << std::flush;
        }
        previous = std::move(snapshot);
        previous_time = now;
    }
}

std::vector<WorkerEntry> read_workers(RelayClient& client)
{
    auto reply = client.call("ListWorkers");
    sd_bus_message* m = reply.get();
    std::vector<WorkerEntry> workers;
    check_read(sd_bus_message_enter_container(m, 'a', "(ssssu)"), "workers");
    const char* interface = nullptr;
    const char* unit = nullptr;
    const char* state = nullptr;
    const char* sub_state = nullptr;
    std::uint32_t pid = 0;
    int r = 0;
    while ((r = sd_bus_message_read(m, "(ssssu)", &interface, &unit, &state, &sub_state, &pid)) > 0)
        workers.push_back({interface, unit, state, sub_state, pid});
    check_read(r, "worker");
    return workers;
}

namespace {

// Each worker's fast path from GetStats ("workers[].fast_path"): ListWorkers'
// a(ssssu) has no room for it and keeps its signature.
std::map<std::string, json> fast_paths_by_interface(RelayClient& client)
{
    std::map<std::string, json> out;
    const json stats = json::parse(fetch_stats(client), nullptr, false);
    if (!stats.is_object() || !stats.contains("workers") || !stats["workers"].is_array())
        return out;
    for (const json& worker : stats["workers"])
        if (worker.is_object() && worker.contains("interface") && worker["interface"].is_string() &&
            worker.contains("fast_path") && worker["fast_path"].is_object())
            out[worker["interface"].get<std::string>()] = worker["fast_path"];
    return out;
}

// "tc" or "tc-legacy", or "userspace (REASON)".
std::string fast_path_text(const json& fast_path)
{
    return path_text(fast_path.value("mode", ""), fast_path.value("reason", ""));
}

} // namespace

void command_workers(const GlobalOptions& options)
{
    RelayClient client(options.connect);
    OutputTable table({{"INTERFACE"}, {"UNIT"}, {"STATE"}, {"SUB-STATE"}, {"PID", true}, {"FAST PATH"}});
    json workers = json::array();
    const std::map<std::string, json> fast_paths = fast_paths_by_interface(client);
    for (const WorkerEntry& w : read_workers(client)) {
        const auto fast_path = fast_paths.find(w.interface);
        const json mode = fast_path == fast_paths.end() ? json::object() : fast_path->second;
        table.add_row({w.interface, w.unit, w.state, w.sub_state, w.pid == 0 ? "-" : std::to_string(w.pid),
                       fast_path_text(mode)});
        workers.push_back({{"interface", w.interface}, {"unit", w.unit}, {"state", w.state},
                           {"sub_state", w.sub_state}, {"pid", w.pid},
                           {"fast_path", {{"mode", mode.value("mode", "")}, {"reason", mode.value("reason", "")}}}});
    }
    if (options.json)
        std::cout << workers.dump(2) << "\n";
    else
        std::cout << table.render() << "\n" << workers.size() << (workers.size() == 1 ? " worker" : " workers") << " listed.\n";
}

void command_reload(const GlobalOptions& options)
{
    RelayClient client(options.connect);
    (void)client.call("Reload");
}

void command_log_level(const GlobalOptions& options, const std::optional<std::string>& level)
{
    RelayClient client(options.connect);
    if (level) {
        (void)client.call("SetLogLevel", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", level->c_str()); });
        return;
    }
    const std::string current = client.get_string_property("LogLevel");
    if (options.json)
        std::cout << json{{"log_level", current}}.dump() << "\n";
    else
        std::cout << current << "\n";
}

void command_version(const GlobalOptions& options)
{
    // The client's version is printed even when the daemon is unreachable;
    // the exit status still says the daemon could not be asked.
    std::string daemon_version;
    std::optional<CommandFailure> failure;
    try {
        RelayClient client(options.connect);
        daemon_version = client.get_string_property("Version");
    } catch (const CommandFailure& e) {
        failure = e;
    }
    if (options.json) {
        json document = {{"mcrctl", MCR_VERSION}};
        document["mcrd"] = failure ? json(nullptr) : json(daemon_version);
        std::cout << document.dump() << "\n";
    } else {
        std::cout << "mcrctl " << MCR_VERSION << "\n";
        if (!failure)
            std::cout << "mcrd " << daemon_version << "\n";
    }
    if (failure)
        throw *failure;
}

} // namespace mcr::ctl
