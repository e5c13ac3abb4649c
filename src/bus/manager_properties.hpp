// Read-only properties of org.mcr.Relay.Manager (Version, Namespace,
// LogLevel, RuleCount, WorkerCount); the getters the Manager vtable lists.
#pragma once

#include <systemd/sd-bus.h>

namespace mcr::bus {

int manager_property_get_version(sd_bus* bus, const char* path, const char* interface, const char* property,
    sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
int manager_property_get_namespace(sd_bus* bus, const char* path, const char* interface, const char* property,
    sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
int manager_property_get_log_level(sd_bus* bus, const char* path, const char* interface, const char* property,
    sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
int manager_property_get_rule_count(sd_bus* bus, const char* path, const char* interface, const char* property,
    sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
int manager_property_get_worker_count(sd_bus* bus, const char* path, const char* interface, const char* property,
    sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;

} // namespace mcr::bus
