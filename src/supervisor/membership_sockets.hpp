// The sockets the supervisor runs IGMP with on one interface (issue 19):
// an AF_PACKET socket that receives every IGMP datagram on the link, and a
// raw IGMP socket that sends our queries with TTL 1 and a router alert.
// Why AF_PACKET to receive: membership/ip_envelope.hpp.
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
    unique_fd receive; // AF_PACKET SOCK_DGRAM ETH_P_IP, IGMP only (classic BPF), all multicast
    unique_fd send;    // AF_INET SOCK_RAW IPPROTO_IGMP, bound to `own_address`, reads nothing
};

// CAP_NET_RAW. `own_address` is the source of our queries (an IPv4 address
// of the interface).
[[nodiscard]] Result<MembershipSockets> open_igmp_sockets(const std::string& ifname, int ifindex,
                                                          const IpAddress& own_address);

// One datagram from the receive socket into `buffer`: its length, 0 for
// one to skip (our own, sent from this host), -EAGAIN when none is left.
[[nodiscard]] int receive_membership_datagram(int fd, std::vector<std::uint8_t>& buffer);

// Sends an IGMP message built by membership/query_build.hpp to `destination`.
[[nodiscard]] int send_igmp(int fd, std::span<const std::uint8_t> message, const IpAddress& destination);

} // namespace mcr::supervisor
