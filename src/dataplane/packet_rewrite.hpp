// Builds the copy of an accepted frame for one output into a caller-owned
// buffer: a whole Ethernet frame for multicast outputs (sent on AF_PACKET),
// the bare UDP payload for unicast outputs (the kernel adds the headers).
// A copy may change family (IPv4 in, IPv6 out or the reverse): the IP
// header is then replaced, everything else as in a same-family copy.
#pragma once

#include "frame.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mcr::dataplane {

using MacAddress = std::array<std::uint8_t, 6>;

// RFC 1112 section 6.4: 01:00:5e followed by the low 23 bits of the group.
[[nodiscard]] MacAddress multicast_mac(std::uint32_t group) noexcept;
// The same for either family; IPv6 (RFC 2464 section 7): 33:33 followed by
// the low 32 bits of the group.
[[nodiscard]] MacAddress multicast_mac(AddressFamily family, const AddressBytes& group) noexcept;

// Everything about one output the rewriter needs, computed once per config.
struct OutputRewrite {
    bool multicast = true;                  // false: unicast, payload only
    AddressFamily family = AddressFamily::ipv4; // the copy's: the output address's family
    MacAddress destination_mac{};           // multicast_mac(family, destination_address)
    MacAddress source_mac{};                // the egress interface's MAC
    AddressBytes destination_address{};     // network order, as AddressBytes says
    std::uint16_t destination_port = 0;     // host order
    std::optional<std::uint8_t> ttl;        // TTL or hop limit; unset: arriving - 1
    // A translated multicast copy leaves from the egress interface's address
    // of `family` (the supervisor resolves it; unset: the interface has
    // none, and such copies are counted, never sent with a made-up source).
    std::optional<AddressBytes> source_address;
};

// Whether the copy changes family (its IP header is replaced).
[[nodiscard]] inline bool translates(const UdpFrameView& in, const OutputRewrite& out) noexcept
{
    return in.family != out.family;
}

// Whether the copy cannot be built for want of a source address: a
// translated multicast copy to an interface without an address of the
// output's family (counted as no_source_address).
[[nodiscard]] inline bool lacks_source_address(const UdpFrameView& in, const OutputRewrite& out) noexcept
{
    return out.multicast && translates(in, out) && !out.source_address;
}

// Whether a rule drops this packet for its TTL or hop limit (<= 1 arriving,
// and the rule does not ask to forward such packets).
[[nodiscard]] inline bool ttl_expired(const UdpFrameView& in, bool forward_expired_ttl) noexcept
{
    return in.ttl <= 1 && !forward_expired_ttl;
}

// The TTL (hop limit) a multicast copy leaves with: the output's, else
// arriving - 1, but never 0 (an expired packet forwarded on purpose still
// needs 1). Translation carries TTL to hop limit and back the same way.
[[nodiscard]] std::uint8_t output_ttl(const UdpFrameView& in, const OutputRewrite& out) noexcept;

// Writes the copy into `buffer`; returns its length, or 0 when `buffer` is
// too small (the caller counts that as "too big") or lacks_source_address().
[[nodiscard]] std::size_t rewrite_for_output(const UdpFrameView& in, const OutputRewrite& out,
                                             std::span<std::uint8_t> buffer) noexcept;

// Length rewrite_for_output() will produce, to check against the egress MTU.
// IPv6 extension headers are not carried: the copy has the base header only.
[[nodiscard]] inline std::size_t rewritten_length(const UdpFrameView& in, const OutputRewrite& out) noexcept
{
    if (!out.multicast)
        return in.payload_length;
    const std::size_t ip_header = out.family == AddressFamily::ipv4 ? kIpv4MinHeaderBytes : kIpv6HeaderBytes;
    return kEthernetHeaderBytes + ip_header + in.udp_length;
}

} // namespace mcr::dataplane
