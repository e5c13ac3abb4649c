// Proves the fast path's IPv6 relaying with BPF_PROG_TEST_RUN: every copy is
// the one v6design.md describes, byte for byte (built from scratch by the
// test, checksums recomputed), clones included (captured on lo of a
// throw-away netns), and every frame it does not relay reaches the stack
// unchanged with its reason counted.
#include "fastpath_fixture.hpp"
#include "fastpath_frames6.hpp"

#include <random>

using namespace mcr;
using namespace mcr::test;
using fastpath::PassReason;

namespace {

const Address16 kOutGroup6 = address6(0xff3e, 0x0202, 0x0002);   // ff3e::2:202
const Address16 kOtherSource6 = documentation6(0, 7);            // 2001:db8::7

} // namespace

TEST_CASE("IPv6 -> IPv6: the copy gets the output's group, port, hop limit and 33:33 MAC, checksum exact")
{
    Relay relay = Relay::load();
    const auto output = multicast_output6(kOutGroup6, 6000);
    relay.install(rule6_for(kGroup6, kPort, {output}));
    FastPathFrame6Spec spec = default_spec6();
    spec.traffic_class = 0xb9;
    spec.flow_label = 0x12345;
    const auto frame = make_fast_path_udp6_frame(spec);
    const auto run = relay.run(frame);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(run.frame == expected_copy(frame, output));
    CHECK(udp_checksum_verifies_any(run.frame));
    // The fields, one by one, beside the whole-frame comparison.
    CHECK(std::vector<std::uint8_t>(run.frame.begin(), run.frame.begin() + 6) ==
          std::vector<std::uint8_t>{0x33, 0x33, 0x00, 0x02, 0x02, 0x02});
    CHECK(dataplane::load_be16(&run.frame[12]) == kEtherTypeIpv6);
    CHECK(run.frame[14 + 7] == 63);
    CHECK(std::equal(kOutGroup6.begin(), kOutGroup6.end(), run.frame.begin() + 14 + 24));
    CHECK(dataplane::load_be16(&run.frame[14 + 40 + 2]) == 6000);
    const auto traffic = relay.traffic(match6(kGroup6, kPort));
    CHECK(traffic.packets == 1);
    CHECK(traffic.bytes == spec.payload.size());
}

TEST_CASE("IPv6 random frames, hop limits and outputs: every copy exact, every checksum verifies")
{
    Relay relay = Relay::load();
    std::mt19937 random(6262); // fixed seed: reproducible
    for (int round = 0; round < 300; ++round) {
        FastPathFrame6Spec spec = default_spec6();
        spec.hop_limit = static_cast<std::uint8_t>(2 + random() % 254);
        spec.traffic_class = static_cast<std::uint8_t>(random());
        spec.flow_label = static_cast<std::uint32_t>(random()) & 0xfffffU;
        spec.source_port = static_cast<std::uint16_t>(random());
        spec.destination_port = static_cast<std::uint16_t>(1 + random() % 65535);
        for (std::size_t i = 2; i < 16; ++i) {
            spec.destination_address[i] = static_cast<std::uint8_t>(random());
            spec.source_address[i] = static_cast<std::uint8_t>(random());
        }
        spec.payload.resize(random() % 1400);
        for (auto& byte : spec.payload)
            byte = static_cast<std::uint8_t>(random());
        Address16 out_group = kOutGroup6;
        for (std::size_t i = 2; i < 16; ++i)
            out_group[i] = static_cast<std::uint8_t>(random());
        const std::optional<std::uint8_t> hop_limit =
            random() % 2 ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(1 + random() % 255)) : std::nullopt;
        const auto output = multicast_output6(out_group, static_cast<std::uint16_t>(1 + random() % 65535), hop_limit);
        relay.install(rule6_for(spec.destination_address, spec.destination_port, {output}));
        const auto frame = make_fast_path_udp6_frame(spec);
        const auto run = relay.run(frame);
        REQUIRE(run.verdict == kVerdictRelayed);
        REQUIRE(run.frame == expected_copy(frame, output));
        REQUIRE(run.frame == userspace_copy(frame, output)); // and the worker's copy
        REQUIRE(udp_checksum_verifies_any(run.frame));
    }
}

