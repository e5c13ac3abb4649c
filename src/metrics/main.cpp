// mcrd-metrics: serves GET /metrics (OpenMetrics or Prometheus text) from
// mcrd's public, read-only D-Bus API. Unprivileged by design: it needs
// neither capabilities nor a user of its own (mcrd-metrics.service runs it
// with DynamicUser=yes), only the bus and the socket it is handed.
#include "bus/bus_names.hpp"
#include "core/log.hpp"
#include "metrics/failure_log.hpp"
#include "metrics/http_endpoint.hpp"
#include "metrics/listen_socket.hpp"
#include "metrics/metrics_options.hpp"
#include "metrics/relay_metrics.hpp"
#include "metrics/relay_reader.hpp"

#include <csignal>
#include <cstring>
#include <pthread.h>

namespace {

using namespace mcr;
using namespace mcr::metrics;

Result<unique_fd> listening_socket(const MetricsOptions& options)
{
    auto passed = socket_from_systemd();
    if (!passed)
        return passed.error();
    if (passed->has_value() && !options.listen.empty())
        return Error{"--listen", "given, but systemd passed a socket too; use one or the other"};
    if (passed->has_value())
        return std::move(**passed);
    if (options.listen.empty())
        return Error{"", "no socket to listen on: start mcrd-metrics.socket, or pass --listen ADDRESS:PORT"};
    return listen_on(options.listen);
}

int run(const MetricsOptions& options)
{
    // Blocked before libmicrohttpd starts its thread, which inherits the
    // mask: only sigwait() below receives them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    auto socket = listening_socket(options);
    if (!socket) {
        log_error("Cannot listen: " + socket.error().message());
        return 1;
    }
    RelayReader reader(options.bus, bus::relay_bus_name(options.namespace_name));
    FailureLog failures([](const std::string& line) { log_warning(line); });
    // Runs on the endpoint's one thread: the reader and the log are its own.
    auto scrape = [&](ExpositionFormat format) {
        auto reading = reader.read();
        if (reading)
            failures.succeeded();
        else
            failures.failed(reading.error().message());
        return write_exposition(relay_metrics(reading ? std::optional<RelayReading>(std::move(*reading)) : std::nullopt),
                                format);
    };
    auto endpoint = HttpEndpoint::start(std::move(*socket), HttpLimits{}, scrape);
    if (!endpoint) {
        log_error("Cannot serve: " + endpoint.error().message());
        return 1;
    }
    log_info("Serving /metrics for " + bus::relay_bus_name(options.namespace_name));
    int signal = 0;
    (void)sigwait(&stop_signals, &signal);
    log_info(std::string("Stopping on ") + strsignal(signal));
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    // Option parsing allocates too: inside the try, so that nothing escapes main.
    try {
        MetricsOptions options;
        if (auto exit_code = parse_metrics_options(argc, argv, options))
            return *exit_code;
        return run(options);
    } catch (const std::exception& e) {
        log_error(std::string("mcrd-metrics failed: ") + e.what());
        return 1;
    }
}
