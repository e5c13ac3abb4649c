// IP addresses as rules use them: IPv4 today, with room for IPv6 (the family
// travels with the bytes, so no type has to change when IPv6 arrives).
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

    [[nodiscard]] std::string to_string() const;

    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>
    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
    friend bool operator==(const IpAddress&, const IpAddress&) = default;

private:
    AddressFamily family_ = AddressFamily::ipv4;
    std::array<std::uint8_t, 16> bytes_{};
};

} // namespace mcr
