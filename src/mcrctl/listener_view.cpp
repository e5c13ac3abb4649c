// Reads and words the listener state of outputs for mcrctl's views.
#include "listener_view.hpp"

namespace mcr::ctl {

using nlohmann::json;

namespace {

std::string string_field(const json& object, const char* key)
{
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string plural(std::size_t count, const char* noun)
{
    return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

} // namespace

std::vector<MembershipRow> parse_membership(const json& array)
{
    std::vector<MembershipRow> rows;
    if (!array.is_array())
        return rows;
    for (const json& entry : array) {
        if (!entry.is_object())
            continue;
        auto querier = entry.find("querier");
        MembershipRow row{string_field(entry, "interface"), string_field(entry, "protocol"),
                          querier != entry.end() && querier->is_boolean() && querier->get<bool>(), {}};
        auto groups = entry.find("groups");
        if (groups != entry.end() && groups->is_array())
            for (const json& group : *groups) {
                if (!group.is_object())
                    continue;
                auto version = group.find("version");
                auto sources = group.find("sources");
                row.groups.push_back({string_field(group, "group"), string_field(group, "mode"),
                                      version != group.end() && version->is_number_unsigned()
                                          ? version->get<std::uint64_t>()
                                          : 0,
                                      sources != group.end() && sources->is_array() ? sources->size() : 0});
            }
        rows.push_back(std::move(row));
    }
    return rows;
}

std::optional<OutputListenerRow> parse_output_listeners(const json& output)
{
    auto listening = output.find("listening");
    auto held = output.find("no_listener");
    // The supervisor adds "listening", the worker "no_listener": either one
    // marks an output that requires listeners.
    if (listening == output.end() && held == output.end())
        return std::nullopt;
    OutputListenerRow row;
    row.listening = listening != output.end() && listening->is_boolean() && listening->get<bool>();
    row.no_listener = held != output.end() && held->is_number_unsigned() ? held->get<std::uint64_t>() : 0;
    return row;
}

OutputMembership membership_of(const std::vector<MembershipRow>& membership, const std::string& interface,
                               const std::string& group)
{
    // IPv6 groups are MLD's, IPv4 ones IGMP's.
    const bool ipv6 = group.find(':') != std::string::npos;
    OutputMembership out;
    out.protocol = ipv6 ? "MLD" : "IGMP";
    for (const MembershipRow& row : membership) {
        if (row.interface != interface || (row.protocol == "mld") != ipv6)
            continue;
        out.groups = row.groups.size();
        for (const MembershipGroupRow& known : row.groups)
            if (known.group == group)
                out.group = known;
    }
    return out;
}

std::string listener_policy_text(const std::optional<OutputListenerRow>& listeners)
{
    return listeners ? "required" : "always";
}

std::string listener_state_text(const std::optional<OutputListenerRow>& listeners)
{
    return !listeners || listeners->listening ? "sending" : "holding";
}

std::string group_text(const OutputMembership& membership)
{
    if (!membership.group)
        return "no report";
    const MembershipGroupRow& group = *membership.group;
    return membership.protocol + "v" + std::to_string(group.version) + " " + group.mode + ", " +
           plural(group.sources, "source");
}

std::string listener_summary(const OutputListenerRow& listeners, const OutputMembership& membership,
                             const std::string& interface)
{
    return listener_state_text(listeners) + " (" + group_text(membership) + "; " +
           plural(membership.groups, "group") + " on " + interface + "), " + std::to_string(listeners.no_listener) +
           " held without listener";
}

json listener_json(const std::optional<OutputListenerRow>& listeners, const OutputMembership& membership)
{
    if (!listeners)
        return {{"listeners", "always"}, {"state", "sending"}};
    json group = nullptr;
    if (membership.group)
        group = {{"mode", membership.group->mode},
                 {"version", membership.group->version},
                 {"sources", membership.group->sources}};
    return {{"listeners", "required"},
            {"state", listener_state_text(listeners)},
            {"no_listener", listeners->no_listener},
            {"groups", membership.groups},
            {"group", std::move(group)}};
}

} // namespace mcr::ctl
