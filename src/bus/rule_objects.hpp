// The per-rule objects /org/mcr/Relay/rule/<encoded name> (org.mcr.Relay.Rule):
// a fallback vtable resolved by name, and the enumerator the ObjectManager
// and introspection use.
#pragma once

#include <systemd/sd-bus.h>

namespace mcr::bus {

[[nodiscard]] const sd_bus_vtable* rule_vtable();
// Userdata of both is the RelayBus.
int find_rule_object(sd_bus* bus, const char* path, const char* interface, void* userdata, void** found,
                     sd_bus_error* error) noexcept;
int enumerate_rule_objects(sd_bus* bus, const char* path, void* userdata, char*** nodes, sd_bus_error* error) noexcept;

} // namespace mcr::bus
