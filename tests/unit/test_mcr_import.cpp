// Proves MCR config.json5 import: rules map field by field, MCR's TTL
// defaults become explicit, unnamed rules get stable names, and everything
// mcrd cannot map is a warning or an error in MCR's own terms.
#include "core/rule_json.hpp"
#include "core_test_helpers.hpp"

#include <doctest/doctest.h>

using namespace mcr;
using mcr::test::check_error;
using mcr::test::ip;

TEST_CASE("an MCR rule maps onto an mcrd rule")
{
    // group -> address; multicast outputs get MCR's TTL 1 unless told otherwise.
    auto imported = import_mcr_json5(R"({
        rules: [ { name: 'feed', input: { interface: 'eth0', group: '239.1.1.1', port: 5001 },
                   outputs: [ { interface: 'eth1', group: '239.2.2.2', port: 5002 },
                              { interface: 'eth2', group: '239.3.3.3', port: 5003, ttl: 9 },
                              { interface: 'eth1', group: '198.51.100.20', port: 6003 }, ] } ] })");
    REQUIRE_MESSAGE(imported.ok(), imported.error().message());
    CHECK(imported->warnings.empty());
    REQUIRE(imported->rules.rules.size() == 1);
    const Rule& rule = imported->rules.rules[0];
    CHECK(rule.name == "feed");
    CHECK(rule.input == RuleInput{"eth0", ip("239.1.1.1"), 5001, {}});
    REQUIRE(rule.outputs.size() == 3);
    CHECK(rule.outputs[0] == RuleOutput{"eth1", ip("239.2.2.2"), 5002, std::uint8_t{1}});
    CHECK(rule.outputs[1] == RuleOutput{"eth2", ip("239.3.3.3"), 5003, std::uint8_t{9}});
    CHECK(rule.outputs[2] == RuleOutput{"eth1", ip("198.51.100.20"), 6003, std::nullopt});
}

TEST_CASE("multicast_ttl sets the TTL of multicast outputs without their own")
{
    // The global default applies; 0 and 300 are refused.
    auto imported = import_mcr_json5(R"({ multicast_ttl: 7, rules: [ { name: 'a',
        input: { interface: 'eth0', group: '239.1.1.1', port: 1 },
        outputs: [ { interface: 'eth1', group: '239.2.2.2', port: 2 } ] } ] })");
    REQUIRE(imported.ok());
    CHECK(imported->rules.rules[0].outputs[0].ttl == std::uint8_t{7});
    check_error(import_mcr_json5("{multicast_ttl: 300}"), "multicast_ttl", "must be an integer 1..255, got 300");
    check_error(import_mcr_json5("{multicast_ttl: 0}"), "multicast_ttl", "must be an integer 1..255, got 0");
}

TEST_CASE("keys mcrd cannot map are warnings, empty ones are not")
{
    // pinning/pim/unknown keys warn; an empty pinning loses nothing.
    auto imported = import_mcr_json5(R"({ pinning: { eth0: [0, 1] }, pim: { enabled: true },
        control_plane: {}, future_key: 1, rules: [] })");
    REQUIRE(imported.ok());
    CHECK(imported->warnings == std::vector<std::string>{
                                    "future_key: ignored (not an MCR key mcrd knows)",
                                    "pim: ignored (mcrd relays static rules only; it does not speak pim)",
                                    "pinning: ignored (mcrd has one worker per ingress interface)"});
    CHECK(imported->rules.rules.empty());
    auto quiet = import_mcr_json5("{ pinning: {}, rules: [] }");
    REQUIRE(quiet.ok());
    CHECK(quiet->warnings.empty());
}

TEST_CASE("rules without a name get one derived from the input, made unique")
{
    // MCR allows unnamed rules; names never collide with given ones.
    auto imported = import_mcr_json5(R"({ rules: [
        { input: { interface: 'eth0', group: '239.1.1.2', port: 5000 },
          outputs: [ { interface: 'eth1', group: '239.2.2.2', port: 5000 } ] },
        { name: 'eth0-239.1.1.3-5000', input: { interface: 'eth1', group: '239.1.1.9', port: 5000 },
          outputs: [ { interface: 'eth2', group: '239.2.2.2', port: 5000 } ] },
        { input: { interface: 'eth0', group: '239.1.1.3', port: 5000 },
          outputs: [ { interface: 'eth1', group: '239.2.2.2', port: 5000 } ] } ] })");
    REQUIRE_MESSAGE(imported.ok(), imported.error().message());
    REQUIRE(imported->rules.rules.size() == 3);
    CHECK(imported->rules.rules[0].name == "eth0-239.1.1.2-5000");
    CHECK(imported->rules.rules[1].name == "eth0-239.1.1.3-5000");
    CHECK(imported->rules.rules[2].name == "eth0-239.1.1.3-5000-2");
}

