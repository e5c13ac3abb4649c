// Proves the worker config parser accepts the documented document, names the
// offending field on every kind of bad input, and lists the sockets needed.
#include "worker/worker_config.hpp"

#include <doctest/doctest.h>

#include <string>

using mcr::worker::parse_worker_config;
using mcr::worker::required_socket_names;

namespace {

const char* const kValid = R"({
  "interface": "in0",
  "rules": [
    { "name": "video1",
      "input": { "interface": "in0", "address": "239.1.1.1", "port": 5000 },
      "outputs": [ { "interface": "out0", "address": "239.2.2.2", "port": 6000, "ttl": 16 },
                   { "interface": "wg0", "address": "203.0.113.7", "port": 6000 } ] } ],
  "ingress": { "mtu": 1500 },
  "egress": { "out0": { "mtu": 9000 }, "wg0": {} },
  "receive_buffer_bytes": 8388608 })";

// The error path of parsing `text`, or "<ok>".
std::string error_path(const std::string& text)
{
    auto config = parse_worker_config(text);
    return config ? std::string("<ok>") : config.error().path;
}

std::string with(std::string text, const std::string& from, const std::string& to)
{
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("the documented worker config parses with every field")
{
    auto config = parse_worker_config(kValid);
    REQUIRE(config.ok());
    CHECK(config->interface == "in0");
    REQUIRE(config->rules.size() == 1);
    CHECK(config->rules[0].name == "video1");
    CHECK(config->rules[0].outputs.size() == 2);
    CHECK(config->rules[0].outputs[0].ttl == 16);
    CHECK(config->egress.at("out0").mtu == 9000);
    CHECK(config->egress.at("wg0").mtu == 1500);
    CHECK(config->receive_buffer_bytes == 8388608);
    CHECK(config->ingress_mtu == 1500);
}

TEST_CASE("without an ingress MTU the ring is sized for jumbo frames; a bad one is refused")
{
    auto config = parse_worker_config(with(kValid, R"("ingress": { "mtu": 1500 },)", ""));
    REQUIRE(config.ok());
    CHECK(config->ingress_mtu == 9000);
    CHECK(error_path(with(kValid, R"("mtu": 1500 })", R"("mtu": 20 })")) == "ingress.mtu");
    CHECK(error_path(with(kValid, R"("ingress": { "mtu": 1500 })", R"("ingress": 1500)")) == "ingress");
}

// An output interface the supervisor saw go down or away is marked, so that
// the fast path leaves its rules to the worker; only the ingress' MTU entry
// has no such key.
TEST_CASE("egress interfaces are usable unless the supervisor says otherwise")
{
    auto config = parse_worker_config(kValid);
    REQUIRE(config.ok());
    CHECK(config->egress.at("out0").usable);
    auto down = parse_worker_config(with(kValid, R"("mtu": 9000 })", R"("mtu": 9000, "usable": false })"));
    REQUIRE(down.ok());
    CHECK_FALSE(down->egress.at("out0").usable);
    CHECK(down->egress.at("out0").mtu == 9000);
    CHECK(error_path(with(kValid, R"("mtu": 9000 })", R"("mtu": 9000, "usable": 0 })")) == "egress.out0.usable");
    CHECK(error_path(with(kValid, R"("ingress": { "mtu": 1500 })", R"("ingress": { "mtu": 1500, "usable": true })")) ==
          "ingress.usable");
}

TEST_CASE("the sockets a config needs: pkt for multicast outputs, udp for unicast ones")
{
    auto config = parse_worker_config(kValid);
    REQUIRE(config.ok());
    CHECK(required_socket_names(*config) == std::vector<std::string>{"ingress", "membership", "pkt.out0", "udp.wg0"});
}

TEST_CASE("bad documents are refused with the path of the bad field")
{
    CHECK(error_path("not json") == "");
    CHECK(error_path("[]") == "");
    CHECK(error_path(with(kValid, R"("interface": "in0",)", "")) == "interface");
    CHECK(error_path(with(kValid, R"("interface": "in0",)", R"("interface": "in/0",)")) == "interface");
    CHECK(error_path(with(kValid, R"("receive_buffer_bytes": 8388608)", R"("receive_buffer_bytes": 5)")) ==
          "receive_buffer_bytes");
    CHECK(error_path(with(kValid, R"("receive_buffer_bytes")", R"("colour")")) == "colour");
    CHECK(error_path(with(kValid, R"("mtu": 9000)", R"("mtu": 20)")) == "egress.out0.mtu");
    CHECK(error_path(with(kValid, R"("mtu": 9000)", R"("speed": 9000)")) == "egress.out0.speed");
    CHECK(error_path(with(kValid, R"("egress": { "out0": { "mtu": 9000 }, "wg0": {} })", R"("egress": 3)")) == "egress");
    CHECK(error_path(with(kValid, R"("port": 5000)", R"("port": 0)")) == "rules[0].input.port");
    CHECK(error_path(with(kValid, R"("interface": "in0", "address": "239.1.1.1")",
                          R"("interface": "in1", "address": "239.1.1.1")")) == "rules[0].input.interface");
    CHECK(error_path(with(kValid, R"("address": "239.1.1.1")", R"("address": "ff01::1")")) ==
          "rules[0].input.address");
    CHECK(error_path(with(kValid, R"("out0": { "mtu": 9000 }, )", "")) == "rules[0].outputs[0].interface");
}

TEST_CASE("two rules with the same name are refused")
{
    const std::string rule = R"({ "name": "a", "input": { "interface": "in0", "address": "239.1.1.1", "port": 5000 },
      "outputs": [ { "interface": "out0", "address": "239.2.2.2", "port": 6000 } ] })";
    const std::string rule2 = R"({ "name": "a", "input": { "interface": "in0", "address": "239.1.1.2", "port": 5000 },
      "outputs": [ { "interface": "out0", "address": "239.2.2.2", "port": 6000 } ] })";
    const std::string text = R"({ "interface": "in0", "egress": { "out0": {} }, "rules": [)" + rule + "," + rule2 + "] }";
    auto config = parse_worker_config(text);
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().path == "rules[1].name");
}

// The supervisor writes the egress interface's address of the output's
// family on translated multicast outputs (core/worker_protocol.hpp); the
// worker keeps it per output and refuses one that cannot be a source.
TEST_CASE("an output's source_address is kept per output and checked")
{
    const std::string from = R"("port": 6000, "ttl": 16 })";
    auto config = parse_worker_config(with(kValid, from, R"("port": 6000, "ttl": 16, "source_address": "192.0.2.1" })"));
    REQUIRE(config.ok());
    REQUIRE(config->source_address(0, 0).has_value());
    CHECK(config->source_address(0, 0)->to_string() == "192.0.2.1");
    CHECK_FALSE(config->source_address(0, 1).has_value());
    CHECK_FALSE(config->source_address(1, 0).has_value()); // no such rule
    CHECK(config->rules[0].outputs[0].ttl == 16);          // the rest of the output is read as before
    CHECK_FALSE(parse_worker_config(kValid)->source_address(0, 0).has_value());
    for (const char* bad : {R"("ff3e::1")", R"("2001:db8::1")", R"("239.1.1.1")", R"("0.0.0.0")", R"("host")",
                            R"(17)"}) {
        CAPTURE(bad);
        CHECK(error_path(with(kValid, from, std::string(R"("port": 6000, "ttl": 16, "source_address": )") + bad + " }")) ==
              "rules[0].outputs[0].source_address");
    }
}