TEST_CASE("IPv6 hop limit: arriving - 1, the output's when set, <= 1 to the stack unless the rule forwards it")
{
    Relay relay = Relay::load();
    struct Case {
        std::uint8_t arriving;
        std::optional<std::uint8_t> configured;
        std::uint8_t leaving;
    };
    for (const Case c : {Case{64, std::nullopt, 63}, Case{2, std::nullopt, 1}, Case{64, 5, 5}, Case{1, std::nullopt, 1},
                         Case{0, std::nullopt, 1}, Case{0, 200, 200}, Case{255, 255, 255}}) {
        CAPTURE(int{c.arriving});
        const auto output = multicast_output6(kOutGroup6, 6000, c.configured);
        auto rule = rule6_for(kGroup6, kPort, {output});
        rule.forward_expired_ttl = true;
        relay.install(rule);
        FastPathFrame6Spec spec = default_spec6();
        spec.hop_limit = c.arriving;
        const auto frame = make_fast_path_udp6_frame(spec);
        const auto run = relay.run(frame);
        REQUIRE(run.verdict == kVerdictRelayed);
        CHECK(run.frame[14 + 7] == c.leaving);
        CHECK(run.frame == expected_copy(frame, output));
    }

    relay.install(rule6_for(kGroup6, kPort, {multicast_output6(kOutGroup6, 6000)}));
    for (const std::uint8_t hop_limit : {std::uint8_t{0}, std::uint8_t{1}}) {
        FastPathFrame6Spec spec = default_spec6();
        spec.hop_limit = hop_limit;
        CHECK(pass_reason_of(relay, make_fast_path_udp6_frame(spec)) == PassReason::ttl_expired);
    }
}

