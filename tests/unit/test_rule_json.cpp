// Proves the JSON schema: exact output, strict input (unknown keys, wrong
// types, missing keys, ranges), config text parsing, and that any valid rule
// set survives a round trip unchanged.
#include "core/rule_json.hpp"
#include "core/rule_validation.hpp"
#include "core_test_helpers.hpp"

#include <doctest/doctest.h>

#include <array>
#include <random>
#include <set>

using namespace mcr;
using mcr::test::check_error;
using mcr::test::ip;
using mcr::test::valid_rule;
using nlohmann::json;

namespace {

json valid_rule_json()
{
    return json::parse(R"({"name": "video1",
        "input": {"interface": "eth0", "address": "239.1.1.1", "port": 5000},
        "outputs": [{"interface": "eth1", "address": "239.2.2.2", "port": 6000}]})");
}

Result<Rule> rule_with(const json::json_pointer& where, const json& value)
{
    json j = valid_rule_json();
    j[where] = value;
    return rule_from_json(j);
}

} // namespace

TEST_CASE("rule_to_json writes the documented schema")
{
    // Exact JSON, optional keys only when set.
    Rule rule = valid_rule();
    rule.input.source = ip("192.0.2.10");
    rule.outputs[0].ttl = 16;
    rule.forward_expired_ttl = true;
    CHECK(rule_to_json(rule) == json::parse(R"({"name": "video1",
        "input": {"interface": "eth0", "address": "239.1.1.1", "port": 5000, "source": "192.0.2.10"},
        "outputs": [{"interface": "eth1", "address": "239.2.2.2", "port": 6000, "ttl": 16}],
        "forward_expired_ttl": true})"));
    CHECK(rule_set_to_json(RuleSet{{valid_rule()}}).dump() ==
          R"({"rules":[{"forward_expired_ttl":false,"input":{"address":"239.1.1.1","interface":"eth0","port":5000},"name":"video1","outputs":[{"address":"239.2.2.2","interface":"eth1","port":6000}]}]})");
}

// "fast_path": "auto" is the default and is never written; "off" is, and
// reads back; anything else is refused with the path and the value.
TEST_CASE("the fast_path setting")
{
    Rule rule = valid_rule();
    CHECK_FALSE(rule_to_json(rule).contains("fast_path"));
    rule.fast_path = false;
    CHECK(rule_to_json(rule)["fast_path"] == "off");
    auto back = rule_from_json(rule_to_json(rule));
    REQUIRE(back.ok());
    CHECK(*back == rule);
    auto automatic = rule_with(json::json_pointer("/fast_path"), "auto");
    REQUIRE(automatic.ok());
    CHECK(automatic->fast_path);
    check_error(rule_with(json::json_pointer("/fast_path"), "on"), "fast_path",
                "must be \"auto\" or \"off\", got \"on\"");
    check_error(rule_with(json::json_pointer("/fast_path"), false), "fast_path",
                "must be \"auto\" or \"off\", got false");
}

// "inspect": "none" is the default and is never written; "rtp" and "mpegts"
// are, and read back; anything else (other words, case, types) is refused
// with the path and the quoted value.
TEST_CASE("the inspect setting")
{
    Rule rule = valid_rule();
    CHECK_FALSE(rule_to_json(rule).contains("inspect"));
    for (const auto& [inspection, name] : {std::pair{StreamInspection::rtp, "rtp"},
                                           std::pair{StreamInspection::mpegts, "mpegts"}}) {
        rule.inspect = inspection;
        CHECK(rule_to_json(rule)["inspect"] == name);
        auto back = rule_from_json(rule_to_json(rule));
        REQUIRE(back.ok());
        CHECK(*back == rule);
    }
    auto none = rule_with(json::json_pointer("/inspect"), "none");
    REQUIRE(none.ok());
    CHECK(none->inspect == StreamInspection::none);
    check_error(rule_with(json::json_pointer("/inspect"), "RTP"), "inspect",
                "must be \"none\", \"rtp\" or \"mpegts\", got \"RTP\"");
    check_error(rule_with(json::json_pointer("/inspect"), "ts"), "inspect",
                "must be \"none\", \"rtp\" or \"mpegts\", got \"ts\"");
    check_error(rule_with(json::json_pointer("/inspect"), 1), "inspect",
                "must be \"none\", \"rtp\" or \"mpegts\", got 1");
    check_error(rule_with(json::json_pointer("/inspect"), nullptr), "inspect",
                "must be \"none\", \"rtp\" or \"mpegts\", got null");
}

