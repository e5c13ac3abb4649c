// systemd, /proc and journal sources for `mcrctl status`.
#include "status_sources.hpp"

#include "c_owned.hpp"
#include "message_ids.hpp"
#include "sd_ptr.hpp"

#include <grp.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace mcr::ctl {

namespace {

// sd-bus hands out malloc()ed strings.
std::string take_string(char* raw)
{
    return to_string(CString(raw));
}

std::string unit_path(const std::string& unit)
{
    char* raw = nullptr;
    if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(), &raw) < 0)
        return {};
    return take_string(raw);
}

bool string_property(sd_bus* bus, const std::string& path, const char* name, std::string& out)
{
    char* raw = nullptr;
    BusError error;
    if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path.c_str(), "org.freedesktop.systemd1.Unit",
                                   name, error.get(), &raw) < 0)
        return false;
    out = take_string(raw);
    return true;
}

bool u32_property(sd_bus* bus, const std::string& path, const char* name, std::uint32_t& out)
{
    BusError error;
    return sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path.c_str(),
                                       "org.freedesktop.systemd1.Service", name, error.get(), 'u', &out) >= 0;
}

// The journal field `name` of the current entry, "" when absent.
std::string entry_field(sd_journal* j, std::string_view name)
{
    const void* data = nullptr;
    std::size_t length = 0;
    if (sd_journal_get_data(j, std::string(name).c_str(), &data, &length) < 0)
        return {};
    std::string_view text(static_cast<const char*>(data), length);
    return std::string(text.substr(std::min(text.size(), name.size() + 1)));
}

// Whether this user may read the system journal, where mcrd's entries are.
bool may_read_system_journal()
{
    if (geteuid() == 0)
        return true;
    for (const char* group_name : {"systemd-journal", "adm", "wheel"}) {
        const group* g = getgrnam(group_name);  // NOLINT(concurrency-mt-unsafe): mcrctl is single-threaded
        if (g != nullptr && (getegid() == g->gr_gid || group_member(g->gr_gid) > 0))
            return true;
    }
    return false;
}

} // namespace

std::optional<DaemonProcess> daemon_process(sd_bus* bus, const std::string& bus_name)
{
    sd_bus_creds* raw = nullptr;
    if (sd_bus_get_name_creds(bus, bus_name.c_str(), SD_BUS_CREDS_PID | SD_BUS_CREDS_UNIT | SD_BUS_CREDS_AUGMENT,
                              &raw) < 0)
        return std::nullopt;
    BusCredsPtr creds(raw);
    DaemonProcess process;
    if (sd_bus_creds_get_pid(creds.get(), &process.pid) < 0)
        return std::nullopt;
    const char* unit = nullptr;
    if (sd_bus_creds_get_unit(creds.get(), &unit) >= 0 && unit != nullptr)
        process.unit = unit;
    return process;
}

bool fill_from_systemd(sd_bus* system_bus, UnitStatus& unit)
{
    if (system_bus == nullptr || unit.unit.empty())
        return false;
    const std::string path = unit_path(unit.unit);
    if (path.empty() || !string_property(system_bus, path, "ActiveState", unit.active_state))
        return false;
    (void)string_property(system_bus, path, "SubState", unit.sub_state);
    std::uint32_t restarts = 0;
    if (u32_property(system_bus, path, "NRestarts", restarts))
        unit.restarts = restarts;
    std::uint32_t pid = 0;
    if (u32_property(system_bus, path, "MainPID", pid) && pid != 0)
        unit.pid = pid;
    return true;
}

std::optional<std::uint64_t> process_uptime(pid_t pid)
{
    std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    // After "(comm)": field 3 is the state; starttime is field 22.
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int index = 3; index < 22 && fields >> field; ++index) {
    }
    unsigned long long start_ticks = 0;
    if (!(fields >> start_ticks))
        return std::nullopt;
    std::ifstream uptime_file("/proc/uptime");
    double since_boot = 0;
    if (!(uptime_file >> since_boot))
        return std::nullopt;
    const long ticks_per_second = sysconf(_SC_CLK_TCK);
    if (ticks_per_second <= 0)
        return std::nullopt;
    const double started = static_cast<double>(start_ticks) / static_cast<double>(ticks_per_second);
    return since_boot > started ? static_cast<std::uint64_t>(since_boot - started) : 0;
}

std::string read_audit_events(const std::string& unit, std::size_t count, std::vector<AuditLine>& out)
{
    if (!may_read_system_journal())
        return "audit events not shown: the system journal is readable by root and groups systemd-journal, adm only";
    sd_journal* raw = nullptr;
    int r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (r < 0)
        return std::string("audit events not shown: cannot open the journal: ") + std::strerror(-r);
    JournalPtr journal(raw);
    // Same field: OR. Then AND with the unit, when we know it.
    for (std::string_view id : message_id::kAuditIds) {
        const std::string match = "MESSAGE_ID=" + std::string(id);
        if ((r = sd_journal_add_match(journal.get(), match.data(), match.size())) < 0)
            return std::string("audit events not shown: ") + std::strerror(-r);
    }
    if (!unit.empty()) {
        const std::string match = "_SYSTEMD_UNIT=" + unit;
        if ((r = sd_journal_add_conjunction(journal.get())) < 0 ||
            (r = sd_journal_add_match(journal.get(), match.data(), match.size())) < 0)
            return std::string("audit events not shown: ") + std::strerror(-r);
    }
    if ((r = sd_journal_seek_tail(journal.get())) < 0)
        return std::string("audit events not shown: ") + std::strerror(-r);
    std::vector<AuditLine> newest_first;
    while (newest_first.size() < count && (r = sd_journal_previous(journal.get())) > 0) {
        AuditLine line;
        (void)sd_journal_get_realtime_usec(journal.get(), &line.realtime_usec);
        line.result = entry_field(journal.get(), "MCR_RESULT");
        line.action = entry_field(journal.get(), "MCR_ACTION");
        line.rule = entry_field(journal.get(), "MCR_RULE");
        line.via = entry_field(journal.get(), "MCR_VIA");
        line.uid = entry_field(journal.get(), "MCR_CALLER_UID");
        line.pid = entry_field(journal.get(), "MCR_CALLER_PID");
        newest_first.push_back(std::move(line));
    }
    if (r < 0)
        return std::string("audit events not shown: reading the journal failed: ") + std::strerror(-r);
    out.assign(newest_first.rbegin(), newest_first.rend());
    return {};
}

} // namespace mcr::ctl
