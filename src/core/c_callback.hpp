// The guards for callbacks that C libraries (sd-event, sd-bus, libmnl, polkit
// replies over sd-bus) call: an exception must never unwind through their
// frames. Every such callback is declared noexcept and runs its body in
// guard_callback(), or, when it answers a D-Bus method call, in
// run_guarded(), which turns the exception into the D-Bus error reply.
#pragma once

#include "log.hpp"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <new>

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

// For sd-bus method handlers and property getters: runs `body`; an
// exception becomes the error the caller gets (or -ENOMEM).
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

} // namespace mcr
