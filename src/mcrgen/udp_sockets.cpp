// Socket setup for mcrgen: every option set here, checked, and explained in
// the error it returns. IPv4 and IPv6 take the same steps with their own
// options (IP_* / IPV6_*); the address's family picks them.
#include "udp_sockets.hpp"

#include <ifaddrs.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace mcr::gen {

Error errno_error(const std::string& what, int error_number)
{
    return Error{what, std::strerror(error_number)};
}

namespace {

template <typename Value>
Status set_option(int fd, int level, int name, const Value& value, const char* what)
{
    if (::setsockopt(fd, level, name, &value, sizeof(value)) < 0)
        return errno_error(what, errno);
    return Ok{};
}

Result<unsigned> interface_index(const std::string& name)
{
    const unsigned index = ::if_nametoindex(name.c_str());
    if (index == 0)
        return Error{"--interface", "no interface '" + name + "' in this network namespace"};
    return index;
}

Status bind_to_device(int fd, const std::string& name)
{
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name.c_str(), static_cast<socklen_t>(name.size())) < 0)
        return errno_error("SO_BINDTODEVICE " + name, errno);
    return Ok{};
}

// SO_*BUFFORCE passes net.core.[rw]mem_max when we are root; otherwise the
// plain option gives what the sysctl allows.
void set_buffer(int fd, int force_option, int plain_option, int bytes)
{
    if (::setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof(bytes)) < 0)
        (void)::setsockopt(fd, SOL_SOCKET, plain_option, &bytes, sizeof(bytes));
}

// Link-local unicast (fe80::/10) and multicast of interface- or link-local
// scope (ffX1::, ffX2::) mean nothing without an interface: the kernel
// wants its index as the scope id.
bool needs_scope_id(const IpAddress& address)
{
    if (address.is_ipv4())
        return false;
    const auto& b = address.bytes();
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return true;
    return b[0] == 0xff && ((b[1] & 0x0f) == 0x01 || (b[1] & 0x0f) == 0x02);
}

// The interface that holds local IPv6 `address`. IPv6 has no
// IP_MULTICAST_IF-by-address: a sender bound to --source sends its
// multicast out of this interface, by index.
Result<unsigned> interface_holding(const IpAddress& address)
{
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) < 0)
        return errno_error("getifaddrs", errno);
    const InterfaceAddresses owner(list, &::freeifaddrs);
    for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
        if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET6)
            continue;
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr);
        if (std::memcmp(in6->sin6_addr.s6_addr, address.bytes().data(), 16) == 0)
            return ::if_nametoindex(entry->ifa_name);
    }
    return Error{"--source", "no interface in this network namespace has the address " + address.to_string()};
}

