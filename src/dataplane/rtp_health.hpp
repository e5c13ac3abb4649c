// RTP stream health (RFC 3550): header validity, sequence gaps, reordering,
// duplicates, SSRC changes and interarrival jitter of one arriving stream.
// Pure and bounded: fixed-size state, no allocation, no syscall per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mcr::dataplane {

inline constexpr std::size_t kRtpFixedHeaderBytes = 12;

// A valid RTP header's fields (RFC 3550 5.1), payload located after CSRCs,
// the header extension and before any padding.
struct RtpHeader {
    std::uint8_t payload_type = 0;
    bool marker = false;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
    std::size_t payload_offset = 0;
    std::size_t payload_length = 0;
};

// nullopt unless: at least 12 bytes, version 2, the CSRC list and the
// header extension (when X is set: 4-byte header + its declared length in
// 32-bit words) lie within the packet, and padding (when P is set: the last
// byte's count, at least 1) does not reach back into the header.
[[nodiscard]] std::optional<RtpHeader> parse_rtp_header(std::span<const std::uint8_t> packet) noexcept;

// RTP clock rate of a static payload type (RFC 3551 tables 4 and 5), or
// nullopt for dynamic (96-127) and unassigned types.
[[nodiscard]] std::optional<std::uint32_t> static_clock_rate(std::uint8_t payload_type) noexcept;

// Dynamic payload types carry their rate in signalling (SDP) the relay never
// sees: jitter is then computed at this rate, the video rate of RFC 3551.
inline constexpr std::uint32_t kDefaultRtpClockRate = 90000;

// RFC 3550 A.1: a jump forward of less than this is a gap (lost packets);
// a packet less than kRtpMaxMisorder behind the highest is late (reordered
// or duplicate); anything else restarts sequence tracking.
inline constexpr std::uint32_t kRtpMaxDropout = 3000;
inline constexpr std::uint32_t kRtpMaxMisorder = 100;

// Counters over the life of the stream (across SSRC changes and restarts).
//   packets     RTP packets with a valid header (duplicates included)
//   malformed   datagrams whose header is not valid RTP (not tracked further)
//   lost        expected - received, summed over every sequence run, never
//               negative: expected = highest - lowest extended sequence
//               number + 1 of the run, received = distinct sequence numbers
//               seen. A late packet fills its gap again (lost goes down).
//   reordered   packets that arrived after a higher sequence number and
//               were not seen before (they fill a gap counted as lost)
//   duplicates  packets whose sequence number was already received in the
//               last kRtpMaxMisorder (not counted as received again)
//   ssrc_changes  a packet with a different SSRC than the one before
//               (sequence and jitter tracking restart; the first is none)
//   sequence_restarts  jumps too large to be a gap (see kRtpMaxDropout)
struct RtpCounters {
    std::uint64_t packets = 0;
    std::uint64_t malformed = 0;
    std::uint64_t lost = 0;
    std::uint64_t reordered = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t ssrc_changes = 0;
    std::uint64_t sequence_restarts = 0;
};

class RtpHealth {
public:
    // One UDP payload arriving at `arrival_ns` (any monotonic clock).
    void observe(std::span<const std::uint8_t> payload, std::uint64_t arrival_ns) noexcept;
    // The same for a header already parsed (MPEG-TS in RTP parses it once).
    void observe(const RtpHeader& header, std::uint64_t arrival_ns) noexcept;
    void count_malformed() noexcept { ++counts_.malformed; }

    [[nodiscard]] RtpCounters counters() const noexcept;
    [[nodiscard]] std::optional<std::uint8_t> payload_type() const noexcept { return payload_type_; }
    [[nodiscard]] std::optional<std::uint32_t> ssrc() const noexcept
    {
        return tracking_ ? std::optional<std::uint32_t>(ssrc_) : std::nullopt;
    }
    // RFC 3550 6.4.1 estimate, in RTP timestamp units and in microseconds
    // (at the payload type's clock rate, else kDefaultRtpClockRate).
    [[nodiscard]] double jitter_timestamp_units() const noexcept { return jitter_; }
    [[nodiscard]] double jitter_us() const noexcept;
    [[nodiscard]] std::uint32_t clock_rate() const noexcept;

private:
    void start_run(std::uint16_t sequence) noexcept;
    void end_run() noexcept;
    void track_sequence(std::uint16_t sequence) noexcept;
    void track_jitter(const RtpHeader& header, std::uint64_t arrival_ns) noexcept;
    [[nodiscard]] bool seen(std::uint32_t behind) const noexcept;
    void mark_seen(std::uint32_t behind) noexcept;
    void advance_window(std::uint32_t by) noexcept;

    // As counters() reports them, except `lost`: here only the finished
    // runs' loss; counters() adds the current run's.
    RtpCounters counts_;

    bool tracking_ = false;
    std::uint32_t ssrc_ = 0;
    std::optional<std::uint8_t> payload_type_;
    // The current run: extended sequence numbers (cycles counted past 65535).
    std::int64_t lowest_ = 0;
    std::int64_t highest_ = 0;
    std::uint64_t received_ = 0;
    // Bit i: highest_ - i was received (i < 128 > kRtpMaxMisorder).
    std::uint64_t window_[2] = {0, 0};

    // The previous packet of this SSRC, for D(i-1, i) of RFC 3550 6.4.1.
    bool have_previous_ = false;
    std::uint64_t previous_arrival_ns_ = 0;
    std::uint32_t previous_timestamp_ = 0;
    double jitter_ = 0;        // in timestamp units
};

} // namespace mcr::dataplane
