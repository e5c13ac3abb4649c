// Proves the rule table finds rules by (group, port, protocol, source), that
// SSM rules win over any-source ones, that misses miss, and that build()
// refuses duplicate and IPv6 inputs.
#include "dataplane/rule_table.hpp"

#include <doctest/doctest.h>

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
std::uint32_t v4(const char* text)
{
    return IpAddress::parse(text)->ipv4();
}
} // namespace

TEST_CASE("lookup finds each rule by group and port, and misses on anything else")
{
    const std::vector<Rule> rules{make_rule("a", "239.1.1.1", 5000), make_rule("b", "239.1.1.2", 5000),
                                  make_rule("c", "239.1.1.1", 5001)};
    auto table = RuleTable::build(rules);
    REQUIRE(table.ok());
    CHECK(table->size() == 3);
    CHECK(table->lookup(v4("239.1.1.1"), 5000, kUdp, v4("198.51.100.2")) == 0U);
    CHECK(table->lookup(v4("239.1.1.2"), 5000, kUdp, v4("198.51.100.2")) == 1U);
    CHECK(table->lookup(v4("239.1.1.1"), 5001, kUdp, v4("198.51.100.2")) == 2U);
    CHECK_FALSE(table->lookup(v4("239.1.1.3"), 5000, kUdp, v4("198.51.100.2")));
    CHECK_FALSE(table->lookup(v4("239.1.1.1"), 5002, kUdp, v4("198.51.100.2")));
    CHECK_FALSE(table->lookup(v4("239.1.1.1"), 5000, 6, v4("198.51.100.2")));
}

TEST_CASE("an SSM rule takes precedence over the any-source rule for the same group and port")
{
    const std::vector<Rule> rules{make_rule("any", "239.1.1.1", 5000),
                                  make_rule("ssm", "239.1.1.1", 5000, "198.51.100.7")};
    auto table = RuleTable::build(rules);
    REQUIRE(table.ok());
    CHECK(table->lookup(v4("239.1.1.1"), 5000, kUdp, v4("198.51.100.7")) == 1U);
    CHECK(table->lookup(v4("239.1.1.1"), 5000, kUdp, v4("198.51.100.8")) == 0U);
}

TEST_CASE("an SSM-only group misses for other sources")
{
    const std::vector<Rule> rules{make_rule("ssm", "232.1.1.1", 5000, "198.51.100.7")};
    auto table = RuleTable::build(rules);
    REQUIRE(table.ok());
    CHECK(table->lookup(v4("232.1.1.1"), 5000, kUdp, v4("198.51.100.7")) == 0U);
    CHECK_FALSE(table->lookup(v4("232.1.1.1"), 5000, kUdp, v4("198.51.100.8")));
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
        REQUIRE(table->lookup(rules[i].input.address.ipv4(), rules[i].input.port, kUdp, 1) == i);
}

TEST_CASE("an empty table misses")
{
    const RuleTable empty;
    CHECK_FALSE(empty.lookup(v4("239.1.1.1"), 5000, kUdp, 0));
}

TEST_CASE("build refuses two rules with the same input and IPv6 inputs, naming the rule")
{
    const std::vector<Rule> duplicate{make_rule("a", "239.1.1.1", 5000), make_rule("b", "239.1.1.1", 5000)};
    auto bad = RuleTable::build(duplicate);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().path == "rules[1].input");
    CHECK(bad.error().reason == "same input as another rule (239.1.1.1:5000)");
    const std::vector<Rule> ipv6{make_rule("a", "ff3e::1", 5000)};
    auto bad6 = RuleTable::build(ipv6);
    REQUIRE_FALSE(bad6.ok());
    CHECK(bad6.error().path == "rules[0].input");
}
