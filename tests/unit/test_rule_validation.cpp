// Proves rule validation refuses every constraint violation with the exact
// field path and a reason that quotes the bad value.
#include "core/rule_validation.hpp"
#include "core_test_helpers.hpp"

#include <doctest/doctest.h>

using namespace mcr;
using mcr::test::check_error;
using mcr::test::ip;
using mcr::test::valid_rule;

TEST_CASE("a well-formed rule and rule set pass validation")
{
    // Baseline: the fixture is valid, also with SSM source, unicast output and TTL.
    CHECK(validate_rule(valid_rule()).ok());
    Rule rule = valid_rule("ssm.feed_2");
    rule.input.source = ip("192.0.2.10");
    rule.outputs.push_back(RuleOutput{"eth2", ip("198.51.100.7"), 7000, std::uint8_t{16}});
    CHECK(validate_rule(rule).ok());
    RuleSet set{{valid_rule("a"), rule}};
    set.rules[0].input.port = 5001;
    CHECK(validate_rule_set(set).ok());
}

TEST_CASE("rule names outside [A-Za-z0-9_.-]{1,64} are refused, quoted")
{
    // Each bad name gets path "name" and a reason naming it.
    Rule rule = valid_rule("");
    check_error(validate_rule(rule), "name", "rule name must not be empty");
    rule.name = std::string(65, 'a');
    check_error(validate_rule(rule), "name",
                "rule name \"" + std::string(65, 'a') + "\" is 65 characters, at most 64 allowed");
    rule.name = ".hidden";
    check_error(validate_rule(rule), "name", "rule name \".hidden\" must not start with '.'");
    rule.name = "-opt";
    check_error(validate_rule(rule), "name", "rule name \"-opt\" must not start with '-'");
    rule.name = "my rule";
    check_error(validate_rule(rule), "name",
                "rule name \"my rule\" contains \" \"; allowed are A-Z a-z 0-9 _ . -");
    rule.name = "a/b";
    check_error(validate_rule(rule), "name",
                "rule name \"a/b\" contains \"/\"; allowed are A-Z a-z 0-9 _ . -");
    rule.name = "caf\xc3\xa9";
    check_error(validate_rule(rule), "name",
                "rule name \"caf\\xc3\\xa9\" contains \"\\xc3\"; allowed are A-Z a-z 0-9 _ . -");
}

TEST_CASE("rule names at the limits are accepted")
{
    // 64 characters and every allowed character class pass.
    CHECK(rule_name_problem(std::string(64, 'z')).empty());
    CHECK(rule_name_problem("A-z_0.9").empty());
    CHECK(rule_name_problem("x").empty());
}

TEST_CASE("a derived or sanitized rule name is always one validation accepts")
{
    // The one derivation AddRule and the config.json5 import share.
    CHECK(derived_rule_name("eth0", "239.1.1.1", 5000) == "eth0-239.1.1.1-5000");
    CHECK(derived_rule_name("veth:in", "239.1.1.1", 1) == "veth_in-239.1.1.1-1");
    CHECK(sanitized_rule_name("-feed one") == "_feed_one");
    CHECK(sanitized_rule_name(".x") == "_x");
    CHECK(sanitized_rule_name("") == "rule");
    const std::string long_name = derived_rule_name(std::string(80, 'i'), "239.1.1.1", 5000);
    CHECK(long_name == std::string(64, 'i'));
    for (const std::string& name : {derived_rule_name("a b/c", "ff02::1", 65535), sanitized_rule_name("\x01\xff"),
                                    long_name, sanitized_rule_name(std::string(100, '-'))})
        CHECK_MESSAGE(rule_name_problem(name).empty(), name);
}

TEST_CASE("interface names follow the kernel's rules")
{
    // Empty, 16 bytes, '/', ':', '@', whitespace, "." and ".." are all refused.
    CHECK(interface_name_problem("") == "interface name must not be empty");
    CHECK(interface_name_problem("abcdefghijklmnop") ==
          "interface name \"abcdefghijklmnop\" is 16 bytes, at most 15 allowed");
    CHECK(interface_name_problem("abcdefghijklmno").empty());
    CHECK(interface_name_problem("eth0/1") == "interface name \"eth0/1\" must not contain '/'");
    CHECK(interface_name_problem("eth0:1") == "interface name \"eth0:1\" must not contain ':'");
    CHECK(interface_name_problem("veth@if3") == "interface name \"veth@if3\" must not contain '@'");
    CHECK(interface_name_problem("eth 0") == "interface name \"eth 0\" must not contain whitespace");
    CHECK(interface_name_problem("eth\t0") ==
          "interface name \"eth\\x090\" must not contain whitespace");
    CHECK(interface_name_problem(".") == "interface name must not be \".\"");
    CHECK(interface_name_problem("..") == "interface name must not be \"..\"");
    CHECK(interface_name_problem(std::string_view("e\x01", 2)) ==
          "interface name \"e\\x01\" must not contain control characters");
    CHECK(interface_name_problem("veth-in.100").empty());
}

