// The sockets a worker runs on, made by a privileged process (supervisor or
// test launcher) and handed over; see socket_factory.hpp for each contract.
#include "socket_factory.hpp"

#include "ingress_fanout.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mcr::sockets {

namespace {

constexpr int kEgressSendBufferBytes = 4 * 1024 * 1024;

Error errno_error(const std::string& path, const char* what, int error_number)
{
    return Error{path, std::string(what) + ": " + std::strerror(error_number)};
}

Result<int> interface_index(const std::string& ifname)
{
    if (ifname.empty() || ifname.size() >= IF_NAMESIZE)
        return Error{ifname, "invalid interface name"};
    const unsigned index = if_nametoindex(ifname.c_str());
    if (index == 0)
        return errno_error(ifname, "no such interface", errno);
    return static_cast<int>(index);
}

template <typename T>
int set_option(int fd, int level, int name, const T& value)
{
    return setsockopt(fd, level, name, &value, sizeof(value));
}

// Grows a buffer past the sysctl cap when we hold CAP_NET_ADMIN, else up
// to the cap (our sysctl.d raises net.core.rmem_max/wmem_max).
int set_buffer_size(int fd, int force_option, int plain_option, int bytes)
{
    if (set_option(fd, SOL_SOCKET, force_option, bytes) == 0)
        return 0;
    return set_option(fd, SOL_SOCKET, plain_option, bytes);
}

// AF_PACKET bound to `ifname` with `protocol`. The socket is created with
// protocol 0 (receives nothing) and only bound with the real protocol once
// configured, so it never queues frames from other interfaces.
Result<unique_fd> open_bound_packet_socket(const std::string& ifname, std::uint16_t protocol,
                                           int receive_buffer_bytes, bool ingress)
{
    auto index = interface_index(ifname);
    if (!index)
        return index.error();
    unique_fd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd)
        return errno_error(ifname, "cannot create AF_PACKET socket", errno);
    if (ingress) {
        if (set_option(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) < 0)
            return errno_error(ifname, "cannot set PACKET_IGNORE_OUTGOING", errno);
        if (set_buffer_size(fd.get(), SO_RCVBUFFORCE, SO_RCVBUF, receive_buffer_bytes) < 0)
            return errno_error(ifname, "cannot set the receive buffer size", errno);
    } else {
        if (set_option(fd.get(), SOL_PACKET, PACKET_QDISC_BYPASS, 1) < 0)
            return errno_error(ifname, "cannot set PACKET_QDISC_BYPASS", errno);
        if (set_buffer_size(fd.get(), SO_SNDBUFFORCE, SO_SNDBUF, kEgressSendBufferBytes) < 0)
            return errno_error(ifname, "cannot set the send buffer size", errno);
    }
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(protocol);
    address.sll_ifindex = *index;
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0)
        return errno_error(ifname, "cannot bind AF_PACKET socket", errno);
    return fd;
}

sockaddr_storage to_storage(const IpAddress& address)
{
    sockaddr_storage storage{};
    if (address.is_ipv4()) {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(address.ipv4());
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        std::memcpy(in6->sin6_addr.s6_addr, address.bytes().data(), address.bytes().size());
    }
    return storage;
}

// The family a socket was made with (SO_DOMAIN).
int socket_family(int fd)
{
    int family = AF_UNSPEC;
    socklen_t length = sizeof(family);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &length) < 0)
        return AF_UNSPEC;
    return family;
}

// The protocol-independent requests (RFC 3678) serve both families: the
// level says which, IPPROTO_IP for IGMP and IPPROTO_IPV6 for MLD. An
// AF_INET6 socket takes IPPROTO_IP requests too, so one membership socket
// holds the joins of both.
Status change_membership(int membership_fd, const std::string& ifname, const IpAddress& group,
                         const std::optional<IpAddress>& source, bool join)
{
    auto index = interface_index(ifname);
    if (!index)
        return index.error();
    if (source && source->family() != group.family())
        return Error{ifname, "source " + source->to_string() + " and group " + group.to_string() +
                                 " are of different address families"};
    const bool ipv6 = !group.is_ipv4();
    if (ipv6 && socket_family(membership_fd) != AF_INET6)
        return Error{ifname, "cannot join IPv6 group " + group.to_string() +
                                 ": IPv6 is not available in this kernel (the membership socket is IPv4 only)"};
    const int level = ipv6 ? IPPROTO_IPV6 : IPPROTO_IP;
    int rc = 0;
    if (source) {
        group_source_req request{};
        request.gsr_interface = static_cast<std::uint32_t>(*index);
        request.gsr_group = to_storage(group);
        request.gsr_source = to_storage(*source);
        rc = set_option(membership_fd, level, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP, request);
    } else {
        group_req request{};
        request.gr_interface = static_cast<std::uint32_t>(*index);
        request.gr_group = to_storage(group);
        rc = set_option(membership_fd, level, join ? MCAST_JOIN_GROUP : MCAST_LEAVE_GROUP, request);
    }
    // Joining twice (EADDRINUSE) or leaving what was not joined (EADDRNOTAVAIL)
    // leaves the membership as the caller wants it.
    if (rc < 0 && !(join && errno == EADDRINUSE) && !(!join && errno == EADDRNOTAVAIL))
        return errno_error(ifname, join ? (ipv6 ? "cannot join group (MLD)" : "cannot join group (IGMP)")
                                        : "cannot leave group",
                           errno);
    return Ok{};
}

} // namespace

