// The org.mcr.Relay.Manager vtable; its userdata is the RelayBus.
#pragma once

#include <systemd/sd-bus.h>

namespace mcr::bus {

[[nodiscard]] const sd_bus_vtable* manager_vtable();

} // namespace mcr::bus