// A UDP socket of `address`'s family. An IPv6 socket is IPv6-only, so an
// IPv4-mapped datagram can never be counted as part of the stream.
Result<unique_fd> udp_socket_for(const IpAddress& address)
{
    const bool ipv4 = address.is_ipv4();
    unique_fd fd(::socket(ipv4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd)
        return errno_error(ipv4 ? "socket(AF_INET, SOCK_DGRAM)" : "socket(AF_INET6, SOCK_DGRAM)", errno);
    if (!ipv4)
        if (auto st = set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY"); !st)
            return st.error();
    return fd;
}

// Interface and TTL of an IPv4 multicast sender; `source` (if bound) also
// picks the interface when no index is given.
Status set_ipv4_multicast_sending(int fd, std::optional<unsigned> index, const std::optional<IpAddress>& source,
                                  int ttl)
{
    ip_mreqn multicast_if{};
    if (source)
        multicast_if.imr_address.s_addr = htonl(source->ipv4());
    multicast_if.imr_ifindex = index ? static_cast<int>(*index) : 0;
    if (auto st = set_option(fd, IPPROTO_IP, IP_MULTICAST_IF, multicast_if, "IP_MULTICAST_IF"); !st)
        return st;
    if (auto st = set_option(fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL"); !st)
        return st;
    // A receiver in the sender's own namespace must see the relay's copy,
    // not a local loopback of the original.
    return set_option(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP");
}

Status set_ipv6_multicast_sending(int fd, std::optional<unsigned> index, int hop_limit)
{
    if (index)
        if (auto st = set_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, static_cast<int>(*index), "IPV6_MULTICAST_IF");
            !st)
            return st;
    if (auto st = set_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hop_limit, "IPV6_MULTICAST_HOPS"); !st)
        return st;
    // As for IPv4: only the relay's copy may reach a receiver here.
    return set_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0U, "IPV6_MULTICAST_LOOP");
}

// Joins `group` (bound in `local`) on interface `index` (0: the kernel's
// choice by route): IGMP for IPv4, MLD for IPv6. Only this socket's own
// joins deliver to it (IP[V6]_MULTICAST_ALL off), whatever else the
// namespace has joined.
Status join(int fd, const IpAddress& group, const SocketAddress& local, std::optional<unsigned> index)
{
    if (group.is_ipv4()) {
        if (auto st = set_option(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL"); !st)
            return st;
        ip_mreqn request{};
        request.imr_multiaddr = reinterpret_cast<const sockaddr_in*>(&local.storage)->sin_addr;
        request.imr_ifindex = index ? static_cast<int>(*index) : 0;
        return set_option(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, request, "IP_ADD_MEMBERSHIP");
    }
    if (auto st = set_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0, "IPV6_MULTICAST_ALL"); !st)
        return st;
    group_req request{};
    request.gr_interface = index.value_or(0);
    std::memcpy(&request.gr_group, &local.storage, local.length);
    return set_option(fd, IPPROTO_IPV6, MCAST_JOIN_GROUP, request, "MCAST_JOIN_GROUP (MLD)");
}

} // namespace

SocketAddress to_socket_address(const IpAddress& address, std::uint16_t port, unsigned scope_id)
{
    SocketAddress result;
    if (address.is_ipv4()) {
        auto* in = reinterpret_cast<sockaddr_in*>(&result.storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(address.ipv4());
        result.length = sizeof(sockaddr_in);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        std::memcpy(in6->sin6_addr.s6_addr, address.bytes().data(), 16);
        in6->sin6_scope_id = scope_id;
        result.length = sizeof(sockaddr_in6);
    }
    return result;
}

Result<unique_fd> open_sender_socket(const SenderSocketSpec& spec)
{
    auto fd = udp_socket_for(spec.destination);
    if (!fd)
        return fd.error();
    const int s = fd->get();
    set_buffer(s, SO_SNDBUFFORCE, SO_SNDBUF, kSendBufferBytes);

    std::optional<unsigned> index;
    if (spec.interface) {
        auto found = interface_index(*spec.interface);
        if (!found)
            return found.error();
        index = *found;
        if (auto st = bind_to_device(s, *spec.interface); !st)
            return st.error();
    }
    if (spec.source) {
        unsigned scope_id = 0;
        if (!spec.source->is_ipv4()) {
            auto holder = interface_holding(*spec.source);
            if (!holder)
                return holder.error();
            index = *holder;
            scope_id = needs_scope_id(*spec.source) ? *holder : 0;
        }
        const SocketAddress local = to_socket_address(*spec.source, 0, scope_id);
        if (::bind(s, local.get(), local.length) < 0)
            return errno_error("--source: bind " + spec.source->to_string(), errno);
    }
    const int ttl = spec.ttl;
    if (spec.destination.is_multicast()) {
        Status set = spec.destination.is_ipv4() ? set_ipv4_multicast_sending(s, index, spec.source, ttl)
                                                : set_ipv6_multicast_sending(s, index, ttl);
        if (!set)
            return set.error();
    } else if (auto st = spec.destination.is_ipv4() ? set_option(s, IPPROTO_IP, IP_TTL, ttl, "IP_TTL")
                                                    : set_option(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl,
                                                                 "IPV6_UNICAST_HOPS");
               !st) {
        return st.error();
    }
    return fd;
}

Result<unique_fd> open_receiver_socket(const ReceiverSocketSpec& spec)
{
    auto fd = udp_socket_for(spec.group);
    if (!fd)
        return fd.error();
    const int s = fd->get();
    if (auto st = set_option(s, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !st)
        return st.error();
    if (auto st = set_option(s, SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL"); !st)
        return st.error();
    set_buffer(s, SO_RCVBUFFORCE, SO_RCVBUF, kReceiveBufferBytes);

    std::optional<unsigned> index;
    if (spec.interface) {
        auto found = interface_index(*spec.interface);
        if (!found)
            return found.error();
        index = *found;
        if (auto st = bind_to_device(s, *spec.interface); !st)
            return st.error();
    }
    if (needs_scope_id(spec.group) && !index)
        return Error{"--group", spec.group.to_string() + " is link-scoped: give --interface"};
    // Bound to the group (not the wildcard) so only that group's datagrams
    // arrive.
    const SocketAddress local =
        to_socket_address(spec.group, spec.port, needs_scope_id(spec.group) ? index.value_or(0) : 0);
    if (::bind(s, local.get(), local.length) < 0)
        return errno_error("bind " + spec.group.to_string() + " port " + std::to_string(spec.port), errno);
    if (!spec.group.is_multicast())
        return fd;
    if (auto st = join(s, spec.group, local, index); !st)
        return st.error();
    return fd;
}

} // namespace mcr::gen
