// Proves the stats document has exactly the protocol's shape and that counters
// survive a config change for rules and outputs that did not change.
#include "worker/stats.hpp"
#include "worker/stream_health.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using mcr::IpAddress;
using mcr::Rule;
using namespace mcr::worker;

namespace {
Rule make_rule(const std::string& name, const char* out_group)
{
    Rule r;
    r.name = name;
    r.input = {"in0", *IpAddress::parse("239.1.1.1"), 5000, std::nullopt};
    r.outputs.push_back({"out0", *IpAddress::parse(out_group), 6000, std::nullopt});
    return r;
}
} // namespace

TEST_CASE("stats JSON carries every counter of the protocol under its documented name")
{
    const std::vector<Rule> rules{make_rule("video1", "239.2.2.2")};
    WorkerCounters counters;
    counters.kernel = {7, 1};
    counters.ingress.frames = 10;
    counters.ingress.not_matched = 3;
    counters.receive = {"quiet", 2, 1, 5};
    counters.rules.resize(1);
    counters.rules[0].packets = 5;
    counters.rules[0].outputs.resize(1);
    counters.rules[0].outputs[0].packets = 4;
    counters.rules[0].outputs[0].would_block = 1;
    counters.rules[0].outputs[0].no_source_address = 2;
    counters.ingress.zero_udp_checksum = 6;
    const auto j = nlohmann::json::parse(stats_to_json("in0", 1234, rules, counters));
    CHECK(j["interface"] == "in0");
    CHECK(j["uptime_ms"] == 1234);
    CHECK(j["kernel"] == nlohmann::json{{"packets", 7}, {"drops", 1}});
    CHECK(j["receive"] == nlohmann::json{{"mode", "quiet"}, {"to_ring", 2}, {"to_quiet", 1}, {"discarded", 5}});
    CHECK_FALSE(j.contains("receive6")); // no IPv6 ingress
    counters.receive6 = {"ring", 4, 3, 0};
    const auto with6 = nlohmann::json::parse(stats_to_json("in0", 1234, rules, counters));
    CHECK(with6["receive6"] == nlohmann::json{{"mode", "ring"}, {"to_ring", 4}, {"to_quiet", 3}, {"discarded", 0}});
    CHECK(with6["receive"] == j["receive"]);
    CHECK(j["ingress"].size() == 12);
    for (const char* reason : {"ipv6_fragment", "ipv6_routing_header", "ipv6_extension_chain"})
        CHECK(j["ingress"][reason] == 0);
    CHECK(j["ingress"]["frames"] == 10);
    CHECK(j["ingress"]["not_matched"] == 3);
    CHECK(j["ingress"]["zero_udp_checksum"] == 6);
    const auto& output = j["rules"][0]["outputs"][0];
    CHECK(j["rules"][0]["name"] == "video1");
    CHECK(j["rules"][0]["packets"] == 5);
    CHECK(output["address"] == "239.2.2.2");
    CHECK(output["port"] == 6000);
    CHECK(output["packets"] == 4);
    CHECK(output["drops"] == nlohmann::json{{"no_buffer", 0},  {"would_block", 1}, {"too_big", 0},
                                            {"send_error", 0}, {"no_source_address", 2}});
}

TEST_CASE("counters carry over by rule name and output destination; changed outputs restart at 0")
{
    const std::vector<Rule> before{make_rule("a", "239.2.2.2"), make_rule("b", "239.3.3.3")};
    std::vector<RuleCounters> counters(2);
    counters[0] = {11, 110, 1, {OutputCounters{10, 100, 0, 0, 0, 0}}, nullptr};
    counters[1] = {22, 220, 2, {OutputCounters{20, 200, 0, 0, 0, 0}}, nullptr};
    const std::vector<Rule> after{make_rule("b", "239.3.3.3"), make_rule("a", "239.4.4.4"), make_rule("c", "239.5.5.5")};
    const auto [carried, remap] = carry_over_counters(before, counters, after);
    REQUIRE(carried.size() == 3);
    CHECK(carried[0].packets == 22);
    CHECK(carried[0].outputs[0].packets == 20);
    CHECK(carried[1].packets == 11);
    CHECK(carried[1].outputs[0].packets == 0); // destination changed
    CHECK(carried[2].packets == 0);
    CHECK(carried[2].outputs.size() == 1);
    // Sends in flight follow their output to its new place; a changed
    // destination is a different output, its copies are not counted.
    REQUIRE(remap.size() == 2);
    REQUIRE(remap[0].size() == 1);
    REQUIRE(remap[1].size() == 1);
    CHECK_FALSE(remap[0][0].has_value());
    REQUIRE(remap[1][0].has_value());
    CHECK(remap[1][0]->rule == 0);
    CHECK(remap[1][0]->output == 0);
}

