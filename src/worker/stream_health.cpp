// Per-rule stream health: inspector dispatch, JSON and the ok/losing watch.
#include "stream_health.hpp"

#include "core/stream_inspection.hpp"

namespace mcr::worker {

namespace {

using nlohmann::json;

json optional_json(const auto& value)
{
    return value ? json(*value) : json(nullptr);
}

json rtp_json(const dataplane::RtpHealth& rtp)
{
    const dataplane::RtpCounters c = rtp.counters();
    return {{"packets", c.packets},
            {"malformed", c.malformed},
            {"lost", c.lost},
            {"reordered", c.reordered},
            {"duplicates", c.duplicates},
            {"ssrc_changes", c.ssrc_changes},
            {"sequence_restarts", c.sequence_restarts},
            {"payload_type", optional_json(rtp.payload_type())},
            {"ssrc", optional_json(rtp.ssrc())},
            {"clock_rate", rtp.clock_rate()},
            {"jitter", rtp.jitter_timestamp_units()},
            {"jitter_us", rtp.jitter_us()}};
}

json ts_json(const dataplane::TsHealth& ts)
{
    const dataplane::TsCounters& c = ts.counters();
    json out = {{"datagrams", c.datagrams},
                {"malformed", c.malformed},
                {"packets", c.packets},
                {"cc_errors", c.cc_errors},
                {"duplicates", c.duplicates},
                {"discontinuities", c.discontinuities},
                {"pids", c.pids},
                {"pcr_pid", optional_json(ts.pcr_pid())}};
    if (ts.in_rtp())
        out["rtp"] = rtp_json(ts.rtp());
    return out;
}

std::variant<dataplane::RtpHealth, dataplane::TsHealth> inspector_for(StreamInspection inspection)
{
    if (inspection == StreamInspection::mpegts)
        return dataplane::TsHealth{};
    return dataplane::RtpHealth{};
}

} // namespace

std::optional<HealthState> LossWatch::update(std::uint64_t impairments,
                                             std::chrono::steady_clock::time_point now) noexcept
{
    const bool grew = impairments > seen_;
    // A late RTP packet lowers "lost": the next growth counts from there.
    seen_ = impairments;
    if (grew) {
        last_growth_ = now;
        if (state_ == HealthState::ok)
            return state_ = HealthState::losing;
        return std::nullopt;
    }
    if (state_ == HealthState::losing && now - last_growth_ >= kHealthRecoveryQuiet)
        return state_ = HealthState::ok;
    return std::nullopt;
}

StreamHealth::StreamHealth(StreamInspection inspection) : inspector_(inspector_for(inspection)) {}

StreamInspection StreamHealth::inspection() const noexcept
{
    return std::holds_alternative<dataplane::TsHealth>(inspector_) ? StreamInspection::mpegts : StreamInspection::rtp;
}

void StreamHealth::observe(std::span<const std::uint8_t> payload, std::uint64_t arrival_ns) noexcept
{
    // get_if, not std::visit: visit may throw (bad_variant_access), and this
    // runs per packet in a noexcept path.
    if (auto* ts = std::get_if<dataplane::TsHealth>(&inspector_))
        ts->observe(payload, arrival_ns);
    else if (auto* rtp = std::get_if<dataplane::RtpHealth>(&inspector_))
        rtp->observe(payload, arrival_ns);
}

std::uint64_t StreamHealth::impairments() const noexcept
{
    if (const auto* ts = std::get_if<dataplane::TsHealth>(&inspector_)) {
        const std::uint64_t rtp_lost = ts->in_rtp() ? ts->rtp().counters().lost : 0;
        return ts->counters().cc_errors + ts->counters().malformed + rtp_lost;
    }
    const auto* rtp = std::get_if<dataplane::RtpHealth>(&inspector_);
    const dataplane::RtpCounters c = rtp != nullptr ? rtp->counters() : dataplane::RtpCounters{};
    return c.lost + c.malformed;
}

json StreamHealth::to_json() const
{
    json out = std::holds_alternative<dataplane::TsHealth>(inspector_)
                   ? ts_json(std::get<dataplane::TsHealth>(inspector_))
                   : rtp_json(std::get<dataplane::RtpHealth>(inspector_));
    out["kind"] = std::string(inspection_name(inspection()));
    out["state"] = watch_.state() == HealthState::losing ? "losing" : "ok";
    return out;
}

} // namespace mcr::worker