// "listeners": "always" is the default and is never written (so MCR
// configs export unchanged); "required" is, per output, and reads back;
// other words and types are refused with the output's path.
TEST_CASE("the listeners setting of an output")
{
    Rule rule = valid_rule();
    CHECK_FALSE(rule_to_json(rule)["outputs"][0].contains("listeners"));
    rule.outputs[0].listeners = ListenerPolicy::required;
    CHECK(rule_to_json(rule)["outputs"][0]["listeners"] == "required");
    auto back = rule_from_json(rule_to_json(rule));
    REQUIRE(back.ok());
    CHECK(*back == rule);
    auto always = rule_with(json::json_pointer("/outputs/0/listeners"), "always");
    REQUIRE(always.ok());
    CHECK(always->outputs[0].listeners == ListenerPolicy::always);
    check_error(rule_with(json::json_pointer("/outputs/0/listeners"), "sometimes"), "outputs[0].listeners",
                "must be \"always\" or \"required\", got \"sometimes\"");
    check_error(rule_with(json::json_pointer("/outputs/0/listeners"), true), "outputs[0].listeners",
                "must be \"always\" or \"required\", got true");
    check_error(rule_with(json::json_pointer("/outputs/0/"), 1), "outputs[0][\"\"]", "unknown key");
}

TEST_CASE("rule_from_json reads every field")
{
    // All optional fields present.
    json j = valid_rule_json();
    j["input"]["source"] = "192.0.2.10";
    j["outputs"][0]["ttl"] = 16;
    j["forward_expired_ttl"] = true;
    auto rule = rule_from_json(j);
    REQUIRE(rule.ok());
    Rule expected = valid_rule();
    expected.input.source = ip("192.0.2.10");
    expected.outputs[0].ttl = 16;
    expected.forward_expired_ttl = true;
    CHECK(*rule == expected);
}

TEST_CASE("unknown keys are errors naming the key path")
{
    // At every level, including odd key spellings.
    check_error(rule_with(json::json_pointer("/colour"), "red"), "colour", "unknown key");
    check_error(rule_with(json::json_pointer("/input/group"), "239.1.1.1"), "input.group", "unknown key");
    check_error(rule_with(json::json_pointer("/outputs/0/tll"), 5), "outputs[0].tll", "unknown key");
    check_error(rule_with(json::json_pointer("/input/my key"), 1), "input[\"my key\"]", "unknown key");
    check_error(rule_set_from_json(json::parse(R"({"rules": [], "extra": 1})")), "extra", "unknown key");
    check_error(rule_with(json::json_pointer("/allow_link_locals"), true), "allow_link_locals", "unknown key");
    check_error(rule_with(json::json_pointer("/input/allow_link_local"), true), "input.allow_link_local",
                "unknown key");
}

TEST_CASE("missing required keys are named")
{
    // name, input.port and outputs[0].address each missing in turn.
    json j = valid_rule_json();
    j.erase("name");
    check_error(rule_from_json(j, "rules[4]"), "rules[4].name", "missing required key");
    j = valid_rule_json();
    j["input"].erase("port");
    check_error(rule_from_json(j), "input.port", "missing required key");
    j = valid_rule_json();
    j["outputs"][0].erase("address");
    check_error(rule_from_json(j), "outputs[0].address", "missing required key");
    check_error(rule_set_from_json(json::object()), "rules", "missing required key");
}

