// MPEG-TS stream health (ISO/IEC 13818-1 2.4.3): packet alignment and sync
// bytes, continuity-counter errors per PID, and whether a PCR is carried,
// for TS in UDP and in RTP (RFC 2250). Pure and bounded: the PID table
// covers all 8192 PIDs in one byte each, so no PID goes untracked and
// nothing is allocated per packet.
#pragma once

#include "rtp_health.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mcr::dataplane {

inline constexpr std::size_t kTsPacketBytes = 188;
inline constexpr std::uint8_t kTsSyncByte = 0x47;
inline constexpr std::uint16_t kTsNullPid = 0x1fff;
inline constexpr std::size_t kTsPidCount = 8192;

// Counters over the life of the stream.
//   datagrams    UDP payloads seen
//   malformed    datagrams whose TS payload is empty, not a multiple of 188
//                bytes, or has a TS packet without the sync byte 0x47 or with
//                an adaptation field longer than the packet (none of their
//                TS packets is looked at)
//   packets      TS packets checked (of well-formed datagrams)
//   cc_errors    packets whose continuity_counter is not the expected one:
//                with payload, the previous + 1 (mod 16); without payload
//                (adaptation field only), the previous unchanged. A packet
//                with payload repeating the previous counter is a duplicate
//                (allowed once; a second repetition is an error).
//                discontinuity_indicator set: any counter is taken as is.
//                The null PID and adaptation_field_control 00 are ignored.
//   duplicates   allowed duplicate packets (see above)
//   discontinuities  packets with discontinuity_indicator set
//   pids         distinct PIDs seen (null PID excluded)
//   rtp          TS in RTP: the RTP layer's counters (see rtp_health.hpp)
struct TsCounters {
    std::uint64_t datagrams = 0;
    std::uint64_t malformed = 0;
    std::uint64_t packets = 0;
    std::uint64_t cc_errors = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t discontinuities = 0;
    std::uint64_t pids = 0;
};

class TsHealth {
public:
    // One UDP payload: 188-byte TS packets directly, or an RTP header
    // followed by them (recognised by a valid RTP header when the payload
    // is not TS as it stands).
    void observe(std::span<const std::uint8_t> payload, std::uint64_t arrival_ns) noexcept;

    [[nodiscard]] const TsCounters& counters() const noexcept { return counters_; }
    // The first PID whose adaptation field carried a PCR, if any.
    [[nodiscard]] std::optional<std::uint16_t> pcr_pid() const noexcept { return pcr_pid_; }
    // Whether any datagram came in RTP, and that layer's health.
    [[nodiscard]] bool in_rtp() const noexcept { return in_rtp_; }
    [[nodiscard]] const RtpHealth& rtp() const noexcept { return rtp_; }

private:
    // Whether every packet of `ts` is a well-formed TS packet.
    [[nodiscard]] static bool well_formed(std::span<const std::uint8_t> ts) noexcept;
    void check_packet(const std::uint8_t* packet) noexcept;

    // Per PID: kSeen | kRepeated | continuity counter (low 4 bits).
    static constexpr std::uint8_t kSeen = 0x80;
    static constexpr std::uint8_t kRepeated = 0x40;
    std::array<std::uint8_t, kTsPidCount> pid_state_{};

    TsCounters counters_;
    std::optional<std::uint16_t> pcr_pid_;
    bool in_rtp_ = false;
    RtpHealth rtp_;
};

} // namespace mcr::dataplane
