// Shared (un)marshalling between the bus glue files: rule outputs as
// a(ssqy), API failures as D-Bus errors, and the catch-all that keeps C++
// exceptions out of sd-bus callbacks.
#pragma once

#include "bus/relay_api.hpp"
#include "core/rule.hpp"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <exception>
#include <new>
#include <vector>

namespace mcr::bus {

// a(ssqy): interface, address, port, ttl (0 = default).
[[nodiscard]] int append_outputs(sd_bus_message* message, const std::vector<RuleOutput>& outputs);

// Sets `error` to the org.mcr.Relay.Error.* name of `failure`; returns a
// negative errno as sd-bus handlers do.
int set_api_error(const ApiFailure& failure, sd_bus_error* error);

// Runs a callback body; any exception becomes a D-Bus error (or -ENOMEM).
template <typename Body>
int run_guarded(sd_bus_error* error, Body&& body) noexcept
{
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    } catch (const std::exception& e) {
        return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Internal error: %s", e.what());
    } catch (...) {
        return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "Internal error");
    }
}

} // namespace mcr::bus
