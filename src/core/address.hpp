// IP addresses as rules use them, IPv4 or IPv6 (the family travels with the
// bytes), and the classifications rule validation needs.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mcr {

enum class AddressFamily : std::uint8_t { ipv4 = 4, ipv6 = 6 };

class IpAddress {
public:
    IpAddress() = default;

    // Parses dotted-quad IPv4 or RFC 4291 IPv6 text. Nothing else is
    // accepted: no hostnames, no zone suffixes, no leading/trailing space.
    static std::optional<IpAddress> parse(std::string_view text);
    static IpAddress from_ipv4(std::uint32_t host_order);
    static IpAddress from_ipv6(const std::array<std::uint8_t, 16>& bytes);

    [[nodiscard]] AddressFamily family() const noexcept { return family_; }
    [[nodiscard]] bool is_ipv4() const noexcept { return family_ == AddressFamily::ipv4; }
    // IPv4 in host byte order; only meaningful when is_ipv4().
    [[nodiscard]] std::uint32_t ipv4() const noexcept;
    // Network-order bytes: the first 4 for IPv4, all 16 for IPv6.
    [[nodiscard]] const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }

    [[nodiscard]] bool is_multicast() const noexcept;
    [[nodiscard]] bool is_unspecified() const noexcept;      // 0.0.0.0 / ::
    [[nodiscard]] bool is_limited_broadcast() const noexcept; // 255.255.255.255
    [[nodiscard]] bool is_loopback() const noexcept;
    [[nodiscard]] bool is_ipv4_mapped() const noexcept;        // ::ffff:0:0/96
    // The a.b.c.d of ::ffff:a.b.c.d; only meaningful when is_ipv4_mapped().
    [[nodiscard]] IpAddress mapped_ipv4() const noexcept;
    [[nodiscard]] bool is_link_local_unicast() const noexcept; // fe80::/10
    // RFC 4291 scope nibble of an IPv6 multicast group (ffXS::): 1 interface-
    // local, 2 link-local, 5 site-local, e global; 0 and f are reserved.
    // Only meaningful for an IPv6 multicast address.
    [[nodiscard]] std::uint8_t multicast_scope() const noexcept;

    [[nodiscard]] std::string to_string() const;

    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>
    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
    friend bool operator==(const IpAddress&, const IpAddress&) = default;

private:
    AddressFamily family_ = AddressFamily::ipv4;
    std::array<std::uint8_t, 16> bytes_{};
};

// "239.1.1.1:5000", "[ff3e::1]:5000": how an address and port are written
// wherever mcrd shows them (RFC 3986's brackets keep IPv6 readable).
[[nodiscard]] std::string endpoint_text(const IpAddress& address, std::uint16_t port);

// The "%eth0" of "fe80::1%eth0", when the text before '%' is an IPv6
// address; empty otherwise. Rules name the interface in their own field, so
// a zone suffix is refused, and this lets the error say why.
[[nodiscard]] std::string_view zone_suffix(std::string_view text);

} // namespace mcr
