// Send pacing: how many packets are due at a given moment for a constant
// rate, and a wait that sleeps when the next packet is far and spins when it
// is near (sleeping cannot hit microsecond gaps; spinning everywhere would
// burn a core at low rates).
#pragma once

#include <cstdint>

namespace mcr::gen {

// Sends per sendmmsg call at most: catching up after a late wake-up never
// bursts more than this.
inline constexpr std::uint64_t kMaxBatchPackets = 64;
// Below this gap we spin instead of sleeping (timer wake-ups are ~50 us late
// on a loaded machine even with 1 ns timer slack).
inline constexpr std::uint64_t kSpinBelowNs = 20'000;

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
