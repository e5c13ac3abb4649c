// The safe-destination check behind mcrgen send's --force.
#include "destination_policy.hpp"

#include <array>
#include <cstdint>

namespace mcr::gen {
namespace {

struct Ipv4Prefix {
    std::uint32_t network;  // host order
    int length;
};

constexpr std::array<Ipv4Prefix, 4> kSafeIpv4{{
    {0xef000000U, 8},    // 239.0.0.0/8 administratively scoped multicast
    {0xc0000200U, 24},   // 192.0.2.0/24 TEST-NET-1
    {0xc6336400U, 24},   // 198.51.100.0/24 TEST-NET-2
    {0xcb007100U, 24},   // 203.0.113.0/24 TEST-NET-3
}};

bool in_prefix(std::uint32_t address, const Ipv4Prefix& prefix)
{
    const std::uint32_t mask = prefix.length == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix.length);
    return (address & mask) == prefix.network;
}

// 2001:db8::/32, or multicast with the transient flag set (ff1x::, ff3x::,
// any scope): a transient group is by definition not a well-known one that a
// real service listens on.
bool safe_ipv6(const std::array<std::uint8_t, 16>& bytes)
{
    const bool documentation = bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8;
    const std::uint8_t flags = bytes[1] >> 4;
    const bool transient_multicast = bytes[0] == 0xff && (flags == 0x1 || flags == 0x3);
    return documentation || transient_multicast;
}

} // namespace

std::optional<std::string> destination_refusal(const IpAddress& destination)
{
    const std::string text = destination.to_string();
    if (destination.is_ipv4()) {
        for (const auto& prefix : kSafeIpv4)
            if (in_prefix(destination.ipv4(), prefix))
                return std::nullopt;
        return "destination " + text +
               " is outside 239.0.0.0/8, 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 (use --force to send anyway)";
    }
    if (safe_ipv6(destination.bytes()))
        return std::nullopt;
    return "destination " + text + " is outside 2001:db8::/32 and transient IPv6 multicast ff1x::/ff3x:: (use --force to send anyway)";
}

} // namespace mcr::gen
