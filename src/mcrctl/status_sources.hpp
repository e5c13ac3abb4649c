// Where `mcrctl status` gets what mcrd's API does not say: systemd's view of
// the units (ActiveState, NRestarts over the system bus), the process's
// uptime, and the last audit entries from the journal. Each source may be
// unavailable; the report then says so instead of failing.
#pragma once

#include "status_report.hpp"

#include <systemd/sd-bus.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

namespace mcr::ctl {

// pid and systemd unit of the bus name's owner (unit "" when none).
struct DaemonProcess {
    pid_t pid = 0;
    std::string unit;
};
[[nodiscard]] std::optional<DaemonProcess> daemon_process(sd_bus* bus, const std::string& bus_name);

// Fills active_state, sub_state, restarts and pid of `unit` from systemd;
// false when systemd cannot be asked (not booted with systemd, no unit).
bool fill_from_systemd(sd_bus* system_bus, UnitStatus& unit);

// Seconds since `pid` started (from /proc), nullopt when it is gone.
[[nodiscard]] std::optional<std::uint64_t> process_uptime(pid_t pid);

// The last `count` audit entries (oldest first), of `unit` when not empty.
// Returns "" or why they could not be read.
[[nodiscard]] std::string read_audit_events(const std::string& unit, std::size_t count,
                                            std::vector<AuditLine>& out);

} // namespace mcr::ctl
