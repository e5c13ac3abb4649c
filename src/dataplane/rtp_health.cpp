// RTP header parsing and per-stream sequence/jitter tracking (rtp_health.hpp).
#include "rtp_health.hpp"

#include "frame.hpp"

#include <cmath>

namespace mcr::dataplane {

namespace {

constexpr std::uint32_t kSequenceCycle = 65536;
constexpr std::uint32_t kWindowBits = 128;
static_assert(kWindowBits > kRtpMaxMisorder);

} // namespace

std::optional<RtpHeader> parse_rtp_header(std::span<const std::uint8_t> packet) noexcept
{
    if (packet.size() < kRtpFixedHeaderBytes || (packet[0] >> 6) != 2)
        return std::nullopt;
    const bool padding = (packet[0] & 0x20) != 0;
    const bool extension = (packet[0] & 0x10) != 0;
    const std::size_t csrc_count = packet[0] & 0x0f;
    std::size_t header_bytes = kRtpFixedHeaderBytes + 4 * csrc_count;
    if (extension) {
        if (packet.size() < header_bytes + 4)
            return std::nullopt;
        header_bytes += 4 + 4 * std::size_t{load_be16(&packet[header_bytes + 2])};
    }
    if (packet.size() < header_bytes)
        return std::nullopt;
    std::size_t padding_bytes = 0;
    if (padding) {
        padding_bytes = packet.back();
        if (padding_bytes == 0 || padding_bytes > packet.size() - header_bytes)
            return std::nullopt;
    }
    RtpHeader header;
    header.marker = (packet[1] & 0x80) != 0;
    header.payload_type = packet[1] & 0x7f;
    header.sequence = load_be16(&packet[2]);
    header.timestamp = load_be32(&packet[4]);
    header.ssrc = load_be32(&packet[8]);
    header.payload_offset = header_bytes;
    header.payload_length = packet.size() - header_bytes - padding_bytes;
    return header;
}

std::optional<std::uint32_t> static_clock_rate(std::uint8_t payload_type) noexcept
{
    switch (payload_type) {
    case 0: case 3: case 4: case 5: case 7: case 8: case 9: case 12: case 13: case 15: case 18:
        return 8000; // PCMU GSM G723 DVI4 LPC PCMA G722 (8000 by RFC 3551's errata) QCELP CN G728 G729
    case 6: return 16000;  // DVI4
    case 10: case 11: return 44100; // L16 stereo, mono
    case 16: return 11025; // DVI4
    case 17: return 22050; // DVI4
    case 14: case 25: case 26: case 28: case 31: case 32: case 33: case 34:
        return 90000; // MPA CelB JPEG nv H261 MPV MP2T H263
    default: return std::nullopt;
    }
}

void RtpHealth::observe(std::span<const std::uint8_t> payload, std::uint64_t arrival_ns) noexcept
{
    if (const auto header = parse_rtp_header(payload))
        observe(*header, arrival_ns);
    else
        ++counts_.malformed;
}

void RtpHealth::observe(const RtpHeader& header, std::uint64_t arrival_ns) noexcept
{
    ++counts_.packets;
    payload_type_ = header.payload_type;
    if (!tracking_ || header.ssrc != ssrc_) {
        if (tracking_) {
            ++counts_.ssrc_changes;
            end_run();
        }
        tracking_ = true;
        ssrc_ = header.ssrc;
        have_previous_ = false;
        jitter_ = 0;
        start_run(header.sequence);
    } else {
        track_sequence(header.sequence);
    }
    track_jitter(header, arrival_ns);
}

void RtpHealth::start_run(std::uint16_t sequence) noexcept
{
    lowest_ = highest_ = sequence;
    received_ = 1;
    window_[0] = 1;
    window_[1] = 0;
}

void RtpHealth::end_run() noexcept
{
    const auto expected = static_cast<std::uint64_t>(highest_ - lowest_ + 1);
    if (expected > received_)
        counts_.lost += expected - received_;
}

// Classifies `sequence` against the highest seen so far (RFC 3550 A.1's
// distances, without its probation: a relay reports what arrives).
void RtpHealth::track_sequence(std::uint16_t sequence) noexcept
{
    const std::uint16_t highest16 = static_cast<std::uint16_t>(highest_ % kSequenceCycle);
    const std::uint32_t ahead = static_cast<std::uint16_t>(sequence - highest16);
    if (ahead == 0) {
        ++counts_.duplicates;
    } else if (ahead < kRtpMaxDropout) {
        highest_ += ahead;
        advance_window(ahead);
        mark_seen(0);
        ++received_;
    } else if (ahead >= kSequenceCycle - kRtpMaxMisorder) {
        const std::uint32_t behind = kSequenceCycle - ahead;
        if (seen(behind)) {
            ++counts_.duplicates;
            return;
        }
        mark_seen(behind);
        ++counts_.reordered;
        ++received_;
        // Older than the first packet of the run: the run started earlier.
        if (highest_ - behind < lowest_)
            lowest_ = highest_ - behind;
    } else {
        ++counts_.sequence_restarts;
        end_run();
        start_run(sequence);
    }
}

bool RtpHealth::seen(std::uint32_t behind) const noexcept
{
    return (window_[behind / 64] >> (behind % 64)) & 1U;
}

void RtpHealth::mark_seen(std::uint32_t behind) noexcept
{
    window_[behind / 64] |= std::uint64_t{1} << (behind % 64);
}

void RtpHealth::advance_window(std::uint32_t by) noexcept
{
    if (by >= kWindowBits) {
        window_[0] = window_[1] = 0;
    } else if (by >= 64) {
        window_[1] = window_[0] << (by - 64);
        window_[0] = 0;
    } else {
        window_[1] = (window_[1] << by) | (window_[0] >> (64 - by));
        window_[0] <<= by;
    }
}

// J(i) = J(i-1) + (|D(i-1,i)| - J(i-1)) / 16, D from arrival and RTP
// timestamp differences of consecutive arrivals (RFC 3550 6.4.1), in
// double precision rather than A.8's scaled integers: the relay has no
// report to fill and wants microseconds too.
void RtpHealth::track_jitter(const RtpHeader& header, std::uint64_t arrival_ns) noexcept
{
    if (have_previous_) {
        const double arrival_units = static_cast<double>(static_cast<std::int64_t>(arrival_ns - previous_arrival_ns_)) *
                                     clock_rate() / 1e9;
        const auto sent_units = static_cast<std::int32_t>(header.timestamp - previous_timestamp_);
        const double difference = arrival_units - sent_units;
        jitter_ += (std::fabs(difference) - jitter_) / 16.0;
    }
    have_previous_ = true;
    previous_arrival_ns_ = arrival_ns;
    previous_timestamp_ = header.timestamp;
}

std::uint32_t RtpHealth::clock_rate() const noexcept
{
    if (payload_type_)
        if (const auto rate = static_clock_rate(*payload_type_))
            return *rate;
    return kDefaultRtpClockRate;
}

double RtpHealth::jitter_us() const noexcept
{
    return jitter_ * 1e6 / clock_rate();
}

RtpCounters RtpHealth::counters() const noexcept
{
    RtpCounters c = counts_;
    if (tracking_) {
        const auto expected = static_cast<std::uint64_t>(highest_ - lowest_ + 1);
        if (expected > received_)
            c.lost += expected - received_;
    }
    return c;
}

} // namespace mcr::dataplane
