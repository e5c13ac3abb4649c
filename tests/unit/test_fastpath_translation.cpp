// Proves the fast path's translation between IPv4 and IPv6 (v6design.md
// point 3) with BPF_PROG_TEST_RUN: a new IP header, TTL <-> hop limit,
// DSCP/ECN carried, flow label 0, the output's source address, the UDP
// checksum exact over the new pseudo-header (frames built from scratch by
// the test, checksums recomputed); rules with outputs of both families,
// every copy captured; and what the program leaves to the worker.
#include "fastpath_fixture.hpp"
#include "fastpath_frames6.hpp"

#include <random>

using namespace mcr;
using namespace mcr::test;
using fastpath::PassReason;

namespace {

// The egress interfaces' addresses a translated copy leaves from.
const IpAddress kInterface6 = IpAddress::from_ipv6(address6(0x2001, 0x1, 0x0db8)); // 2001::db8:0:1
const IpAddress kInterface4 = IpAddress::from_ipv4(0xcb007101);                   // 203.0.113.1

const Address16 kOutGroup6 = address6(0xff3e, 0x0202, 0x0002);

std::vector<std::uint8_t> with_tos(std::vector<std::uint8_t> frame, std::uint8_t tos)
{
    frame[15] = tos;
    refresh_ip_checksum(frame);
    return frame;
}

std::optional<PassReason> pass_reason_of(const Relay& relay, const std::vector<std::uint8_t>& frame)
{
    const auto before = relay.passes();
    const auto run = relay.run(frame);
    CHECK(run.verdict == kVerdictToStack);
    CHECK(run.frame == frame);
    return single_pass(before, relay.passes());
}

} // namespace

TEST_CASE("4 -> 6: a new IPv6 header with the TOS as traffic class, flow label 0, the interface's source")
{
    Relay relay = Relay::load();
    const auto output = translated_output(multicast_output6(kOutGroup6, 6000), kInterface6);
    relay.install(rule_for(kGroup, kPort, {output}));
    const auto frame = with_tos(make_udp_frame(default_spec()), 0xb9); // DSCP 46 (EF), ECN 01
    const auto run = relay.run(frame);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(run.frame == expected_copy(frame, output));
    CHECK(udp_checksum_verifies_any(run.frame));
    // The fields, one by one, beside the whole-frame comparison.
    REQUIRE(run.frame.size() == frame.size() + 20);
    CHECK(dataplane::load_be16(&run.frame[12]) == kEtherTypeIpv6);
    CHECK(dataplane::load_be32(&run.frame[14]) == ((6U << 28) | (0xb9U << 20)));
    CHECK(dataplane::load_be16(&run.frame[14 + 4]) == 8 + default_spec().payload.size());
    CHECK(run.frame[14 + 6] == 17);
    CHECK(run.frame[14 + 7] == 63);
    CHECK(std::equal(kInterface6.bytes().begin(), kInterface6.bytes().end(), run.frame.begin() + 14 + 8));
    CHECK(std::equal(kOutGroup6.begin(), kOutGroup6.end(), run.frame.begin() + 14 + 24));
    CHECK(dataplane::load_be16(&run.frame[14 + 40]) == default_spec().source_port);
    CHECK(dataplane::load_be16(&run.frame[14 + 40 + 2]) == 6000);
    CHECK(relay.traffic({kGroup, 0, kPort}).outputs.at(0).packets == 1);
}

