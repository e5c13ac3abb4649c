// The IP headers around a received IGMP or MLD message, as an AF_PACKET
// socket (SOCK_DGRAM) hands them over: checked and peeled off, with the
// facts the message validation needs (addresses, TTL / hop limit, router
// alert). Raw IP sockets cannot be used to receive: they only see reports
// sent to groups this host joined, and IGMPv2/MLDv1 reports go to the
// reported group itself.
#pragma once

#include "core/result.hpp"
#include "message.hpp"

#include <span>

namespace mcr::membership {

// IPv4 carrying IGMP (protocol 2); fragments are refused (truncated).
[[nodiscard]] Result<ReceivedPacket, ParseError> unwrap_ipv4(std::span<const std::uint8_t> datagram);

// IPv6 carrying ICMPv6 (58), directly or after a Hop-by-Hop header (which
// carries the router alert); other extension headers are not_membership.
[[nodiscard]] Result<ReceivedPacket, ParseError> unwrap_ipv6(std::span<const std::uint8_t> datagram);

} // namespace mcr::membership