TEST_CASE("the remap of an unchanged rule set is the identity, a removed rule maps nowhere")
{
    const std::vector<Rule> rules{make_rule("a", "239.2.2.2"), make_rule("b", "239.3.3.3")};
    const std::vector<RuleCounters> counters(2, RuleCounters{0, 0, 0, {OutputCounters{}}, nullptr});
    const auto same = carry_over_counters(rules, counters, rules);
    for (std::uint32_t r = 0; r < 2; ++r) {
        REQUIRE(same.remap[r][0].has_value());
        CHECK(same.remap[r][0]->rule == r);
        CHECK(same.remap[r][0]->output == 0);
    }
    const auto removed = carry_over_counters(rules, counters, {rules[1]});
    CHECK_FALSE(removed.remap[0][0].has_value());
    REQUIRE(removed.remap[1][0].has_value());
    CHECK(removed.remap[1][0]->rule == 0);
}

namespace {
Rule inspected_rule(const std::string& name, mcr::StreamInspection inspection)
{
    Rule r = make_rule(name, "239.2.2.2");
    r.inspect = inspection;
    return r;
}

std::vector<std::uint8_t> rtp_packet(std::uint16_t sequence)
{
    return {0x80, 96, static_cast<std::uint8_t>(sequence >> 8), static_cast<std::uint8_t>(sequence),
            0, 0, 0, 0, 0, 0, 0, 42, 0xab, 0xcd};
}
} // namespace

TEST_CASE("an inspected rule gets a health object, its outputs their gaps; others get none")
{
    const std::vector<Rule> rules{inspected_rule("rtp", mcr::StreamInspection::rtp), make_rule("plain", "239.3.3.3")};
    auto carried = carry_over_counters({}, {}, rules);
    REQUIRE(carried.rules[0].health);
    CHECK_FALSE(carried.rules[1].health);
    for (const std::uint16_t s : {1, 2, 5})
        carried.rules[0].health->observe(rtp_packet(s), 0);
    carried.rules[0].outputs[0].would_block = 2;
    carried.rules[0].outputs[0].too_big = 1;
    WorkerCounters counters;
    counters.rules = carried.rules;
    const auto j = nlohmann::json::parse(stats_to_json("in0", 1, rules, counters));
    const auto& health = j["rules"][0]["health"];
    CHECK(health["kind"] == "rtp");
    CHECK(health["state"] == "ok");
    CHECK(health["packets"] == 3);
    CHECK(health["lost"] == 2);
    CHECK(health["payload_type"] == 96);
    CHECK(health["ssrc"] == 42);
    CHECK(health["clock_rate"] == 90000);
    CHECK(j["rules"][0]["outputs"][0]["health"] == nlohmann::json{{"gaps", 3}});
    CHECK_FALSE(j["rules"][1].contains("health"));
    CHECK_FALSE(j["rules"][1]["outputs"][0].contains("health"));
}

TEST_CASE("stream health carries over a config change unless the inspection kind changes")
{
    const std::vector<Rule> before{inspected_rule("a", mcr::StreamInspection::rtp),
                                   inspected_rule("b", mcr::StreamInspection::rtp)};
    auto first = carry_over_counters({}, {}, before);
    first.rules[0].health->observe(rtp_packet(1), 0);
    first.rules[1].health->observe(rtp_packet(1), 0);
    const std::vector<Rule> after{inspected_rule("a", mcr::StreamInspection::rtp),
                                  inspected_rule("b", mcr::StreamInspection::mpegts),
                                  make_rule("c", "239.4.4.4")};
    const auto second = carry_over_counters(before, first.rules, after);
    CHECK(second.rules[0].health == first.rules[0].health); // the same inspector, its state kept
    REQUIRE(second.rules[1].health);
    CHECK(second.rules[1].health->inspection() == mcr::StreamInspection::mpegts);
    CHECK(second.rules[1].health->to_json()["datagrams"] == 0);
    CHECK_FALSE(second.rules[2].health);
    const std::vector<Rule> uninspected{make_rule("a", "239.2.2.2")};
    CHECK_FALSE(carry_over_counters(after, second.rules, uninspected).rules[0].health);
}

TEST_CASE("the loss watch turns losing on growth and ok after 5 quiet seconds, once each")
{
    using std::chrono::seconds;
    const std::chrono::steady_clock::time_point t0{};
    LossWatch watch;
    CHECK_FALSE(watch.update(0, t0));
    CHECK(watch.update(3, t0 + seconds(1)) == HealthState::losing);
    CHECK_FALSE(watch.update(5, t0 + seconds(2)));        // still losing: no second entry
    CHECK_FALSE(watch.update(5, t0 + seconds(6)));        // 4 s quiet
    CHECK(watch.state() == HealthState::losing);
    CHECK(watch.update(5, t0 + seconds(7)) == HealthState::ok);
    CHECK_FALSE(watch.update(5, t0 + seconds(20)));
    CHECK_FALSE(watch.update(4, t0 + seconds(21)));       // a late packet lowers lost: no loss
    CHECK(watch.update(5, t0 + seconds(22)) == HealthState::losing);
}
