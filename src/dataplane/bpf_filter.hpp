// The classic BPF program a worker attaches (SO_ATTACH_FILTER) to its ingress
// socket, so the kernel drops every frame no rule wants before copying it.
#pragma once

#include "core/rule.hpp"

#include <linux/filter.h>

#include <cstdint>
#include <span>
#include <vector>

namespace mcr::dataplane {

// Bytes of an accepted frame handed to the socket (more than any jumbo frame).
inline constexpr std::uint32_t kFilterAcceptBytes = 262144;
// Classic BPF ancillary load of the frame's packet type (PACKET_HOST,
// PACKET_MULTICAST, PACKET_OTHERHOST ... of <linux/if_packet.h>).
inline constexpr std::uint32_t kAncillaryPacketType = static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE);

// Accepts IPv4 UDP frames that are not fragments and whose (destination
// address, destination port) is the input of one of `rules`; everything
// else returns 0 (dropped). IP options are accepted, and so are fragments
// whose destination is a rule's address (up to 250 distinct addresses;
// later fragments carry no port), so that userspace counts them. IPv6
// frames to an IPv6 input's address are accepted when UDP follows the base
// header and has the input's port, or when any other header does
// (extension headers, fragments: userspace walks and counts them). Frames
// of another host (PACKET_OTHERHOST) or sent by this one (PACKET_OUTGOING)
// are dropped. SSM sources are checked in userspace, not here. When the
// rules need more than BPF_MAXINSNS instructions, the larger family's part
// accepts all of its UDP non-fragments (IPv6: all of its frames) and leaves
// matching to userspace. An empty rule list yields a program that drops
// everything. One program serves every ingress socket, whatever protocol
// it is bound to.
[[nodiscard]] std::vector<sock_filter> build_ingress_filter(std::span<const Rule> rules);

} // namespace mcr::dataplane
