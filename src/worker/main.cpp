// mcrd-worker: forwards the multicast arriving on one interface with sockets
// it was handed (FD store / launcher via LISTEN_FDS, or the supervisor over
// its peer-to-peer D-Bus link). See core/worker_protocol.hpp.
#include "core/log.hpp"
#include "core/worker_protocol.hpp"
#include "worker.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdlib>
#include <exception>
#include <string>

namespace {

// systemd instance names escape bytes as \xNN (e.g. "red:eth\x2d0").
std::string unescape_instance(const std::string& escaped)
{
    std::string out;
    for (std::size_t i = 0; i < escaped.size(); ++i) {
        if (escaped[i] == '\\' && i + 3 < escaped.size() && escaped[i + 1] == 'x' &&
            std::isxdigit(static_cast<unsigned char>(escaped[i + 2])) &&
            std::isxdigit(static_cast<unsigned char>(escaped[i + 3]))) {
            out += static_cast<char>(std::stoi(escaped.substr(i + 2, 2), nullptr, 16));
            i += 3;
        } else {
            out += escaped[i];
        }
    }
    return out;
}

// IFACE -> the host supervisor's socket; NS:IFACE -> /run/mcr/NS/worker.sock.
std::string supervisor_socket_for_instance(const std::string& instance)
{
    const std::string name = unescape_instance(instance);
    const auto colon = name.find(':');
    if (colon == std::string::npos)
        return mcr::worker_protocol::kDefaultWorkerSocket;
    return "/run/mcr/" + name.substr(0, colon) + "/worker.sock";
}

int run(int argc, char** argv)
{
    CLI::App app{"mcrd worker: relays multicast from one interface using sockets it was handed"};
    mcr::worker::WorkerOptions options;
    std::string instance;
    std::string log_level = "info";
    app.add_option("--instance", instance, "systemd instance (IFACE or NS:IFACE): picks the supervisor socket");
    app.add_option("--supervisor-socket", options.supervisor_socket, "AF_UNIX path of the supervisor's worker socket");
    app.add_option("--bus-fd", options.bus_fd, "inherited connected AF_UNIX fd of the supervisor link")
        ->check(CLI::Range(3, 1 << 20));
    app.add_option("--stats-file", options.stats_file, "rewrite counters JSON here atomically");
    app.add_option("--stats-interval-ms", options.stats_interval_ms, "stats file period")
        ->check(CLI::Range(10U, 3600U * 1000U));
    app.add_option("--busy-poll-usec", options.busy_poll_usec,
                   "spin this long for the next frame before sleeping (0: never)")
        ->check(CLI::Range(0U, mcr::worker::kMaxBusyPollUsec));
    std::string receive_mode = "ring";
    app.add_option("--receive-mode", receive_mode,
                   "ring: a quiet socket frame by frame at low rates, a TPACKET_V3 ring at high rates (default); "
                   "ring-only: the ring at every rate; socket: recv each frame")
        ->check(CLI::IsMember({"ring", "ring-only", "socket"}));
    app.add_option("--log-level", log_level, "err, warning, notice, info or debug");
    CLI11_PARSE(app, argc, argv);

    mcr::LogLevel level{};
    if (!mcr::parse_log_level(log_level, level)) {
        mcr::log_error("Unknown --log-level " + log_level);
        return EXIT_FAILURE;
    }
    mcr::set_log_level(level);
    options.receive_ring = receive_mode != "socket";
    options.receive_switch = receive_mode == "ring";
    if (options.supervisor_socket.empty() && !instance.empty())
        options.supervisor_socket = supervisor_socket_for_instance(instance);
    return mcr::worker::Worker::run(options);
}

} // namespace

int main(int argc, char** argv)
{
    // Nothing may escape main: an uncaught exception would skip the final
    // stats write and leave systemd a core dump instead of a log line.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        mcr::log_error(std::string("Fatal: ") + e.what());
        return EXIT_FAILURE;
    }
}
