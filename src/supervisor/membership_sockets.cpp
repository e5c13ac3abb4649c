// Socket options of the IGMP and MLD queriers; every failure names the option.
#include "membership_sockets.hpp"

#include "membership/query_build.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace mcr::supervisor {

namespace {

constexpr std::uint8_t kProtocolIgmp = 2;
constexpr std::uint8_t kNextHeaderHopByHop = 0;
constexpr std::uint8_t kNextHeaderIcmpv6 = 58;
// MLD message types (RFC 3810 5, RFC 2710 3.1): query, v1 report, v1 done, v2 report.
constexpr std::uint8_t kMldQuery = 130;
constexpr std::uint8_t kMldV1Report = 131;
constexpr std::uint8_t kMldV1Done = 132;
constexpr std::uint8_t kMldV2Report = 143;
// Reports arrive in bursts (a general query asks every host at once); the
// default buffer would drop some under a 10 000-report flood.
constexpr int kReceiveBufferBytes = 1024 * 1024;

Error failure(const std::string& ifname, const std::string& what, const char* protocol = "IGMP")
{
    return Error{ifname, std::string(protocol) + " socket: " + what + ": " + std::strerror(errno)};
}

// Accepts IPv4 datagrams whose protocol byte (offset 9 at the network
// header: SOCK_DGRAM starts there) is IGMP; everything else stays in the kernel.
const sock_filter kIgmpOnly[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kProtocolIgmp, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
};
// Accepts IPv6 datagrams carrying ICMPv6 of an MLD type, right after the
// IPv6 header or after a Hop-by-Hop header (where MLD's router alert
// lives); the type byte sits after the Hop-by-Hop header, whose length
// byte (offset 41) counts 8-byte units beyond the first. MLD without the
// Hop-by-Hop header is let through too, so that parse_mld counts it as
// missing its router alert instead of the kernel dropping it unseen.
// Neighbour discovery and the rest of ICMPv6 stay in the kernel.
const sock_filter kMldOnly[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNextHeaderHopByHop, 0, 7),
    /* 2 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 40),
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNextHeaderIcmpv6, 0, 12),
    /* 4 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 41),
    /* 5 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
    /* 6 */ BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 3),
    /* 7 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
    /* 8 */ BPF_STMT(BPF_JMP | BPF_JA, 2),
    /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNextHeaderIcmpv6, 0, 6),
    /* 10 */ BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 0),
    /* 11 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 40),
    /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kMldQuery, 4, 0),
    /* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kMldV1Report, 3, 0),
    /* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kMldV1Done, 2, 0),
    /* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kMldV2Report, 1, 0),
    /* 16 */ BPF_STMT(BPF_RET | BPF_K, 0),
    /* 17 */ BPF_STMT(BPF_RET | BPF_K, 0xffff),
};
// The send socket never reads: a raw IGMP socket would otherwise queue
// every report for the groups this host joined.
const sock_filter kNothing[] = {
    BPF_STMT(BPF_RET | BPF_K, 0),
};

template <std::size_t N>
int attach_filter(int fd, const sock_filter (&program)[N])
{
    const sock_fprog fprog{static_cast<unsigned short>(N), const_cast<sock_filter*>(program)};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog));
}

template <std::size_t N>
Result<unique_fd> open_receive_socket(const std::string& ifname, int ifindex, std::uint16_t ethertype,
                                      const sock_filter (&program)[N], const char* protocol)
{
    unique_fd fd(socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ethertype)));
    if (!fd)
        return failure(ifname, "AF_PACKET socket", protocol);
    // The filter goes on before the bind, so no other frame is ever queued.
    if (attach_filter(fd.get(), program) < 0)
        return failure(ifname, "SO_ATTACH_FILTER", protocol);
    (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes, sizeof(kReceiveBufferBytes));
    sockaddr_ll link{};
    link.sll_family = AF_PACKET;
    link.sll_protocol = htons(ethertype);
    link.sll_ifindex = ifindex;
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&link), sizeof(link)) < 0)
        return failure(ifname, "bind to the interface", protocol);
    // Reports go to 224.0.0.22 / ff02::16, to 224.0.0.2 / ff02::2 and to
    // every reported group: a NIC that filters multicast by address must
    // pass them all.
    packet_mreq all_multicast{};
    all_multicast.mr_ifindex = ifindex;
    all_multicast.mr_type = PACKET_MR_ALLMULTI;
    if (setsockopt(fd.get(), SOL_PACKET, PACKET_ADD_MEMBERSHIP, &all_multicast, sizeof(all_multicast)) < 0)
        return failure(ifname, "PACKET_MR_ALLMULTI", protocol);
    return fd;
}

} // namespace