TEST_CASE("wrong types are errors quoting the JSON value")
{
    // Strings for numbers, numbers for strings, objects for arrays.
    check_error(rule_with(json::json_pointer("/input/port"), "abc"), "input.port",
                "must be an integer 1..65535, got \"abc\"");
    check_error(rule_with(json::json_pointer("/name"), 5), "name", "must be a string, got 5");
    check_error(rule_with(json::json_pointer("/outputs"), json::object()), "outputs",
                "must be an array, got {}");
    check_error(rule_with(json::json_pointer("/forward_expired_ttl"), "yes"), "forward_expired_ttl",
                "must be true or false, got \"yes\"");
    check_error(rule_with(json::json_pointer("/input"), json::array()), "input", "must be an object, got []");
    check_error(rule_with(json::json_pointer("/outputs/0/interface"), nullptr), "outputs[0].interface",
                "must be a string, got null");
}

TEST_CASE("addresses must parse as IP addresses")
{
    // Hostnames and short forms are refused with their text.
    check_error(rule_with(json::json_pointer("/input/address"), "239.1.1"), "input.address",
                "must be an IP address, got \"239.1.1\"");
    check_error(rule_with(json::json_pointer("/outputs/0/address"), "localhost"), "outputs[0].address",
                "must be an IP address, got \"localhost\"");
    check_error(rule_with(json::json_pointer("/input/address"), 4026597633U), "input.address",
                "must be an IP address, got 4026597633");
    check_error(rule_with(json::json_pointer("/input/address"), "[ff3e::1]"), "input.address",
                "must be an IP address, got \"[ff3e::1]\"");
}

TEST_CASE("a zone suffix on an IPv6 address is refused, pointing to the interface field")
{
    // Address, output address and source; a '%' after non-IPv6 text is just not an address.
    check_error(rule_with(json::json_pointer("/input/address"), "ff02::1%eth0"), "input.address",
                "must not carry a zone suffix (\"%eth0\"): the \"interface\" field beside it names the "
                "interface, got \"ff02::1%eth0\"");
    check_error(rule_with(json::json_pointer("/outputs/0/address"), "fe80::1%3"), "outputs[0].address",
                "must not carry a zone suffix (\"%3\"): the \"interface\" field beside it names the "
                "interface, got \"fe80::1%3\"");
    check_error(rule_with(json::json_pointer("/input/source"), "fe80::7%veth0"), "input.source",
                "must not carry a zone suffix (\"%veth0\"): the \"interface\" field beside it names the "
                "interface, got \"fe80::7%veth0\"");
    check_error(rule_with(json::json_pointer("/input/address"), "239.1.1.1%eth0"), "input.address",
                "must be an IP address, got \"239.1.1.1%eth0\"");
}

TEST_CASE("IPv6 and translation rules read and write with the same field names")
{
    // ff3e:: input with an SSM source, an IPv6 and an IPv4 output, allow_link_local written only when set.
    json j = json::parse(R"({"name": "v6",
        "input": {"interface": "eth0", "address": "ff3e::1", "port": 5000, "source": "2001:db8::1"},
        "outputs": [{"interface": "eth1", "address": "ff3e::2", "port": 6000, "ttl": 5},
                    {"interface": "eth2", "address": "239.2.2.2", "port": 6000}],
        "forward_expired_ttl": false})");
    auto rule = rule_from_json(j);
    REQUIRE(rule.ok());
    CHECK(rule->input.address == ip("ff3e::1"));
    CHECK(rule->input.source == ip("2001:db8::1"));
    CHECK(rule->outputs[0].address == ip("ff3e::2"));
    CHECK_FALSE(rule->allow_link_local);
    CHECK(rule_to_json(*rule) == j);
    CHECK(validate_rule(*rule).ok());
    // Addresses are written in RFC 5952 form whatever the input spelling.
    j["input"]["address"] = "FF3E:0::0001";
    CHECK(rule_to_json(*rule_from_json(j))["input"]["address"] == "ff3e::1");
}

