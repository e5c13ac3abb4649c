// One group's router-side state on one interface: filter mode, group timer,
// source records with their timers (RFC 3376 6.2-6.5, RFC 3810 7.2-7.5),
// and the older-version host present timers (RFC 3376 7.3.2, 3810 8.3.2).
#pragma once

#include "core/address.hpp"
#include "membership_config.hpp"
#include "message.hpp"

#include <map>
#include <optional>
#include <span>
#include <vector>

namespace mcr::membership {

enum class FilterMode : std::uint8_t { include, exclude };

// The "Send Q(G)" and "Send Q(G,S)" actions of the RFC tables; the engine
// sends them only while it is the querier.
struct QueryRequest {
    bool group = false;
    std::vector<IpAddress> sources;
};

// What a group forwards, comparable, to tell whether a record changed it.
struct ForwardingView {
    FilterMode mode = FilterMode::include;
    std::vector<IpAddress> requested; // INCLUDE list, or EXCLUDE's X (timers running)
    std::vector<IpAddress> excluded;  // EXCLUDE's Y (timers stopped)
    friend bool operator==(const ForwardingView&, const ForwardingView&) = default;
};

class GroupState {
public:
    // A source's timer; empty means stopped (in EXCLUDE mode: excluded).
    using SourceTimers = std::map<IpAddress, std::optional<TimePoint>>;

    // Applies one record, already adjusted for the compatibility mode, by
    // RFC 3376 6.4.1 and 6.4.2. New sources past config.max_sources_per_group
    // are not added; `refused_sources` counts them.
    QueryRequest apply(RecordType type, std::span<const IpAddress> sources, const MembershipConfig& config,
                       TimePoint now, std::uint64_t& refused_sources);

    // Runs the timers that are due (6.5): returns whether the state changed.
    bool expire(TimePoint now);

    // The querier's actions on sending Q(G) / Q(G,S) (6.6.3), and a
    // non-querier's on hearing one with S clear (6.6.1): lower, never raise.
    void lower_group_timer(TimePoint until);
    void lower_source_timer(const IpAddress& source, TimePoint until);
    // A new querier's action (see InterfaceMembership::become_querier):
    // every running timer runs at least until `until`; raise, never lower.
    void hold_timers_until(TimePoint until);

    void note_older_host(ProtocolVersion version, TimePoint until);
    [[nodiscard]] ProtocolVersion compatibility(TimePoint now) const;

    // INCLUDE with no sources: the group has no listener and is deleted.
    [[nodiscard]] bool is_empty() const noexcept { return mode_ == FilterMode::include && sources_.empty(); }
    // Whether traffic from `source` is wanted; an unspecified source asks
    // whether any listener state exists at all.
    [[nodiscard]] bool forwards(const IpAddress& source) const;
    [[nodiscard]] FilterMode mode() const noexcept { return mode_; }
    [[nodiscard]] std::optional<TimePoint> group_expiry() const noexcept { return group_expiry_; }
    [[nodiscard]] const SourceTimers& sources() const noexcept { return sources_; }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;
    [[nodiscard]] ForwardingView forwarding_view() const;

private:
    // Sets (or adds) `source`'s timer; false when the source was refused.
    bool set_source_timer(const IpAddress& source, std::optional<TimePoint> expiry, const MembershipConfig& config,
                          std::uint64_t& refused_sources);
    // IS_EX / TO_EX on either mode: the shared part of their table rows.
    void enter_exclude(const std::vector<IpAddress>& requested, std::optional<TimePoint> new_source_expiry,
                       const MembershipConfig& config, std::uint64_t& refused_sources);

    FilterMode mode_ = FilterMode::include;
    std::optional<TimePoint> group_expiry_; // runs in EXCLUDE mode only
    SourceTimers sources_;
    std::optional<TimePoint> v1_host_until_;
    std::optional<TimePoint> v2_host_until_;
};

} // namespace mcr::membership
