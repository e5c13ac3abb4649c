// The UDP sockets mcrgen sends and receives on (IPv4): multicast interface
// and TTL for senders, group membership and a large buffer for receivers.
#pragma once

#include "core/address.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

#include <netinet/in.h>

#include <cstdint>
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
    std::optional<std::string> interface;  // IP_MULTICAST_IF + SO_BINDTODEVICE
    std::optional<IpAddress> source;       // bind() address (and IP_MULTICAST_IF by address)
    std::uint8_t ttl = 0;
};

struct ReceiverSocketSpec {
    IpAddress group;                       // multicast group to join, or a local unicast address
    std::uint16_t port = 0;
    std::optional<std::string> interface;  // where to join (and SO_BINDTODEVICE)
};

[[nodiscard]] Result<unique_fd> open_sender_socket(const SenderSocketSpec& spec);
// Also enables SO_RXQ_OVFL so the receiver can report socket drops.
[[nodiscard]] Result<unique_fd> open_receiver_socket(const ReceiverSocketSpec& spec);

[[nodiscard]] sockaddr_in to_sockaddr(const IpAddress& address, std::uint16_t port);

} // namespace mcr::gen
