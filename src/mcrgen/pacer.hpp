// Send pacing: how many packets are due at a given moment for a constant
// rate, and a wait that sleeps unless the next packet is due within a couple
// of microseconds. A late wake-up is made up by sending what is owed in one
// batch, so the rate stays exact and gaps come in small bursts instead.
#pragma once

#include <cstdint>

namespace mcr::gen {

// Sends per sendmmsg call at most: catching up after a late wake-up never
// bursts more than this.
inline constexpr std::uint64_t kMaxBatchPackets = 64;
inline constexpr std::uint64_t kNsPerSecond = 1'000'000'000;
inline constexpr std::uint64_t kNsPerMs = 1'000'000;
// Below this gap we spin instead of sleeping. Kept small on purpose: timer
// wake-ups are ~50 us late on a loaded machine, and spinning through gaps of
// that size (20 us at 50 kpps) kept a whole CPU busy in the generator, which
// starved the relay under test on a 2-CPU machine (the soak's lost frames of
// 2026-12-04: the workers' receive rings overflowed). Above ~500 kpps the
// gaps are below this and the sender spins as before.
inline constexpr std::uint64_t kSpinBelowNs = 2'000;

class Pacer {
public:
    // rate_pps == 0 means as fast as possible.
    Pacer(std::uint64_t rate_pps, std::uint64_t start_ns) noexcept : rate_pps_(rate_pps), start_ns_(start_ns) {}

    // When packet number `index` (0-based) is due.
    [[nodiscard]] std::uint64_t deadline_ns(std::uint64_t index) const noexcept;
    // Packets due at `now_ns` that are not yet sent, at most kMaxBatchPackets.
    [[nodiscard]] std::uint64_t due(std::uint64_t now_ns, std::uint64_t sent) const noexcept;
    // Blocks until at least one packet is due, then returns due().
    [[nodiscard]] std::uint64_t wait_for_due(std::uint64_t sent) const noexcept;

private:
    std::uint64_t rate_pps_;
    std::uint64_t start_ns_;
};

// CLOCK_MONOTONIC in nanoseconds (the clock the payload header carries).
[[nodiscard]] std::uint64_t monotonic_ns() noexcept;

} // namespace mcr::gen
