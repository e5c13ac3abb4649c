// Proves the counts of rules that left the fast path stay in their totals:
// added to the rule and the output of the same identity, across repeated
// moves, never into "fast_path" (what the maps hold now), and dropped with
// the rule.
#include "worker/retired_fast_path.hpp"
#include "worker/stats.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using mcr::IpAddress;
using mcr::Rule;
using namespace mcr::worker;

namespace {

Rule rule_named(const std::string& name)
{
    Rule r;
    r.name = name;
    r.input = {"in0", *IpAddress::parse("239.1.1.1"), 5000, std::nullopt};
    r.outputs.push_back({"out0", *IpAddress::parse("239.2.2.2"), 6000, std::nullopt});
    r.outputs.push_back({"out1", *IpAddress::parse("239.3.3.3"), 7000, std::nullopt});
    return r;
}

// The worker's document for `rules` with `packets` counted by the userspace
// path on every rule and output (10 payload bytes each).
nlohmann::json document_for(const std::vector<Rule>& rules, std::uint64_t packets)
{
    WorkerCounters counters;
    counters.rules.resize(rules.size());
    for (std::size_t r = 0; r < rules.size(); ++r) {
        counters.rules[r].packets = packets;
        counters.rules[r].bytes = packets * 10;
        counters.rules[r].outputs.resize(rules[r].outputs.size());
        for (auto& output : counters.rules[r].outputs) {
            output.packets = packets;
            output.bytes = packets * 10;
            output.send_error = 1;
        }
    }
    return nlohmann::json::parse(stats_to_json("in0", 1, rules, counters));
}

FastCounts fast(std::uint64_t packets, std::uint64_t errors = 0)
{
    return FastCounts{packets, packets * 10, {{packets, packets * 10, errors}, {packets, packets * 10, 0}}};
}

} // namespace

TEST_CASE("a rule's retired fast-path counts add to its totals and its outputs', by identity")
{
    const Rule rule = rule_named("video");
    RetiredFastPath retired;
    CHECK(retired.empty());
    retired.add(rule, fast(100, 2));
    retired.add(rule, fast(50)); // it left the fast path a second time
    nlohmann::json doc = document_for({rule}, 7);
    retired.add_to_stats(doc);
    const nlohmann::json& r = doc["rules"][0];
    CHECK(r["packets"] == 157);
    CHECK(r["bytes"] == 1570);
    CHECK(r["outputs"][0]["packets"] == 157);
    CHECK(r["outputs"][0]["bytes"] == 1570);
    CHECK(r["outputs"][0]["drops"]["send_error"] == 3);
    CHECK(r["outputs"][1]["packets"] == 157);
    CHECK(r["outputs"][1]["drops"]["send_error"] == 1);
    CHECK(r["outputs"][1]["drops"]["no_buffer"] == 0);
    CHECK_FALSE(r.contains("fast_path"));
}

TEST_CASE("outputs are matched by identity, not position; an output no longer in the rule drops out")
{
    Rule before = rule_named("video");
    RetiredFastPath retired;
    retired.add(before, FastCounts{10, 100, {{4, 40, 0}, {6, 60, 0}}});
    Rule after = before;
    std::swap(after.outputs[0], after.outputs[1]);
    after.outputs[1].port = 6001; // out0's copy now goes to another port: another output
    nlohmann::json doc = document_for({after}, 0);
    retired.add_to_stats(doc);
    const nlohmann::json& r = doc["rules"][0];
    CHECK(r["packets"] == 10);
    CHECK(r["outputs"][0]["interface"] == "out1");
    CHECK(r["outputs"][0]["packets"] == 6);
    CHECK(r["outputs"][1]["packets"] == 0);
}

TEST_CASE("a removed rule's retired counts are forgotten; other rules keep theirs")
{
    const Rule video = rule_named("video");
    const Rule audio = rule_named("audio");
    RetiredFastPath retired;
    retired.add(video, fast(5));
    retired.add(audio, fast(9));
    retired.keep_only({audio});
    nlohmann::json doc = document_for({video, audio}, 1);
    retired.add_to_stats(doc);
    CHECK(doc["rules"][0]["packets"] == 1);
    CHECK(doc["rules"][1]["packets"] == 10);
    retired.keep_only({});
    CHECK(retired.empty());
}

TEST_CASE("an output that requires listeners keeps the copies the program held (no_listener); others get none")
{
    Rule rule = rule_named("video");
    rule.outputs[0].listeners = mcr::ListenerPolicy::required;
    RetiredFastPath retired;
    retired.add(rule, FastCounts{20, 200, {{5, 50, 0, 15}, {20, 200, 0, 0}}});
    retired.add(rule, FastCounts{4, 40, {{0, 0, 0, 4}, {4, 40, 0, 0}}});
    nlohmann::json doc = document_for({rule}, 3);
    retired.add_to_stats(doc);
    const nlohmann::json& r = doc["rules"][0];
    CHECK(r["outputs"][0]["packets"] == 8);
    CHECK(r["outputs"][0]["no_listener"] == 19);
    CHECK(r["outputs"][1]["packets"] == 27);
    CHECK_FALSE(r["outputs"][1].contains("no_listener"));
}
