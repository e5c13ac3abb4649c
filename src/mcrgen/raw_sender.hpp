// The AF_PACKET side of `mcrgen send --raw`: what the frames need to know
// about the interface (index, MAC, MTU, an address to send from) and a
// socket that writes whole Ethernet frames to it, past the UDP/IP stack.
#pragma once

#include "raw_frames.hpp"
#include "udp_sockets.hpp"

#include "core/address.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

#include <optional>
#include <string>

namespace mcr::gen {

struct RawSenderSpec {
    std::string interface;                     // required: frames go out of it alone
    IpAddress destination;
    std::optional<IpAddress> source;           // written as is; default: the interface's address
    std::optional<MacAddress> destination_mac; // required for a unicast destination
};

struct RawSender {
    unique_fd socket;            // AF_PACKET, SOCK_RAW, receives nothing
    SocketAddress link;          // sockaddr_ll for sendmmsg: interface index and EtherType
    MacAddress source_mac{};
    MacAddress destination_mac{};
    IpAddress source;
    unsigned mtu = 0;            // the largest IP packet the interface takes
};

// Fails with the capability named when CAP_NET_RAW is missing, and with the
// option at fault for an interface that is absent or not Ethernet, a
// destination without a MAC, or an interface without an address to send from.
[[nodiscard]] Result<RawSender> open_raw_sender(const RawSenderSpec& spec);

} // namespace mcr::gen
