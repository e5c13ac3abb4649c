// Proves the fast path's per-output hold (an output whose "listeners" is
// "required" while no listener is known) with BPF_PROG_TEST_RUN: a held
// output gets no copy and counts no_listener, the other outputs' copies stay
// byte-exact (clones captured on lo of a throw-away netns), releasing
// restores; held by the rule's output index whatever order a version stores
// its outputs in (both families, translated outputs); kept across a rule
// replace and a reopen of the maps (a restarted worker); bad input refused
// with nothing changed.
#include "fastpath_fixture.hpp"
#include "fastpath_frames6.hpp"

#include "fastpath/relay_abi.h"

#include <bpf/bpf.h>
#include <fcntl.h>

#include <cerrno>

#include <string>

using namespace mcr;
using namespace mcr::test;

namespace {

// The egress interfaces' addresses a translated copy leaves from.
const IpAddress kEgressAddress6 = IpAddress::from_ipv6(documentation6(2, 1)); // 2001:db8:2::1
const IpAddress kEgressAddress4 = IpAddress::from_ipv4(0xcb007102);            // 203.0.113.2

constexpr int kVerdictDropped = TC_ACT_SHOT;

std::vector<std::uint8_t> listener_test_frame()
{
    FrameSpec spec = default_spec();
    spec.payload.assign(120, 0x3c);
    return make_udp_frame(spec);
}

void hold(Relay& relay, const fastpath::RuleMatch& match, const std::vector<bool>& held)
{
    const Status status = relay.maps.hold_outputs(match, held);
    REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message()));
}

} // namespace