TEST_CASE("names mcrd cannot use are renamed with a warning")
{
    // MCR names are free text; mcrd's are identifiers.
    auto imported = import_mcr_json5(R"({ rules: [ { name: 'Market data #1',
        input: { interface: 'eth0', group: '239.1.1.1', port: 1 },
        outputs: [ { interface: 'eth1', group: '239.2.2.2', port: 2 } ] } ] })");
    REQUIRE(imported.ok());
    CHECK(imported->rules.rules[0].name == "Market_data__1");
    REQUIRE(imported->warnings.size() == 1);
    CHECK(imported->warnings[0] ==
          "rules[0].name: \"Market data #1\" renamed to \"Market_data__1\" (rule name \"Market data #1\" "
          "contains \" \"; allowed are A-Z a-z 0-9 _ . -)");
}

TEST_CASE("ESP rules are refused, unicast TTLs and unknown rule keys warn")
{
    // mcrd relays UDP only; MCR's ttl only affects multicast copies.
    const std::string endpoints = R"(outputs: [ { interface: 'eth1', group: '198.51.100.1', port: 2, ttl: 5 } ])";
    check_error(import_mcr_json5("{ rules: [ { input: { interface: 'eth0', group: '239.1.1.1', port: 0, "
                                 "protocol: 'esp' }, " + endpoints + " } ] }"),
                "rules[0].input.protocol", "\"esp\" is not supported (mcrd relays UDP only)");
    auto imported = import_mcr_json5("{ rules: [ { name: 'u', comment: 'x', input: { interface: 'eth0', "
                                     "group: '239.1.1.1', port: 1, protocol: 'udp' }, " + endpoints + " } ] }");
    REQUIRE(imported.ok());
    CHECK(imported->rules.rules[0].outputs[0].ttl == std::nullopt);
    CHECK(imported->warnings == std::vector<std::string>{
                                    "rules[0].comment: ignored (not an MCR key mcrd knows)",
                                    "rules[0].outputs[0].ttl: ignored (MCR applies it to multicast outputs only)"});
}

TEST_CASE("import errors use MCR's key names and positions")
{
    // "group", not "address"; JSON5 syntax errors carry line/column.
    check_error(import_mcr_json5("{ rules: [ { name: 'a', input: { interface: 'eth0', group: '239.1.1', port: 1 },"
                                 " outputs: [] } ] }"),
                "rules[0].input.group", "must be an IP address, got \"239.1.1\"");
    check_error(import_mcr_json5("{ rules: [ { name: 'a', input: { interface: 'eth0', port: 1 }, outputs: [] } ] }"),
                "rules[0].input.group", "missing required key");
    check_error(import_mcr_json5("{ rules: [ { name: 'a', input: { interface: 'eth0', group: '239.1.1.1', port: 1 },"
                                 " outputs: [ { interface: 'eth1', group: '0.0.0.0', port: 2 } ] } ] }"),
                "rules[0].outputs[0].group", "must not be the unspecified address, got \"0.0.0.0\"");
    check_error(import_mcr_json5("{\n rules: [\n  Infinity ] }"), "line 3, column 3",
                "\"Infinity\" is not representable in JSON");
    check_error(import_mcr_json5("{ rules: 5 }"), "rules", "must be an array, got 5");
    check_error(import_mcr_json5("[]"), "", "must be an object, got []");
}

TEST_CASE("imported rule sets are validated like any config")
{
    // Port 0 and duplicate inputs fail with mcrd's reasons.
    check_error(import_mcr_json5("{ rules: [ { name: 'a', input: { interface: 'eth0', group: '239.1.1.1', port: 0 },"
                                 " outputs: [ { interface: 'eth1', group: '239.2.2.2', port: 2 } ] } ] }"),
                "rules[0].input.port", "must be an integer 1..65535, got 0");
    const std::string rule = "{ input: { interface: 'eth0', group: '239.1.1.1', port: 1 }, "
                             "outputs: [ { interface: 'eth1', group: '239.2.2.2', port: 2 } ] }";
    check_error(import_mcr_json5("{ rules: [ " + rule + ", " + rule + " ] }"), "rules[1].input",
                "duplicate input eth0 239.1.1.1:1 (also rules[0])");
}
