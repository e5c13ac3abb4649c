// Listener state of outputs as mcrctl shows it (status, stats, show):
// GetStats gives an output whose "listeners" is "required" its "listening"
// and "no_listener", and the IGMP/MLD "membership" per interface tells how
// much the querier knows there. "always" outputs have neither.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mcr::ctl {

// An output that requires listeners, as GetStats reports it.
struct OutputListenerRow {
    bool listening = false;         // a listener is known: copies are sent
    std::uint64_t no_listener = 0;  // copies held while none was
};

// One group as the querier of an interface knows it.
struct MembershipGroupRow {
    std::string group;          // as the daemon prints it ("239.1.1.1", "ff3e::1")
    std::string mode;           // "include" | "exclude"
    std::uint64_t version = 0;  // IGMP 1..3, MLD 1..2: the oldest host's
    std::size_t sources = 0;    // sources listed (EXCLUDE: blocked ones)
};

// One interface and protocol of GetStats' / GetMembership's "membership".
struct MembershipRow {
    std::string interface;
    std::string protocol;       // "igmp" | "mld"
    bool querier = false;
    std::vector<MembershipGroupRow> groups;
};

// GetStats' "membership" (or GetMembership's array); entries that are not
// objects are skipped, missing fields read as empty.
[[nodiscard]] std::vector<MembershipRow> parse_membership(const nlohmann::json& array);
// The output's "listening"/"no_listener", or nullopt for an "always" output.
[[nodiscard]] std::optional<OutputListenerRow> parse_output_listeners(const nlohmann::json& output);

// What the querier on the output's interface (of the output address's
// family) knows: how many groups, and the output's own group if reported.
struct OutputMembership {
    std::size_t groups = 0;                    // on the interface, this protocol
    std::optional<MembershipGroupRow> group;   // the output's group
    std::string protocol;                      // "IGMP" | "MLD"
};
[[nodiscard]] OutputMembership membership_of(const std::vector<MembershipRow>& membership,
                                             const std::string& interface, const std::string& group);

// "always" | "required"; "sending" | "holding" ("sending" for "always").
[[nodiscard]] std::string listener_policy_text(const std::optional<OutputListenerRow>& listeners);
[[nodiscard]] std::string listener_state_text(const std::optional<OutputListenerRow>& listeners);
// "IGMPv3 exclude, 0 sources" for a reported group, "no report" otherwise.
[[nodiscard]] std::string group_text(const OutputMembership& membership);
// One line for `mcrctl show`: "sending (IGMPv3 exclude, 0 sources; 2 groups
// on eth1), 12 copies held without listener".
[[nodiscard]] std::string listener_summary(const OutputListenerRow& listeners, const OutputMembership& membership,
                                           const std::string& interface);
// The same facts as JSON, for --json of status.
[[nodiscard]] nlohmann::json listener_json(const std::optional<OutputListenerRow>& listeners,
                                           const OutputMembership& membership);

} // namespace mcr::ctl
