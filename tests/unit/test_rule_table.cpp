// Proves the rule table finds rules by (family, group, port, protocol,
// source) for IPv4 and IPv6, that SSM rules win over any-source ones, that
// misses miss (also across families), and that build() refuses duplicate
// inputs and an SSM source of another family.
#include "dataplane/rule_table.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

using mcr::IpAddress;
using mcr::Rule;
using mcr::dataplane::RuleTable;

namespace {
constexpr std::uint8_t kUdp = 17;

Rule make_rule(const std::string& name, const char* group, std::uint16_t port, const char* source = nullptr)
{
    Rule r;
    r.name = name;
    r.input.interface = "in0";
    r.input.address = *IpAddress::parse(group);
    r.input.port = port;
    if (source)
        r.input.source = IpAddress::parse(source);
    r.outputs.push_back({"out0", *IpAddress::parse("239.9.9.9"), 6000, std::nullopt});
    return r;
}
std::optional<std::size_t> lookup(const RuleTable& table, const char* group, std::uint16_t port, std::uint8_t protocol,
                                  const char* source)
{
    const IpAddress g = *IpAddress::parse(group);
    return table.lookup(g.family(), g.bytes(), port, protocol, IpAddress::parse(source)->bytes());
}
} // namespace

TEST_CASE("lookup finds each rule by group and port, and misses on anything else")
{
    const std::vector<Rule> rules{make_rule("a", "239.1.1.1", 5000), make_rule("b", "239.1.1.2", 5000),
                                  make_rule("c", "239.1.1.1", 5001)};
    auto table = RuleTable::build(rules);
    REQUIRE(table.ok());
    CHECK(table->size() == 3);
    CHECK(lookup(*table, "239.1.1.1", 5000, kUdp, "198.51.100.2") == 0U);
    CHECK(lookup(*table, "239.1.1.2", 5000, kUdp, "198.51.100.2") == 1U);
    CHECK(lookup(*table, "239.1.1.1", 5001, kUdp, "198.51.100.2") == 2U);
    CHECK_FALSE(lookup(*table, "239.1.1.3", 5000, kUdp, "198.51.100.2"));
    CHECK_FALSE(lookup(*table, "239.1.1.1", 5002, kUdp, "198.51.100.2"));
    CHECK_FALSE(lookup(*table, "239.1.1.1", 5000, 6, "198.51.100.2"));
}

TEST_CASE("an SSM rule takes precedence over the any-source rule for the same group and port")
{
    const std::vector<Rule> rules{make_rule("any", "239.1.1.1", 5000),
                                  make_rule("ssm", "239.1.1.1", 5000, "198.51.100.7")};
    auto table = RuleTable::build(rules);
    REQUIRE(table.ok());
    CHECK(lookup(*table, "239.1.1.1", 5000, kUdp, "198.51.100.7") == 1U);
    CHECK(lookup(*table, "239.1.1.1", 5000, kUdp, "198.51.100.8") == 0U);
}

TEST_CASE("an SSM-only group misses for other sources")
{
    const std::vector<Rule> rules{make_rule("ssm", "232.1.1.1", 5000, "198.51.100.7")};
    auto table = RuleTable::build(rules);
    REQUIRE(table.ok());
    CHECK(lookup(*table, "232.1.1.1", 5000, kUdp, "198.51.100.7") == 0U);
    CHECK_FALSE(lookup(*table, "232.1.1.1", 5000, kUdp, "198.51.100.8"));
}

