// Runs pkttyagent for mcrctl's process (child process, killed by pid).
#include "polkit_agent.hpp"

#include "unique_fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace mcr::ctl {
namespace {
// How long to wait for the agent to register before calling anyway.
constexpr int kAgentStartTimeoutMs = 10'000;
constexpr int kExecFailedStatus = 127;
}

void PolkitAgent::start_if_useful()
{
    if (pid_ > 0 || geteuid() == 0 || isatty(STDIN_FILENO) != 1 || isatty(STDOUT_FILENO) != 1)
        return;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return;
    unique_fd notify_read(fds[0]);
    unique_fd notify_write(fds[1]);
    const std::string process = std::to_string(getpid());
    const pid_t child = fork();
    if (child < 0)
        return;
    if (child == 0) {
        // The agent inherits only the write end (dup() clears O_CLOEXEC).
        const int inherited = dup(notify_write.get());
        if (inherited < 0)
            _exit(kExecFailedStatus);
        const std::string notify_fd = std::to_string(inherited);
        execlp("pkttyagent", "pkttyagent", "--process", process.c_str(), "--notify-fd", notify_fd.c_str(),
               "--fallback", static_cast<char*>(nullptr));
        _exit(kExecFailedStatus);
    }
    pid_ = child;
    notify_write.reset();
    // EOF on the pipe: the agent registered (or died, e.g. not installed).
    pollfd wait_for{notify_read.get(), POLLIN, 0};
    (void)poll(&wait_for, 1, kAgentStartTimeoutMs);
}

PolkitAgent::~PolkitAgent()
{
    if (pid_ <= 0)
        return;
    (void)kill(pid_, SIGTERM);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
}

} // namespace mcr::ctl
