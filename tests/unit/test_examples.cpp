// Proves the shipped example configs stay valid: examples/mcrd.json parses
// as an mcrd rule set and examples/mcr-config.json5 imports as MCR's format.
#include "core/atomic_file.hpp"
#include "core/rule_json.hpp"
#include "core_test_helpers.hpp"

#include <doctest/doctest.h>

#ifndef MCR_EXAMPLES_DIR
#error "meson passes MCR_EXAMPLES_DIR (the source tree's examples/ folder)"
#endif

using namespace mcr;
using mcr::test::ip;

namespace {

std::string example(const char* name)
{
    auto text = read_file_limited(std::string(MCR_EXAMPLES_DIR) + "/" + name, kMaxConfigBytes);
    REQUIRE_MESSAGE(text.ok(), text.error().message());
    return *text;
}

} // namespace

TEST_CASE("examples/mcrd.json is a valid commented rule set")
{
    // Five rules, each feature where the comments say it is.
    auto set = parse_rule_set(example("mcrd.json"));
    REQUIRE_MESSAGE(set.ok(), set.error().message());
    REQUIRE(set->rules.size() == 5);
    CHECK(set->rules[0].name == "market-data");
    CHECK(set->rules[1].outputs.size() == 2);
    CHECK(set->rules[1].outputs[1].ttl == std::uint8_t{8});
    CHECK(set->rules[2].input.source == ip("192.0.2.10"));
    CHECK(set->rules[2].outputs[0].address == ip("198.51.100.20"));
    CHECK(set->rules[3].input.address == ip("203.0.113.5"));
    CHECK(set->rules[3].forward_expired_ttl);
    CHECK(set->rules[4].input.address == ip("ff3e::1:1"));
    CHECK(set->rules[4].input.source == ip("2001:db8::10"));
    CHECK(set->rules[4].outputs[1].address == ip("239.3.3.4"));
}

TEST_CASE("examples/mcr-config.json5 imports with its pinning reported")
{
    // Two rules; the unnamed one named from its input; hex port decoded.
    auto imported = import_mcr_json5(example("mcr-config.json5"));
    REQUIRE_MESSAGE(imported.ok(), imported.error().message());
    CHECK(imported->warnings ==
          std::vector<std::string>{"pinning: ignored (mcrd has one worker per ingress interface)"});
    REQUIRE(imported->rules.rules.size() == 2);
    CHECK(imported->rules.rules[0].name == "market-data-feed");
    CHECK(imported->rules.rules[0].outputs[0].ttl == std::uint8_t{4});
    const Rule& unnamed = imported->rules.rules[1];
    CHECK(unnamed.name == "eth0-239.1.1.2-5000");
    CHECK(unnamed.input.port == 5000);
    CHECK(unnamed.outputs[0].ttl == std::uint8_t{16});
    CHECK(unnamed.outputs[1].ttl == std::nullopt);
}
