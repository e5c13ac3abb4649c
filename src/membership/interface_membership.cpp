// Querier election (RFC 3376 6.6.2, RFC 3810 7.6.2), query scheduling
// (6.6.3, 7.1) and the per-record bookkeeping around GroupState: group
// creation within the limit, older-version rules (7.3.2) and the events
// the supervisor turns into forwarding decisions and journal entries.
#include "interface_membership.hpp"

#include <algorithm>

namespace mcr::membership {

InterfaceMembership::InterfaceMembership(AddressFamily family, const MembershipConfig& config)
    : family_(family), config_(config), effective_(config), own_address_(unspecified())
{
}

IpAddress InterfaceMembership::unspecified() const
{
    return family_ == AddressFamily::ipv4 ? IpAddress::from_ipv4(0) : IpAddress::from_ipv6({});
}

void InterfaceMembership::set_own_address(const IpAddress& address, TimePoint now)
{
    if (address.family() != family_ || address == own_address_)
        return;
    own_address_ = address;
    if (!started_)
        return;
    if (own_address_.is_unspecified()) {
        querier_ = false;
        next_general_query_.reset();
        return;
    }
    if (other_querier_ && *other_querier_ < own_address_)
        return; // still the lower one
    if (!querier_)
        become_querier(now);
}

void InterfaceMembership::start(TimePoint now)
{
    started_ = true;
    startup_queries_left_ = config_.startup_query_count();
    if (!own_address_.is_unspecified())
        become_querier(now);
}

void InterfaceMembership::become_querier(TimePoint now)
{
    querier_ = true;
    other_querier_.reset();
    other_querier_expiry_.reset();
    effective_ = config_;
    next_general_query_ = now;
    // The listeners' timers were set by the old querier's last query, and
    // this relay's first general query goes out now: the answers may take
    // up to its response interval. Without this a group whose timer ends
    // inside that window (GMI from a report to the old querier's last query
    // is only QRI/2 longer than the other-querier-present interval) would
    // lose its listener for a moment and a "required" output would stop
    // (seen: 31 frames at 1 kpps in test_mld_querier).
    for (auto& [group, entry] : groups_)
        entry.state.hold_timers_until(now + effective_.query_response_interval);
    events_.push_back({MembershipEvent::Kind::became_querier, own_address_});
}

void InterfaceMembership::defer_to(const IpAddress& querier, TimePoint now)
{
    if (querier_ || other_querier_ != querier)
        events_.push_back({MembershipEvent::Kind::other_querier, querier});
    querier_ = false;
    next_general_query_.reset();
    startup_queries_left_ = 0;
    for (auto& [group, entry] : groups_) {
        // The other querier sends the specific queries now.
        entry.group_queries_left = 0;
        entry.source_queries_left.clear();
        entry.next_specific_query.reset();
    }
    other_querier_ = querier;
    other_querier_expiry_ = now + effective_.other_querier_present_interval();
}

void InterfaceMembership::note_rejected(ParseError error) noexcept
{
    ++counters_.rejected[static_cast<std::size_t>(error)];
}

void InterfaceMembership::receive(const Message& message, const IpAddress& source, TimePoint now)
{
    if (message.kind == Message::Kind::query) {
        receive_query(message, source, now);
        return;
    }
    ++counters_.reports;
    for (const GroupRecord& record : message.records)
        receive_record(record, message.version, now);
}

void InterfaceMembership::receive_query(const Message& message, const IpAddress& source, TimePoint now)
{
    if (source == own_address_ || source.family() != family_)
        return; // our own, looped back
    ++counters_.queries_received;
    // A query from 0.0.0.0 (a snooping switch's) takes no part in the
    // election: every router would lose to it and none would query.
    if (source.is_unspecified())
        return;
    if (!own_address_.is_unspecified() && own_address_ < source)
        return; // we win; the other router defers when it hears us
    if (message.version == ProtocolVersion::v3) {
        // 4.1.6/4.1.7: adopt the querier's values unless it sent 0.
        if (message.query.robustness != 0)
            effective_.robustness = message.query.robustness;
        if (message.query.query_interval.count() != 0)
            effective_.query_interval = message.query.query_interval;
    }
    defer_to(source, now);
    if (message.query.group.is_unspecified() || message.query.suppress_router_processing)
        return;
    // 6.6.1: a specific query with S clear lowers our timers as the querier lowered its own.
    auto it = groups_.find(message.query.group);
    if (it == groups_.end())
        return;
    const TimePoint lmqt = now + effective_.last_member_query_time();
    if (message.query.sources.empty())
        it->second.state.lower_group_timer(lmqt);
    for (const IpAddress& querying : message.query.sources)
        it->second.state.lower_source_timer(querying, lmqt);
}

void InterfaceMembership::receive_record(const GroupRecord& record, ProtocolVersion version, TimePoint now)
{
    if (record.group.family() != family_ || is_link_local_scope(record.group)) {
        ++counters_.records_ignored;
        return;
    }
    auto it = groups_.find(record.group);
    const bool existed = it != groups_.end();
    if (!existed) {
        // Records that leave an absent group INCLUDE({}) create nothing.
        const bool creates = record.type == RecordType::is_exclude || record.type == RecordType::to_exclude ||
                             (record.type != RecordType::block && !record.sources.empty());
        if (!creates) {
            ++counters_.records;
            return;
        }
        if (groups_.size() >= config_.max_groups) {
            ++counters_.groups_refused;
            if (!limit_reported_)
                events_.push_back({MembershipEvent::Kind::group_limit_reached, record.group});
            limit_reported_ = true;
            return;
        }
        it = groups_.emplace(record.group, GroupEntry{}).first;
    }
    GroupEntry& entry = it->second;
    const ForwardingView before = entry.state.forwarding_view();

    if (version != ProtocolVersion::v3)
        entry.state.note_older_host(version, now + effective_.older_host_present_interval());
    const ProtocolVersion compatibility = entry.state.compatibility(now);
    std::span<const IpAddress> sources = record.sources;
    if (compatibility != ProtocolVersion::v3) {
        // 7.3.2: BLOCK is ignored and TO_EX's sources are, as older hosts
        // would miss the traffic those sources would still need.
        if (record.type == RecordType::block) {
            ++counters_.records_ignored;
            return;
        }
        if (record.type == RecordType::to_exclude)
            sources = {};
        // In IGMPv1 mode a leave is ignored: v1 hosts never send one, so
        // one leave must not cut them off.
        if (compatibility == ProtocolVersion::v1 && version == ProtocolVersion::v2 &&
            record.type == RecordType::to_include) {
            ++counters_.records_ignored;
            return;
        }
    }
    ++counters_.records;
    const QueryRequest request = entry.state.apply(record.type, sources, effective_, now, counters_.sources_refused);
    if (entry.state.is_empty()) {
        if (existed)
            events_.push_back({MembershipEvent::Kind::listeners_lost, record.group});
        groups_.erase(it);
        return;
    }
    if (!existed)
        events_.push_back({MembershipEvent::Kind::listeners_gained, record.group});
    else if (entry.state.forwarding_view() != before)
        events_.push_back({MembershipEvent::Kind::sources_changed, record.group});
    request_queries(entry, record.group, request, now);
}

void InterfaceMembership::request_queries(GroupEntry& entry, const IpAddress& group, const QueryRequest& request,
                                          TimePoint now)
{
    if (!querier_ || (!request.group && request.sources.empty()))
        return;
    // 6.6.3: lower the timers now, send at once, then LMQC-1 more each LMQI.
    const TimePoint lmqt = now + effective_.last_member_query_time();
    if (request.group) {
        entry.state.lower_group_timer(lmqt);
        entry.group_queries_left = effective_.last_member_query_count();
    }
    for (const IpAddress& source : request.sources) {
        entry.state.lower_source_timer(source, lmqt);
        entry.source_queries_left[source] = effective_.last_member_query_count();
    }
    send_specific_queries(entry, group, now);
}

OutgoingQuery InterfaceMembership::query_for(const IpAddress& group) const
{
    OutgoingQuery query;
    query.group = group;
    query.destination = group.is_unspecified() ? all_systems_group(family_) : group;
    query.max_response = group.is_unspecified() ? effective_.query_response_interval : effective_.last_member_interval;
    query.robustness = effective_.robustness;
    query.query_interval = effective_.query_interval;
    return query;
}

void InterfaceMembership::send_specific_queries(GroupEntry& entry, const IpAddress& group, TimePoint now)
{
    // The S flag tells other routers not to lower a timer a report has
    // raised since the first query (6.6.3.1, 6.6.3.2).
    const TimePoint lmqt = now + effective_.last_member_query_time();
    if (entry.group_queries_left > 0) {
        OutgoingQuery query = query_for(group);
        query.suppress_router_processing = entry.state.group_expiry() && *entry.state.group_expiry() > lmqt;
        queries_.push_back(std::move(query));
        --entry.group_queries_left;
    }
    OutgoingQuery suppressed = query_for(group);
    suppressed.suppress_router_processing = true;
    OutgoingQuery lowering = query_for(group);
    for (auto it = entry.source_queries_left.begin(); it != entry.source_queries_left.end();) {
        auto timer = entry.state.sources().find(it->first);
        if (timer == entry.state.sources().end()) {
            it = entry.source_queries_left.erase(it);
            continue;
        }
        const bool above = timer->second && *timer->second > lmqt;
        (above ? suppressed : lowering).sources.push_back(it->first);
        it = --it->second == 0 ? entry.source_queries_left.erase(it) : std::next(it);
    }
    for (OutgoingQuery* query : {&suppressed, &lowering})
        if (!query->sources.empty())
            queries_.push_back(std::move(*query));
    const bool more = entry.group_queries_left > 0 || !entry.source_queries_left.empty();
    entry.next_specific_query = more ? std::optional{now + effective_.last_member_interval} : std::nullopt;
}

void InterfaceMembership::send_general_query(TimePoint now)
{
    queries_.push_back(query_for(unspecified()));
    if (startup_queries_left_ > 0)
        --startup_queries_left_;
    next_general_query_ = now + (startup_queries_left_ > 0 ? effective_.startup_query_interval()
                                                           : effective_.query_interval);
}

void InterfaceMembership::advance(TimePoint now)
{
    if (!querier_ && other_querier_expiry_ && *other_querier_expiry_ <= now && !own_address_.is_unspecified())
        become_querier(now); // 6.6.2: the other querier went quiet
    if (querier_ && next_general_query_ && *next_general_query_ <= now)
        send_general_query(now);
    for (auto it = groups_.begin(); it != groups_.end();) {
        GroupEntry& entry = it->second;
        if (querier_ && entry.next_specific_query && *entry.next_specific_query <= now)
            send_specific_queries(entry, it->first, now);
        if (entry.state.expire(now)) {
            if (entry.state.is_empty()) {
                events_.push_back({MembershipEvent::Kind::listeners_lost, it->first});
                it = groups_.erase(it);
                continue;
            }
            events_.push_back({MembershipEvent::Kind::sources_changed, it->first});
        }
        ++it;
    }
    if (groups_.size() < config_.max_groups)
        limit_reported_ = false;
}

std::optional<TimePoint> InterfaceMembership::next_deadline() const
{
    std::optional<TimePoint> next;
    auto consider = [&next](const std::optional<TimePoint>& at) {
        if (at && (!next || *at < *next))
            next = at;
    };
    if (querier_)
        consider(next_general_query_);
    else if (!own_address_.is_unspecified())
        consider(other_querier_expiry_);
    for (const auto& [group, entry] : groups_) {
        consider(entry.state.next_deadline());
        if (querier_)
            consider(entry.next_specific_query);
    }
    return next;
}

std::vector<OutgoingQuery> InterfaceMembership::take_queries()
{
    counters_.queries_sent += queries_.size();
    return std::exchange(queries_, {});
}

std::vector<MembershipEvent> InterfaceMembership::take_events()
{
    return std::exchange(events_, {});
}

bool InterfaceMembership::forwards(const IpAddress& group, const IpAddress& source) const
{
    auto it = groups_.find(group);
    return it != groups_.end() && it->second.state.forwards(source);
}

std::vector<GroupView> InterfaceMembership::groups(TimePoint now) const
{
    auto remaining = [now](TimePoint at) {
        return std::max(Milliseconds{0}, std::chrono::duration_cast<Milliseconds>(at - now));
    };
    std::vector<GroupView> views;
    views.reserve(groups_.size());
    for (const auto& [group, entry] : groups_) {
        GroupView view;
        view.group = group;
        view.mode = entry.state.mode();
        view.compatibility = entry.state.compatibility(now);
        if (entry.state.mode() == FilterMode::exclude && entry.state.group_expiry())
            view.group_remaining = remaining(*entry.state.group_expiry());
        for (const auto& [source, expiry] : entry.state.sources())
            view.sources.push_back({source, expiry ? std::optional{remaining(*expiry)} : std::nullopt});
        views.push_back(std::move(view));
    }
    return views;
}

} // namespace mcr::membership
