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