TEST_CASE("interface name errors carry the input or output path")
{
    // The same check, reported where the name was written.
    Rule rule = valid_rule();
    rule.input.interface = "eth0:1";
    check_error(validate_rule(rule), "input.interface",
                "interface name \"eth0:1\" must not contain ':'");
    rule = valid_rule();
    rule.outputs.push_back(RuleOutput{"", ip("239.3.3.3"), 6000, {}});
    check_error(validate_rule(rule), "outputs[1].interface", "interface name must not be empty");
}

TEST_CASE("input address must not be unspecified, broadcast or loopback")
{
    // Three unusable inputs, each named with its value.
    Rule rule = valid_rule();
    rule.input.address = ip("0.0.0.0");
    check_error(validate_rule(rule), "input.address",
                "must not be the unspecified address, got \"0.0.0.0\"");
    rule.input.address = ip("255.255.255.255");
    check_error(validate_rule(rule), "input.address",
                "must not be the broadcast address, got \"255.255.255.255\"");
    rule.input.address = ip("127.0.0.1");
    check_error(validate_rule(rule), "input.address",
                "must not be a loopback address, got \"127.0.0.1\"");
    rule.input.address = ip("203.0.113.5"); // unicast input is fine
    CHECK(validate_rule(rule).ok());
}

TEST_CASE("IPv6 addresses are refused anywhere for now")
{
    // Input, output and source each report "IPv6 is not supported yet".
    Rule rule = valid_rule();
    rule.input.address = ip("ff3e::1234");
    check_error(validate_rule(rule), "input.address", "IPv6 is not supported yet, got \"ff3e::1234\"");
    rule = valid_rule();
    rule.outputs[0].address = ip("2001:db8::5");
    check_error(validate_rule(rule), "outputs[0].address",
                "IPv6 is not supported yet, got \"2001:db8::5\"");
    rule = valid_rule();
    rule.input.address = ip("ff3e::1234");
    rule.input.source = ip("2001:db8::1");
    check_error(validate_rule(rule), "input.address", "IPv6 is not supported yet, got \"ff3e::1234\"");
}

TEST_CASE("source must be a unicast sender of the group's family")
{
    // Multicast, unspecified and loopback sources are refused with their value.
    Rule rule = valid_rule();
    rule.input.source = ip("239.9.9.9");
    check_error(validate_rule(rule), "input.source", "must be a unicast sender address, got \"239.9.9.9\"");
    rule.input.source = ip("0.0.0.0");
    check_error(validate_rule(rule), "input.source", "must be a unicast sender address, got \"0.0.0.0\"");
    rule.input.source = ip("127.0.0.2");
    check_error(validate_rule(rule), "input.source", "must be a unicast sender address, got \"127.0.0.2\"");
    rule.input.source = ip("2001:db8::1");
    check_error(validate_rule(rule), "input.source",
                "must be the same address family as input.address \"239.1.1.1\", got \"2001:db8::1\"");
}

TEST_CASE("source is only allowed for a multicast input")
{
    // SSM makes no sense for unicast: both addresses are quoted.
    Rule rule = valid_rule();
    rule.input.address = ip("203.0.113.5");
    rule.input.source = ip("192.0.2.10");
    check_error(validate_rule(rule), "input.source",
                "only allowed when input.address is multicast (source-specific multicast), "
                "got source \"192.0.2.10\" for unicast input.address \"203.0.113.5\"");
}

TEST_CASE("output address must not be unspecified or broadcast")
{
    // Both errors carry the output's index.
    Rule rule = valid_rule();
    rule.outputs.push_back(RuleOutput{"eth2", ip("0.0.0.0"), 6000, {}});
    check_error(validate_rule(rule), "outputs[1].address",
                "must not be the unspecified address, got \"0.0.0.0\"");
    rule.outputs[1].address = ip("255.255.255.255");
    check_error(validate_rule(rule), "outputs[1].address",
                "must not be the broadcast address, got \"255.255.255.255\"");
}

TEST_CASE("port 0 is refused for input and outputs")
{
    // UDP port 0 cannot be a destination.
    Rule rule = valid_rule();
    rule.input.port = 0;
    check_error(validate_rule(rule), "input.port", "must be 1..65535, got 0");
    rule = valid_rule();
    rule.outputs[0].port = 0;
    check_error(validate_rule(rule), "outputs[0].port", "must be 1..65535, got 0");
    rule.outputs[0].port = 65535;
    CHECK(validate_rule(rule).ok());
}

TEST_CASE("an output TTL of 0 is refused, 1 and 255 are fine")
{
    // TTL 0 would never leave the host.
    Rule rule = valid_rule();
    rule.outputs[0].ttl = 0;
    check_error(validate_rule(rule), "outputs[0].ttl", "must be 1..255, got 0");
    rule.outputs[0].ttl = 1;
    CHECK(validate_rule(rule).ok());
    rule.outputs[0].ttl = 255;
    CHECK(validate_rule(rule).ok());
}

TEST_CASE("listeners \"required\" is for multicast outputs only")
{
    // Only a group has listeners that IGMP/MLD can report.
    Rule rule = valid_rule();
    rule.outputs[0].listeners = ListenerPolicy::required;
    CHECK(validate_rule(rule).ok());
    rule.outputs[0].address = ip("198.51.100.7");
    check_error(validate_rule(rule), "outputs[0].listeners",
                "\"required\" needs a multicast output address, got 198.51.100.7");
}

