// Proves how the source address of translated copies is chosen from an
// interface's addresses (IPv4 primary; IPv6 global before link-local; host
// scope and failed duplicate detection never) and that RTM_NEWADDR messages
// of both families are read with their flags and scope.
#include "netlink/source_addresses.hpp"

#include <doctest/doctest.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

using mcr::choose_source_addresses;
using mcr::InterfaceAddress;
using mcr::IpAddress;

namespace {

InterfaceAddress entry(const char* text, bool global, bool link = false, bool secondary = false, bool usable = true)
{
    return InterfaceAddress{*IpAddress::parse(text), secondary, usable, global, link};
}

// An RTM_NEWADDR message as the kernel sends it.
std::vector<char> address_message(int family, int ifindex, const char* text, std::uint8_t scope, std::uint32_t flags)
{
    std::vector<char> buffer(512, 0);
    nlmsghdr* message = mnl_nlmsg_put_header(buffer.data());
    message->nlmsg_type = RTM_NEWADDR;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
    ifa->ifa_family = static_cast<std::uint8_t>(family);
    ifa->ifa_index = static_cast<std::uint32_t>(ifindex);
    ifa->ifa_scope = scope;
    ifa->ifa_flags = static_cast<std::uint8_t>(flags);
    const IpAddress address = *IpAddress::parse(text);
    const std::size_t size = family == AF_INET ? 4 : 16;
    mnl_attr_put(message, IFA_ADDRESS, size, address.bytes().data());
    if (family == AF_INET)
        mnl_attr_put(message, IFA_LOCAL, size, address.bytes().data());
    mnl_attr_put_u32(message, IFA_FLAGS, flags);
    return buffer;
}

} // namespace

TEST_CASE("IPv4: the primary address, never a secondary or host-scope one")
{
    const std::vector<InterfaceAddress> addresses{entry("127.0.0.1", false), entry("192.0.2.9", true, false, true),
                                                  entry("192.0.2.1", true), entry("198.51.100.1", true)};
    const auto chosen = choose_source_addresses(addresses);
    REQUIRE(chosen.ipv4.has_value());
    CHECK(chosen.ipv4->to_string() == "192.0.2.1");
    CHECK_FALSE(chosen.ipv6.has_value());
}

TEST_CASE("IPv6: a global address before a link-local one, whatever the order; else the link-local one")
{
    const std::vector<InterfaceAddress> both{entry("fe80::1", false, true), entry("::1", false),
                                             entry("2001:db8::5", false, false, false, false), // DAD failed
                                             entry("2001:db8::1", true)};
    const auto chosen = choose_source_addresses(both);
    REQUIRE(chosen.ipv6.has_value());
    CHECK(chosen.ipv6->to_string() == "2001:db8::1");
    CHECK_FALSE(chosen.ipv4.has_value());
    const std::vector<InterfaceAddress> link_only{entry("::1", false), entry("fe80::1", false, true),
                                                  entry("fe80::2", false, true)};
    CHECK(choose_source_addresses(link_only).ipv6->to_string() == "fe80::1");
    const std::vector<InterfaceAddress> none{entry("::1", false), entry("fe80::9", false, true, false, false)};
    CHECK_FALSE(choose_source_addresses(none).ipv6.has_value());
}

TEST_CASE("RTM_NEWADDR of both families is read with scope and flags, other interfaces skipped")
{
    const auto v6 = address_message(AF_INET6, 7, "2001:db8::1", RT_SCOPE_UNIVERSE, IFA_F_NODAD);
    const auto parsed6 = mcr::parse_interface_address(reinterpret_cast<const nlmsghdr*>(v6.data()), 7);
    REQUIRE(parsed6.has_value());
    CHECK(parsed6->address.to_string() == "2001:db8::1");
    CHECK(parsed6->global_scope);
    CHECK(parsed6->usable);
    CHECK_FALSE(mcr::parse_interface_address(reinterpret_cast<const nlmsghdr*>(v6.data()), 8).has_value());
    const auto failed = address_message(AF_INET6, 7, "fe80::1", RT_SCOPE_LINK, IFA_F_DADFAILED | IFA_F_TENTATIVE);
    const auto parsed_failed = mcr::parse_interface_address(reinterpret_cast<const nlmsghdr*>(failed.data()), 7);
    REQUIRE(parsed_failed.has_value());
    CHECK(parsed_failed->link_scope);
    CHECK_FALSE(parsed_failed->usable);
    const auto v4 = address_message(AF_INET, 7, "192.0.2.9", RT_SCOPE_UNIVERSE, IFA_F_SECONDARY);
    const auto parsed4 = mcr::parse_interface_address(reinterpret_cast<const nlmsghdr*>(v4.data()), 7);
    REQUIRE(parsed4.has_value());
    CHECK(parsed4->address.to_string() == "192.0.2.9");
    CHECK(parsed4->secondary);
}

TEST_CASE("an interface that does not exist has no source addresses")
{
    const auto chosen = mcr::query_source_addresses("mcrd-nosuch0");
    CHECK_FALSE(chosen.ipv4.has_value());
    CHECK_FALSE(chosen.ipv6.has_value());
}
