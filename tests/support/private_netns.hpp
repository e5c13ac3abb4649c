// Runs part of a unit test in a throw-away network namespace: a forked child
// unshares one (root only), runs the body and reports its failed
// expectations back through a pipe; the namespace goes with the child.
#pragma once

#include "core/unique_fd.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace mcr::testing {

// Collects failed expectations in the child (doctest's own macros must not
// run there: its results would stay in the child).
class Expectations {
public:
    void expect(bool ok, const std::string& what)
    {
        if (!ok)
            failures_ += what + "\n";
    }
    [[nodiscard]] const std::string& failures() const { return failures_; }

private:
    std::string failures_;
};

// The child's failures, one per line; empty when every expectation held.
// A child that could not unshare, or died, is a failure too.
inline std::string in_private_netns(const std::function<std::string()>& body)
{
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        return "pipe2 failed\n";
    unique_fd report_read(pipe_fds[0]);
    unique_fd report_write(pipe_fds[1]);
    const pid_t child = ::fork();
    if (child < 0)
        return "fork failed\n";
    if (child == 0) {
        report_read.reset();
        const std::string failures = ::unshare(CLONE_NEWNET) == 0 ? body() : "unshare(CLONE_NEWNET) failed\n";
        const ssize_t written = ::write(report_write.get(), failures.data(), failures.size());
        ::_exit(written == static_cast<ssize_t>(failures.size()) ? 0 : 1);
    }
    report_write.reset();
    std::string failures;
    char chunk[512];
    for (ssize_t n; (n = ::read(report_read.get(), chunk, sizeof chunk)) > 0;)
        failures.append(chunk, static_cast<std::size_t>(n));
    int status = 0;
    if (::waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        failures += "the namespace child did not exit cleanly\n";
    return failures;
}

} // namespace mcr::testing
