// Names for the message enums, as counters and logs show them.
#include "message.hpp"

namespace mcr::membership {

std::string_view to_string(ParseError error) noexcept
{
    switch (error) {
    case ParseError::truncated: return "truncated";
    case ParseError::bad_length: return "bad_length";
    case ParseError::bad_checksum: return "bad_checksum";
    case ParseError::bad_hop_limit: return "bad_hop_limit";
    case ParseError::missing_router_alert: return "missing_router_alert";
    case ParseError::bad_source: return "bad_source";
    case ParseError::bad_group: return "bad_group";
    case ParseError::bad_record: return "bad_record";
    case ParseError::not_membership: return "not_membership";
    }
    return "unknown";
}

std::string_view to_string(RecordType type) noexcept
{
    switch (type) {
    case RecordType::is_include: return "IS_IN";
    case RecordType::is_exclude: return "IS_EX";
    case RecordType::to_include: return "TO_IN";
    case RecordType::to_exclude: return "TO_EX";
    case RecordType::allow: return "ALLOW";
    case RecordType::block: return "BLOCK";
    }
    return "unknown";
}

bool is_link_local_scope(const IpAddress& group) noexcept
{
    const auto& b = group.bytes();
    if (group.is_ipv4())
        return b[0] == 224 && b[1] == 0 && b[2] == 0;
    const unsigned scope = b[1] & 0x0fU;
    return b[0] == 0xff && (scope == 1 || scope == 2);
}

} // namespace mcr::membership