Result<unique_fd> open_ingress_socket(const std::string& ifname, int receive_buffer_bytes)
{
    return open_bound_packet_socket(ifname, ETH_P_IP, receive_buffer_bytes, true);
}

namespace {

// The quiet socket first: it creates the group and is member 0.
Result<IngressSockets> open_ingress_pair(const std::string& ifname, std::uint16_t protocol, int receive_buffer_bytes)
{
    IngressSockets made;
    auto quiet = open_bound_packet_socket(ifname, protocol, receive_buffer_bytes, true);
    if (!quiet)
        return quiet.error();
    made.quiet = std::move(*quiet);
    auto ring = open_bound_packet_socket(ifname, protocol, receive_buffer_bytes, true);
    if (!ring)
        return ring.error();
    made.ring = std::move(*ring);
    if (Status s = join_ingress_fanout(made.quiet.get(), made.ring.get()); !s)
        return Error{ifname, s.error().message()};
    return made;
}

} // namespace

Result<IngressSockets> open_ingress_sockets(const std::string& ifname, int receive_buffer_bytes)
{
    return open_ingress_pair(ifname, ETH_P_IP, receive_buffer_bytes);
}

Result<IngressSockets> open_ingress6_sockets(const std::string& ifname, int receive_buffer_bytes)
{
    return open_ingress_pair(ifname, ETH_P_IPV6, receive_buffer_bytes);
}

Result<unique_fd> open_packet_egress_socket(const std::string& ifname)
{
    return open_bound_packet_socket(ifname, 0, 0, false);
}

Result<unique_fd> open_ingress6_socket(const std::string& ifname, int receive_buffer_bytes)
{
    return open_bound_packet_socket(ifname, ETH_P_IPV6, receive_buffer_bytes, true);
}

namespace {

Result<unique_fd> open_udp_egress(const std::string& ifname, int family)
{
    if (auto index = interface_index(ifname); !index)
        return index.error();
    unique_fd fd(socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd)
        return errno_error(ifname, "cannot create UDP socket", errno);
    if (setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size())) < 0)
        return errno_error(ifname, "cannot bind UDP socket to the interface", errno);
    if (set_buffer_size(fd.get(), SO_SNDBUFFORCE, SO_SNDBUF, kEgressSendBufferBytes) < 0)
        return errno_error(ifname, "cannot set the send buffer size", errno);
    return fd;
}

} // namespace

Result<unique_fd> open_udp_egress_socket(const std::string& ifname)
{
    return open_udp_egress(ifname, AF_INET);
}

Result<unique_fd> open_udp6_egress_socket(const std::string& ifname)
{
    return open_udp_egress(ifname, AF_INET6);
}

Result<unique_fd> open_membership_socket()
{
    // AF_INET6 carries both IGMP and MLD joins; a kernel without IPv6
    // (ipv6.disable=1) gets an AF_INET socket, and IPv6 joins say why they fail.
    unique_fd fd(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd && errno == EAFNOSUPPORT)
        fd = unique_fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd)
        return errno_error("membership", "cannot create UDP socket", errno);
    return fd;
}

Status join_group(int membership_fd, const std::string& ifname, const IpAddress& group,
                  const std::optional<IpAddress>& source)
{
    return change_membership(membership_fd, ifname, group, source, true);
}

Status leave_group(int membership_fd, const std::string& ifname, const IpAddress& group,
                   const std::optional<IpAddress>& source)
{
    return change_membership(membership_fd, ifname, group, source, false);
}

Result<unique_fd> make_config_memfd(std::string_view content)
{
    unique_fd fd(memfd_create("mcrd-worker-config", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd)
        return errno_error("config", "cannot create memfd", errno);
    std::size_t written = 0;
    while (written < content.size()) {
        const ssize_t n = write(fd.get(), content.data() + written, content.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno_error("config", "cannot write memfd", errno);
        written += static_cast<std::size_t>(n);
    }
    // Sealed: whoever holds it (the FD store, a restarted worker) reads
    // exactly what was written.
    if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        return errno_error("config", "cannot seal memfd", errno);
    return fd;
}

Result<std::string> read_config_memfd(int fd, std::size_t max_bytes)
{
    std::string content;
    char chunk[65536];
    for (;;) {
        const ssize_t n = pread(fd, chunk, sizeof(chunk), static_cast<off_t>(content.size()));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno_error("config", "cannot read config memfd", errno);
        if (n == 0)
            return content;
        if (content.size() + static_cast<std::size_t>(n) > max_bytes)
            return Error{"config", "config memfd holds more than " + std::to_string(max_bytes) + " bytes"};
        content.append(chunk, static_cast<std::size_t>(n));
    }
}

} // namespace mcr::sockets
