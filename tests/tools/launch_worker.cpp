// mcrd-test-launch: stands in for the supervisor in tests. Reads a worker
// config, makes every socket it needs with the socket factory (in the current
// network namespace), joins the input groups, and execs the worker with them
// as LISTEN_FDS — the same path a worker takes when restarted from its FD store.
//
//   mcrd-test-launch --config worker.json [--fast-path on|auto|off] -- /path/mcrd-worker [worker args]
//
// --fast-path on loads and attaches the in-kernel fast path to the config's
// interface as the supervisor does (supervisor/fast_path_attach.hpp) and
// passes the link and map fds under their worker_protocol names beside the
// sockets; when it cannot, nothing is started (a "fast path" test that ran
// on the userspace path would prove nothing). auto falls back to the
// userspace path with a line on stderr; off (the default) passes sockets only.
// The worker is the fds' only holder: when it exits, the program detaches.
#include "core/atomic_file.hpp"
#include "supervisor/fast_path_attach.hpp"
#include "worker/worker_config.hpp"
#include "worker_sockets.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kParkedFdBase = 100; // above 3 + any socket count we make
constexpr const char* kUsage =
    "usage: mcrd-test-launch --config worker.json [--fast-path on|auto|off] -- /path/mcrd-worker [args]";

int fail(const std::string& message)
{
    std::fprintf(stderr, "mcrd-test-launch: %s\n", message.c_str());
    return 2;
}

enum class FastPathMode { off, automatic, on };

std::optional<FastPathMode> parse_fast_path_mode(std::string_view text)
{
    if (text == "on")
        return FastPathMode::on;
    if (text == "auto")
        return FastPathMode::automatic;
    if (text == "off")
        return FastPathMode::off;
    return std::nullopt;
}

// The supervisor's plan for one interface (WorkerManager::plan_fast_path),
// without its state: any program or filter on the ingress refuses, else the
// one attach of supervisor/fast_path_attach.cpp, in the mode mcrd's
// --fast-path-attach auto picks (tc where the kernel has tcx).
mcr::Result<mcr::supervisor::FastPathHandoff, mcr::supervisor::FastPathRefusal>
attach_to(const std::string& interface)
{
    using mcr::supervisor::FastPathRefusal;
    if (!mcr::supervisor::fast_path_built())
        return mcr::supervisor::attach_fast_path(0, mcr::supervisor::FastPathAttach::tc, std::nullopt)
            .error(); // "not-built", and why
    const unsigned ifindex = if_nametoindex(interface.c_str());
    if (ifindex == 0)
        return FastPathRefusal{"no-interface", "no interface " + interface};
    auto occupants = mcr::supervisor::ingress_occupants(static_cast<int>(ifindex));
    if (!occupants)
        return occupants.error();
    if (!occupants->tcx_programs.empty())
        return FastPathRefusal{"foreign-program", "another tc program (id " +
                                                      std::to_string(occupants->tcx_programs.front()) +
                                                      ") is attached to the ingress of " + interface};
    if (occupants->ours || !occupants->other_filters.empty())
        return FastPathRefusal{"foreign-program", "a tc filter is attached to the ingress of " + interface};
    return mcr::supervisor::attach_fast_path(static_cast<int>(ifindex),
                                             occupants->kernel_has_tcx ? mcr::supervisor::FastPathAttach::tc
                                                                       : mcr::supervisor::FastPathAttach::tc_legacy,
                                             std::nullopt);
}

int run(int argc, char** argv)
{
    std::string config_path;
    FastPathMode fast_path = FastPathMode::off;
    int command_start = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg == "--fast-path" && i + 1 < argc) {
            const auto mode = parse_fast_path_mode(argv[++i]);
            if (!mode)
                return fail(std::string("--fast-path: expected on, auto or off, got \"") + argv[i] + "\"");
            fast_path = *mode;
        } else if (arg == "--") {
            command_start = i + 1;
            break;
        } else {
            return fail(kUsage);
        }
    }
    if (config_path.empty() || command_start < 0 || command_start >= argc)
        return fail(kUsage);

    auto text = mcr::read_file_limited(config_path, mcr::kMaxConfigBytes);
    if (!text)
        return fail(config_path + ": " + text.error().message());
    auto config = mcr::worker::parse_worker_config(*text);
    if (!config)
        return fail(config_path + ": " + config.error().message());
    auto sockets = mcr::test::make_worker_sockets(*config, *text);
    if (!sockets)
        return fail(sockets.error().message());
    if (fast_path != FastPathMode::off) {
        auto handoff = attach_to(config->interface);
        if (!handoff && fast_path == FastPathMode::on)
            return fail("the fast path was asked for (--fast-path on) but not attached to " + config->interface +
                        " (" + handoff.error().reason + "): " + handoff.error().message);
        if (!handoff) {
            std::fprintf(stderr, "mcrd-test-launch: fast path not attached to %s (%s): %s; the worker runs on the "
                                 "userspace path\n",
                         config->interface.c_str(), handoff.error().reason.c_str(), handoff.error().message.c_str());
        } else {
            for (auto& [name, fd] : handoff->fds)
                sockets->push_back({name, std::move(fd)});
        }
    }

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
