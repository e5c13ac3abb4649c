// Socket options of the IGMP querier; every failure names the option.
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
// Reports arrive in bursts (a general query asks every host at once); the
// default buffer would drop some under a 10 000-report flood.
constexpr int kReceiveBufferBytes = 1024 * 1024;

Error failure(const std::string& ifname, const std::string& what)
{
    return Error{ifname, "IGMP socket: " + what + ": " + std::strerror(errno)};
}

// Accepts IPv4 datagrams whose protocol byte (offset 9 at the network
// header: SOCK_DGRAM starts there) is IGMP; everything else stays in the kernel.
const sock_filter kIgmpOnly[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kProtocolIgmp, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
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

} // namespace

Result<MembershipSockets> open_igmp_sockets(const std::string& ifname, int ifindex, const IpAddress& own_address)
{
    MembershipSockets sockets;
    sockets.receive.reset(socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IP)));
    if (!sockets.receive)
        return failure(ifname, "AF_PACKET socket");
    // The filter goes on before the bind, so no other frame is ever queued.
    if (attach_filter(sockets.receive.get(), kIgmpOnly) < 0)
        return failure(ifname, "SO_ATTACH_FILTER");
    (void)setsockopt(sockets.receive.get(), SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes, sizeof(kReceiveBufferBytes));
    sockaddr_ll link{};
    link.sll_family = AF_PACKET;
    link.sll_protocol = htons(ETH_P_IP);
    link.sll_ifindex = ifindex;
    if (bind(sockets.receive.get(), reinterpret_cast<const sockaddr*>(&link), sizeof(link)) < 0)
        return failure(ifname, "bind to the interface");
    // Reports go to 224.0.0.22, 224.0.0.2 and every reported group: a NIC
    // that filters multicast by address must pass them all.
    packet_mreq all_multicast{};
    all_multicast.mr_ifindex = ifindex;
    all_multicast.mr_type = PACKET_MR_ALLMULTI;
    if (setsockopt(sockets.receive.get(), SOL_PACKET, PACKET_ADD_MEMBERSHIP, &all_multicast, sizeof(all_multicast)) < 0)
        return failure(ifname, "PACKET_MR_ALLMULTI");

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

} // namespace mcr::supervisor
