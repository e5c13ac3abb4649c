// mcrctl: the command-line client of mcrd over D-Bus (org.mcr.Relay), or
// with --socket over its JSON control socket (mcrd --bus none).
// Exit status: 0 ok, 1 failure, 2 usage error, 3 no such rule or interface, 4 access
// denied, 5 invalid rule or argument, 6 daemon not reachable (exit_status.hpp).
#include "commands.hpp"
#include "exit_status.hpp"

#include "core/command_line.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <optional>

namespace {

using namespace mcr::ctl;

struct CommandLine {
    GlobalOptions global;
    bool no_ask_password = false;
    std::string rule_name;
    std::string input;
    std::vector<std::string> outputs;
    AddSettings add_settings;
    StatsOptions stats;
    StatusOptions status;
    std::uint64_t stats_count = 0;
    std::string log_level;
    std::string file;
    bool replace = false;
};

int run(int argc, char** argv)
{
    CommandLine line;
    CLI::App app{"Control the multicast relay mcrd.", "mcrctl"};
    app.require_subcommand(1);
    app.fallthrough();   // global options may follow the command
    app.footer(std::string(kExitCodeHelp));
    app.add_option("-n,--namespace", line.global.connect.ns, "Talk to mcrd@NS (the relay inside network namespace NS)");
    app.add_option("--bus-address", line.global.connect.bus_address,
                   "D-Bus address to use instead of the system bus (also $MCRCTL_BUS_ADDRESS)");
    app.add_option("--socket", line.global.socket,
                   "Talk to mcrd's JSON control socket PATH instead of D-Bus (for mcrd --bus none)");
    app.add_flag("--json", line.global.json, "Print JSON instead of tables");
    app.add_flag("--no-ask-password", line.no_ask_password, "Do not ask for a password when polkit wants one");

    auto* add = app.add_subcommand("add", "Add a rule");
    add->add_option("NAME", line.rule_name, "Rule name: [A-Za-z0-9_.-], up to 64 characters")->required();
    add->add_option("--in", line.input, "Input IF:GROUP:PORT[@SOURCE] (IPv6: IF:[GROUP]:PORT[@[SOURCE]])")->required();
    add->add_option("--out", line.outputs,
                    "Output IF:ADDRESS:PORT[:TTL][+listeners] (IPv6: IF:[ADDRESS]:PORT[:HOPLIMIT][+listeners]; "
                    "repeat for fan-out; +listeners: send only while IGMP/MLD report listeners)")
        ->required()
        ->allow_extra_args(false);   // one value per --out: "--out A NAME" keeps NAME positional
    add->add_option("--fast-path", line.add_settings.fast_path, "auto|off: may the kernel's fast path relay this rule")
        ->check(CLI::IsMember({"auto", "off"}));
    add->add_option("--inspect", line.add_settings.inspect,
                    "none|rtp|mpegts: stream health to track (inspected rules run in the worker)")
        ->check(CLI::IsMember({"none", "rtp", "mpegts"}));
    add->add_flag("--allow-link-local", line.add_settings.allow_link_local,
                  "Allow IPv6 link-local addresses (ffX2:: groups, fe80::/10) in this rule");

    auto* remove = app.add_subcommand("remove", "Remove a rule");
    remove->add_option("NAME", line.rule_name, "Rule name")->required();

    auto* list = app.add_subcommand("list", "List rules (--json: the rule set, importable with 'config import')");
    auto* show = app.add_subcommand("show", "Show one rule");
    show->add_option("NAME", line.rule_name, "Rule name")->required();

    auto* stats = app.add_subcommand("stats", "Show counters per rule, output and worker");
    stats->add_flag("--watch", line.stats.watch, "Repeat, with rates computed between samples");
    auto* interval = stats->add_option("--interval", line.stats.interval_seconds, "Seconds between samples (default 1)")
                         ->check(CLI::Range(0.1, 3600.0));
    auto* count = stats->add_option("--count", line.stats_count, "Stop after N samples")->check(CLI::Range(1, 1000000));
    interval->needs("--watch");
    count->needs("--watch");

    auto* workers = app.add_subcommand("workers", "List the worker units");
    auto* groups = app.add_subcommand("groups", "Show IGMP/MLD membership on interfaces with outputs that require listeners");
    std::string groups_interface;
    groups->add_option("IF", groups_interface, "Only this interface");
    auto* status = app.add_subcommand("status", "Show the relay's units, rules and recent audit events");
    status->add_option("--sample", line.status.sample_seconds, "Seconds between the two counter samples for PKT/S "
                                                               "(0: no rates; default 1)")
        ->check(CLI::Range(0.0, 60.0));
    status->add_option("--events", line.status.audit_events, "Audit events to show (default 5)")
        ->check(CLI::Range(0, 1000));
    auto* reload = app.add_subcommand("reload", "Reload the configuration");
    auto* log_level = app.add_subcommand("log-level", "Show or set the log level (err, warning, notice, info, debug)");
    log_level->add_option("LEVEL", line.log_level, "New level");

    auto* config = app.add_subcommand("config", "Import or export the rule set");
    config->require_subcommand(1);
    auto* import = config->add_subcommand("import", "Add the rules of FILE (mcrd JSON or MCR json5; - = stdin)");
    import->add_option("FILE", line.file, "Rule file")->required();
    import->add_flag("--replace", line.replace, "Replace the whole rule set instead of adding");
    auto* export_ = config->add_subcommand("export", "Print the rule set as mcrd JSON");

    auto* version = app.add_subcommand("version", "Show the versions of mcrctl and mcrd");

    if (const auto stop = mcr::parse_command_line(app, argc, argv, static_cast<int>(ExitCode::usage)))
        return *stop;
    line.global.connect.ask_password = !line.no_ask_password;
    if (count->count() > 0)
        line.stats.count = line.stats_count;

    const GlobalOptions& global = line.global;
    if (!global.socket.empty()) {
        if (!global.connect.ns.empty())
            throw CommandFailure(ExitCode::usage, "--namespace and --socket exclude each other: the socket path "
                                                  "names the instance (/run/mcr/NS/control.sock)");
        if (!global.connect.bus_address.empty())
            throw CommandFailure(ExitCode::usage, "--bus-address and --socket exclude each other");
    }

    // One row per subcommand: how it runs over D-Bus, and how over MCR's
    // control socket (--socket) or why the protocol cannot express it.
    const bool over_socket = !global.socket.empty();
    const bool watch = line.stats.watch;
    const std::optional<std::string> level =
        log_level->count("LEVEL") > 0 ? std::optional(line.log_level) : std::nullopt;
    struct Subcommand {
        CLI::App* parsed_as;
        std::function<void()> over_bus;
        std::function<void()> over_control_socket;
    };
    const Subcommand subcommands[] = {
        {add, [&] { command_add(global, line.rule_name, line.input, line.outputs, line.add_settings); },
         [&] {
             if (line.add_settings.fast_path != "auto")
                 refuse_over_socket("add --fast-path", "MCR's AddRule has no fast-path setting");
             if (line.add_settings.inspect != "none")
                 refuse_over_socket("add --inspect", "MCR's AddRule has no inspect setting");
             if (line.add_settings.allow_link_local)
                 refuse_over_socket("add --allow-link-local", "MCR's protocol is IPv4-only");
             socket_add(global, line.rule_name, line.input, line.outputs);
         }},
        {remove, [&] { command_remove(global, line.rule_name); }, [&] { socket_remove(global, line.rule_name); }},
        {list, [&] { command_list(global); }, [&] { socket_list(global); }},
        {show, [&] { command_show(global, line.rule_name); }, [&] { socket_show(global, line.rule_name); }},
        {stats, [&] { command_stats(global, line.stats); },
         [&] {
             if (watch)
                 refuse_over_socket("stats --watch", "the protocol's counters carry no rule names to compute rates by");
             socket_stats(global);
         }},
        {workers, [&] { command_workers(global); }, [&] { socket_workers(global); }},
        {groups, [&] { command_groups(global, groups_interface); },
         [] { refuse_over_socket("groups", "the protocol has no membership view"); }},
        {status, [&] { command_status(global, line.status); },
         [] { refuse_over_socket("status", "it reads systemd units and the journal, which the protocol does not carry"); }},
        {reload, [&] { command_reload(global); },
         [] { refuse_over_socket("reload", "the protocol has no reload command (send mcrd SIGHUP)"); }},
        {log_level, [&] { command_log_level(global, level); }, [&] { socket_log_level(global, level); }},
        {import, [&] { command_config_import(global, line.file, line.replace); },
         [&] { socket_config_import(global, line.file, line.replace); }},
        {export_, [&] { command_config_export(global); }, [&] { socket_config_export(global); }},
        {version, [&] { command_version(global); }, [&] { socket_version(global); }},
    };
    for (const Subcommand& subcommand : subcommands) {
        if (subcommand.parsed_as->parsed()) {
            (over_socket ? subcommand.over_control_socket : subcommand.over_bus)();
            break;
        }
    }
    return static_cast<int>(ExitCode::ok);
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const CommandFailure& e) {
        std::cerr << "mcrctl: " << e.what() << "\n";
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::cerr << "mcrctl: " << e.what() << "\n";
        return static_cast<int>(ExitCode::failure);
    }
}
