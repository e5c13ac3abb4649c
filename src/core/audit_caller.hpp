// Who made a write attempt: uid, pid, unit and session of a D-Bus sender or
// of a socket peer / signal sender, for the audit record's MCR_CALLER_* fields.
#pragma once

#include "audit.hpp"

#include <systemd/sd-bus.h>

namespace mcr::audit {

// The caller of a process (unit and session looked up from its cgroup;
// empty when the process is gone or in neither).
[[nodiscard]] Caller caller_of_process(pid_t pid, uid_t uid);

// The sender of a D-Bus call, from the bus's own credentials (the bus
// daemon vouches for them), so a caller cannot claim another identity.
[[nodiscard]] Caller caller_of_bus_message(sd_bus_message* message);

} // namespace mcr::audit
