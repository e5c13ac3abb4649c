// See receive_mode.hpp.
#include "receive_mode.hpp"

namespace mcr::worker {

const char* receive_mode_name(ReceiveMode mode) noexcept
{
    return mode == ReceiveMode::ring ? "ring" : "quiet";
}

ReceiveModeDecision decide_receive_mode(ReceiveMode current, RateWindow window) noexcept
{
    using std::chrono::nanoseconds;
    if (current == ReceiveMode::quiet) {
        // Enough frames within the window is the rate already: no need to
        // wait for its end. A window that ran longer (the worker was not
        // woken: no frames) is judged by its average and starts again.
        if (window.elapsed <= nanoseconds(kQuietWindow))
            return window.frames >= kQuietMaxFrames ? ReceiveModeDecision{ReceiveMode::ring, true}
                                                    : ReceiveModeDecision{ReceiveMode::quiet, false};
        const bool heavy = window.frames * static_cast<std::uint64_t>(nanoseconds(kQuietWindow).count()) >=
                           kQuietMaxFrames * static_cast<std::uint64_t>(window.elapsed.count());
        return {heavy ? ReceiveMode::ring : ReceiveMode::quiet, true};
    }
    if (window.elapsed < nanoseconds(kRingWindow))
        return {ReceiveMode::ring, false};
    constexpr std::uint64_t kNanosecondsPerSecond = 1'000'000'000;
    const bool light = window.frames * kNanosecondsPerSecond <
                       kRingMinFramesPerSecond * static_cast<std::uint64_t>(window.elapsed.count());
    return {light ? ReceiveMode::quiet : ReceiveMode::ring, true};
}

} // namespace mcr::worker
