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

TEST_CASE("IPv6 rules, translations and mixed-family outputs are accepted")
{
    // IPv6 in, IPv6 out; 4->6; 6->4; one rule with outputs of both families; SSM with an IPv6 source.
    Rule rule = valid_rule();
    rule.input.address = ip("ff3e::1234");
    rule.outputs[0].address = ip("ff3e::5678");
    CHECK(validate_rule(rule).ok());
    rule.outputs[0].address = ip("2001:db8::5"); // IPv6 multicast to IPv6 unicast
    CHECK(validate_rule(rule).ok());
    rule = valid_rule();
    rule.outputs[0].address = ip("ff3e::1");
    CHECK(validate_rule(rule).ok());
    rule = valid_rule();
    rule.input.address = ip("ff15::42");
    CHECK(validate_rule(rule).ok());
    rule.outputs.push_back(RuleOutput{"eth2", ip("ff3e::9"), 6000, std::uint8_t{8}});
    rule.outputs.push_back(RuleOutput{"eth3", ip("198.51.100.7"), 7000, {}});
    CHECK(validate_rule(rule).ok());
    rule.input.address = ip("ff3e::1234");
    rule.input.source = ip("2001:db8::1");
    CHECK(validate_rule(rule).ok());
    rule.input.address = ip("2001:db8::20"); // IPv6 unicast input
    rule.input.source.reset();
    CHECK(validate_rule(rule).ok());
}

TEST_CASE("an IPv6 output is not a loop or duplicate of an IPv4 one, but equal IPv6 endpoints are")
{
    // Duplicate and loop errors write IPv6 endpoints in brackets.
    Rule rule = valid_rule();
    rule.input.address = ip("ff3e::1");
    rule.outputs[0] = RuleOutput{"eth0", ip("ff3e::1"), 5000, {}};
    check_error(validate_rule(rule), "outputs[0]",
                "output would loop back into its own input (eth0 [ff3e::1]:5000)");
    rule.outputs[0] = RuleOutput{"eth1", ip("ff3e::2"), 6000, {}};
    rule.outputs.push_back(RuleOutput{"eth1", ip("ff3e::2"), 6000, std::uint8_t{3}});
    check_error(validate_rule(rule), "outputs[1]", "duplicate of outputs[0] (eth1 [ff3e::2]:6000)");
}

TEST_CASE("interface-local and reserved-scope IPv6 groups are refused everywhere")
{
    // ffX1:: (any flags), ffX0:: and ffXf:: as input, output; the value is quoted.
    Rule rule = valid_rule();
    rule.input.address = ip("ff01::1");
    check_error(validate_rule(rule), "input.address",
                "must not be an interface-local multicast group (scope 1, ffX1::), got \"ff01::1\"");
    rule.input.address = ip("ff31::8000:1");
    check_error(validate_rule(rule), "input.address",
                "must not be an interface-local multicast group (scope 1, ffX1::), got \"ff31::8000:1\"");
    rule.input.address = ip("ff30::1");
    check_error(validate_rule(rule), "input.address",
                "must not be a multicast group of reserved scope 0 (ffX0::), got \"ff30::1\"");
    rule = valid_rule();
    rule.outputs[0].address = ip("ff0f::1");
    check_error(validate_rule(rule), "outputs[0].address",
                "must not be a multicast group of reserved scope f (ffXf::), got \"ff0f::1\"");
    rule.outputs[0].address = ip("ff11::5");
    rule.allow_link_local = true; // the opt-in is for link-local scope only
    check_error(validate_rule(rule), "outputs[0].address",
                "must not be an interface-local multicast group (scope 1, ffX1::), got \"ff11::5\"");
}

TEST_CASE("link-local IPv6 groups and fe80::/10 need allow_link_local")
{
    // Without the flag each place is refused with the opt-in named; with it they pass.
    const std::string opt_in = "set allow_link_local (mcrctl --allow-link-local) to relay it";
    Rule rule = valid_rule();
    rule.input.address = ip("ff02::fb");
    check_error(validate_rule(rule), "input.address",
                "is a link-local multicast group (scope 2, ffX2::): " + opt_in + ", got \"ff02::fb\"");
    rule.input.address = ip("ff32::1:2");
    check_error(validate_rule(rule), "input.address",
                "is a link-local multicast group (scope 2, ffX2::): " + opt_in + ", got \"ff32::1:2\"");
    rule.allow_link_local = true;
    CHECK(validate_rule(rule).ok());

    rule = valid_rule();
    rule.outputs[0].address = ip("ff12::7");
    check_error(validate_rule(rule), "outputs[0].address",
                "is a link-local multicast group (scope 2, ffX2::): " + opt_in + ", got \"ff12::7\"");
    rule.outputs[0].address = ip("fe80::1");
    check_error(validate_rule(rule), "outputs[0].address",
                "is a link-local unicast address (fe80::/10): " + opt_in + ", got \"fe80::1\"");
    rule.outputs[0].address = ip("febf::1"); // the top of fe80::/10
    check_error(validate_rule(rule), "outputs[0].address",
                "is a link-local unicast address (fe80::/10): " + opt_in + ", got \"febf::1\"");
    rule.outputs[0].address = ip("fec0::1"); // just outside fe80::/10
    CHECK(validate_rule(rule).ok());
    rule.outputs[0].address = ip("fe80::1");
    rule.allow_link_local = true;
    CHECK(validate_rule(rule).ok());

    rule = valid_rule();
    rule.input.address = ip("fe80::10");
    check_error(validate_rule(rule), "input.address",
                "is a link-local unicast address (fe80::/10): " + opt_in + ", got \"fe80::10\"");
    rule.input.address = ip("ff3e::1");
    rule.input.source = ip("fe80::2");
    check_error(validate_rule(rule), "input.source",
                "is a link-local unicast address (fe80::/10): " + opt_in + ", got \"fe80::2\"");
    rule.allow_link_local = true;
    CHECK(validate_rule(rule).ok());
}

