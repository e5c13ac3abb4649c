// Constant-rate pacing with a sleep/spin hybrid (see pacer.hpp).
#include "pacer.hpp"

#include <time.h>

#include <algorithm>

namespace mcr::gen {
namespace {

// 128-bit intermediate: elapsed ns times a rate overflows 64 bits after
// about an hour at 5 Mpps.
__extension__ typedef unsigned __int128 Wide;

void sleep_until(std::uint64_t deadline_ns) noexcept
{
    timespec when{};
    when.tv_sec = static_cast<time_t>(deadline_ns / kNsPerSecond);
    when.tv_nsec = static_cast<long>(deadline_ns % kNsPerSecond);
    // EINTR just means we look at the clock again sooner.
    (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr);
}

} // namespace

std::uint64_t monotonic_ns() noexcept
{
    timespec now{};
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * kNsPerSecond + static_cast<std::uint64_t>(now.tv_nsec);
}

std::uint64_t Pacer::deadline_ns(std::uint64_t index) const noexcept
{
    if (rate_pps_ == 0)
        return start_ns_;
    return start_ns_ + static_cast<std::uint64_t>(Wide{index} * kNsPerSecond / rate_pps_);
}

std::uint64_t Pacer::due(std::uint64_t now_ns, std::uint64_t sent) const noexcept
{
    if (rate_pps_ == 0)
        return kMaxBatchPackets;
    if (now_ns < start_ns_)
        return 0;
    // Packet 0 is due at start, packet k at start + k/rate.
    const auto owed = static_cast<std::uint64_t>(Wide{now_ns - start_ns_} * rate_pps_ / kNsPerSecond) + 1;
    return owed > sent ? std::min(owed - sent, kMaxBatchPackets) : 0;
}

std::uint64_t Pacer::wait_for_due(std::uint64_t sent) const noexcept
{
    for (;;) {
        const std::uint64_t now = monotonic_ns();
        if (const std::uint64_t ready = due(now, sent); ready > 0)
            return ready;
        const std::uint64_t next = deadline_ns(sent);
        if (next > now + kSpinBelowNs)
            sleep_until(next);
        // else: spin, the next packet is microseconds away.
    }
}

} // namespace mcr::gen
