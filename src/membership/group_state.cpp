// The RFC 3376 section 6.4 tables, row by row. In the comments A is the
// current source set (INCLUDE) or X/Y (EXCLUDE: timers running/stopped),
// B the record's sources; MLDv2 (RFC 3810 7.4) has the same tables.
#include "group_state.hpp"

#include <algorithm>
#include <set>

namespace mcr::membership {

namespace {

std::vector<IpAddress> unique_sorted(std::span<const IpAddress> sources)
{
    std::vector<IpAddress> out(sources.begin(), sources.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

bool contains(const std::vector<IpAddress>& sorted, const IpAddress& address)
{
    return std::binary_search(sorted.begin(), sorted.end(), address);
}

} // namespace

bool GroupState::set_source_timer(const IpAddress& source, std::optional<TimePoint> expiry,
                                  const MembershipConfig& config, std::uint64_t& refused_sources)
{
    auto it = sources_.find(source);
    if (it != sources_.end()) {
        it->second = expiry;
        return true;
    }
    if (sources_.size() >= config.max_sources_per_group) {
        ++refused_sources;
        return false;
    }
    sources_.emplace(source, expiry);
    return true;
}

void GroupState::enter_exclude(const std::vector<IpAddress>& b, std::optional<TimePoint> new_source_expiry,
                               const MembershipConfig& config, std::uint64_t& refused_sources)
{
    // Delete what B does not name; sources in B that exist keep their
    // timers (INCLUDE's A*B and EXCLUDE's A-Y become X, Y*A stays Y).
    std::erase_if(sources_, [&](const auto& entry) { return !contains(b, entry.first); });
    for (const IpAddress& source : b)
        if (!sources_.contains(source))
            (void)set_source_timer(source, new_source_expiry, config, refused_sources);
    mode_ = FilterMode::exclude;
}

QueryRequest GroupState::apply(RecordType type, std::span<const IpAddress> record_sources,
                               const MembershipConfig& config, TimePoint now, std::uint64_t& refused_sources)
{
    const std::vector<IpAddress> b = unique_sorted(record_sources);
    const TimePoint gmi = now + config.group_membership_interval();
    QueryRequest query;
    auto set_all_gmi = [&] {
        for (const IpAddress& source : b)
            (void)set_source_timer(source, gmi, config, refused_sources);
    };

    if (mode_ == FilterMode::include) {
        switch (type) {
        case RecordType::is_include: // INCLUDE (A+B); (B)=GMI
        case RecordType::allow:
            set_all_gmi();
            break;
        case RecordType::to_include: // INCLUDE (A+B); (B)=GMI; Send Q(G,A-B)
            for (const auto& [source, expiry] : sources_)
                if (!contains(b, source))
                    query.sources.push_back(source);
            set_all_gmi();
            break;
        case RecordType::block: // INCLUDE (A); Send Q(G,A*B)
            for (const IpAddress& source : b)
                if (sources_.contains(source))
                    query.sources.push_back(source);
            break;
        case RecordType::is_exclude: // EXCLUDE (A*B, B-A); (B-A)=0; Delete (A-B); GT=GMI
        case RecordType::to_exclude: // the same, and Send Q(G,A*B)
            if (type == RecordType::to_exclude)
                for (const IpAddress& source : b)
                    if (sources_.contains(source))
                        query.sources.push_back(source);
            enter_exclude(b, std::nullopt, config, refused_sources);
            group_expiry_ = gmi;
            break;
        }
        return query;
    }

    switch (type) {
    case RecordType::is_include: // EXCLUDE (X+A, Y-A); (A)=GMI
    case RecordType::allow:
        set_all_gmi();
        break;
    case RecordType::to_include: // EXCLUDE (X+A, Y-A); (A)=GMI; Send Q(G,X-A); Send Q(G)
        for (const auto& [source, expiry] : sources_)
            if (expiry && !contains(b, source))
                query.sources.push_back(source);
        set_all_gmi();
        query.group = true;
        break;
    case RecordType::block: // EXCLUDE (X+(A-Y), Y); (A-X-Y)=Group Timer; Send Q(G,A-Y)
        for (const IpAddress& source : b) {
            auto it = sources_.find(source);
            if (it != sources_.end() && !it->second)
                continue; // in Y
            if (it != sources_.end() || set_source_timer(source, group_expiry_, config, refused_sources))
                query.sources.push_back(source);
        }
        break;
    case RecordType::is_exclude: // EXCLUDE (A-Y, Y*A); (A-X-Y)=GMI; Delete (X-A); Delete (Y-A); GT=GMI
        enter_exclude(b, gmi, config, refused_sources);
        group_expiry_ = gmi;
        break;
    case RecordType::to_exclude: // as IS_EX but (A-X-Y)=Group Timer; Send Q(G,A-Y)
        enter_exclude(b, group_expiry_, config, refused_sources);
        for (const auto& [source, expiry] : sources_)
            if (expiry)
                query.sources.push_back(source);
        group_expiry_ = gmi;
        break;
    }
    return query;
}

bool GroupState::expire(TimePoint now)
{
    bool changed = false;
    for (auto it = sources_.begin(); it != sources_.end();) {
        if (it->second && *it->second <= now) {
            changed = true;
            if (mode_ == FilterMode::include) { // 6.3: the source is deleted
                it = sources_.erase(it);
                continue;
            }
            it->second.reset(); // EXCLUDE: the source moves to Y
        }
        ++it;
    }
    if (mode_ == FilterMode::exclude && group_expiry_ && *group_expiry_ <= now) {
        // 6.5: back to INCLUDE, keeping only sources whose timers run.
        std::erase_if(sources_, [](const auto& entry) { return !entry.second; });
        mode_ = FilterMode::include;
        group_expiry_.reset();
        changed = true;
    }
    return changed;
}

void GroupState::lower_group_timer(TimePoint until)
{
    if (group_expiry_ && *group_expiry_ > until)
        group_expiry_ = until;
}

void GroupState::lower_source_timer(const IpAddress& source, TimePoint until)
{
    auto it = sources_.find(source);
    if (it != sources_.end() && it->second && *it->second > until)
        it->second = until;
}

void GroupState::hold_timers_until(TimePoint until)
{
    if (group_expiry_ && *group_expiry_ < until)
        group_expiry_ = until;
    for (auto& [source, expiry] : sources_)
        if (expiry && *expiry < until)
            expiry = until;
}

void GroupState::note_older_host(ProtocolVersion version, TimePoint until)
{
    if (version == ProtocolVersion::v1)
        v1_host_until_ = until;
    else if (version == ProtocolVersion::v2)
        v2_host_until_ = until;
}

ProtocolVersion GroupState::compatibility(TimePoint now) const
{
    if (v1_host_until_ && *v1_host_until_ > now)
        return ProtocolVersion::v1;
    if (v2_host_until_ && *v2_host_until_ > now)
        return ProtocolVersion::v2;
    return ProtocolVersion::v3;
}

bool GroupState::forwards(const IpAddress& source) const
{
    if (source.is_unspecified())
        return !is_empty();
    auto it = sources_.find(source);
    if (mode_ == FilterMode::include)
        return it != sources_.end();
    return it == sources_.end() || it->second.has_value();
}

std::optional<TimePoint> GroupState::next_deadline() const
{
    std::optional<TimePoint> next = mode_ == FilterMode::exclude ? group_expiry_ : std::nullopt;
    for (const auto& [source, expiry] : sources_)
        if (expiry && (!next || *expiry < *next))
            next = expiry;
    return next;
}

ForwardingView GroupState::forwarding_view() const
{
    ForwardingView view;
    view.mode = mode_;
    for (const auto& [source, expiry] : sources_)
        (expiry ? view.requested : view.excluded).push_back(source);
    return view;
}

} // namespace mcr::membership