TEST_CASE("6 -> 4: a new IPv4 header with the traffic class as TOS, id 0, DF, checksums exact")
{
    Relay relay = Relay::load();
    const auto output = translated_output(multicast_output(0xef020202, 6000), kInterface4);
    relay.install(rule6_for(kGroup6, kPort, {output}));
    Frame6Spec spec = default_spec6();
    spec.traffic_class = 0x2a;
    spec.flow_label = 0xabcde;
    const auto frame = make_udp6_frame(spec);
    const auto run = relay.run(frame);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(run.frame == expected_copy(frame, output));
    CHECK(ip_checksum_verifies(run.frame));
    CHECK(udp_checksum_verifies_any(run.frame));
    REQUIRE(run.frame.size() == frame.size() - 20);
    CHECK(dataplane::load_be16(&run.frame[12]) == dataplane::kEtherTypeIpv4);
    CHECK(run.frame[14] == 0x45);
    CHECK(run.frame[15] == 0x2a);
    CHECK(dataplane::load_be16(&run.frame[16]) == 20 + 8 + spec.payload.size());
    CHECK(dataplane::load_be32(&run.frame[18]) == 0x00004000); // id 0, DF
    CHECK(run.frame[22] == 63);
    CHECK(dataplane::load_be32(&run.frame[26]) == 0xcb007101);
    CHECK(dataplane::load_be32(&run.frame[30]) == 0xef020202);
    // The parser the worker uses accepts it as it would a received frame.
    CHECK(dataplane::parse_frame(run.frame).kind == dataplane::FrameClass::accepted);
}

TEST_CASE("translation both ways on random frames: every copy exact, every checksum verifies")
{
    Relay relay = Relay::load();
    std::mt19937 random(4646); // fixed seed: reproducible
    for (int round = 0; round < 300; ++round) {
        CAPTURE(round);
        const std::optional<std::uint8_t> ttl =
            random() % 2 ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(1 + random() % 255)) : std::nullopt;
        const auto out_port = static_cast<std::uint16_t>(1 + random() % 65535);
        std::vector<std::uint8_t> payload(random() % 1400);
        for (auto& byte : payload)
            byte = static_cast<std::uint8_t>(random());
        if (round % 2 == 0) {
            FrameSpec spec = default_spec();
            spec.ttl = static_cast<std::uint8_t>(2 + random() % 254);
            spec.source_address = static_cast<std::uint32_t>(random());
            spec.source_port = static_cast<std::uint16_t>(random());
            spec.destination_port = static_cast<std::uint16_t>(1 + random() % 65535);
            spec.destination_address = 0xef000000U | (random() & 0xffffffU);
            spec.payload = payload;
            Address16 group = kOutGroup6;
            for (std::size_t i = 2; i < 16; ++i)
                group[i] = static_cast<std::uint8_t>(random());
            Address16 source = kSource6;
            for (std::size_t i = 8; i < 16; ++i)
                source[i] = static_cast<std::uint8_t>(random());
            const auto output =
                translated_output(multicast_output6(group, out_port, ttl), IpAddress::from_ipv6(source));
            relay.install(rule_for(spec.destination_address, spec.destination_port, {output}));
            const auto frame = with_tos(make_udp_frame(spec), static_cast<std::uint8_t>(random()));
            const auto run = relay.run(frame);
            REQUIRE(run.verdict == kVerdictRelayed);
            REQUIRE(run.frame == expected_copy(frame, output));
            REQUIRE(udp_checksum_verifies_any(run.frame));
        } else {
            Frame6Spec spec = default_spec6();
            spec.hop_limit = static_cast<std::uint8_t>(2 + random() % 254);
            spec.traffic_class = static_cast<std::uint8_t>(random());
            spec.flow_label = static_cast<std::uint32_t>(random()) & 0xfffffU;
            spec.source_port = static_cast<std::uint16_t>(random());
            spec.destination_port = static_cast<std::uint16_t>(1 + random() % 65535);
            for (std::size_t i = 2; i < 16; ++i) {
                spec.destination_address[i] = static_cast<std::uint8_t>(random());
                spec.source_address[i] = static_cast<std::uint8_t>(random());
            }
            spec.payload = payload;
            const auto output =
                translated_output(multicast_output(0xef000000U | (random() & 0xffffffU), out_port, ttl),
                                  IpAddress::from_ipv4(static_cast<std::uint32_t>(random())));
            relay.install(rule6_for(spec.destination_address, spec.destination_port, {output}));
            const auto frame = make_udp6_frame(spec);
            const auto run = relay.run(frame);
            REQUIRE(run.verdict == kVerdictRelayed);
            REQUIRE(run.frame == expected_copy(frame, output));
            REQUIRE(ip_checksum_verifies(run.frame));
            REQUIRE(udp_checksum_verifies_any(run.frame));
        }
    }
}