TEST_CASE("the allow_link_local flag")
{
    // Default false and not written; true written and read back; non-booleans refused; parse_rule_set honours it.
    Rule rule = valid_rule();
    CHECK_FALSE(rule_to_json(rule).contains("allow_link_local"));
    rule.allow_link_local = true;
    CHECK(rule_to_json(rule)["allow_link_local"] == true);
    auto back = rule_from_json(rule_to_json(rule));
    REQUIRE(back.ok());
    CHECK(back->allow_link_local);
    auto explicit_false = rule_with(json::json_pointer("/allow_link_local"), false);
    REQUIRE(explicit_false.ok());
    CHECK_FALSE(explicit_false->allow_link_local);
    check_error(rule_with(json::json_pointer("/allow_link_local"), "yes"), "allow_link_local",
                "must be true or false, got \"yes\"");
    check_error(rule_with(json::json_pointer("/allow_link_local"), 1), "allow_link_local",
                "must be true or false, got 1");
    const std::string link_local = R"({"rules": [{"name": "mdns",
        "input": {"interface": "eth0", "address": "ff02::fb", "port": 5353},
        "outputs": [{"interface": "eth1", "address": "ff02::fb", "port": 5353}]LINK}]})";
    std::string without = link_local;
    without.replace(without.find("LINK"), 4, "");
    check_error(parse_rule_set(without), "rules[0].input.address",
                "is a link-local multicast group (scope 2, ffX2::): set allow_link_local "
                "(mcrctl --allow-link-local) to relay it, got \"ff02::fb\"");
    std::string with = link_local;
    with.replace(with.find("LINK"), 4, ", \"allow_link_local\": true");
    auto set = parse_rule_set(with);
    REQUIRE(set.ok());
    CHECK(set->rules[0].allow_link_local);
}

TEST_CASE("ports outside 1..65535 and non-integers are parse errors")
{
    // 0, 65536, -1 and 5.0 are all refused by the schema.
    check_error(rule_with(json::json_pointer("/input/port"), 0), "input.port",
                "must be an integer 1..65535, got 0");
    check_error(rule_with(json::json_pointer("/input/port"), 65536), "input.port",
                "must be an integer 1..65535, got 65536");
    check_error(rule_with(json::json_pointer("/outputs/0/port"), -1), "outputs[0].port",
                "must be an integer 1..65535, got -1");
    check_error(rule_with(json::json_pointer("/outputs/0/port"), 5.0), "outputs[0].port",
                "must be an integer 1..65535, got 5.0");
}

TEST_CASE("ttl above 255 does not fit the uint8 field and is a parse error")
{
    // 256 and 0 refused, 255 accepted.
    check_error(rule_with(json::json_pointer("/outputs/0/ttl"), 256), "outputs[0].ttl",
                "must be an integer 1..255, got 256");
    check_error(rule_with(json::json_pointer("/outputs/0/ttl"), 0), "outputs[0].ttl",
                "must be an integer 1..255, got 0");
    auto rule = rule_with(json::json_pointer("/outputs/0/ttl"), 255);
    REQUIRE(rule.ok());
    CHECK(rule->outputs[0].ttl == std::uint8_t{255});
}

TEST_CASE("rule sets accept version 1 only and need a rules array")
{
    // The optional version key, and the top-level type checks.
    CHECK(rule_set_from_json(json::parse(R"({"version": 1, "rules": []})")).ok());
    check_error(rule_set_from_json(json::parse(R"({"version": 2, "rules": []})")), "version",
                "unsupported version 2 (this mcrd reads version 1)");
    check_error(rule_set_from_json(json::parse(R"({"version": "1", "rules": []})")), "version",
                "unsupported version \"1\" (this mcrd reads version 1)");
    check_error(rule_set_from_json(json::parse(R"({"rules": {}})")), "rules", "must be an array, got {}");
    check_error(rule_set_from_json(json::parse("[1]")), "", "must be an object, got [1]");
    check_error(rule_set_from_json(json::parse(R"({"rules": [7]})")), "rules[0]", "must be an object, got 7");
}