TEST_CASE("many rules all resolve to their own index")
{
    std::vector<Rule> rules;
    for (int i = 0; i < 1000; ++i)
        rules.push_back(make_rule("r" + std::to_string(i), ("239.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str(),
                                  static_cast<std::uint16_t>(5000 + i % 7)));
    auto table = RuleTable::build(rules);
    REQUIRE(table.ok());
    for (std::size_t i = 0; i < rules.size(); ++i)
        REQUIRE(table->lookup(rules[i].input.address.family(), rules[i].input.address.bytes(), rules[i].input.port,
                              kUdp, mcr::dataplane::ipv4_address_bytes(1)) == i);
}

TEST_CASE("an empty table misses")
{
    const RuleTable empty;
    CHECK_FALSE(lookup(empty, "239.1.1.1", 5000, kUdp, "0.0.0.0"));
}

TEST_CASE("build refuses two rules with the same input, naming the rule")
{
    const std::vector<Rule> duplicate{make_rule("a", "239.1.1.1", 5000), make_rule("b", "239.1.1.1", 5000)};
    auto bad = RuleTable::build(duplicate);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().path == "rules[1].input");
    CHECK(bad.error().reason == "same input as another rule (239.1.1.1:5000)");
    const std::vector<Rule> duplicate6{make_rule("a", "ff3e::1", 5000), make_rule("b", "ff3e::1", 5000)};
    auto bad6 = RuleTable::build(duplicate6);
    REQUIRE_FALSE(bad6.ok());
    CHECK(bad6.error().path == "rules[1].input");
    CHECK(bad6.error().reason == "same input as another rule (ff3e::1:5000)");
}

TEST_CASE("build refuses an SSM source of another family than the group")
{
    const std::vector<Rule> mixed{make_rule("a", "ff3e::1", 5000, "198.51.100.7")};
    auto bad = RuleTable::build(mixed);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().path == "rules[0].input.source");
}

TEST_CASE("IPv6 rules are found by group, port and source, and never by an IPv4 key")
{
    const std::vector<Rule> rules{make_rule("v4", "239.1.1.1", 5000), make_rule("v6", "ff3e::1", 5000),
                                  make_rule("v6ssm", "ff3e::1", 5000, "2001:db8::7"),
                                  make_rule("v6b", "ff3e::2", 5001)};
    auto table = RuleTable::build(rules);
    REQUIRE(table.ok());
    CHECK(lookup(*table, "239.1.1.1", 5000, kUdp, "198.51.100.2") == 0U);
    CHECK(lookup(*table, "ff3e::1", 5000, kUdp, "2001:db8::2") == 1U);
    CHECK(lookup(*table, "ff3e::1", 5000, kUdp, "2001:db8::7") == 2U);
    CHECK(lookup(*table, "ff3e::2", 5001, kUdp, "2001:db8::2") == 3U);
    CHECK_FALSE(lookup(*table, "ff3e::2", 5000, kUdp, "2001:db8::2"));
    CHECK_FALSE(lookup(*table, "ff3e::3", 5000, kUdp, "2001:db8::2"));
    CHECK_FALSE(lookup(*table, "ff3e::1", 5000, 6, "2001:db8::2"));
    // The same 16 bytes under the other family are another key: an IPv4
    // group's bytes (ef01:0101::) never find the IPv6 rule and vice versa.
    const IpAddress v4_group = *IpAddress::parse("239.1.1.1");
    CHECK_FALSE(table->lookup(mcr::AddressFamily::ipv6, v4_group.bytes(), 5000, kUdp, mcr::dataplane::kAnySource));
    const IpAddress v6_group = *IpAddress::parse("ff3e::1");
    CHECK_FALSE(table->lookup(mcr::AddressFamily::ipv4, v6_group.bytes(), 5000, kUdp, mcr::dataplane::kAnySource));
}

TEST_CASE("many IPv6 rules differing only in the group's low bits all resolve to their own index")
{
    std::vector<Rule> rules;
    char text[64];
    for (int i = 0; i < 1000; ++i) {
        std::snprintf(text, sizeof text, "ff3e::%x", i + 1);
        rules.push_back(make_rule("r" + std::to_string(i), text, static_cast<std::uint16_t>(5000 + i % 3)));
    }
    auto table = RuleTable::build(rules);
    REQUIRE(table.ok());
    for (std::size_t i = 0; i < rules.size(); ++i)
        REQUIRE(table->lookup(rules[i].input.address.family(), rules[i].input.address.bytes(), rules[i].input.port,
                              kUdp, mcr::dataplane::kAnySource) == i);
}
