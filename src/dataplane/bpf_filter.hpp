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
// later fragments carry no port), so that userspace counts them. SSM sources are checked in userspace, not here. IPv6 inputs
// are skipped. When the rules need more than BPF_MAXINSNS instructions, the
// program accepts all non-fragment IPv4 UDP and leaves matching to userspace.
// An empty rule list yields a program that drops everything.
[[nodiscard]] std::vector<sock_filter> build_ingress_filter(std::span<const Rule> rules);

} // namespace mcr::dataplane
