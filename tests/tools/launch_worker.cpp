// mcrd-test-launch: stands in for the supervisor in tests. Reads a worker
// config, makes every socket it needs with the socket factory (in the current
// network namespace), joins the input groups, and execs the worker with them
// as LISTEN_FDS — the same path a worker takes when restarted from its FD store.
//
//   mcrd-test-launch --config worker.json -- /path/mcrd-worker [worker args]
#include "core/atomic_file.hpp"
#include "worker/worker_config.hpp"
#include "worker_sockets.hpp"

#include <fcntl.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kParkedFdBase = 100; // above 3 + any socket count we make

int fail(const std::string& message)
{
    std::fprintf(stderr, "mcrd-test-launch: %s\n", message.c_str());
    return 2;
}

int run(int argc, char** argv)
{
    std::string config_path;
    int command_start = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg == "--") {
            command_start = i + 1;
            break;
        } else {
            return fail("usage: mcrd-test-launch --config worker.json -- /path/mcrd-worker [args]");
        }
    }
    if (config_path.empty() || command_start < 0 || command_start >= argc)
        return fail("usage: mcrd-test-launch --config worker.json -- /path/mcrd-worker [args]");

    auto text = mcr::read_file_limited(config_path, mcr::kMaxConfigBytes);
    if (!text)
        return fail(config_path + ": " + text.error().message());
    auto config = mcr::worker::parse_worker_config(*text);
    if (!config)
        return fail(config_path + ": " + config.error().message());
    auto sockets = mcr::test::make_worker_sockets(*config, *text);
    if (!sockets)
        return fail(sockets.error().message());

    // Park every fd high first so that moving them to 3.. never clobbers one.
    std::vector<int> parked;
    std::string names;
    for (mcr::test::NamedSocket& socket : *sockets) {
        const int fd = fcntl(socket.fd.get(), F_DUPFD, kParkedFdBase);
        if (fd < 0)
            return fail("cannot duplicate fd for " + socket.name);
        parked.push_back(fd);
        names += (names.empty() ? "" : ":") + socket.name;
    }
    sockets->clear();
    for (std::size_t i = 0; i < parked.size(); ++i) {
        const int target = SD_LISTEN_FDS_START + static_cast<int>(i);
        if (dup2(parked[i], target) < 0) // dup2 clears FD_CLOEXEC: the worker inherits it
            return fail("cannot place fd " + std::to_string(target));
        mcr::unique_fd(parked[i]).reset();
    }
    // exec keeps our pid, so LISTEN_PID names the worker.
    setenv("LISTEN_FDS", std::to_string(parked.size()).c_str(), 1);
    setenv("LISTEN_FDNAMES", names.c_str(), 1);
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    execv(argv[command_start], argv + command_start);
    return fail(std::string("cannot execute ") + argv[command_start]);
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        return fail(std::string("unexpected error: ") + e.what());
    }
}