TEST_CASE("the flag does not loosen IPv4 checks, nor do IPv4 rules need it")
{
    // 224.0.0.251 (IPv4 link-local) stays accepted without the flag, as it was.
    Rule rule = valid_rule();
    rule.input.address = ip("224.0.0.251");
    CHECK(validate_rule(rule).ok());
    rule.allow_link_local = true;
    rule.input.address = ip("127.0.0.1");
    check_error(validate_rule(rule), "input.address", "must not be a loopback address, got \"127.0.0.1\"");
}

TEST_CASE("IPv4-mapped IPv6 addresses are refused with the IPv4 address to write instead")
{
    // Input, output and source; the mapped address is written out.
    Rule rule = valid_rule();
    rule.input.address = ip("::ffff:239.1.1.1");
    check_error(validate_rule(rule), "input.address",
                "must not be an IPv4-mapped IPv6 address (write the IPv4 address \"239.1.1.1\" itself), "
                "got \"::ffff:239.1.1.1\"");
    rule = valid_rule();
    rule.outputs[0].address = ip("::ffff:c633:6407");
    check_error(validate_rule(rule), "outputs[0].address",
                "must not be an IPv4-mapped IPv6 address (write the IPv4 address \"198.51.100.7\" itself), "
                "got \"::ffff:198.51.100.7\"");
    rule = valid_rule();
    rule.input.address = ip("ff3e::1");
    rule.input.source = ip("::ffff:192.0.2.1");
    check_error(validate_rule(rule), "input.source",
                "must not be an IPv4-mapped IPv6 address (write the IPv4 address \"192.0.2.1\" itself), "
                "got \"::ffff:192.0.2.1\"");
}

TEST_CASE("unusable IPv6 addresses: unspecified, loopback input, multicast or loopback source")
{
    // The IPv6 spellings of the IPv4 refusals, with their values.
    Rule rule = valid_rule();
    rule.input.address = ip("::");
    check_error(validate_rule(rule), "input.address", "must not be the unspecified address, got \"::\"");
    rule.input.address = ip("::1");
    check_error(validate_rule(rule), "input.address", "must not be a loopback address, got \"::1\"");
    rule = valid_rule();
    rule.outputs[0].address = ip("::");
    check_error(validate_rule(rule), "outputs[0].address", "must not be the unspecified address, got \"::\"");
    rule = valid_rule();
    rule.input.address = ip("ff3e::1");
    rule.input.source = ip("ff3e::2");
    check_error(validate_rule(rule), "input.source", "must be a unicast sender address, got \"ff3e::2\"");
    rule.input.source = ip("::1");
    check_error(validate_rule(rule), "input.source", "must be a unicast sender address, got \"::1\"");
    rule.input.source = ip("192.0.2.1");
    check_error(validate_rule(rule), "input.source",
                "must be the same address family as input.address \"ff3e::1\", got \"192.0.2.1\"");
    rule.input.address = ip("2001:db8::20");
    rule.input.source = ip("2001:db8::1");
    check_error(validate_rule(rule), "input.source",
                "only allowed when input.address is multicast (source-specific multicast), "
                "got source \"2001:db8::1\" for unicast input.address \"2001:db8::20\"");
}

TEST_CASE("duplicate IPv6 inputs in a set are named in brackets")
{
    // Two rules with the same IPv6 input and source; a set error and a new-rule error.
    Rule first = valid_rule("a");
    first.input.address = ip("ff3e::1");
    first.input.source = ip("2001:db8::1");
    Rule second = first;
    second.name = "b";
    check_error(validate_rule_set(RuleSet{{first, second}}), "rules[1].input",
                "duplicate input eth0 [ff3e::1]:5000 source 2001:db8::1 (also rules[0])");
    check_error(validate_new_rule(RuleSet{{first}}, second), "input",
                "rule \"a\" already has input eth0 [ff3e::1]:5000 source 2001:db8::1");
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
    // An IPv6 group is tracked by MLD; an IPv6 unicast output has no listeners.
    rule.outputs[0].address = ip("ff3e::2");
    CHECK(validate_rule(rule).ok());
    rule.outputs[0].address = ip("2001:db8::7");
    check_error(validate_rule(rule), "outputs[0].listeners",
                "\"required\" needs a multicast output address, got 2001:db8::7");
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
