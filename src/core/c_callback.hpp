// The one guard for callbacks that C libraries (sd-event, sd-bus, libmnl)
// call: an exception must never unwind through their frames. D-Bus method
// handlers use bus::run_guarded(), which turns it into a D-Bus error.
#pragma once

#include "log.hpp"

#include <exception>
#include <string>

namespace mcr {

// Runs `body` (returning int); an exception is logged as "WHAT failed: ..."
// and `on_error` is returned instead. Logging itself may throw (it
// allocates): then the entry is lost, never the process.
template <typename Body>
int guard_callback(const char* what, Body&& body, int on_error = 0) noexcept
{
    try {
        return body();
    } catch (const std::exception& e) {
        try {
            log_error(std::string(what) + " failed: " + e.what());
        } catch (...) {
        }
    } catch (...) {
        try {
            log_error(std::string(what) + " failed");
        } catch (...) {
        }
    }
    return on_error;
}

} // namespace mcr
