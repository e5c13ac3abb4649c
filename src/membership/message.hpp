// IGMP and MLD messages as the membership engine sees them, one shape for
// both families: a query, or a report as group records. IGMPv1/v2 reports
// and leaves and MLDv1 reports and dones arrive as the RFC 3376 7.3.2 /
// RFC 3810 8.3.2 equivalent records (IS_EX({}), TO_IN({})) tagged with the
// version that sent them, so the engine has one set of rules.
#pragma once

#include "core/address.hpp"
#include "membership_config.hpp"

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace mcr::membership {

// The query types on the wire (IGMP type 0x11, ICMPv6 type 130), which both
// the parser and the query builder use.
inline constexpr std::uint8_t kIgmpQuery = 0x11;
inline constexpr std::uint8_t kMldQuery = 130;

// The protocol generation of a sender. MLD has two, which behave as
// IGMPv2 (MLDv1) and IGMPv3 (MLDv2); so v1 only ever comes from IGMP.
enum class ProtocolVersion : std::uint8_t { v1 = 1, v2 = 2, v3 = 3 };

// RFC 3376 4.2.12 / RFC 3810 5.2.12 record types, with their wire values.
enum class RecordType : std::uint8_t {
    is_include = 1, // MODE_IS_INCLUDE
    is_exclude = 2, // MODE_IS_EXCLUDE
    to_include = 3, // CHANGE_TO_INCLUDE_MODE
    to_exclude = 4, // CHANGE_TO_EXCLUDE_MODE
    allow = 5,      // ALLOW_NEW_SOURCES
    block = 6,      // BLOCK_OLD_SOURCES
};

struct GroupRecord {
    RecordType type = RecordType::is_include;
    IpAddress group;
    std::vector<IpAddress> sources;
};

struct QueryFields {
    IpAddress group; // unspecified: a general query
    // The S flag: receiving routers do not lower their timers.
    bool suppress_router_processing = false;
    Milliseconds max_response{0};
    unsigned robustness = 0;      // QRV; 0 when absent (older versions)
    Milliseconds query_interval{0}; // QQIC; 0 when absent
    std::vector<IpAddress> sources;
};

struct Message {
    enum class Kind : std::uint8_t { query, report };
    Kind kind = Kind::report;
    ProtocolVersion version = ProtocolVersion::v3;
    QueryFields query;                // when kind == query
    std::vector<GroupRecord> records; // when kind == report
};

// What the receiving socket told the caller about one IGMP or ICMPv6
// datagram: the payload after the IP header (and its extension headers).
struct ReceivedPacket {
    std::span<const std::uint8_t> payload;
    IpAddress source;
    IpAddress destination;
    int hop_limit = 0;     // IPv4 TTL or IPv6 hop limit
    bool router_alert = false;
};

// Why a datagram was not accepted. `not_membership` is not malformed: a
// valid message of another kind (DVMRP, mtrace, other ICMPv6).
enum class ParseError : std::uint8_t {
    truncated,            // shorter than its type's fixed part or its own counts
    bad_length,           // a length no version defines (IGMP queries of 9..11 bytes)
    bad_checksum,
    bad_hop_limit,        // not 1
    missing_router_alert, // required on all but IGMPv1
    bad_source,           // MLD from a non-link-local address; any from multicast
    bad_group,            // a group that is not multicast (or a query's not 0)
    bad_record,           // unknown record type, or a source that is not unicast
    not_membership,
};
inline constexpr std::size_t kParseErrorCount = 9;

[[nodiscard]] std::string_view to_string(ParseError error) noexcept;
[[nodiscard]] std::string_view to_string(RecordType type) noexcept;

// Groups of link-local scope (224.0.0.0/24, ff01::/16, ff02::/16) are never
// routed, so routers keep no state for them.
[[nodiscard]] bool is_link_local_scope(const IpAddress& group) noexcept;

} // namespace mcr::membership
