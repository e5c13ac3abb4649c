// MPEG-TS packet checks and per-PID continuity tracking (ts_health.hpp).
#include "ts_health.hpp"

#include "frame.hpp"

namespace mcr::dataplane {

namespace {

constexpr std::uint8_t kAdaptationField = 0x2;  // adaptation_field_control bits
constexpr std::uint8_t kPayload = 0x1;
constexpr std::uint8_t kDiscontinuityIndicator = 0x80;
constexpr std::uint8_t kPcrFlag = 0x10;
constexpr std::size_t kTsHeaderBytes = 4;

bool looks_like_ts(std::span<const std::uint8_t> payload) noexcept
{
    return !payload.empty() && payload.size() % kTsPacketBytes == 0 && payload[0] == kTsSyncByte;
}

} // namespace

void TsHealth::observe(std::span<const std::uint8_t> payload, std::uint64_t arrival_ns) noexcept
{
    ++counters_.datagrams;
    std::span<const std::uint8_t> ts = payload;
    if (!looks_like_ts(payload)) {
        // RFC 2250: TS in RTP, the RTP payload being whole TS packets.
        if (const auto header = parse_rtp_header(payload); header && header->payload_length > 0) {
            in_rtp_ = true;
            rtp_.observe(*header, arrival_ns);
            ts = payload.subspan(header->payload_offset, header->payload_length);
        }
    }
    if (!well_formed(ts)) {
        ++counters_.malformed;
        return;
    }
    for (std::size_t offset = 0; offset < ts.size(); offset += kTsPacketBytes)
        check_packet(&ts[offset]);
}

bool TsHealth::well_formed(std::span<const std::uint8_t> ts) noexcept
{
    if (ts.empty() || ts.size() % kTsPacketBytes != 0)
        return false;
    for (std::size_t offset = 0; offset < ts.size(); offset += kTsPacketBytes) {
        const std::uint8_t* packet = &ts[offset];
        if (packet[0] != kTsSyncByte)
            return false;
        const std::uint8_t control = (packet[3] >> 4) & 0x3;
        if (control & kAdaptationField) {
            // 13818-1 2.4.3.5: at most 183 bytes with no payload after it,
            // at most 182 when a payload follows.
            const std::size_t length = packet[4];
            if (length > (control & kPayload ? 182U : 183U))
                return false;
        }
    }
    return true;
}

void TsHealth::check_packet(const std::uint8_t* packet) noexcept
{
    ++counters_.packets;
    const std::uint16_t pid = load_be16(&packet[1]) & 0x1fff;
    const std::uint8_t control = (packet[3] >> 4) & 0x3;
    const std::uint8_t counter = packet[3] & 0x0f;
    if (pid == kTsNullPid || control == 0)
        return; // the null PID's counter is undefined; 00 is reserved (decoders discard)
    bool discontinuity = false;
    if ((control & kAdaptationField) && packet[4] > 0) {
        const std::uint8_t flags = packet[kTsHeaderBytes + 1];
        discontinuity = (flags & kDiscontinuityIndicator) != 0;
        if ((flags & kPcrFlag) && !pcr_pid_)
            pcr_pid_ = pid;
    }
    std::uint8_t& state = pid_state_[pid];
    if (!(state & kSeen)) {
        ++counters_.pids;
        state = kSeen | counter;
        return;
    }
    if (discontinuity) {
        ++counters_.discontinuities;
        state = kSeen | counter;
        return;
    }
    const std::uint8_t previous = state & 0x0f;
    const bool has_payload = (control & kPayload) != 0;
    if (!has_payload) {
        if (counter != previous)
            ++counters_.cc_errors;
        state = kSeen | counter;
        return;
    }
    if (counter == ((previous + 1) & 0x0f)) {
        state = kSeen | counter;
    } else if (counter == previous && !(state & kRepeated)) {
        ++counters_.duplicates;
        state = kSeen | kRepeated | counter;
    } else {
        ++counters_.cc_errors;
        state = kSeen | counter;
    }
}

} // namespace mcr::dataplane
