// Loss/duplicate/reorder arithmetic and latency percentiles for mcrgen recv.
#include "stream_accounting.hpp"

#include <algorithm>
#include <cmath>

namespace mcr::gen {
namespace {

constexpr std::uint64_t kBitsPerWord = 64;

// Nearest-rank percentile of sorted, non-empty samples.
std::uint64_t percentile(const std::vector<std::uint64_t>& sorted, double percent)
{
    const auto n = static_cast<double>(sorted.size());
    auto rank = static_cast<std::size_t>(std::ceil(percent / 100.0 * n));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

} // namespace

Arrival StreamAccounting::record(std::uint64_t sequence)
{
    if (sequence > kMaxTrackedSequence) {
        ++out_of_range_;
        return Arrival::out_of_range;
    }
    ++received_;
    const std::uint64_t word = sequence / kBitsPerWord;
    const std::uint64_t bit = std::uint64_t{1} << (sequence % kBitsPerWord);
    if (word >= seen_bits_.size())
        seen_bits_.resize(std::max<std::size_t>(word + 1, seen_bits_.size() * 2), 0);
    if (seen_bits_[word] & bit) {
        ++duplicated_;
        return Arrival::duplicate;
    }
    seen_bits_[word] |= bit;
    ++unique_;
    if (highest_ && sequence < *highest_) {
        ++reordered_;
        return Arrival::reordered;
    }
    highest_ = sequence;
    return Arrival::in_order;
}

std::uint64_t StreamAccounting::missing_below_highest() const noexcept
{
    if (!highest_)
        return 0;
    return *highest_ + 1 - unique_;
}

void LatencyRecorder::add(std::uint64_t latency_ns)
{
    max_ns_ = std::max(max_ns_, latency_ns);
    if (samples_.size() < kMaxLatencySamples)
        samples_.push_back(latency_ns);
}

LatencySummary LatencyRecorder::summary() const
{
    LatencySummary summary;
    summary.samples = samples_.size();
    summary.max_ns = max_ns_;
    if (samples_.empty())
        return summary;
    auto sorted = samples_;
    std::sort(sorted.begin(), sorted.end());
    summary.p50_ns = percentile(sorted, 50);
    summary.p90_ns = percentile(sorted, 90);
    summary.p99_ns = percentile(sorted, 99);
    return summary;
}

void ReceiveAccounting::record(std::uint32_t stream_id, std::uint64_t sequence,
                               std::optional<std::uint64_t> latency_ns)
{
    const Arrival arrival = streams_[stream_id].record(sequence);
    // Duplicates would skew latency towards the slow copy; count first arrivals only.
    if (latency_ns && (arrival == Arrival::in_order || arrival == Arrival::reordered))
        latency_.add(*latency_ns);
}

std::uint64_t ReceiveAccounting::unique() const noexcept
{
    std::uint64_t unique = 0;
    for (const auto& [id, stream] : streams_)
        unique += stream.unique();
    return unique;
}

ReceiveTotals ReceiveAccounting::totals(std::optional<std::uint64_t> expected) const
{
    ReceiveTotals totals;
    totals.invalid = invalid_;
    totals.streams = streams_.size();
    std::uint64_t gaps = 0;
    for (const auto& [id, stream] : streams_) {
        totals.received += stream.received();
        totals.unique += stream.unique();
        totals.duplicated += stream.duplicated();
        totals.reordered += stream.reordered();
        totals.invalid += stream.out_of_range();
        gaps += stream.missing_below_highest();
    }
    if (expected)
        totals.lost = *expected > totals.unique ? *expected - totals.unique : 0;
    else
        totals.lost = gaps;
    return totals;
}

} // namespace mcr::gen
