// Opening a bus by the spelling mcrd, mcrctl and mcrd-metrics accept:
// "system", "session", or a D-Bus address (unix:path=…, a private bus).
#pragma once

#include "core/sd_ptr.hpp"

#include <string_view>

namespace mcr::bus {

// Opens and starts the bus named by `spec` as a bus client; `description`
// names the connection (busctl, logs) and may be null. Returns 0 with `out`
// set, or a negative errno.
[[nodiscard]] int open_bus(std::string_view spec, const char* description, BusPtr& out);

} // namespace mcr::bus