Result<MembershipSockets> open_igmp_sockets(const std::string& ifname, int ifindex, const IpAddress& own_address)
{
    MembershipSockets sockets;
    Result<unique_fd> receive = open_receive_socket(ifname, ifindex, ETH_P_IP, kIgmpOnly, "IGMP");
    if (!receive)
        return receive.error();
    sockets.receive = std::move(*receive);

    sockets.send.reset(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_IGMP));
    if (!sockets.send)
        return failure(ifname, "raw IGMP socket");
    if (attach_filter(sockets.send.get(), kNothing) < 0)
        return failure(ifname, "SO_ATTACH_FILTER on the send socket");
    if (setsockopt(sockets.send.get(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                   static_cast<socklen_t>(ifname.size())) < 0)
        return failure(ifname, "SO_BINDTODEVICE");
    ip_mreqn interface{};
    interface.imr_ifindex = ifindex;
    const unsigned char ttl = 1;
    const unsigned char loop = 0;
    if (setsockopt(sockets.send.get(), IPPROTO_IP, IP_MULTICAST_IF, &interface, sizeof(interface)) < 0 ||
        setsockopt(sockets.send.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
        setsockopt(sockets.send.get(), IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) < 0)
        return failure(ifname, "multicast options");
    if (setsockopt(sockets.send.get(), IPPROTO_IP, IP_OPTIONS, membership::kIpv4RouterAlertOption.data(),
                   membership::kIpv4RouterAlertOption.size()) < 0)
        return failure(ifname, "IP_OPTIONS (router alert)");
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(own_address.ipv4());
    if (bind(sockets.send.get(), reinterpret_cast<const sockaddr*>(&source), sizeof(source)) < 0)
        return failure(ifname, "bind to " + own_address.to_string());
    return sockets;
}

Result<MembershipSockets> open_mld_sockets(const std::string& ifname, int ifindex, const IpAddress& own_address)
{
    constexpr const char* kMld = "MLD";
    MembershipSockets sockets;
    Result<unique_fd> receive = open_receive_socket(ifname, ifindex, ETH_P_IPV6, kMldOnly, kMld);
    if (!receive)
        return receive.error();
    sockets.receive = std::move(*receive);

    // The kernel computes the checksum of ICMPv6 raw sockets (RFC 3542 3.1)
    // over the pseudo-header with the source it chose: the bind below.
    sockets.send.reset(socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6));
    if (!sockets.send)
        return failure(ifname, "raw ICMPv6 socket", kMld);
    if (attach_filter(sockets.send.get(), kNothing) < 0)
        return failure(ifname, "SO_ATTACH_FILTER on the send socket", kMld);
    if (setsockopt(sockets.send.get(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                   static_cast<socklen_t>(ifname.size())) < 0)
        return failure(ifname, "SO_BINDTODEVICE", kMld);
    const int hops = 1;
    const unsigned loop = 0;
    if (setsockopt(sockets.send.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) < 0 ||
        setsockopt(sockets.send.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
        setsockopt(sockets.send.get(), IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop)) < 0)
        return failure(ifname, "multicast options", kMld);
    // A sticky Hop-by-Hop header with the router alert (RFC 2711) on every
    // query; setting it needs CAP_NET_RAW, which the raw socket needs anyway.
    if (setsockopt(sockets.send.get(), IPPROTO_IPV6, IPV6_HOPOPTS, membership::kIpv6RouterAlertHopByHop.data(),
                   membership::kIpv6RouterAlertHopByHop.size()) < 0)
        return failure(ifname, "IPV6_HOPOPTS (router alert)", kMld);
    sockaddr_in6 source{};
    source.sin6_family = AF_INET6;
    std::memcpy(&source.sin6_addr, own_address.bytes().data(), sizeof(source.sin6_addr));
    source.sin6_scope_id = static_cast<std::uint32_t>(ifindex);
    if (bind(sockets.send.get(), reinterpret_cast<const sockaddr*>(&source), sizeof(source)) < 0)
        return failure(ifname, "bind to " + own_address.to_string(), kMld);
    return sockets;
}

int receive_membership_datagram(int fd, std::vector<std::uint8_t>& buffer)
{
    sockaddr_ll from{};
    socklen_t from_length = sizeof(from);
    const ssize_t n = recvfrom(fd, buffer.data(), buffer.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&from),
                               &from_length);
    if (n < 0)
        return -errno;
    if (from.sll_pkttype == PACKET_OUTGOING)
        return 0;
    // MSG_TRUNC reports the real length: a datagram larger than the buffer
    // is cut to it, and the envelope check then finds it truncated.
    return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(n), buffer.size()));
}

int send_igmp(int fd, std::span<const std::uint8_t> message, const IpAddress& destination)
{
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(destination.ipv4());
    if (sendto(fd, message.data(), message.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) < 0)
        return -errno;
    return 0;
}

int send_mld(int fd, std::span<const std::uint8_t> message, const IpAddress& destination, int ifindex)
{
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    std::memcpy(&to.sin6_addr, destination.bytes().data(), sizeof(to.sin6_addr));
    to.sin6_scope_id = static_cast<std::uint32_t>(ifindex);
    if (sendto(fd, message.data(), message.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) < 0)
        return -errno;
    return 0;
}

} // namespace mcr::supervisor
