// The UDP sockets mcrgen sends and receives on, IPv4 or IPv6 by the
// address's family: multicast interface and TTL/hop limit for senders, group
// membership (IGMP or MLD) and a large buffer for receivers.
#pragma once

#include "core/address.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mcr::gen {

// Receive buffer a receiver asks for: a relay test bursts 64-packet batches
// and the machine is shared, so the receiver may be descheduled for a while.
inline constexpr int kReceiveBufferBytes = 64 * 1024 * 1024;
inline constexpr int kSendBufferBytes = 4 * 1024 * 1024;

struct SenderSocketSpec {
    IpAddress destination;
    std::uint16_t port = 0;
    std::optional<std::string> interface;  // multicast interface + SO_BINDTODEVICE
    std::optional<IpAddress> source;       // bind() address, destination's family; its interface sends the multicast
    std::uint8_t ttl = 0;                  // IPv4 TTL or IPv6 hop limit
};

struct ReceiverSocketSpec {
    IpAddress group;                       // multicast group to join, or a local unicast address
    std::uint16_t port = 0;
    std::optional<std::string> interface;  // where to join (and SO_BINDTODEVICE)
};

[[nodiscard]] Result<unique_fd> open_sender_socket(const SenderSocketSpec& spec);
// Also enables SO_RXQ_OVFL so the receiver can report socket drops.
[[nodiscard]] Result<unique_fd> open_receiver_socket(const ReceiverSocketSpec& spec);

// `what` failed with `error_number`: the error every socket step returns.
[[nodiscard]] Error errno_error(const std::string& what, int error_number);

// getifaddrs()'s list, freed with freeifaddrs().
using InterfaceAddresses = std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)>;

// An address as bind() and sendmmsg() take it, of either family.
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    [[nodiscard]] const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// `scope_id`: the interface index an IPv6 link-scoped address needs (0: none).
[[nodiscard]] SocketAddress to_socket_address(const IpAddress& address, std::uint16_t port, unsigned scope_id = 0);

} // namespace mcr::gen