TEST_CASE("parse_rule_set accepts comments and validates the result")
{
    // Config text with both comment styles parses; model errors surface.
    auto set = parse_rule_set(R"(// a comment
        { /* block */ "rules": [ {"name": "a",
          "input": {"interface": "eth0", "address": "239.1.1.1", "port": 5000},
          "outputs": [{"interface": "eth1", "address": "239.2.2.2", "port": 6000}]} ] })");
    REQUIRE(set.ok());
    CHECK(set->rules.size() == 1);
    CHECK(set->rules[0] == valid_rule("a"));
    const std::string duplicated = "{\"rules\": [" + rule_to_json(valid_rule("a")).dump() + "," +
                                   rule_to_json(valid_rule("a")).dump() + "]}";
    check_error(parse_rule_set(duplicated), "rules[1].name", "duplicate rule name \"a\" (also rules[0])");
}

TEST_CASE("syntax errors report line and column")
{
    // The bad token on line 3 is pointed at.
    auto set = parse_rule_set("{\n  \"rules\": [\n    oops\n  ]\n}");
    REQUIRE_FALSE(set.ok());
    CHECK(set.error().path == "line 3, column 5");
    CHECK(set.error().reason.find("syntax error") != std::string::npos);
    check_error(parse_rule_set(""), "line 1, column 1",
                "syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal");
}

TEST_CASE("config text over kMaxConfigBytes is refused before parsing")
{
    // 1 MiB + 1 byte of spaces is too big, whatever it contains.
    const std::string big(kMaxConfigBytes + 1, ' ');
    check_error(parse_rule_set(big), "", "config is 1048577 bytes, at most 1048576 allowed");
}

TEST_CASE("a key repeated in one object is refused")
{
    // nlohmann would silently keep the last one.
    check_error(parse_rule_set(R"({"rules": [], "rules": []})"), "", "duplicate key \"rules\" in an object");
    CHECK(parse_json_text(R"({"a": {"x": 1}, "b": {"x": 2}})").ok());
}

