// Socket setup for mcrgen: every option set here, checked, and explained in
// the error it returns.
#include "udp_sockets.hpp"

#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace mcr::gen {
namespace {

Error errno_error(const std::string& what, int error_number)
{
    return Error{what, std::strerror(error_number)};
}

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

Status require_ipv4(const IpAddress& address, const char* option)
{
    if (!address.is_ipv4())
        return Error{option, "'" + address.to_string() + "': only IPv4 is supported"};
    return Ok{};
}

// A UDP socket for `group` (the --group address), which must be IPv4.
Result<unique_fd> udp_socket_for(const IpAddress& group)
{
    if (auto st = require_ipv4(group, "--group"); !st)
        return st.error();
    unique_fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd)
        return errno_error("socket(AF_INET, SOCK_DGRAM)", errno);
    return fd;
}

} // namespace

sockaddr_in to_sockaddr(const IpAddress& address, std::uint16_t port)
{
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(address.ipv4());
    return sa;
}

Result<unique_fd> open_sender_socket(const SenderSocketSpec& spec)
{
    auto fd = udp_socket_for(spec.destination);
    if (!fd)
        return fd.error();
    const int s = fd->get();
    set_buffer(s, SO_SNDBUFFORCE, SO_SNDBUF, kSendBufferBytes);

    ip_mreqn multicast_if{};
    if (spec.source) {
        if (auto st = require_ipv4(*spec.source, "--source"); !st)
            return st.error();
        const sockaddr_in local = to_sockaddr(*spec.source, 0);
        if (::bind(s, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) < 0)
            return errno_error("--source: bind " + spec.source->to_string(), errno);
        multicast_if.imr_address = local.sin_addr;
    }
    if (spec.interface) {
        auto index = interface_index(*spec.interface);
        if (!index)
            return index.error();
        multicast_if.imr_ifindex = static_cast<int>(*index);
        if (auto st = bind_to_device(s, *spec.interface); !st)
            return st.error();
    }
    const int ttl = spec.ttl;
    if (spec.destination.is_multicast()) {
        if (auto st = set_option(s, IPPROTO_IP, IP_MULTICAST_IF, multicast_if, "IP_MULTICAST_IF"); !st)
            return st.error();
        if (auto st = set_option(s, IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL"); !st)
            return st.error();
        // A receiver in the sender's own namespace must see the relay's copy,
        // not a local loopback of the original.
        const int loop = 0;
        if (auto st = set_option(s, IPPROTO_IP, IP_MULTICAST_LOOP, loop, "IP_MULTICAST_LOOP"); !st)
            return st.error();
    } else if (auto st = set_option(s, IPPROTO_IP, IP_TTL, ttl, "IP_TTL"); !st) {
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
    const int on = 1;
    const int off = 0;
    if (auto st = set_option(s, SOL_SOCKET, SO_REUSEADDR, on, "SO_REUSEADDR"); !st)
        return st.error();
    if (auto st = set_option(s, SOL_SOCKET, SO_RXQ_OVFL, on, "SO_RXQ_OVFL"); !st)
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
    // Bound to the group (not INADDR_ANY) so only that group's datagrams
    // arrive; IP_MULTICAST_ALL=0 keeps other sockets' joins out as well.
    const sockaddr_in local = to_sockaddr(spec.group, spec.port);
    if (::bind(s, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) < 0)
        return errno_error("bind " + spec.group.to_string() + ":" + std::to_string(spec.port), errno);
    if (!spec.group.is_multicast())
        return fd;
    if (auto st = set_option(s, IPPROTO_IP, IP_MULTICAST_ALL, off, "IP_MULTICAST_ALL"); !st)
        return st.error();
    ip_mreqn join{};
    join.imr_multiaddr = local.sin_addr;
    join.imr_ifindex = index ? static_cast<int>(*index) : 0;
    if (auto st = set_option(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, join, "IP_ADD_MEMBERSHIP"); !st)
        return st.error();
    return fd;
}

} // namespace mcr::gen
