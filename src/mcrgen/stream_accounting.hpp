// Pure bookkeeping for a receiver: which sequence numbers arrived, how many
// were lost, duplicated or reordered, and the latency distribution. No I/O,
// so the arithmetic is unit tested (tests/unit/test_gen_accounting.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace mcr::gen {

// Highest sequence number a receiver tracks: mcrgen send never exceeds its
// hard packet cap, and the seen-bitmap for it stays at 12.5 MiB.
inline constexpr std::uint64_t kMaxTrackedSequence = 100'000'000;
// Latency samples kept for percentiles; later packets still update the max.
inline constexpr std::size_t kMaxLatencySamples = 4'000'000;

enum class Arrival { in_order, reordered, duplicate, out_of_range };

// One sender's stream (one stream id).
class StreamAccounting {
public:
    // Records one arrival and says how it relates to the ones before it.
    Arrival record(std::uint64_t sequence);

    [[nodiscard]] std::uint64_t received() const noexcept { return received_; }   // every arrival, duplicates too
    [[nodiscard]] std::uint64_t unique() const noexcept { return unique_; }
    [[nodiscard]] std::uint64_t duplicated() const noexcept { return duplicated_; }
    [[nodiscard]] std::uint64_t reordered() const noexcept { return reordered_; }
    [[nodiscard]] std::uint64_t out_of_range() const noexcept { return out_of_range_; }
    // Gaps below the highest sequence seen (a tail lost after the last
    // arrival is invisible here; --expect catches it).
    [[nodiscard]] std::uint64_t missing_below_highest() const noexcept;

private:
    std::vector<std::uint64_t> seen_bits_;
    std::optional<std::uint64_t> highest_;
    std::uint64_t received_ = 0;
    std::uint64_t unique_ = 0;
    std::uint64_t duplicated_ = 0;
    std::uint64_t reordered_ = 0;
    std::uint64_t out_of_range_ = 0;
};

struct LatencySummary {
    std::uint64_t samples = 0;
    std::uint64_t p50_ns = 0;
    std::uint64_t p90_ns = 0;
    std::uint64_t p99_ns = 0;
    std::uint64_t max_ns = 0;
};

class LatencyRecorder {
public:
    void add(std::uint64_t latency_ns);
    // Nearest-rank percentiles over the kept samples (sorts a copy).
    [[nodiscard]] LatencySummary summary() const;

private:
    std::vector<std::uint64_t> samples_;
    std::uint64_t max_ns_ = 0;
};

struct ReceiveTotals {
    std::uint64_t received = 0;
    std::uint64_t unique = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;
    std::uint64_t invalid = 0;   // datagrams without our header
    std::uint64_t streams = 0;
};

// Everything one receiver saw, over any number of senders.
class ReceiveAccounting {
public:
    // A datagram that carried a valid header: `latency_ns` is receive time
    // minus send time (both CLOCK_MONOTONIC), nullopt if the clock went back.
    void record(std::uint32_t stream_id, std::uint64_t sequence, std::optional<std::uint64_t> latency_ns);
    void record_invalid() noexcept { ++invalid_; }

    // `expected` is the total the caller was promised (--expect); without it
    // loss is the gaps below each stream's highest sequence.
    [[nodiscard]] ReceiveTotals totals(std::optional<std::uint64_t> expected) const;
    [[nodiscard]] LatencySummary latency() const { return latency_.summary(); }
    [[nodiscard]] std::uint64_t unique() const noexcept;

private:
    std::map<std::uint32_t, StreamAccounting> streams_;
    LatencyRecorder latency_;
    std::uint64_t invalid_ = 0;
};

} // namespace mcr::gen