TEST_CASE("IPv6 1 -> 3: each output's copy, clones included, exact and counted under its output")
{
    Relay relay = Relay::load();
    const std::vector<fastpath::Output> outputs = {
        multicast_output6(address6(0xff3e, 0x0a, 0x02), 6001, std::nullopt, kLoopbackIfindex),
        multicast_output6(address6(0xff15, 0x0b, 0x02), 6002, std::uint8_t{9}, kLoopbackIfindex),
        multicast_output6(address6(0xff3e, 0x0c, 0x03), 6003, std::nullopt, kLoopbackIfindex)};
    relay.install(rule6_for(kGroup6, kPort, outputs));
    FastPathFrame6Spec spec = default_spec6();
    spec.payload.assign(300, 0x6b);
    const auto frame = make_fast_path_udp6_frame(spec);
    const auto captured = run_capturing_clones(relay, frame, spec.source_port);
    if (!captured.entered) {
        MESSAGE("skipped: cannot make a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    CHECK(captured.verdict == kVerdictRelayed);
    REQUIRE(captured.clones.size() == 2);
    CHECK(captured.clones[0] == expected_copy(frame, outputs[0]));
    CHECK(captured.clones[1] == expected_copy(frame, outputs[1]));
    CHECK(captured.last == expected_copy(frame, outputs[2]));
    for (const auto& copy : captured.clones)
        CHECK(udp_checksum_verifies_any(copy));
    CHECK(udp_checksum_verifies_any(captured.last));
    const auto traffic = relay.traffic(match6(kGroup6, kPort));
    CHECK(traffic.packets == 1);
    REQUIRE(traffic.outputs.size() == 3);
    for (const auto& output : traffic.outputs) {
        CHECK(output.packets == 1);
        CHECK(output.bytes == 300);
        CHECK(output.errors == 0);
    }
}

TEST_CASE("IPv6 SSM: the exact-source rule wins for its source only; without an any-source rule others pass")
{
    Relay relay = Relay::load();
    const auto any_source_output = multicast_output6(kOutGroup6, 6000);
    const auto ssm_output = multicast_output6(address6(0xff3e, 3, 3), 7000);
    relay.install(rule6_for(kGroup6, kPort, {any_source_output}));
    relay.install(rule6_for(kGroup6, kPort, {ssm_output}, kSource6));

    const auto ssm_frame = make_fast_path_udp6_frame(default_spec6());
    CHECK(relay.run(ssm_frame).frame == expected_copy(ssm_frame, ssm_output));
    FastPathFrame6Spec other = default_spec6();
    other.source_address = kOtherSource6;
    const auto other_frame = make_fast_path_udp6_frame(other);
    CHECK(relay.run(other_frame).frame == expected_copy(other_frame, any_source_output));

    CHECK(relay.traffic(match6(kGroup6, kPort, kSource6)).packets == 1);
    CHECK(relay.traffic(match6(kGroup6, kPort)).packets == 1);
    REQUIRE(relay.maps.remove(match6(kGroup6, kPort)).ok());
    CHECK(pass_reason_of(relay, other_frame) == PassReason::no_rule);
    CHECK(relay.run(ssm_frame).verdict == kVerdictRelayed);
}

TEST_CASE("IPv4 and IPv6 rules side by side: each family matches its own rules only")
{
    Relay relay = Relay::load();
    const auto output4 = multicast_output(0xef020202, 6000);
    const auto output6 = multicast_output6(kOutGroup6, 6000);
    relay.install(rule_for(kGroup, kPort, {output4}));
    relay.install(rule6_for(kGroup6, kPort, {output6}));
    const auto frame4 = make_udp_frame(default_spec());
    const auto frame6 = make_fast_path_udp6_frame(default_spec6());
    CHECK(relay.run(frame4).frame == userspace_copy(frame4, output4));
    CHECK(relay.run(frame6).frame == expected_copy(frame6, output6));
    // An IPv6 group whose first word is the IPv4 group's: another key.
    FastPathFrame6Spec lookalike = default_spec6();
    lookalike.destination_address = {0xef, 0x01, 0x01, 0x01};
    CHECK(pass_reason_of(relay, make_fast_path_udp6_frame(lookalike)) == PassReason::no_rule);
    CHECK(relay.traffic({kGroup, 0, kPort}).packets == 1);
    CHECK(relay.traffic(match6(kGroup6, kPort)).packets == 1);
}

TEST_CASE("IPv6 frames the program leaves to the worker: each reason counted once, the frame untouched")
{
    Relay relay = Relay::load();
    auto rule = rule6_for(kGroup6, kPort, {multicast_output6(kOutGroup6, 6000)});
    rule.outputs[0].mtu = 1280;
    relay.install(rule);
    const auto valid = make_fast_path_udp6_frame(default_spec6());
    REQUIRE(relay.run(valid).verdict == kVerdictRelayed);

    // Any extension header, walkable or not: the worker walks the chain
    // (or drops the frame for its own reason) and relays base header + UDP.
    for (const std::uint8_t next_header : {0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254}) {
        CAPTURE(int{next_header});
        auto extended = valid;
        extended[14 + 6] = next_header;
        CHECK(pass_reason_of(relay, extended) == PassReason::ipv6_extension_headers);
    }
    auto icmp = valid;
    icmp[14 + 6] = 58;
    CHECK(pass_reason_of(relay, icmp) == PassReason::not_udp);
    auto no_next = valid;
    no_next[14 + 6] = 59;
    CHECK(pass_reason_of(relay, no_next) == PassReason::not_udp);

    FastPathFrame6Spec zero = default_spec6();
    zero.udp_checksum = false;
    CHECK(pass_reason_of(relay, make_fast_path_udp6_frame(zero)) == PassReason::zero_udp_checksum);

    auto version4 = valid;
    version4[14] = static_cast<std::uint8_t>(0x40 | (version4[14] & 0x0f));
    CHECK(pass_reason_of(relay, version4) == PassReason::malformed);
    auto beyond_frame = valid;
    dataplane::store_be16(&beyond_frame[14 + 4], static_cast<std::uint16_t>(valid.size() - 14 - 40 + 1));
    CHECK(pass_reason_of(relay, beyond_frame) == PassReason::malformed);
    auto no_udp_header = valid;
    dataplane::store_be16(&no_udp_header[14 + 4], 7);
    CHECK(pass_reason_of(relay, no_udp_header) == PassReason::malformed);
    auto jumbo = valid; // payload length 0: a jumbogram's hop-by-hop option would say more
    dataplane::store_be16(&jumbo[14 + 4], 0);
    CHECK(pass_reason_of(relay, jumbo) == PassReason::malformed);
    auto udp_length_wrong = valid;
    dataplane::store_be16(&udp_length_wrong[14 + 40 + 4], 9);
    CHECK(pass_reason_of(relay, udp_length_wrong) == PassReason::malformed);
    // A cut base header is the program's malformed too, but the kernel
    // refuses to test-run it (the fixture's test_run_accepts() says why).
    CHECK_FALSE(test_run_accepts(std::vector<std::uint8_t>(valid.begin(), valid.begin() + 14 + 39)));
    const std::vector<std::uint8_t> base_header_only(valid.begin(), valid.begin() + 14 + 40);
    auto header_only = base_header_only;
    dataplane::store_be16(&header_only[14 + 4], 0);
    CHECK(pass_reason_of(relay, header_only) == PassReason::malformed);

    CHECK(pass_reason_of(relay, valid, fastpath::TestSkb{1400}) == PassReason::aggregated);

    FastPathFrame6Spec other_port = default_spec6();
    other_port.destination_port = kPort + 1;
    CHECK(pass_reason_of(relay, make_fast_path_udp6_frame(other_port)) == PassReason::no_rule);

    FastPathFrame6Spec big = default_spec6();
    big.payload.resize(1280 - 48 + 1); // IPv6 packet of 1281 bytes, MTU 1280
    CHECK(pass_reason_of(relay, make_fast_path_udp6_frame(big)) == PassReason::too_big);
    big.payload.resize(1280 - 48);
    CHECK(relay.run(make_fast_path_udp6_frame(big)).verdict == kVerdictRelayed);
}

TEST_CASE("IPv6: bytes after the payload are dropped, as the worker's copy ends with the IP packet")
{
    Relay relay = Relay::load();
    const auto output = multicast_output6(kOutGroup6, 6000);
    relay.install(rule6_for(kGroup6, kPort, {output}));
    const auto frame = make_fast_path_udp6_frame(default_spec6());
    auto trailed = frame;
    trailed.resize(frame.size() + 9, 0xee);
    const auto run = relay.run(trailed);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(run.frame == expected_copy(frame, output));
}

TEST_CASE("IPv6 rules survive reopening the maps, and are replaced whole")
{
    Relay relay = Relay::load();
    relay.install(rule6_for(kGroup6, kPort, {multicast_output6(kOutGroup6, 6000)}, kSource6));
    relay.install(rule_for(kGroup, kPort, {multicast_output(0xef020202, 6000)}));
    const auto frame = make_fast_path_udp6_frame(default_spec6());
    REQUIRE(relay.run(frame).verdict == kVerdictRelayed);

    auto fds = relay.program.map_fds();
    REQUIRE(fds.ok());
    auto reopened = fastpath::RuleMaps::open(std::move(fds).value());
    REQUIRE(reopened.ok());
    CHECK(reopened->size() == 2);
    REQUIRE(reopened->traffic(match6(kGroup6, kPort, kSource6)).ok());
    CHECK(reopened->traffic(match6(kGroup6, kPort, kSource6))->packets == 1);
    CHECK(reopened->traffic({kGroup, 0, kPort}).ok());
    const auto moved = multicast_output6(address6(0xff3e, 4, 4), 6001);
    REQUIRE(reopened->install(rule6_for(kGroup6, kPort, {moved}, kSource6)).ok());
    CHECK(reopened->size() == 2);
    CHECK(relay.run(frame).frame == expected_copy(frame, moved));
    CHECK(reopened->traffic(match6(kGroup6, kPort, kSource6))->packets == 2);
}
