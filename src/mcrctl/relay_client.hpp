// mcrctl's connection to org.mcr.Relay: picks the bus (system bus, or a
// private one for tests), the per-namespace bus name, the polkit
// interactivity, and turns every failure into a CommandFailure carrying the
// exit code and the daemon's message unchanged.
#pragma once

#include "exit_status.hpp"
#include "polkit_agent.hpp"
#include "sd_ptr.hpp"

#include <systemd/sd-bus.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace mcr::ctl {

// Thrown by commands, caught once in main(): prints `what()`, exits `code`.
class CommandFailure : public std::runtime_error {
public:
    CommandFailure(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    [[nodiscard]] ExitCode code() const noexcept { return code_; }

private:
    ExitCode code_;
};

struct ConnectOptions {
    std::string ns;              // "" = the host's mcrd
    std::string bus_address;     // "" = $MCRCTL_BUS_ADDRESS, else the system bus
    bool ask_password = true;    // allow interactive polkit when stdin is a tty
};

class RelayClient {
public:
    explicit RelayClient(const ConnectOptions& options);

    // Appends the call's arguments to the message; returns <0 on failure.
    using AppendArgs = std::function<int(sd_bus_message*)>;

    // Calls org.mcr.Relay.Manager.`method`; returns the reply.
    [[nodiscard]] BusMessagePtr call(const char* method, const AppendArgs& append_args = {});
    [[nodiscard]] std::string get_string_property(const char* property);
    [[nodiscard]] const std::string& bus_name() const noexcept { return bus_name_; }
    // The connection itself, for queries about the daemon (its pid, unit).
    [[nodiscard]] sd_bus* bus() const noexcept { return bus_.get(); }

private:
    // Declared first, destroyed last: the agent outlives the calls it serves.
    PolkitAgent agent_;
    BusPtr bus_;
    std::string bus_name_;
    bool interactive_ = false;
};

// Throws CommandFailure for a negative sd-bus return while reading a reply.
void check_read(int r, const char* what);

} // namespace mcr::ctl
