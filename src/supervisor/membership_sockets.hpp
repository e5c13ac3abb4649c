// The sockets the supervisor runs IGMP or MLD with on one interface (issue
// 19): an AF_PACKET socket that receives every IGMP (or MLD) datagram on the
// link, and a raw IGMP (ICMPv6) socket that sends our queries with TTL (hop
// limit) 1 and a router alert. Why AF_PACKET to receive:
// membership/ip_envelope.hpp.
#pragma once

#include "core/address.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mcr::supervisor {

struct MembershipSockets {
    // AF_PACKET SOCK_DGRAM, all multicast; ETH_P_IP with IGMP only, or
    // ETH_P_IPV6 with MLD only (classic BPF)
    unique_fd receive;
    // SOCK_RAW IPPROTO_IGMP or IPPROTO_ICMPV6, bound to `own_address`, reads nothing
    unique_fd send;
};

// CAP_NET_RAW. `own_address` is the source of our queries (an IPv4 address
// of the interface).
[[nodiscard]] Result<MembershipSockets> open_igmp_sockets(const std::string& ifname, int ifindex,
                                                          const IpAddress& own_address);

// CAP_NET_RAW. `own_address` is an IPv6 link-local address of the
// interface: MLD messages must come from one (RFC 3810 5.1.14).
[[nodiscard]] Result<MembershipSockets> open_mld_sockets(const std::string& ifname, int ifindex,
                                                         const IpAddress& own_address);

// One datagram from the receive socket into `buffer`: its length, 0 for
// one to skip (our own, sent from this host), -EAGAIN when none is left.
[[nodiscard]] int receive_membership_datagram(int fd, std::vector<std::uint8_t>& buffer);

// Sends an IGMP message built by membership/query_build.hpp to `destination`.
[[nodiscard]] int send_igmp(int fd, std::span<const std::uint8_t> message, const IpAddress& destination);

// Sends an MLD message built by membership/query_build.hpp to `destination`
// (link-scoped: `ifindex` is its zone).
[[nodiscard]] int send_mld(int fd, std::span<const std::uint8_t> message, const IpAddress& destination, int ifindex);

} // namespace mcr::supervisor
