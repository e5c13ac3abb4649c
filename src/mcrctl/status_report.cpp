// Text (systemctl-status-like) and JSON renderings of a StatusReport.
#include "status_report.hpp"

#include "output_table.hpp"
#include "stats_view.hpp"

#include <ctime>
#include <sstream>

namespace mcr::ctl {

namespace {

using nlohmann::json;

std::string state_text(const UnitStatus& unit)
{
    std::string text = unit.active_state.empty() ? "unknown" : unit.active_state;
    if (!unit.sub_state.empty())
        text += " (" + unit.sub_state + ")";
    return text;
}

std::string restarts_text(const std::optional<std::uint32_t>& restarts)
{
    return restarts ? std::to_string(*restarts) : "-";
}

// UTC, so the same entry reads the same on every machine and in tests.
std::string timestamp_text(std::uint64_t realtime_usec)
{
    const auto seconds = static_cast<std::time_t>(realtime_usec / 1000000ULL);
    std::tm tm{};
    if (gmtime_r(&seconds, &tm) == nullptr)
        return "-";
    char text[32];
    if (std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        return "-";
    return text;
}

// Tables are indented under their heading, like systemctl status's lines.
void indented(std::ostringstream& out, const OutputTable& table, const char* indent)
{
    std::istringstream lines(table.render());
    for (std::string line; std::getline(lines, line);)
        out << indent << line << "\n";
}

json unit_json(const UnitStatus& unit)
{
    json out = {{"unit", unit.unit},         {"active_state", unit.active_state}, {"sub_state", unit.sub_state},
                {"restarts", nullptr},       {"pid", unit.pid}};
    if (unit.restarts)
        out["restarts"] = *unit.restarts;
    if (!unit.interface.empty()) {
        out["interface"] = unit.interface;
        out["fast_path"] = {{"mode", unit.fast_path_mode}, {"reason", unit.fast_path_reason}};
    }
    return out;
}

void render_units(std::ostringstream& out, const StatusReport& report)
{
    out << "    Workers: " << report.workers.size() << "\n";
    if (report.workers.empty())
        return;
    OutputTable table({{"INTERFACE"}, {"UNIT"}, {"STATE"}, {"RESTARTS", true}, {"PID", true}, {"FAST PATH"}});
    for (const UnitStatus& worker : report.workers)
        table.add_row({worker.interface, worker.unit.empty() ? "-" : worker.unit, state_text(worker),
                       restarts_text(worker.restarts), worker.pid == 0 ? "-" : std::to_string(worker.pid),
                       path_text(worker.fast_path_mode, worker.fast_path_reason)});
    indented(out, table, "      ");
}

void render_rules(std::ostringstream& out, const StatusReport& report)
{
    out << "\nRules: " << report.rules.size() << "\n";
    if (report.rules.empty())
        return;
    OutputTable table(
        {{"NAME"}, {"INPUT"}, {"STATE"}, {"PKT/S", true}, {"PACKETS", true}, {"DROPS", true}, {"PATH"}});
    for (const RuleLine& rule : report.rules)
        table.add_row({rule.name, rule.input, rule.state,
                       rule.packets_per_second ? human_count(*rule.packets_per_second) : "-",
                       std::to_string(rule.packets), std::to_string(rule.drops),
                       path_text(rule.path, rule.path_reason)});
    indented(out, table, "  ");
}

// Only when some output requires listeners: otherwise the screen is the
// same as before listeners existed.
void render_outputs(std::ostringstream& out, const StatusReport& report)
{
    bool gated = false;
    for (const RuleLine& rule : report.rules)
        for (const OutputLine& output : rule.outputs)
            gated = gated || output.listeners.has_value();
    if (!gated)
        return;
    out << "\nOutputs:\n";
    OutputTable table({{"RULE"}, {"OUTPUT"}, {"LISTENERS"}, {"STATE"}, {"NO-LISTENER", true}, {"GROUPS", true},
                       {"GROUP"}});
    for (const RuleLine& rule : report.rules)
        for (const OutputLine& output : rule.outputs) {
            if (!output.reported) {
                table.add_row({rule.name, output.endpoint, "-", "not reported", "-", "-", "-"});
                continue;
            }
            const bool required = output.listeners.has_value();
            table.add_row({rule.name, output.endpoint, listener_policy_text(output.listeners),
                           listener_state_text(output.listeners),
                           required ? std::to_string(output.listeners->no_listener) : "-",
                           required ? std::to_string(output.membership.groups) : "-",
                           required ? group_text(output.membership) : "-"});
        }
    indented(out, table, "  ");
}

void render_audit(std::ostringstream& out, const StatusReport& report)
{
    out << "\nRecent audit events:\n";
    if (!report.audit_problem.empty()) {
        out << "  (" << report.audit_problem << ")\n";
        return;
    }
    if (report.audit.empty()) {
        out << "  (none)\n";
        return;
    }
    OutputTable table({{"TIME (UTC)"}, {"RESULT"}, {"ACTION"}, {"RULE"}, {"VIA"}, {"UID", true}, {"PID", true}});
    for (const AuditLine& line : report.audit)
        table.add_row({timestamp_text(line.realtime_usec), line.result, line.action, line.rule.empty() ? "-" : line.rule,
                       line.via, line.uid.empty() ? "-" : line.uid, line.pid.empty() ? "-" : line.pid});
    indented(out, table, "  ");
}

} // namespace

std::string format_uptime(std::uint64_t seconds)
{
    const std::uint64_t days = seconds / 86400;
    const std::uint64_t hours = seconds % 86400 / 3600;
    const std::uint64_t minutes = seconds % 3600 / 60;
    std::string text;
    if (days > 0)
        text += std::to_string(days) + "d ";
    if (days > 0 || hours > 0)
        text += std::to_string(hours) + "h ";
    if (days > 0 || hours > 0 || minutes > 0)
        text += std::to_string(minutes) + "min ";
    text += std::to_string(seconds % 60) + "s";
    return text;
}

std::string render_status(const StatusReport& report)
{
    std::ostringstream out;
    const std::string unit = report.supervisor.unit.empty() ? "mcrd (not a systemd unit)" : report.supervisor.unit;
    out << "\u25cf " << unit << " - multicast relay" << (report.instance.empty() ? "" : ", namespace " + report.instance)
        << "\n";
    out << "    Bus name: " << report.bus_name << "\n";
    out << "     Version: " << report.version << "\n";
    out << "      Active: " << state_text(report.supervisor);
    if (report.uptime_seconds)
        out << ", up " << format_uptime(*report.uptime_seconds);
    out << "\n";
    out << "    Restarts: " << restarts_text(report.supervisor.restarts) << "\n";
    out << "    Main PID: " << (report.supervisor.pid == 0 ? "-" : std::to_string(report.supervisor.pid)) << "\n";
    render_units(out, report);
    render_rules(out, report);
    render_outputs(out, report);
    render_audit(out, report);
    return out.str();
}

json status_to_json(const StatusReport& report)
{
    json workers = json::array();
    for (const UnitStatus& worker : report.workers)
        workers.push_back(unit_json(worker));
    json rules = json::array();
    for (const RuleLine& rule : report.rules) {
        json outputs = json::array();
        for (const OutputLine& output : rule.outputs) {
            json entry = {{"endpoint", output.endpoint}};
            // Unreported outputs: their policy is not known here.
            if (output.reported)
                entry.update(listener_json(output.listeners, output.membership));
            outputs.push_back(std::move(entry));
        }
        rules.push_back({{"name", rule.name},
                         {"input", rule.input},
                         {"state", rule.state},
                         {"packets", rule.packets},
                         {"drops", rule.drops},
                         {"packets_per_second", rule.packets_per_second ? json(*rule.packets_per_second) : json()},
                         {"path", rule.path},
                         {"path_reason", rule.path_reason},
                         {"outputs", std::move(outputs)}});
    }
    json audit = json::array();
    for (const AuditLine& line : report.audit)
        audit.push_back({{"realtime_usec", line.realtime_usec}, {"result", line.result}, {"action", line.action},
                         {"rule", line.rule}, {"via", line.via}, {"caller_uid", line.uid}, {"caller_pid", line.pid}});
    return {{"instance", report.instance},
            {"bus_name", report.bus_name},
            {"version", report.version},
            {"uptime_seconds", report.uptime_seconds ? json(*report.uptime_seconds) : json()},
            {"supervisor", unit_json(report.supervisor)},
            {"workers", std::move(workers)},
            {"rules", std::move(rules)},
            {"audit", std::move(audit)},
            {"audit_problem", report.audit_problem.empty() ? json() : json(report.audit_problem)}};
}

} // namespace mcr::ctl
