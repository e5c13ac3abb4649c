// Journal MESSAGE_ID= values for the events an operator may search for
// (`journalctl MESSAGE_ID=...`); catalog/mcrd.catalog explains each one.
#pragma once

#include <array>
#include <string_view>

namespace mcr::message_id {

// 128-bit ids as 32 lowercase hex digits (generated with `systemd-id128 new`).
// Never reuse or change one: saved journal queries depend on them.
inline constexpr std::string_view kRuleAdded = "3a37356b27794e37a4da29f4d0d5df9a";
inline constexpr std::string_view kRuleRemoved = "0d35a3aefe944e7fa788572a2b24f150";
inline constexpr std::string_view kRuleChanged = "92c08daf90bc4fffa2de9aa5619c813e";
inline constexpr std::string_view kConfigReloaded = "734d109a359845f2aba92a3ffa74cdcb";
inline constexpr std::string_view kLogLevelChanged = "337e8ff710e448a3937e13d64eb97bca";
inline constexpr std::string_view kAuthorizationDenied = "6d5851e5deb842a6960832b291aa207a";
// A write refused for its content (bad rule, unknown name) or that failed.
inline constexpr std::string_view kWriteRejected = "8c8f406371014623b4f4121a79609ba3";
inline constexpr std::string_view kStatsReset = "a907258a91ed49b0ad3092e34d0ae92b";
inline constexpr std::string_view kWorkerStarted = "d3d126068ba54570838357da0df82fd8";
inline constexpr std::string_view kWorkerRestarted = "6ecb69be3ad948aab98a55337ec43941";
inline constexpr std::string_view kWorkerFailed = "71c29bbc5aa245e593e974a57912f702";
inline constexpr std::string_view kInterfaceLost = "bb05772ae1684bef9af408018c00eb18";
inline constexpr std::string_view kInterfaceBack = "813bbd1261834d19bd9048ec27337aa3";
// A rule's inspected stream (its "inspect" setting) started losing (RTP
// gaps, continuity errors, malformed datagrams), and recovered (none for
// 5 s). Logged by the worker, at most once per state change.
inline constexpr std::string_view kStreamLosing = "7dee83a122d24635a11137d8615c00dd";
inline constexpr std::string_view kStreamRecovered = "63a32dc02a5f4bbcae63e6a6e4b1a1b5";
inline constexpr std::string_view kStateFileCorrupt = "7dcdcfd6efa240e49af49200c2383584";
// IGMP/MLD (src/supervisor/listener_tracker.cpp): a group some output with
// "listeners": "required" sends to gained its first listener on that
// output's interface, or lost its last; this relay became the querier on an
// interface, or deferred to another one; an interface reached its group limit.
inline constexpr std::string_view kGroupJoined = "be3e7dc6a23b443bb6e1ddf76dba8de8";
inline constexpr std::string_view kGroupLeft = "ab6b94a9246346d98acc1a099b469eb4";
inline constexpr std::string_view kQuerierElected = "666b402e290f45088bd1513ead085eb1";
inline constexpr std::string_view kQuerierOther = "324b7dd4d38342cdb5efb3b548e7f673";
inline constexpr std::string_view kGroupLimit = "2453ee7f0b2c449a9642d17d009aa91a";

// Every id an audit record (core/audit.hpp) may carry: `mcrctl status`
// reads the last few entries matching any of them.
inline constexpr std::array<std::string_view, 8> kAuditIds = {
    kRuleAdded, kRuleRemoved,         kRuleChanged,   kConfigReloaded,
    kLogLevelChanged, kAuthorizationDenied, kWriteRejected, kStatsReset,
};

} // namespace mcr::message_id