TEST_CASE("TTL <-> hop limit: arriving - 1, the output's, and 1 for an expired one the rule forwards")
{
    Relay relay = Relay::load();
    struct Case {
        std::uint8_t arriving;
        std::optional<std::uint8_t> configured;
        std::uint8_t leaving;
    };
    for (const Case c : {Case{64, std::nullopt, 63}, Case{2, std::nullopt, 1}, Case{64, 5, 5}, Case{1, std::nullopt, 1},
                         Case{0, std::nullopt, 1}, Case{0, 200, 200}}) {
        CAPTURE(int{c.arriving});
        const auto to6 = translated_output(multicast_output6(kOutGroup6, 6000, c.configured), kInterface6);
        auto rule4 = rule_for(kGroup, kPort, {to6});
        rule4.forward_expired_ttl = true;
        relay.install(rule4);
        FrameSpec spec4 = default_spec();
        spec4.ttl = c.arriving;
        const auto run4 = relay.run(make_udp_frame(spec4));
        REQUIRE(run4.verdict == kVerdictRelayed);
        CHECK(run4.frame[14 + 7] == c.leaving);

        const auto to4 = translated_output(multicast_output(0xef020202, 6000, c.configured), kInterface4);
        auto rule6 = rule6_for(kGroup6, kPort, {to4});
        rule6.forward_expired_ttl = true;
        relay.install(rule6);
        Frame6Spec spec6 = default_spec6();
        spec6.hop_limit = c.arriving;
        const auto frame6 = make_udp6_frame(spec6);
        const auto run6 = relay.run(frame6);
        REQUIRE(run6.verdict == kVerdictRelayed);
        CHECK(run6.frame[22] == c.leaving);
        CHECK(run6.frame == expected_copy(frame6, to4));
    }
}

