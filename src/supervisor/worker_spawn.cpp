// fork+exec of a worker. Everything the child needs is prepared before
// fork(); between fork() and exec() only async-signal-safe calls run.
#include "worker_spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace mcr::supervisor {

namespace {

constexpr int kFirstListenFd = 3;   // SD_LISTEN_FDS_START
constexpr std::size_t kPidDigits = 24;

// Decimal of `value` into `out` (async-signal-safe; no allocation).
void format_pid(pid_t value, char* out)
{
    char digits[kPidDigits];
    int n = 0;
    auto v = static_cast<unsigned long>(value);
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < static_cast<int>(kPidDigits) - 1);
    while (n > 0)
        *out++ = digits[--n];
    *out = '\0';
}

[[noreturn]] void child_fail(int code) { _exit(code); }

} // namespace

Result<pid_t> spawn_worker(const std::string& binary, const std::vector<std::string>& arguments,
                           const NamedFds& sockets, int bus_fd, const std::optional<WorkerIdentity>& identity)
{
    const int count = static_cast<int>(sockets.size());
    const int bus_target = kFirstListenFd + count;

    std::string names;
    for (const auto& [name, fd] : sockets)
        names += (names.empty() ? "" : ":") + name;
    std::vector<std::string> argv_text = {binary};
    argv_text.insert(argv_text.end(), arguments.begin(), arguments.end());
    argv_text.push_back("--bus-fd");
    argv_text.push_back(std::to_string(bus_target));

    std::vector<std::string> env_text;
    for (char** e = environ; e && *e; ++e) {
        const std::string_view entry(*e);
        if (entry.rfind("LISTEN_", 0) != 0 && entry.rfind("NOTIFY_SOCKET=", 0) != 0)
            env_text.emplace_back(entry);
    }
    env_text.push_back("LISTEN_FDS=" + std::to_string(count));
    env_text.push_back("LISTEN_FDNAMES=" + names);
    // LISTEN_PID must be the child's own pid: filled in after fork.
    env_text.push_back(std::string("LISTEN_PID=") + std::string(kPidDigits, '\0'));

    std::vector<char*> argv;
    for (std::string& a : argv_text)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& e : env_text)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    char* listen_pid_digits = env_text.back().data() + std::strlen("LISTEN_PID=");

    std::vector<int> sources;
    for (const auto& [name, fd] : sockets)
        sources.push_back(fd);
    sources.push_back(bus_fd);
    // Temporary copies go above every target so that dup2() onto 3..n
    // never overwrites a source still to be moved.
    const int high_water = bus_target + 1 + count + 64;

    const pid_t pid = fork();
    if (pid < 0)
        return Error{binary, std::string("fork failed: ") + std::strerror(errno)};
    if (pid > 0)
        return pid;

    // ---- child: async-signal-safe only ----
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, nullptr) < 0)
        child_fail(126);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
        child_fail(126);
    int copies[512];
    const int total = count + 1;
    if (total > 512)
        child_fail(126);
    for (int i = 0; i < total; ++i) {
        copies[i] = fcntl(sources[static_cast<std::size_t>(i)], F_DUPFD_CLOEXEC, high_water);
        if (copies[i] < 0)
            child_fail(126);
    }
    for (int i = 0; i < total; ++i)
        if (dup2(copies[i], kFirstListenFd + i) < 0)   // dup2 clears FD_CLOEXEC on the target
            child_fail(126);
    format_pid(getpid(), listen_pid_digits);
    // A uid/gid change clears the parent-death signal (prctl(2)): set it again.
    if (identity && (!become_worker_user(*identity) || prctl(PR_SET_PDEATHSIG, SIGTERM) < 0))
        child_fail(125);
    execve(argv[0], argv.data(), envp.data());
    child_fail(127);
}

} // namespace mcr::supervisor
