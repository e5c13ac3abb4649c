// Command-line parsing (CLI11) and defaults from systemd's environment
// (STATE_DIRECTORY, CONFIGURATION_DIRECTORY, RUNTIME_DIRECTORY, NOTIFY_SOCKET,
// LISTEN_FDS) for mcrd.
#include "options.hpp"

#include "bus/bus_names.hpp"
#include "core/log.hpp"
#include "core/rule.hpp"

#include "mcr_config.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>

namespace mcr::supervisor {

namespace {

// Idle exit applies when something else can start us again on demand.
constexpr std::uint64_t kActivatedIdleExitSec = 30;

std::string env_or(const char* name, const std::string& fallback)
{
    const char* value = std::getenv(name);
    if (!value || !*value)
        return fallback;
    // systemd passes several ':'-separated directories when a unit lists
    // more than one; ours lists exactly one.
    std::string text(value);
    return text.substr(0, text.find(':'));
}

bool activated_on_demand()
{
    return std::getenv("LISTEN_FDS") != nullptr || std::getenv("DBUS_STARTER_BUS_TYPE") != nullptr;
}

} // namespace

Result<Options> parse_options(int argc, char** argv, int& exit_code)
{
    Options options;
    CLI::App app{"mcrd: multicast relay supervisor", "mcrd"};
    std::string worker_mode;
    std::string fast_path = "auto";
    std::string fast_path_attach = "auto";
    std::string idle_exit;
    std::size_t max_rules = kDefaultMaxRules;
    options.bus = "system";
    app.add_option("--namespace", options.namespace_name, "Network namespace this suite serves");
    app.add_option("--config", options.config_file, "Read-only rules file (mcrd JSON or MCR json5)");
    app.add_option("--state-dir", options.state_dir, "Where rules.json is kept");
    app.add_option("--config-dir", options.config_dir, "Admin configuration directory (*.json)");
    app.add_option("--runtime-dir", options.runtime_dir, "Runtime directory for sockets");
    app.add_option("--worker-socket", options.worker_socket, "Path of the worker link socket");
    app.add_option("--control-socket", options.control_socket, "Path of the JSON control socket ('-' = none)");
    app.add_option("--worker-mode", worker_mode, "systemd|spawn")->check(CLI::IsMember({"systemd", "spawn"}));
    app.add_option("--worker-binary", options.worker_binary, "Worker executable (spawn mode)");
    app.add_option("--bus", options.bus, "system, session, none, or a D-Bus address");
    app.add_option("--worker-user", options.worker_user, "User spawned workers run as ('-' = mcrd's own)");
    app.add_flag("--allow-root", options.allow_root, "Allow running as root with full capabilities");
    app.add_flag("--reset-state", options.reset_state, "Start empty if the state file is corrupt");
    app.add_option("--idle-exit-sec", idle_exit, "Exit after N idle seconds without rules (0 = never)");
    app.add_option("--max-rules", max_rules, "Most rules accepted")->check(CLI::Range(1, 1000000));
    app.add_option("--log-level", options.log_level, "err|warning|notice|info|debug");
    app.add_option("--fast-path", fast_path, "auto|off: relay matched frames in the kernel where possible")
        ->check(CLI::IsMember({"auto", "off"}));
    app.add_option("--fast-path-attach", fast_path_attach,
                   "auto|tc|tc-legacy: a tcx link, or a cls_bpf filter on clsact (auto: tc where the kernel has it)")
        ->check(CLI::IsMember({"auto", "tc", "tc-legacy"}));
    // IGMP timers as numbers; membership::validate() checks them after parsing.
    unsigned robustness = options.membership.robustness;
    std::uint64_t query_interval_ms = static_cast<std::uint64_t>(options.membership.query_interval.count());
    std::uint64_t query_response_interval_ms =
        static_cast<std::uint64_t>(options.membership.query_response_interval.count());
    std::uint64_t last_member_interval_ms = static_cast<std::uint64_t>(options.membership.last_member_interval.count());
    app.add_option("--robustness", robustness, "IGMP robustness variable (1..7, default 2)");
    app.add_option("--query-interval-ms", query_interval_ms, "IGMP general query interval (default 125000)");
    app.add_option("--query-response-interval-ms", query_response_interval_ms,
                   "Max response time of general queries (default 10000)");
    app.add_option("--last-member-interval-ms", last_member_interval_ms,
                   "Max response time of and time between last-member queries (default 1000)");
    app.add_option("--max-groups", options.membership.max_groups, "Most IGMP groups tracked per interface (default 1024)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        exit_code = e.get_exit_code() == 0 ? 0 : 2;
        if (exit_code == 0)
            return Error{"", app.help()};
        return Error{"", e.what()};
    }
    exit_code = 2;
    if (!options.namespace_name.empty()) {
        if (std::string problem = bus::namespace_name_problem(options.namespace_name); !problem.empty())
            return Error{"--namespace", problem};
    }
    LogLevel level{};
    if (!parse_log_level(options.log_level, level))
        return Error{"--log-level", "must be one of err, warning, notice, info, debug, got '" +
                                        options.log_level + "'"};
    const std::string ns_suffix = options.namespace_name.empty() ? "" : "/" + options.namespace_name;
    if (options.state_dir.empty())
        options.state_dir = env_or("STATE_DIRECTORY", std::string(MCR_LOCALSTATEDIR) + "/lib/mcrd" + ns_suffix);
    if (options.config_dir.empty())
        options.config_dir = env_or("CONFIGURATION_DIRECTORY", std::string(MCR_SYSCONFDIR) + "/mcrd" + ns_suffix);
    if (options.runtime_dir.empty())
        options.runtime_dir = env_or("RUNTIME_DIRECTORY", "/run/mcr" + ns_suffix);
    if (options.worker_socket.empty())
        options.worker_socket = options.runtime_dir + "/worker.sock";
    if (options.control_socket.empty())
        options.control_socket = options.runtime_dir + "/control.sock";
    if (options.worker_binary.empty())
        options.worker_binary = std::string(MCR_LIBEXECDIR) + "/mcrd-worker";
    options.fast_path = fast_path == "auto";
    options.fast_path_attach = fast_path_attach == "tc"          ? FastPathAttach::tc
                               : fast_path_attach == "tc-legacy" ? FastPathAttach::tc_legacy
                                                                 : FastPathAttach::automatic;
    if (worker_mode.empty())
        options.worker_mode = std::getenv("NOTIFY_SOCKET") ? WorkerMode::systemd : WorkerMode::spawn;
    else
        options.worker_mode = worker_mode == "systemd" ? WorkerMode::systemd : WorkerMode::spawn;
    if (without_bus(options) && options.worker_mode == WorkerMode::systemd)
        return Error{"--bus none", "workers cannot be systemd units without a bus (systemd is asked over D-Bus); "
                                   "use --worker-mode spawn"};
    if (without_bus(options) && options.control_socket == "-")
        return Error{"--bus none", "needs the control socket: it is the only API left (not --control-socket -)"};
    if (options.worker_user.empty())
        options.worker_user = geteuid() == 0 ? "nobody" : "-";
    if (options.worker_user == "root" || options.worker_user == "0")
        return Error{"--worker-user", "workers never run as root; name an unprivileged user, or '-'"};
    if (idle_exit.empty()) {
        options.idle_exit_sec = activated_on_demand() ? kActivatedIdleExitSec : 0;
    } else {
        char* end = nullptr;
        const unsigned long long seconds = std::strtoull(idle_exit.c_str(), &end, 10);
        if (idle_exit[0] == '-' || *end != '\0')
            return Error{"--idle-exit-sec", "must be a number of seconds, got '" + idle_exit + "'"};
        options.idle_exit_sec = seconds;
    }
    options.max_rules = max_rules;
    options.membership.robustness = robustness;
    options.membership.query_interval = std::chrono::milliseconds(query_interval_ms);
    options.membership.query_response_interval = std::chrono::milliseconds(query_response_interval_ms);
    options.membership.last_member_interval = std::chrono::milliseconds(last_member_interval_ms);
    if (Status valid = membership::validate(options.membership); !valid) {
        // The library names its fields; the command line spells them as options.
        std::string option = "--" + valid.error().path;
        std::replace(option.begin(), option.end(), '_', '-');
        if (valid.error().path != "robustness" && valid.error().path != "max_groups" &&
            valid.error().path != "max_sources_per_group")
            option += "-ms";
        return Error{option, valid.error().reason};
    }
    exit_code = 0;
    return options;
}

} // namespace mcr::supervisor
