// Blocking signals that an event loop or a signalfd reads instead of having
// them delivered (the supervisor, the worker, and mcrgen's receiver).
#pragma once

#include <signal.h>

#include <cerrno>
#include <initializer_list>

namespace mcr {

// Adds `signals` to the blocked set; `blocked` receives just those signals
// (for signalfd()). 0, or a negative errno.
[[nodiscard]] inline int block_signals(std::initializer_list<int> signals, sigset_t& blocked) noexcept
{
    sigemptyset(&blocked);
    for (const int signal_number : signals)
        sigaddset(&blocked, signal_number);
    return sigprocmask(SIG_BLOCK, &blocked, nullptr) < 0 ? -errno : 0;
}

} // namespace mcr
