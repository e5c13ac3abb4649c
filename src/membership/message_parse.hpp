// Validation and parsing of received IGMPv1/v2/v3 and MLDv1/v2 messages.
// Every length is checked against the datagram before it is read, so a
// hostile count (a source list longer than the packet) is an error, never
// a read past the end; nothing here allocates more than the packet holds.
#pragma once

#include "core/result.hpp"
#include "message.hpp"

namespace mcr::membership {

// IPv4: packet.payload is the IGMP message. TTL must be 1; the router alert
// option is required of all but IGMPv1 messages (RFC 1112 predates it).
[[nodiscard]] Result<Message, ParseError> parse_igmp(const ReceivedPacket& packet);

// IPv6: packet.payload is the ICMPv6 message. Hop limit 1, a link-local
// source (RFC 3810 5.1.14, 5.2.13) and the router alert are required; the
// checksum covers the RFC 8200 pseudo-header.
[[nodiscard]] Result<Message, ParseError> parse_mld(const ReceivedPacket& packet);

// The ICMPv6 checksum over the pseudo-header and `message`: 0 for a valid
// received message; for one being built (checksum field 0), the value to store.
[[nodiscard]] std::uint16_t icmpv6_checksum(const IpAddress& source, const IpAddress& destination,
                                            std::span<const std::uint8_t> message);

} // namespace mcr::membership
