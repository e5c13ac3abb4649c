// Getters of the Manager's read-only properties; userdata is the RelayBus.
#include "manager_properties.hpp"

#include "bus/bus_marshal.hpp"
#include "bus/relay_bus.hpp"

#include "mcr_config.h"

#include <cstdint>

namespace mcr::bus {

int manager_property_get_version(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*,
                         sd_bus_error*) noexcept
{
    return sd_bus_message_append(reply, "s", MCR_VERSION);
}

int manager_property_get_namespace(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                           sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_message_append(reply, "s", relay_of(userdata).api().namespace_name().c_str());
    });
}

int manager_property_get_log_level(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                           sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_message_append(reply, "s", relay_of(userdata).api().log_level_name().c_str());
    });
}

int manager_property_get_rule_count(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                            sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_message_append(reply, "u", static_cast<std::uint32_t>(relay_of(userdata).api().rules().size()));
    });
}

int manager_property_get_worker_count(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                              void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_message_append(reply, "u",
                                     static_cast<std::uint32_t>(relay_of(userdata).api().workers().size()));
    });
}

} // namespace mcr::bus
