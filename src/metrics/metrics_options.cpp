// Parsing and checking mcrd-metrics' options; see metrics_options.hpp.
#include "metrics/metrics_options.hpp"

#include "bus/bus_names.hpp"
#include "core/command_line.hpp"
#include "core/log.hpp"

#include "mcr_config.h"

#include <iostream>

namespace mcr::metrics {

namespace {

constexpr int kUsageExit = 2;

int usage_error(const std::string& option, const std::string& reason)
{
    std::cerr << "mcrd-metrics: " << option << ": " << reason << '\n';
    return kUsageExit;
}

} // namespace

std::optional<int> parse_metrics_options(int argc, char** argv, MetricsOptions& options)
{
    CLI::App app{"mcrd-metrics: OpenMetrics exporter of the mcrd multicast relay", "mcrd-metrics"};
    app.set_version_flag("--version", MCR_VERSION);
    app.add_option("--bus", options.bus, "system, or a D-Bus address (unix:path=...)");
    app.add_option("--namespace", options.namespace_name, "Read the suite of this network namespace (mcrd@NS)");
    app.add_option("--listen", options.listen,
                   "ADDRESS:PORT to listen on, numeric (default: the socket systemd passes)");
    app.add_option("--log-level", options.log_level, "err|warning|notice|info|debug");
    if (auto exit_code = parse_command_line(app, argc, argv, kUsageExit))
        return exit_code;
    if (options.bus == "none" || options.bus == "session")
        return usage_error("--bus", "'" + options.bus + "' cannot be read: use system or a D-Bus address");
    if (!options.namespace_name.empty())
        if (std::string problem = bus::namespace_name_problem(options.namespace_name); !problem.empty())
            return usage_error("--namespace", problem);
    LogLevel level{};
    if (!parse_log_level(options.log_level, level))
        return usage_error("--log-level", "must be one of err, warning, notice, info, debug, got '" +
                                              options.log_level + "'");
    set_log_level(level);
    return std::nullopt;
}

} // namespace mcr::metrics