TEST_CASE("random valid rule sets survive a JSON round trip")
{
    // Property: from_json(to_json(s)) == s and the text re-parses to the same JSON.
    std::mt19937 random(20261123);
    const auto pick = [&random](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random); };
    const std::string name_chars = "ABCXYZabcxyz0189_.-";
    const char* interfaces[] = {"eth0", "eth1", "veth-in.100", "br0", "enp3s0f1", "wlan0"};
    // first::low, except 2001 means 2001:db8::low (documentation prefix).
    const auto ipv6 = [](int first, int low) {
        std::array<std::uint8_t, 16> bytes{};
        bytes[0] = static_cast<std::uint8_t>(first >> 8);
        bytes[1] = static_cast<std::uint8_t>(first);
        if (first == 0x2001) {
            bytes[2] = 0x0d;
            bytes[3] = 0xb8;
        }
        bytes[14] = static_cast<std::uint8_t>(low >> 8);
        bytes[15] = static_cast<std::uint8_t>(low);
        return IpAddress::from_ipv6(bytes);
    };
    for (int iteration = 0; iteration < 300; ++iteration) {
        RuleSet set;
        std::set<std::string> names;
        const int rule_count = pick(0, 6);
        for (int r = 0; r < rule_count; ++r) {
            Rule rule;
            do {
                rule.name = std::string(1, "abcXYZ059_"[pick(0, 9)]);
                for (int n = pick(0, 40); n > 0; --n)
                    rule.name += name_chars[static_cast<std::size_t>(pick(0, int(name_chars.size()) - 1))];
            } while (!names.insert(rule.name).second);
            rule.input.interface = interfaces[pick(0, 5)];
            // Inputs in 239.0/9 or ff3e::/16, outputs in 239.128/9 or ff15::/16 (or unicast
            // 198.51.100.0/24, 2001:db8::/32): never a loop; either family on either side.
            const bool ipv6_input = pick(0, 1) == 1;
            rule.input.address = ipv6_input ? ipv6(0xff3e, pick(0, 0xffff))
                                            : IpAddress::from_ipv4(0xef000000U | std::uint32_t(pick(0, 0x7fffff)));
            rule.input.port = static_cast<std::uint16_t>(1000 * (r + 1) + pick(0, 999));
            if (pick(0, 1) == 1)
                rule.input.source = ipv6_input ? ipv6(0x2001, pick(1, 0xffff))
                                               : IpAddress::from_ipv4(0xc0000200U | std::uint32_t(pick(1, 254)));
            for (int o = pick(1, 5); o > 0; --o) {
                RuleOutput output;
                output.interface = interfaces[pick(0, 5)];
                switch (pick(0, 3)) {
                case 0: output.address = IpAddress::from_ipv4(0xc6336400U | std::uint32_t(pick(1, 254))); break;
                case 1: output.address = IpAddress::from_ipv4(0xef800000U | std::uint32_t(pick(0, 0x7fffff))); break;
                case 2: output.address = ipv6(0xff15, pick(0, 0xffff)); break;
                default: output.address = ipv6(0x2001, pick(1, 0xffff)); break;
                }
                output.port = static_cast<std::uint16_t>(o * 10000 + pick(1, 9999));
                if (pick(0, 1) == 1)
                    output.ttl = static_cast<std::uint8_t>(pick(1, 255));
                rule.outputs.push_back(output);
            }
            rule.allow_link_local = pick(0, 1) == 1;
            rule.forward_expired_ttl = pick(0, 1) == 1;
            rule.fast_path = pick(0, 1) == 1;
            rule.inspect = static_cast<StreamInspection>(pick(0, 2));
            set.rules.push_back(std::move(rule));
        }
        REQUIRE_MESSAGE(validate_rule_set(set).ok(), validate_rule_set(set).error().message());
        const json j = rule_set_to_json(set);
        auto back = rule_set_from_json(j);
        REQUIRE(back.ok());
        CHECK(*back == set);
        const std::string text = j.dump(iteration % 2 == 0 ? -1 : 2);
        CHECK(json::parse(text) == j);
        auto reparsed = parse_rule_set(text);
        REQUIRE(reparsed.ok());
        CHECK(*reparsed == set);
    }
}

TEST_CASE("deeply nested JSON is refused, and nested values are not dumped")
{
    // 200000 levels must neither crash (stack) nor pass; 32 levels are fine.
    const std::string deep = "{\"rules\": " + std::string(200000, '[') + std::string(200000, ']') + "}";
    check_error(parse_rule_set(deep), "", "nested deeper than 32 levels");
    check_error(import_mcr_json5(deep), "", "nested deeper than 32 levels");
    const std::string ok = "{\"rules\": [], \"x\": " + std::string(30, '[') + std::string(30, ']') + "}";
    check_error(parse_rule_set(ok), "x", "unknown key");
    CHECK(describe_json(json::parse("[[1]]")) == "[...]");
    CHECK(describe_json(json::parse(R"({"a": {}})")) == "{...}");
    CHECK(describe_json(json::parse("[1, \"a\"]")) == "[1,\"a\"]");
    CHECK(describe_json(std::string(100, 'x')) == "\"" + std::string(56, 'x') + "...");
}

TEST_CASE("a number beyond double's range is a parse error, not an exception (fuzz finding)")
{
    // nlohmann reports "1e999" as out_of_range.406; it used to escape parse_json_text.
    check_error(parse_rule_set(R"({"rules":[{"name":"a","input":{"port":1e999}}]})"), "",
                "number overflow parsing '1e999'");
}
