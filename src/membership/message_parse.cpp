// The wire formats: RFC 2236 (IGMPv2, with v1's types), RFC 3376 4 (IGMPv3),
// RFC 2710 3 (MLDv1), RFC 3810 5 (MLDv2).
#include "message_parse.hpp"

#include "dataplane/checksum.hpp"
#include "time_codes.hpp"

#include <array>

namespace mcr::membership {

namespace {

constexpr std::uint8_t kIgmpV1Report = 0x12;
constexpr std::uint8_t kIgmpV2Report = 0x16;
constexpr std::uint8_t kIgmpV2Leave = 0x17;
constexpr std::uint8_t kIgmpV3Report = 0x22;
constexpr std::uint8_t kMldV1Report = 131;
constexpr std::uint8_t kMldV1Done = 132;
constexpr std::uint8_t kMldV2Report = 143;
constexpr std::uint8_t kIcmpv6NextHeader = 58;

constexpr std::size_t kIgmpFixedBytes = 8;
constexpr std::size_t kIgmpV3QueryBytes = 12;
constexpr std::size_t kIgmpV3ReportHeaderBytes = 8;
constexpr std::size_t kIgmpV3RecordHeaderBytes = 8;
constexpr std::size_t kMldV1Bytes = 24;
constexpr std::size_t kMldV2QueryBytes = 28;
constexpr std::size_t kMldV2ReportHeaderBytes = 8;
constexpr std::size_t kMldV2RecordHeaderBytes = 20;
// The default Max Response Time of an IGMPv1 query, which has no field.
constexpr Milliseconds kIgmpV1MaxResponse{10'000};

using Bytes = std::span<const std::uint8_t>;

std::uint16_t read16(Bytes b, std::size_t at)
{
    return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

IpAddress read_ipv4(Bytes b, std::size_t at)
{
    return IpAddress::from_ipv4((static_cast<std::uint32_t>(b[at]) << 24) |
                                (static_cast<std::uint32_t>(b[at + 1]) << 16) |
                                (static_cast<std::uint32_t>(b[at + 2]) << 8) | b[at + 3]);
}

IpAddress read_ipv6(Bytes b, std::size_t at)
{
    std::array<std::uint8_t, 16> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = b[at + i];
    return IpAddress::from_ipv6(bytes);
}

bool is_unicast_source(const IpAddress& a)
{
    return !a.is_multicast() && !a.is_unspecified() && !a.is_limited_broadcast();
}

bool is_ipv6_link_local(const IpAddress& a)
{
    return !a.is_ipv4() && a.bytes()[0] == 0xfe && (a.bytes()[1] & 0xc0) == 0x80;
}

// A group field: multicast, or in a query also 0 (a general query).
Result<IpAddress, ParseError> group_field(IpAddress group, bool zero_allowed)
{
    if (group.is_multicast() || (zero_allowed && group.is_unspecified()))
        return group;
    return ParseError::bad_group;
}

// The record list shared by IGMPv3 and MLDv2 reports; `address_bytes` is 4
// or 16, which is all that differs between the two layouts.
Result<std::vector<GroupRecord>, ParseError> parse_records(Bytes message, std::size_t header_bytes,
                                                           std::size_t address_bytes)
{
    const std::size_t record_count = read16(message, 6);
    const std::size_t record_header = 4 + address_bytes;
    auto read_address = [&](std::size_t at) {
        return address_bytes == 4 ? read_ipv4(message, at) : read_ipv6(message, at);
    };
    std::vector<GroupRecord> records;
    std::size_t at = header_bytes;
    for (std::size_t r = 0; r < record_count; ++r) {
        if (message.size() - at < record_header)
            return ParseError::truncated;
        const std::uint8_t type = message[at];
        const std::size_t aux_bytes = std::size_t{message[at + 1]} * 4;
        const std::size_t source_count = read16(message, at + 2);
        // Checked before anything is reserved: the count cannot outrun the datagram.
        const std::size_t body_bytes = source_count * address_bytes + aux_bytes;
        if (message.size() - at - record_header < body_bytes)
            return ParseError::truncated;
        if (type < 1 || type > 6)
            return ParseError::bad_record;
        auto group = group_field(read_address(at + 4), false);
        if (!group)
            return group.error();
        GroupRecord record{static_cast<RecordType>(type), *group, {}};
        record.sources.reserve(source_count);
        for (std::size_t s = 0; s < source_count; ++s) {
            IpAddress source = read_address(at + record_header + s * address_bytes);
            if (!is_unicast_source(source))
                return ParseError::bad_record;
            record.sources.push_back(source);
        }
        records.push_back(std::move(record));
        at += record_header + body_bytes;
    }
    return records;
}

std::vector<GroupRecord> one_record(RecordType type, IpAddress group)
{
    return {GroupRecord{type, group, {}}};
}

Result<Message, ParseError> parse_igmp_query(Bytes m, bool router_alert)
{
    Message message;
    message.kind = Message::Kind::query;
    auto group = group_field(read_ipv4(m, 4), true);
    if (!group)
        return group.error();
    message.query.group = *group;
    if (m.size() == kIgmpFixedBytes) {
        // RFC 3376 7.1: an 8-byte query with code 0 is IGMPv1's, else IGMPv2's.
        message.version = m[1] == 0 ? ProtocolVersion::v1 : ProtocolVersion::v2;
        if (message.version == ProtocolVersion::v2 && !router_alert)
            return ParseError::missing_router_alert;
        message.query.max_response = m[1] == 0 ? kIgmpV1MaxResponse : Milliseconds{m[1] * 100};
        return message;
    }
    if (m.size() < kIgmpV3QueryBytes)
        return ParseError::bad_length;
    if (!router_alert)
        return ParseError::missing_router_alert;
    const std::size_t source_count = read16(m, 10);
    if ((m.size() - kIgmpV3QueryBytes) / 4 < source_count)
        return ParseError::truncated;
    message.version = ProtocolVersion::v3;
    message.query.max_response = Milliseconds{decode_code8(m[1]) * 100};
    message.query.suppress_router_processing = (m[8] & 0x08U) != 0;
    message.query.robustness = m[8] & 0x07U;
    message.query.query_interval = Milliseconds{std::uint64_t{decode_code8(m[9])} * 1000};
    for (std::size_t s = 0; s < source_count; ++s) {
        IpAddress source = read_ipv4(m, kIgmpV3QueryBytes + s * 4);
        if (!is_unicast_source(source))
            return ParseError::bad_record;
        message.query.sources.push_back(source);
    }
    if (!message.query.sources.empty() && message.query.group.is_unspecified())
        return ParseError::bad_group; // sources only make sense for one group
    return message;
}

Result<Message, ParseError> parse_mld_query(Bytes m)
{
    Message message;
    message.kind = Message::Kind::query;
    auto group = group_field(read_ipv6(m, 8), true);
    if (!group)
        return group.error();
    message.query.group = *group;
    message.query.max_response = Milliseconds{read16(m, 4)};
    if (m.size() == kMldV1Bytes) {
        message.version = ProtocolVersion::v2; // MLDv1 behaves as IGMPv2
        return message;
    }
    if (m.size() < kMldV2QueryBytes)
        return ParseError::bad_length;
    const std::size_t source_count = read16(m, 26);
    if ((m.size() - kMldV2QueryBytes) / 16 < source_count)
        return ParseError::truncated;
    message.version = ProtocolVersion::v3;
    message.query.max_response = Milliseconds{decode_code16(read16(m, 4))};
    message.query.suppress_router_processing = (m[24] & 0x08U) != 0;
    message.query.robustness = m[24] & 0x07U;
    message.query.query_interval = Milliseconds{std::uint64_t{decode_code8(m[25])} * 1000};
    for (std::size_t s = 0; s < source_count; ++s) {
        IpAddress source = read_ipv6(m, kMldV2QueryBytes + s * 16);
        if (!is_unicast_source(source))
            return ParseError::bad_record;
        message.query.sources.push_back(source);
    }
    if (!message.query.sources.empty() && message.query.group.is_unspecified())
        return ParseError::bad_group;
    return message;
}

} // namespace

std::uint16_t icmpv6_checksum(const IpAddress& source, const IpAddress& destination, Bytes message)
{
    std::uint32_t sum = dataplane::checksum_accumulate(source.bytes(), 0);
    sum = dataplane::checksum_accumulate(destination.bytes(), sum);
    const auto length = static_cast<std::uint32_t>(message.size());
    const std::array<std::uint8_t, 8> tail = {
        static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
        static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length), 0, 0, 0,
        kIcmpv6NextHeader};
    sum = dataplane::checksum_accumulate(tail, sum);
    sum = dataplane::checksum_accumulate(message, sum);
    return static_cast<std::uint16_t>(~dataplane::checksum_fold(sum));
}

Result<Message, ParseError> parse_igmp(const ReceivedPacket& packet)
{
    const Bytes m = packet.payload;
    if (m.size() < kIgmpFixedBytes)
        return ParseError::truncated;
    const std::uint8_t type = m[0];
    if (type != kIgmpQuery && type != kIgmpV1Report && type != kIgmpV2Report && type != kIgmpV2Leave &&
        type != kIgmpV3Report)
        return ParseError::not_membership;
    if (dataplane::internet_checksum(m) != 0)
        return ParseError::bad_checksum;
    if (packet.hop_limit != 1)
        return ParseError::bad_hop_limit;
    if (packet.source.is_multicast() || packet.source.is_limited_broadcast())
        return ParseError::bad_source;
    if (type == kIgmpQuery)
        return parse_igmp_query(m, packet.router_alert);
    if (type != kIgmpV1Report && !packet.router_alert)
        return ParseError::missing_router_alert;

    Message message;
    message.kind = Message::Kind::report;
    if (type == kIgmpV3Report) {
        auto records = parse_records(m, kIgmpV3ReportHeaderBytes, 4);
        if (!records)
            return records.error();
        message.version = ProtocolVersion::v3;
        message.records = std::move(*records);
        return message;
    }
    if (m.size() != kIgmpFixedBytes)
        return ParseError::bad_length;
    auto group = group_field(read_ipv4(m, 4), false);
    if (!group)
        return group.error();
    message.version = type == kIgmpV1Report ? ProtocolVersion::v1 : ProtocolVersion::v2;
    // RFC 3376 7.3.2: older reports are IS_EX({}), a leave is TO_IN({}).
    message.records = one_record(type == kIgmpV2Leave ? RecordType::to_include : RecordType::is_exclude, *group);
    return message;
}

Result<Message, ParseError> parse_mld(const ReceivedPacket& packet)
{
    const Bytes m = packet.payload;
    if (m.size() < 4)
        return ParseError::truncated;
    const std::uint8_t type = m[0];
    if (type != kMldQuery && type != kMldV1Report && type != kMldV1Done && type != kMldV2Report)
        return ParseError::not_membership;
    const std::size_t fixed = type == kMldV2Report ? kMldV2ReportHeaderBytes : kMldV1Bytes;
    if (m.size() < fixed)
        return ParseError::truncated;
    if (icmpv6_checksum(packet.source, packet.destination, m) != 0)
        return ParseError::bad_checksum;
    if (packet.hop_limit != 1)
        return ParseError::bad_hop_limit;
    if (!is_ipv6_link_local(packet.source))
        return ParseError::bad_source;
    if (!packet.router_alert)
        return ParseError::missing_router_alert;
    if (type == kMldQuery)
        return parse_mld_query(m);

    Message message;
    message.kind = Message::Kind::report;
    if (type == kMldV2Report) {
        static_assert(kMldV2RecordHeaderBytes == 4 + 16 && kIgmpV3RecordHeaderBytes == 4 + 4);
        auto records = parse_records(m, kMldV2ReportHeaderBytes, 16);
        if (!records)
            return records.error();
        message.version = ProtocolVersion::v3;
        message.records = std::move(*records);
        return message;
    }
    auto group = group_field(read_ipv6(m, 8), false);
    if (!group)
        return group.error();
    message.version = ProtocolVersion::v2;
    message.records = one_record(type == kMldV1Done ? RecordType::to_include : RecordType::is_exclude, *group);
    return message;
}

} // namespace mcr::membership
