// Parsing and classifying IP addresses (inet_pton is strict enough: it
// rejects hostnames, short forms like "10.1" and surrounding space).
#include "address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace mcr {

std::optional<IpAddress> IpAddress::parse(std::string_view text)
{
    // inet_pton wants a NUL-terminated string; longest IPv6 text is 45 chars.
    if (text.empty() || text.size() > INET6_ADDRSTRLEN)
        return std::nullopt;
    char buf[INET6_ADDRSTRLEN + 1] = {};
    std::memcpy(buf, text.data(), text.size());

    IpAddress a;
    if (inet_pton(AF_INET, buf, a.bytes_.data()) == 1) {
        a.family_ = AddressFamily::ipv4;
        return a;
    }
    if (inet_pton(AF_INET6, buf, a.bytes_.data()) == 1) {
        a.family_ = AddressFamily::ipv6;
        return a;
    }
    return std::nullopt;
}

IpAddress IpAddress::from_ipv4(std::uint32_t host_order)
{
    IpAddress a;
    a.family_ = AddressFamily::ipv4;
    a.bytes_[0] = static_cast<std::uint8_t>(host_order >> 24);
    a.bytes_[1] = static_cast<std::uint8_t>(host_order >> 16);
    a.bytes_[2] = static_cast<std::uint8_t>(host_order >> 8);
    a.bytes_[3] = static_cast<std::uint8_t>(host_order);
    return a;
}

IpAddress IpAddress::from_ipv6(const std::array<std::uint8_t, 16>& bytes)
{
    IpAddress a;
    a.family_ = AddressFamily::ipv6;
    a.bytes_ = bytes;
    return a;
}

std::uint32_t IpAddress::ipv4() const noexcept
{
    return (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) |
           (std::uint32_t{bytes_[2]} << 8) | std::uint32_t{bytes_[3]};
}

bool IpAddress::is_multicast() const noexcept
{
    if (is_ipv4())
        return (bytes_[0] & 0xf0) == 0xe0; // 224.0.0.0/4
    return bytes_[0] == 0xff;              // ff00::/8
}

bool IpAddress::is_unspecified() const noexcept
{
    const std::size_t n = is_ipv4() ? 4 : 16;
    for (std::size_t i = 0; i < n; ++i)
        if (bytes_[i] != 0)
            return false;
    return true;
}

bool IpAddress::is_limited_broadcast() const noexcept
{
    return is_ipv4() && ipv4() == 0xffffffffU;
}

bool IpAddress::is_loopback() const noexcept
{
    if (is_ipv4())
        return bytes_[0] == 127;
    for (std::size_t i = 0; i < 15; ++i)
        if (bytes_[i] != 0)
            return false;
    return bytes_[15] == 1;
}

bool IpAddress::is_ipv4_mapped() const noexcept
{
    if (is_ipv4())
        return false;
    for (std::size_t i = 0; i < 10; ++i)
        if (bytes_[i] != 0)
            return false;
    return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

IpAddress IpAddress::mapped_ipv4() const noexcept
{
    IpAddress a;
    a.family_ = AddressFamily::ipv4;
    std::memcpy(a.bytes_.data(), bytes_.data() + 12, 4);
    return a;
}

bool IpAddress::is_link_local_unicast() const noexcept
{
    return !is_ipv4() && bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

std::uint8_t IpAddress::multicast_scope() const noexcept
{
    return static_cast<std::uint8_t>(bytes_[1] & 0x0f);
}

std::string IpAddress::to_string() const
{
    char buf[INET6_ADDRSTRLEN] = {};
    const int af = is_ipv4() ? AF_INET : AF_INET6;
    if (inet_ntop(af, bytes_.data(), buf, sizeof buf) == nullptr)
        return {};
    return buf;
}

std::string endpoint_text(const IpAddress& address, std::uint16_t port)
{
    if (address.is_ipv4())
        return address.to_string() + ":" + std::to_string(port);
    return "[" + address.to_string() + "]:" + std::to_string(port);
}

std::string_view zone_suffix(std::string_view text)
{
    const auto percent = text.find('%');
    if (percent == std::string_view::npos)
        return {};
    const auto address = IpAddress::parse(text.substr(0, percent));
    if (!address || address->is_ipv4())
        return {};
    return text.substr(percent);
}

} // namespace mcr