TEST_CASE("a held output gets no copy and counts no_listener, the others' copies are exact, releasing restores")
{
    Relay relay = Relay::load();
    std::vector<fastpath::Output> outputs;
    for (std::uint32_t i = 0; i < 3; ++i)
        outputs.push_back(multicast_output(0xef0a0a00 + i, static_cast<std::uint16_t>(6000 + i), std::nullopt,
                                           kLoopbackIfindex));
    outputs[1].held = true;
    const fastpath::RuleMatch match{kGroup, 0, kPort};
    relay.install(rule_for(kGroup, kPort, outputs));
    const auto frame = listener_test_frame();
    const std::uint16_t source_port = default_spec().source_port;

    auto captured = run_capturing_clones(relay, frame, source_port);
    if (!captured.entered) {
        MESSAGE("skipped: cannot make a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    CHECK(captured.verdict == kVerdictRelayed);
    REQUIRE(captured.clones.size() == 1);
    CHECK(captured.clones[0] == userspace_copy(frame, outputs[0]));
    CHECK(captured.last == userspace_copy(frame, outputs[2]));
    auto traffic = relay.traffic(match);
    CHECK(traffic.packets == 1);
    CHECK(traffic.bytes == 120);
    REQUIRE(traffic.outputs.size() == 3);
    CHECK(traffic.outputs[0].packets == 1);
    CHECK(traffic.outputs[0].no_listener == 0);
    CHECK(traffic.outputs[1].packets == 0);
    CHECK(traffic.outputs[1].bytes == 0);
    CHECK(traffic.outputs[1].no_listener == 1);
    CHECK(traffic.outputs[1].errors == 0);
    CHECK(traffic.outputs[2].packets == 1);
    CHECK(traffic.outputs[2].no_listener == 0);

    // A listener arrives: the output gets its copy again.
    hold(relay, match, {false, false, false});
    captured = run_capturing_clones(relay, frame, source_port);
    CHECK(captured.verdict == kVerdictRelayed);
    REQUIRE(captured.clones.size() == 2);
    CHECK(captured.clones[0] == userspace_copy(frame, outputs[0]));
    CHECK(captured.clones[1] == userspace_copy(frame, outputs[1]));
    CHECK(captured.last == userspace_copy(frame, outputs[2]));
    traffic = relay.traffic(match);
    CHECK(traffic.outputs[1].packets == 1);
    CHECK(traffic.outputs[1].bytes == 120);
    CHECK(traffic.outputs[1].no_listener == 1);

    // The last output held: the last one still sent takes the frame itself.
    hold(relay, match, {false, false, true});
    captured = run_capturing_clones(relay, frame, source_port);
    CHECK(captured.verdict == kVerdictRelayed);
    REQUIRE(captured.clones.size() == 1);
    CHECK(captured.clones[0] == userspace_copy(frame, outputs[0]));
    CHECK(captured.last == userspace_copy(frame, outputs[1]));
    traffic = relay.traffic(match);
    CHECK(traffic.packets == 3);
    CHECK(traffic.outputs[0].packets == 3);
    CHECK(traffic.outputs[1].packets == 2);
    CHECK(traffic.outputs[2].packets == 2);
    CHECK(traffic.outputs[2].no_listener == 1);
    CHECK(relay.passes() == fastpath::PassCounts{});
}

TEST_CASE("every output held: nothing is sent and nothing goes to the stack, each output counts no_listener")
{
    Relay relay = Relay::load();
    auto first = multicast_output(0xef0b0b01, 6001);
    auto second = multicast_output(0xef0b0b02, 6002);
    first.held = true;
    second.held = true;
    relay.install(rule_for(kGroup, kPort, {first, second}));
    const auto frame = listener_test_frame();
    for (int i = 0; i < 4; ++i)
        CHECK(relay.run(frame).verdict == kVerdictDropped);
    const auto traffic = relay.traffic({kGroup, 0, kPort});
    CHECK(traffic.packets == 4);
    CHECK(traffic.bytes == 480);
    REQUIRE(traffic.outputs.size() == 2);
    for (const auto& output : traffic.outputs) {
        CHECK(output.packets == 0);
        CHECK(output.bytes == 0);
        CHECK(output.errors == 0);
        CHECK(output.no_listener == 4);
    }
    // The worker must not see (and count) these frames a second time.
    CHECK(relay.passes() == fastpath::PassCounts{});
}

namespace {

// A rule whose outputs alternate families (mixed_family_rule()); outputs 0
// and 3 held. A version stores the input's family first, so the held
// outputs sit at other positions than their indices (for an IPv6 input,
// the last position is held: the copy before it takes the frame).
void check_mixed_rule_held(bool ipv6_input)
{
    MixedFamilyRule mixed = mixed_family_rule(ipv6_input, kEgressAddress4, kEgressAddress6);
    std::vector<fastpath::Output>& outputs = mixed.rule.outputs;
    outputs[0].held = true;
    outputs[3].held = true;
    Relay relay = Relay::load();
    relay.install(mixed.rule);
    const fastpath::RuleMatch match = mixed.rule.match;
    const std::vector<std::uint8_t>& frame = mixed.frame;
    const std::uint16_t source_port = default_spec().source_port;
    auto captured = run_capturing_clones(relay, frame, source_port);
    if (!captured.entered) {
        MESSAGE("skipped: cannot make a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    // Sent: outputs 1 and 2, the input's family first.
    const std::size_t first_sent = ipv6_input ? 2 : 1;
    const std::size_t last_sent = ipv6_input ? 1 : 2;
    CHECK(captured.verdict == kVerdictRelayed);
    REQUIRE(captured.clones.size() == 1);
    CHECK(captured.clones[0] == expected_for(frame, outputs[first_sent]));
    CHECK(udp_checksum_verifies_any(captured.clones[0]));
    CHECK(captured.last == expected_for(frame, outputs[last_sent]));
    CHECK(udp_checksum_verifies_any(captured.last));
    auto traffic = relay.traffic(match);
    REQUIRE(traffic.outputs.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CAPTURE(i);
        const bool held = i == 0 || i == 3;
        CHECK(traffic.outputs[i].packets == (held ? 0U : 1U));
        CHECK(traffic.outputs[i].bytes == (held ? 0U : 200U));
        CHECK(traffic.outputs[i].no_listener == (held ? 1U : 0U));
        CHECK(traffic.outputs[i].errors == 0);
    }

    // Released: every output's copy, each exact.
    hold(relay, match, {false, false, false, false});
    captured = run_capturing_clones(relay, frame, source_port);
    CHECK(captured.verdict == kVerdictRelayed);
    const std::vector<std::size_t>& order = mixed.send_order;
    REQUIRE(captured.clones.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(captured.clones[i] == expected_for(frame, outputs[order[i]]));
    }
    CHECK(captured.last == expected_for(frame, outputs[order[3]]));
    traffic = relay.traffic(match);
    for (std::size_t i = 0; i < 4; ++i) {
        CAPTURE(i);
        const bool was_held = i == 0 || i == 3;
        CHECK(traffic.outputs[i].packets == (was_held ? 1U : 2U));
        CHECK(traffic.outputs[i].no_listener == (was_held ? 1U : 0U));
    }
}

} // namespace

TEST_CASE("IPv4 in, outputs of both families: outputs are held by their index in the rule, the rest exact")
{
    check_mixed_rule_held(false);
}

TEST_CASE("IPv6 in, outputs of both families: outputs are held by their index in the rule, the rest exact")
{
    check_mixed_rule_held(true);
}

TEST_CASE("a rule replace keeps the hold state and the counters")
{
    Relay relay = Relay::load();
    // Output 0's clones would fail (no such interface): an error count says it was not held.
    auto unreachable = multicast_output(0xef0d0d01, 6201);
    auto last = multicast_output(0xef0d0d02, 6202);
    unreachable.held = true;
    const fastpath::RuleMatch match{kGroup, 0, kPort};
    relay.install(rule_for(kGroup, kPort, {unreachable, last}));
    const auto frame = listener_test_frame();
    auto run = relay.run(frame);
    CHECK(run.verdict == kVerdictRelayed);
    CHECK(run.frame == userspace_copy(frame, last));

    last.destination_port = 6299; // a new version, output 0 still held
    relay.install(rule_for(kGroup, kPort, {unreachable, last}));
    run = relay.run(frame);
    CHECK(run.verdict == kVerdictRelayed);
    CHECK(run.frame == userspace_copy(frame, last));
    auto traffic = relay.traffic(match);
    CHECK(traffic.packets == 2);
    CHECK(traffic.outputs[0].no_listener == 2);
    CHECK(traffic.outputs[0].errors == 0);
    CHECK(traffic.outputs[1].packets == 2);

    unreachable.held = false; // a new version with output 0 released
    relay.install(rule_for(kGroup, kPort, {unreachable, last}));
    CHECK(relay.run(frame).verdict == kVerdictRelayed);
    traffic = relay.traffic(match);
    CHECK(traffic.packets == 3);
    CHECK(traffic.outputs[0].no_listener == 2);
    CHECK(traffic.outputs[0].errors == 1);
    CHECK(traffic.outputs[1].packets == 3);
}

TEST_CASE("reopened maps (a restarted worker) keep the hold state and change it by the rule's output index")
{
    Relay relay = Relay::load();
    // IPv6 in, the translated output first in the rule and last in the version.
    const auto translated = translated_output(multicast_output(0xef0e0e01, 6301), kEgressAddress4);
    auto same = multicast_output6(address6(0xff3e, 0x5, 0x0003), 6302);
    same.held = true;
    const fastpath::RuleMatch match = match6(kGroup6, kPort);
    relay.install(rule6_for(kGroup6, kPort, {translated, same}));
    FastPathFrame6Spec spec = default_spec6();
    spec.payload.assign(80, 0x21);
    const auto frame = make_fast_path_udp6_frame(spec);

    auto fds = relay.program.map_fds();
    REQUIRE(fds.ok());
    auto reopened = fastpath::RuleMaps::open(std::move(fds).value());
    REQUIRE_MESSAGE(reopened.ok(), (reopened.ok() ? "" : reopened.error().message()));
    auto run = relay.run(frame);
    CHECK(run.verdict == kVerdictRelayed);
    CHECK(run.frame == expected_for(frame, translated));
    auto traffic = reopened->traffic(match);
    REQUIRE(traffic.ok());
    CHECK(traffic->outputs[1].no_listener == 1);
    CHECK(traffic->outputs[0].packets == 1);

    // Output 1 released and output 0 held, through the reopened maps.
    const Status status = reopened->hold_outputs(match, {true, false});
    REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message()));
    run = relay.run(frame);
    CHECK(run.verdict == kVerdictRelayed);
    CHECK(run.frame == expected_for(frame, same));
    traffic = reopened->traffic(match);
    REQUIRE(traffic.ok());
    CHECK(traffic->outputs[0].no_listener == 1);
    CHECK(traffic->outputs[0].packets == 1);
    CHECK(traffic->outputs[1].no_listener == 1);
    CHECK(traffic->outputs[1].packets == 1);
}

TEST_CASE("hold_outputs refuses a wrong number of outputs or an unknown rule, and nothing changes")
{
    Relay relay = Relay::load();
    auto first = multicast_output(0xef0f0f01, 6401);
    auto second = multicast_output(0xef0f0f02, 6402);
    first.held = true;
    const fastpath::RuleMatch match{kGroup, 0, kPort};
    relay.install(rule_for(kGroup, kPort, {first, second}));

    const Status wrong_count = relay.maps.hold_outputs(match, {false, false, false});
    REQUIRE_FALSE(wrong_count.ok());
    CHECK(wrong_count.error().message().find("has 2 outputs, got hold states for 3") != std::string::npos);
    const Status unknown = relay.maps.hold_outputs(fastpath::RuleMatch{kGroup + 1, 0, kPort}, {false, false});
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message().find("no such rule") != std::string::npos);

    const auto frame = listener_test_frame();
    const auto run = relay.run(frame);
    CHECK(run.verdict == kVerdictRelayed);
    CHECK(run.frame == userspace_copy(frame, second));
    const auto traffic = relay.traffic(match);
    CHECK(traffic.outputs[0].no_listener == 1);
    CHECK(traffic.outputs[0].errors == 0);
}

TEST_CASE("maps laid out by another build (a worker upgraded over its FD store) are refused, their rules removed")
{
    Relay relay = Relay::load();
    auto fds = relay.program.map_fds();
    REQUIRE(fds.ok());
    // The rules map as it was before hold states: a 4-byte version slot,
    // with two rules that build's program would go on relaying.
    fds->rules = unique_fd(bpf_map_create(BPF_MAP_TYPE_HASH, "old_rules", sizeof(mcr_fp_rule_key), 4, 8, nullptr));
    REQUIRE(fds->rules);
    const int old_rules = fcntl(fds->rules.get(), F_DUPFD_CLOEXEC, 3);
    REQUIRE(old_rules >= 0);
    const unique_fd old_rules_fd(old_rules);
    for (std::uint32_t slot = 0; slot < 2; ++slot) {
        mcr_fp_rule_key key{};
        key.group[0] = 0x010101ef + slot;
        key.family = MCR_FP_FAMILY_IPV4;
        REQUIRE(bpf_map_update_elem(old_rules, &key, &slot, BPF_NOEXIST) == 0);
    }
    const auto opened = fastpath::RuleMaps::open(std::move(fds).value());
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().message().find("the rules map holds 4-byte values") != std::string::npos);
    CHECK(opened.error().message().find("its rules were removed") != std::string::npos);
    mcr_fp_rule_key any{};
    CHECK(bpf_map_get_next_key(old_rules, nullptr, &any) == -ENOENT);
}