TEST_CASE("a rule needs 1..64 outputs")
{
    // Empty and 65 outputs are refused; 64 distinct outputs pass.
    Rule rule = valid_rule();
    rule.outputs.clear();
    check_error(validate_rule(rule), "outputs", "must list at least one output, got none");
    for (std::uint16_t i = 0; i < kMaxOutputsPerRule; ++i)
        rule.outputs.push_back(RuleOutput{"eth1", ip("239.2.2.2"), static_cast<std::uint16_t>(7000 + i), {}});
    CHECK(validate_rule(rule).ok());
    rule.outputs.push_back(RuleOutput{"eth1", ip("239.2.2.2"), 8000, {}});
    check_error(validate_rule(rule), "outputs", "must list at most 64 outputs, got 65");
}

TEST_CASE("duplicate outputs in one rule are refused")
{
    // Same interface+address+port twice, even with a different TTL.
    Rule rule = valid_rule();
    rule.outputs.push_back(RuleOutput{"eth2", ip("239.3.3.3"), 6000, {}});
    rule.outputs.push_back(RuleOutput{"eth1", ip("239.2.2.2"), 6000, std::uint8_t{9}});
    check_error(validate_rule(rule), "outputs[2]", "duplicate of outputs[0] (eth1 239.2.2.2:6000)");
}

TEST_CASE("an output equal to the rule's own input is refused")
{
    // It would feed its own copies back in; another interface is fine.
    Rule rule = valid_rule();
    rule.outputs.push_back(RuleOutput{"eth0", ip("239.1.1.1"), 5000, {}});
    check_error(validate_rule(rule), "outputs[1]",
                "output would loop back into its own input (eth0 239.1.1.1:5000)");
    rule.outputs[1].interface = "eth3";
    CHECK(validate_rule(rule).ok());
}

TEST_CASE("validate_rule prefixes every path")
{
    // Errors inside a set read "rules[N].field".
    Rule rule = valid_rule();
    rule.outputs[0].port = 0;
    check_error(validate_rule(rule, "rules[2]"), "rules[2].outputs[0].port", "must be 1..65535, got 0");
    RuleSet set{{valid_rule("a"), rule}};
    set.rules[1].name = "b";
    set.rules[1].input.port = 5001;
    check_error(validate_rule_set(set), "rules[1].outputs[0].port", "must be 1..65535, got 0");
}

TEST_CASE("duplicate rule names in a set are refused")
{
    // The error points at the later rule and names the earlier one.
    RuleSet set{{valid_rule("x"), valid_rule("y"), valid_rule("z"), valid_rule("y")}};
    for (std::size_t i = 0; i < set.rules.size(); ++i)
        set.rules[i].input.port = static_cast<std::uint16_t>(5000 + i);
    check_error(validate_rule_set(set), "rules[3].name", "duplicate rule name \"y\" (also rules[1])");
}

TEST_CASE("duplicate inputs in a set are refused; another source is a different input")
{
    // Same interface+address+port+source twice is ambiguous.
    RuleSet set{{valid_rule("a"), valid_rule("b")}};
    check_error(validate_rule_set(set), "rules[1].input",
                "duplicate input eth0 239.1.1.1:5000 (also rules[0])");
    set.rules[1].input.source = ip("192.0.2.1");
    CHECK(validate_rule_set(set).ok());
    set.rules[0].input.source = ip("192.0.2.1");
    check_error(validate_rule_set(set), "rules[1].input",
                "duplicate input eth0 239.1.1.1:5000 source 192.0.2.1 (also rules[0])");
}

TEST_CASE("a set over the rule limit is refused")
{
    // max_rules is honoured exactly.
    RuleSet set{{valid_rule("a"), valid_rule("b"), valid_rule("c")}};
    for (std::size_t i = 0; i < set.rules.size(); ++i)
        set.rules[i].input.port = static_cast<std::uint16_t>(5000 + i);
    CHECK(validate_rule_set(set, 3).ok());
    check_error(validate_rule_set(set, 2), "rules", "too many rules: 3, at most 2 allowed");
}

TEST_CASE("validate_new_rule checks the rule, its name, its input and the limit")
{
    // What AddRule relies on, one refusal each.
    RuleSet set{{valid_rule("a")}};
    Rule rule = valid_rule("b");
    rule.input.port = 5001;
    CHECK(validate_new_rule(set, rule).ok());
    check_error(validate_new_rule(set, rule, 1), "", "too many rules: 2, at most 1 allowed");
    rule.name = "a";
    check_error(validate_new_rule(set, rule), "name", "a rule named \"a\" already exists");
    rule.name = "b";
    rule.input.port = 5000;
    check_error(validate_new_rule(set, rule), "input",
                "rule \"a\" already has input eth0 239.1.1.1:5000");
    rule.input.port = 0;
    check_error(validate_new_rule(set, rule), "input.port", "must be 1..65535, got 0");
}
