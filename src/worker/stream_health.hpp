// One rule's stream health in the worker: the RTP or MPEG-TS inspector its
// "inspect" setting asks for, its JSON form for the stats document, and the
// ok/losing state behind the journal's "stream losing"/"recovered" entries.
// Inspection runs on the userspace path only (see core/rule.hpp).
#pragma once

#include "core/rule.hpp"
#include "dataplane/rtp_health.hpp"
#include "dataplane/ts_health.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>

namespace mcr::worker {

// A stream is "losing" from the stats tick that sees its impairments grow
// until none grew for this long; then it is "ok" again.
inline constexpr std::chrono::seconds kHealthRecoveryQuiet{5};

enum class HealthState : std::uint8_t { ok, losing };

// The ok/losing state from a growing impairment count, sampled on the stats
// tick. Pure: the caller supplies the time.
class LossWatch {
public:
    // The new state when it changed with this sample, else nullopt.
    [[nodiscard]] std::optional<HealthState> update(std::uint64_t impairments,
                                                    std::chrono::steady_clock::time_point now) noexcept;
    [[nodiscard]] HealthState state() const noexcept { return state_; }

private:
    HealthState state_ = HealthState::ok;
    std::uint64_t seen_ = 0;
    std::chrono::steady_clock::time_point last_growth_{};
};

class StreamHealth {
public:
    // `inspection` is rtp or mpegts (none has no StreamHealth).
    explicit StreamHealth(StreamInspection inspection);

    [[nodiscard]] StreamInspection inspection() const noexcept;
    void observe(std::span<const std::uint8_t> payload, std::uint64_t arrival_ns) noexcept;

    // What a receiver would notice: RTP packets lost + malformed datagrams;
    // for MPEG-TS, continuity errors + malformed datagrams (+ RTP loss when
    // the TS comes in RTP). Drives the ok/losing state.
    [[nodiscard]] std::uint64_t impairments() const noexcept;

    [[nodiscard]] LossWatch& watch() noexcept { return watch_; }

    // The stats document's "health" object (core/worker_protocol.hpp).
    [[nodiscard]] nlohmann::json to_json() const;

private:
    std::variant<dataplane::RtpHealth, dataplane::TsHealth> inspector_;
    LossWatch watch_;
};

} // namespace mcr::worker
