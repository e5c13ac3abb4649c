// Proves IpAddress parses only real addresses and classifies them right.
#include "core/address.hpp"

#include <doctest/doctest.h>

using mcr::IpAddress;

TEST_CASE("IPv4 dotted quads parse and print back unchanged")
{
    auto a = IpAddress::parse("239.1.2.3");
    REQUIRE(a);
    CHECK(a->is_ipv4());
    CHECK(a->ipv4() == 0xef010203U);
    CHECK(a->to_string() == "239.1.2.3");
    CHECK(IpAddress::from_ipv4(0xef010203U) == *a);
}

TEST_CASE("text that is not an address is refused")
{
    for (const char* bad : {"", "239.1.2", "239.1.2.3.4", "256.1.1.1", " 239.1.1.1", "239.1.1.1 ",
                            "eth0", "239.1.1.1/32", "::g", "fe80::1%eth0"})
        CHECK_MESSAGE(!IpAddress::parse(bad), bad);
}

TEST_CASE("multicast, unspecified, broadcast and loopback are told apart")
{
    CHECK(IpAddress::parse("224.0.0.1")->is_multicast());
    CHECK(IpAddress::parse("239.255.255.255")->is_multicast());
    CHECK_FALSE(IpAddress::parse("240.0.0.1")->is_multicast());
    CHECK_FALSE(IpAddress::parse("192.0.2.1")->is_multicast());
    CHECK(IpAddress::parse("0.0.0.0")->is_unspecified());
    CHECK(IpAddress::parse("255.255.255.255")->is_limited_broadcast());
    CHECK(IpAddress::parse("127.0.0.1")->is_loopback());
    CHECK(IpAddress::parse("ff3e::1234")->is_multicast());
    CHECK(IpAddress::parse("::")->is_unspecified());
    CHECK(IpAddress::parse("::1")->is_loopback());
    CHECK(IpAddress::parse("2001:db8::1")->family() == mcr::AddressFamily::ipv6);
}

TEST_CASE("IPv6 classes rule validation needs: IPv4-mapped, link-local unicast, multicast scope")
{
    // Boundaries of ::ffff:0:0/96 and fe80::/10, and the scope nibble whatever the flags.
    CHECK(IpAddress::parse("::ffff:192.0.2.1")->is_ipv4_mapped());
    CHECK(IpAddress::parse("::ffff:192.0.2.1")->mapped_ipv4() == *IpAddress::parse("192.0.2.1"));
    CHECK_FALSE(IpAddress::parse("::fffe:192.0.2.1")->is_ipv4_mapped());
    CHECK_FALSE(IpAddress::parse("1::ffff:192.0.2.1")->is_ipv4_mapped());
    CHECK_FALSE(IpAddress::parse("192.0.2.1")->is_ipv4_mapped());
    CHECK(IpAddress::parse("fe80::1")->is_link_local_unicast());
    CHECK(IpAddress::parse("febf:ffff::1")->is_link_local_unicast());
    CHECK_FALSE(IpAddress::parse("fec0::1")->is_link_local_unicast());
    CHECK_FALSE(IpAddress::parse("fe7f::1")->is_link_local_unicast());
    CHECK(IpAddress::parse("ff02::1")->multicast_scope() == 2);
    CHECK(IpAddress::parse("ff32::1")->multicast_scope() == 2);
    CHECK(IpAddress::parse("ff3e::1")->multicast_scope() == 0xe);
    CHECK(IpAddress::parse("ff15::1")->multicast_scope() == 5);
}

TEST_CASE("endpoint_text brackets IPv6 only; zone_suffix finds the %zone of IPv6 text")
{
    // The one spelling of address:port every surface shows.
    CHECK(mcr::endpoint_text(*IpAddress::parse("239.1.1.1"), 5000) == "239.1.1.1:5000");
    CHECK(mcr::endpoint_text(*IpAddress::parse("ff3e::1"), 5000) == "[ff3e::1]:5000");
    CHECK(mcr::zone_suffix("fe80::1%eth0") == "%eth0");
    CHECK(mcr::zone_suffix("ff02::1%2") == "%2");
    CHECK(mcr::zone_suffix("fe80::1") == "");
    CHECK(mcr::zone_suffix("192.0.2.1%eth0") == ""); // IPv4 has no zones: just not an address
    CHECK(mcr::zone_suffix("nonsense%eth0") == "");
}
