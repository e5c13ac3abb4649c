// Reads one RelayReading from mcrd's public, read-only D-Bus API with
// sd-bus: Manager properties (Version, RuleCount, WorkerCount), GetStats and
// ListWorkers, and for systemd workers NRestarts from systemd. No call may
// start mcrd by bus activation (a scrape of a stopped relay reports
// mcrd_up 0, it does not start it), and none waits more than a few seconds.
#pragma once

#include "core/result.hpp"
#include "core/sd_ptr.hpp"
#include "metrics/relay_reading.hpp"

#include <string>

namespace mcr::metrics {

class RelayReader {
public:
    // `bus`: "system" or a D-Bus address (unix:path=…); `bus_name`:
    // org.mcr.Relay or a namespace's org.mcr.Relay.ns.NAME.
    RelayReader(std::string bus, std::string bus_name);

    // Connects on first use and again after the bus went away; an error
    // says what failed ("GetStats: …"), for the log line.
    [[nodiscard]] Result<RelayReading> read();

private:
    [[nodiscard]] Status connect();
    [[nodiscard]] Result<BusMessagePtr> call(const char* destination, const char* path, const char* interface,
                                             const char* member, const char* property_interface = nullptr,
                                             const char* property = nullptr);
    [[nodiscard]] Status read_manager_properties(RelayReading& reading);
    [[nodiscard]] Status read_stats(RelayReading& reading);
    [[nodiscard]] Status read_workers(RelayReading& reading);
    [[nodiscard]] std::optional<std::uint64_t> unit_restarts(const std::string& unit);

    std::string bus_;
    std::string bus_name_;
    BusPtr connection_;
};

} // namespace mcr::metrics
