// Builds the copy of an accepted frame for one output into a caller-owned
// buffer: a whole Ethernet frame for multicast outputs (sent on AF_PACKET),
// the bare UDP payload for unicast outputs (the kernel adds the headers).
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

// Everything about one output the rewriter needs, computed once per config.
struct OutputRewrite {
    bool multicast = true;                  // false: unicast, payload only
    MacAddress destination_mac{};           // multicast_mac(destination_address)
    MacAddress source_mac{};                // the egress interface's MAC
    std::uint32_t destination_address = 0;  // host order
    std::uint16_t destination_port = 0;     // host order
    std::optional<std::uint8_t> ttl;        // unset: arriving TTL - 1
};

// Whether a rule drops this packet for its TTL (TTL <= 1 arriving, and the
// rule does not ask to forward such packets).
[[nodiscard]] inline bool ttl_expired(const UdpFrameView& in, bool forward_expired_ttl) noexcept
{
    return in.ttl <= 1 && !forward_expired_ttl;
}

// The TTL a multicast copy leaves with: the output's, else arriving - 1,
// but never 0 (an expired packet forwarded on purpose still needs TTL 1).
[[nodiscard]] std::uint8_t output_ttl(const UdpFrameView& in, const OutputRewrite& out) noexcept;

// Writes the copy into `buffer`; returns its length, or 0 when `buffer` is
// too small (the caller counts that as "too big").
[[nodiscard]] std::size_t rewrite_for_output(const UdpFrameView& in, const OutputRewrite& out,
                                             std::span<std::uint8_t> buffer) noexcept;

// Length rewrite_for_output() will produce, to check against the egress MTU.
[[nodiscard]] inline std::size_t rewritten_length(const UdpFrameView& in, const OutputRewrite& out) noexcept
{
    return out.multicast ? kEthernetHeaderBytes + in.ip_total_length : in.payload_length;
}

} // namespace mcr::dataplane
