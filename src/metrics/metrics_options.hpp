// mcrd-metrics' command line. --bus and --namespace are spelled as mcrd's.
#pragma once

#include <optional>
#include <string>

namespace mcr::metrics {

struct MetricsOptions {
    std::string bus = "system";    // "system" or a D-Bus address
    std::string namespace_name;    // "" = the host's mcrd (org.mcr.Relay)
    std::string listen;            // "" = the socket systemd passes
    std::string log_level = "info";
};

// Fills `options`; returns the exit code when the program must stop now
// (--help: 0; a usage error, printed: 2).
[[nodiscard]] std::optional<int> parse_metrics_options(int argc, char** argv, MetricsOptions& options);

} // namespace mcr::metrics