namespace {

// A rule of `input` family whose outputs alternate families, every clone
// captured on lo: each copy must be the one its output describes, and count
// under its place in the rule (the program sends the input's family first).
void check_mixed_rule(bool ipv6_input)
{
    const auto v4 = [](std::uint32_t group, std::uint16_t port) {
        auto output = multicast_output(group, port, std::nullopt, kLoopbackIfindex);
        output.source_address = kInterface4;
        return output;
    };
    const auto v6 = [](std::uint16_t last, std::uint16_t port) {
        auto output = multicast_output6(address6(0xff3e, last, 0x0002), port, std::uint8_t{33}, kLoopbackIfindex);
        output.source_address = kInterface6;
        return output;
    };
    std::vector<fastpath::Output> outputs = {v6(0xa, 6001), v4(0xef02020b, 6002), v6(0xc, 6003),
                                             v4(0xef02020d, 6004)};
    if (ipv6_input) // same-family copies keep the sender's address
        outputs[0].source_address.reset();
    else
        outputs[1].source_address.reset();
    Relay relay = Relay::load();
    std::vector<std::uint8_t> frame;
    if (ipv6_input) {
        relay.install(rule6_for(kGroup6, kPort, outputs));
        Frame6Spec spec = default_spec6();
        spec.traffic_class = 0x88;
        spec.payload.assign(200, 0x77);
        frame = make_udp6_frame(spec);
    } else {
        relay.install(rule_for(kGroup, kPort, outputs));
        FrameSpec spec = default_spec();
        spec.payload.assign(200, 0x77);
        frame = with_tos(make_udp_frame(spec), 0x88);
    }
    const auto captured = run_capturing_clones(relay, frame, default_spec().source_port);
    if (!captured.entered) {
        MESSAGE("skipped: cannot make a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    CHECK(captured.verdict == kVerdictRelayed);
    // The order they leave in: the input's family first, each family in the rule's order.
    const std::vector<std::size_t> order = ipv6_input ? std::vector<std::size_t>{0, 2, 1, 3}
                                                      : std::vector<std::size_t>{1, 3, 0, 2};
    REQUIRE(captured.clones.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(captured.clones[i] == expected_for(frame, outputs[order[i]]));
        CHECK(udp_checksum_verifies_any(captured.clones[i]));
    }
    CHECK(captured.last == expected_for(frame, outputs[order[3]]));
    CHECK(udp_checksum_verifies_any(captured.last));
    const auto traffic = relay.traffic(ipv6_input ? match6(kGroup6, kPort) : fastpath::RuleMatch{kGroup, 0, kPort});
    CHECK(traffic.packets == 1);
    REQUIRE(traffic.outputs.size() == 4);
    for (const auto& output : traffic.outputs) {
        CHECK(output.packets == 1);
        CHECK(output.bytes == 200);
        CHECK(output.errors == 0);
    }
}

} // namespace

TEST_CASE("IPv4 in, outputs of both families: every copy exact, each counted under its output")
{
    check_mixed_rule(false);
}

TEST_CASE("IPv6 in, outputs of both families: every copy exact, each counted under its output")
{
    check_mixed_rule(true);
}

TEST_CASE("an IPv4 datagram without checksum and a translated output goes to the worker, which computes it")
{
    Relay relay = Relay::load();
    const auto same = multicast_output(0xef020202, 6000);
    relay.install(rule_for(kGroup, kPort, {same, translated_output(multicast_output6(kOutGroup6, 6000), kInterface6)}));
    FrameSpec spec = default_spec();
    spec.udp_checksum = false;
    CHECK(pass_reason_of(relay, make_udp_frame(spec)) == PassReason::translation_needs_checksum);
    CHECK(relay.traffic({kGroup, 0, kPort}).packets == 0);
    // With a checksum it is relayed; without a translated output the zero one is too.
    CHECK(relay.run(make_udp_frame(default_spec())).verdict == kVerdictRelayed);
    relay.install(rule_for(kGroup, kPort, {same}));
    const auto zero = make_udp_frame(spec);
    const auto run = relay.run(zero);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(run.frame == userspace_copy(zero, same));
}

TEST_CASE("MTU: a copy translated to IPv6 is 20 bytes longer, one translated to IPv4 20 bytes shorter")
{
    Relay relay = Relay::load();
    auto to6 = translated_output(multicast_output6(kOutGroup6, 6000), kInterface6);
    to6.mtu = 1280;
    relay.install(rule_for(kGroup, kPort, {to6}));
    FrameSpec spec4 = default_spec();
    spec4.payload.resize(1280 - 48 + 1); // IPv4 packet of 1261 bytes: 1281 as IPv6
    CHECK(pass_reason_of(relay, make_udp_frame(spec4)) == PassReason::too_big);
    spec4.payload.resize(1280 - 48);
    CHECK(relay.run(make_udp_frame(spec4)).verdict == kVerdictRelayed);

    auto to4 = translated_output(multicast_output(0xef020202, 6000), kInterface4);
    to4.mtu = 1000;
    relay.install(rule6_for(kGroup6, kPort, {to4, multicast_output6(kOutGroup6, 6000)}));
    Frame6Spec spec6 = default_spec6();
    spec6.payload.resize(1000 - 28 + 1); // IPv6 packet of 1021 bytes: 1001 as IPv4
    CHECK(pass_reason_of(relay, make_udp6_frame(spec6)) == PassReason::too_big);
    spec6.payload.resize(1000 - 28);
    CHECK(relay.run(make_udp6_frame(spec6)).verdict == kVerdictRelayed);
}

TEST_CASE("install refuses a translated output without a source address of its family, naming the field")
{
    Relay relay = Relay::load();
    const auto message = [&](const fastpath::FastRule& rule) {
        const Status status = relay.maps.install(rule);
        return status.ok() ? std::string("accepted") : status.error().message();
    };
    CHECK(message(rule_for(kGroup, kPort, {multicast_output(0xef020202, 1), multicast_output6(kOutGroup6, 2)})) ==
          "outputs[1].source_address: a translated copy needs the egress interface's address of its family");
    CHECK(message(rule_for(kGroup, kPort, {translated_output(multicast_output6(kOutGroup6, 2), kInterface4)})) ==
          "outputs[0].source_address: must be of the destination's family");
    auto mixed_match = rule_for(kGroup, kPort, {multicast_output(0xef020202, 1)});
    mixed_match.match.source = IpAddress::from_ipv6(kSource6);
    CHECK(message(mixed_match) == "match.source: must be of the group's family");
    CHECK(relay.maps.size() == 0);
}
