// The router side of IGMPv3 or MLDv2 on one interface: querier election,
// general and specific query scheduling, and per-group membership state.
// No I/O and no clock: the caller passes each received message and the
// current steady-clock time, runs advance() at next_deadline(), sends what
// take_queries() returns and acts on take_events().
#pragma once

#include "core/address.hpp"
#include "group_state.hpp"
#include "membership_config.hpp"
#include "message.hpp"
#include "query_build.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace mcr::membership {

struct MembershipEvent {
    enum class Kind : std::uint8_t {
        listeners_gained,   // address: the group; its first listener
        listeners_lost,     // address: the group; its last listener left or timed out
        sources_changed,    // address: the group; filter mode or source lists changed
        became_querier,     // address: our own
        other_querier,      // address: the querier we now defer to
        group_limit_reached // address: the first group refused; once until below the limit
    };
    Kind kind;
    IpAddress address;
    friend bool operator==(const MembershipEvent&, const MembershipEvent&) = default;
};

struct MembershipCounters {
    std::uint64_t reports = 0;          // accepted report messages, any version
    std::uint64_t records = 0;          // group records applied
    std::uint64_t records_ignored = 0;  // link-local groups, other family, older-version rules
    std::uint64_t queries_received = 0; // accepted queries, ours excluded
    std::uint64_t queries_sent = 0;
    std::uint64_t groups_refused = 0;  // records that would have created a group past max_groups
    std::uint64_t sources_refused = 0; // sources past max_sources_per_group
    std::array<std::uint64_t, kParseErrorCount> rejected{}; // by ParseError
};

struct SourceView {
    IpAddress source;
    std::optional<Milliseconds> remaining; // empty: timer stopped (excluded)
};

struct GroupView {
    IpAddress group;
    FilterMode mode = FilterMode::include;
    ProtocolVersion compatibility = ProtocolVersion::v3;
    std::optional<Milliseconds> group_remaining; // EXCLUDE mode only
    std::vector<SourceView> sources;
};

class InterfaceMembership {
public:
    InterfaceMembership(AddressFamily family, const MembershipConfig& config);

    // Our address on the interface (the lowest wins the election); while it
    // is unspecified we cannot send queries, so we never claim the role.
    void set_own_address(const IpAddress& address, TimePoint now);
    // Begins as querier with the startup queries (RFC 3376 7.1).
    void start(TimePoint now);

    void receive(const Message& message, const IpAddress& source, TimePoint now);
    void note_rejected(ParseError error) noexcept;
    void advance(TimePoint now);
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    [[nodiscard]] std::vector<OutgoingQuery> take_queries();
    [[nodiscard]] std::vector<MembershipEvent> take_events();

    // Whether `group` traffic from `source` has a listener; an unspecified
    // source asks for any listener of the group.
    [[nodiscard]] bool forwards(const IpAddress& group, const IpAddress& source) const;
    [[nodiscard]] bool is_querier() const noexcept { return querier_; }
    [[nodiscard]] const std::optional<IpAddress>& other_querier() const noexcept { return other_querier_; }
    [[nodiscard]] std::size_t group_count() const noexcept { return groups_.size(); }
    [[nodiscard]] std::vector<GroupView> groups(TimePoint now) const;
    [[nodiscard]] const MembershipCounters& counters() const noexcept { return counters_; }
    [[nodiscard]] const MembershipConfig& effective_config() const noexcept { return effective_; }

private:
    struct GroupEntry {
        GroupState state;
        // Specific queries still to send (6.6.3): retransmissions left.
        unsigned group_queries_left = 0;
        std::map<IpAddress, unsigned> source_queries_left;
        std::optional<TimePoint> next_specific_query;
    };
    using Groups = std::map<IpAddress, GroupEntry>;

    void receive_query(const Message& message, const IpAddress& source, TimePoint now);
    void receive_record(const GroupRecord& record, ProtocolVersion version, TimePoint now);
    void request_queries(GroupEntry& entry, const IpAddress& group, const QueryRequest& request, TimePoint now);
    void send_specific_queries(GroupEntry& entry, const IpAddress& group, TimePoint now);
    void send_general_query(TimePoint now);
    void become_querier(TimePoint now);
    void defer_to(const IpAddress& querier, TimePoint now);
    [[nodiscard]] OutgoingQuery query_for(const IpAddress& group) const;
    [[nodiscard]] IpAddress unspecified() const;

    AddressFamily family_;
    MembershipConfig config_;
    // config_ with the querier's robustness and query interval adopted
    // while we are not the querier (RFC 3376 4.1.6, 4.1.7).
    MembershipConfig effective_;
    IpAddress own_address_;
    bool started_ = false;
    bool querier_ = false;
    std::optional<IpAddress> other_querier_;
    std::optional<TimePoint> other_querier_expiry_;
    std::optional<TimePoint> next_general_query_;
    unsigned startup_queries_left_ = 0;
    bool limit_reported_ = false;
    Groups groups_;
    std::vector<OutgoingQuery> queries_;
    std::vector<MembershipEvent> events_;
    MembershipCounters counters_;
};

} // namespace mcr::membership
