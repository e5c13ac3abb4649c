// The sockets a worker runs on, made by whoever holds CAP_NET_RAW (the
// supervisor, or a test launcher): workers themselves can make none.
#pragma once

#include "core/address.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mcr::sockets {

inline constexpr int kDefaultReceiveBufferBytes = 16 * 1024 * 1024;

// AF_PACKET/SOCK_RAW/ETH_P_IP bound to `ifname`, PACKET_IGNORE_OUTGOING (so a
// worker never sees its own egress), receive buffer of `receive_buffer_bytes`
// (SO_RCVBUFFORCE when permitted, else SO_RCVBUF, which net.core.rmem_max
// caps: our sysctl.d raises it). The BPF filter is attached by the worker.
// Error.path is the interface name; reason quotes the errno text.
[[nodiscard]] Result<unique_fd> open_ingress_socket(const std::string& ifname,
                                                    int receive_buffer_bytes = kDefaultReceiveBufferBytes);

// The same bound to ETH_P_IPV6: the worker's IPv6 ingress (worker_protocol.hpp
// kIngress6Fd says why not one socket for both families).
[[nodiscard]] Result<unique_fd> open_ingress6_socket(const std::string& ifname,
                                                     int receive_buffer_bytes = kDefaultReceiveBufferBytes);

// Both ingress sockets of a worker (worker_protocol kIngressFd and
// kIngressQuietFd), each as open_ingress_socket() makes it, joined to one
// fanout group (ingress_fanout.hpp) that sends every frame to the quiet one
// until the worker says otherwise. The quiet socket is made and joined
// first: worker_protocol.hpp says why the order is the contract.
struct IngressSockets {
    unique_fd ring;
    unique_fd quiet;
};
[[nodiscard]] Result<IngressSockets> open_ingress_sockets(const std::string& ifname,
                                                         int receive_buffer_bytes = kDefaultReceiveBufferBytes);
// The IPv6 pair (kIngress6Fd and kIngress6QuietFd), each as
// open_ingress6_socket() makes it, in a fanout group of its own: a group
// holds one protocol, and its id is the kernel's unique pick, never the
// IPv4 pair's. Same member order.
[[nodiscard]] Result<IngressSockets> open_ingress6_sockets(const std::string& ifname,
                                                          int receive_buffer_bytes = kDefaultReceiveBufferBytes);

// AF_PACKET/SOCK_RAW, protocol 0 (receives nothing), bound to `ifname`,
// PACKET_QDISC_BYPASS: the worker writes whole Ethernet frames to it.
[[nodiscard]] Result<unique_fd> open_packet_egress_socket(const std::string& ifname);

// AF_INET/SOCK_DGRAM with SO_BINDTODEVICE=`ifname`, for unicast outputs that
// go through the kernel's routing (works over tunnels).
[[nodiscard]] Result<unique_fd> open_udp_egress_socket(const std::string& ifname);
// The same with AF_INET6, for IPv6 unicast outputs.
[[nodiscard]] Result<unique_fd> open_udp6_egress_socket(const std::string& ifname);

// An unbound UDP socket that only carries group memberships, so IGMP/MLD
// snooping switches keep delivering the inputs. It never receives data.
// AF_INET6, which holds IPv4 joins as well; AF_INET on a kernel without IPv6.
[[nodiscard]] Result<unique_fd> open_membership_socket();

// Joins `group` on `ifname`: IGMP for an IPv4 group, MLD for an IPv6 one;
// any source (MCAST_JOIN_GROUP), or only `source` (MCAST_JOIN_SOURCE_GROUP,
// SSM), which must be of the group's family. Joining a group already joined
// is not an error; nor is leaving one that is not.
[[nodiscard]] Status join_group(int membership_fd, const std::string& ifname, const IpAddress& group,
                                const std::optional<IpAddress>& source);
[[nodiscard]] Status leave_group(int membership_fd, const std::string& ifname, const IpAddress& group,
                                 const std::optional<IpAddress>& source);

// A sealed memfd holding `content` (the worker config JSON), for the FD store.
[[nodiscard]] Result<unique_fd> make_config_memfd(std::string_view content);
// Reads a config memfd back (from offset 0), refusing more than `max_bytes`.
[[nodiscard]] Result<std::string> read_config_memfd(int fd, std::size_t max_bytes);

} // namespace mcr::sockets
