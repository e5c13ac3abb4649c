// Proves the fast path's tc program with BPF_PROG_TEST_RUN: its copies are
// byte-identical to the worker's rewrite_for_output(), and every frame it
// does not relay reaches the stack unchanged with its reason counted.
// Needs CAP_BPF + CAP_NET_ADMIN: main() exits 77 (skip) when loading is refused.
#define DOCTEST_CONFIG_IMPLEMENT
#include "fastpath_fixture.hpp"
#include "fastpath/relay_abi.h"
#include "frame_builder.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <cstdio>
#include <random>

using namespace mcr;
using namespace mcr::test;
using fastpath::PassReason;

namespace {

constexpr std::uint32_t kOutGroup = 0xef020202;    // 239.2.2.2
constexpr std::uint32_t kSource = 0xc6336402;      // 198.51.100.2
constexpr std::uint32_t kOtherSource = 0xcb007107; // 203.0.113.7

} // namespace

TEST_CASE("one output: the frame leaves rewritten exactly as the worker's copy")
{
    Relay relay = Relay::load();
    const auto output = multicast_output(kOutGroup, 6000);
    relay.install(rule_for(kGroup, kPort, {output}));
    const auto frame = make_udp_frame(default_spec());
    const auto run = relay.run(frame);
    CHECK(run.verdict == kVerdictRelayed);
    CHECK(run.frame == userspace_copy(frame, output));
    CHECK(ip_checksum_verifies(run.frame));
    CHECK(udp_checksum_verifies(run.frame));
}

TEST_CASE("random frames, TTLs and outputs: every copy byte-identical to the worker's")
{
    Relay relay = Relay::load();
    std::mt19937 random(4242); // fixed seed: reproducible
    for (int round = 0; round < 300; ++round) {
        FrameSpec spec = default_spec();
        spec.ttl = static_cast<std::uint8_t>(2 + random() % 254);
        spec.source_port = static_cast<std::uint16_t>(random());
        spec.destination_port = static_cast<std::uint16_t>(1 + random() % 65535);
        spec.destination_address = 0xef000000U | (random() & 0xffffffU);
        spec.udp_checksum = random() % 8 != 0;
        spec.payload.resize(random() % 1400);
        for (auto& byte : spec.payload)
            byte = static_cast<std::uint8_t>(random());
        const std::optional<std::uint8_t> ttl =
            random() % 2 ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(1 + random() % 255)) : std::nullopt;
        const auto output = multicast_output(0xef000000U | (random() & 0xffffffU),
                                             static_cast<std::uint16_t>(1 + random() % 65535), ttl);
        const auto rule = rule_for(spec.destination_address, spec.destination_port, {output});
        relay.install(rule);
        const auto frame = make_udp_frame(spec);
        const auto run = relay.run(frame);
        REQUIRE(run.verdict == kVerdictRelayed);
        REQUIRE(run.frame == userspace_copy(frame, output));
    }
}

TEST_CASE("a zero UDP checksum stays zero")
{
    Relay relay = Relay::load();
    const auto output = multicast_output(kOutGroup, 6000);
    relay.install(rule_for(kGroup, kPort, {output}));
    FrameSpec spec = default_spec();
    spec.udp_checksum = false;
    const auto frame = make_udp_frame(spec);
    const auto run = relay.run(frame);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(dataplane::load_be16(&run.frame[40]) == 0);
    CHECK(run.frame == userspace_copy(frame, output));
}

TEST_CASE("TTL: arriving - 1, the output's TTL when set, and 1 for an expired TTL the rule forwards")
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
        const auto output = multicast_output(kOutGroup, 6000, c.configured);
        auto rule = rule_for(kGroup, kPort, {output});
        rule.forward_expired_ttl = true;
        relay.install(rule);
        FrameSpec spec = default_spec();
        spec.ttl = c.arriving;
        const auto frame = make_udp_frame(spec);
        const auto run = relay.run(frame);
        REQUIRE(run.verdict == kVerdictRelayed);
        CHECK(run.frame[22] == c.leaving);
        CHECK(run.frame == userspace_copy(frame, output));
    }
}

TEST_CASE("TTL <= 1 goes to the stack unless the rule forwards expired TTL")
{
    Relay relay = Relay::load();
    relay.install(rule_for(kGroup, kPort, {multicast_output(kOutGroup, 6000)}));
    for (const std::uint8_t ttl : {std::uint8_t{0}, std::uint8_t{1}}) {
        FrameSpec spec = default_spec();
        spec.ttl = ttl;
        CHECK(pass_reason_of(relay, make_udp_frame(spec)) == PassReason::ttl_expired);
    }
    FrameSpec spec = default_spec();
    spec.ttl = 2;
    CHECK(relay.run(make_udp_frame(spec)).verdict == kVerdictRelayed);
}

TEST_CASE("SSM: an exact-source rule wins over the any-source rule, for its source only")
{
    Relay relay = Relay::load();
    const auto any_source_output = multicast_output(kOutGroup, 6000);
    const auto ssm_output = multicast_output(0xef030303, 7000);
    relay.install(rule_for(kGroup, kPort, {any_source_output}));
    relay.install(rule_for(kGroup, kPort, {ssm_output}, kSource));

    FrameSpec from_ssm_source = default_spec();
    from_ssm_source.source_address = kSource;
    const auto ssm_frame = make_udp_frame(from_ssm_source);
    CHECK(relay.run(ssm_frame).frame == userspace_copy(ssm_frame, ssm_output));

    FrameSpec from_other = default_spec();
    from_other.source_address = kOtherSource;
    const auto other_frame = make_udp_frame(from_other);
    CHECK(relay.run(other_frame).frame == userspace_copy(other_frame, any_source_output));

    CHECK(relay.traffic({kGroup, kSource, kPort}).packets == 1);
    CHECK(relay.traffic({kGroup, 0, kPort}).packets == 1);

    // Without the any-source rule, other sources are not relayed.
    REQUIRE(relay.maps.remove({kGroup, 0, kPort}).ok());
    CHECK(pass_reason_of(relay, other_frame) == PassReason::no_rule);
}

TEST_CASE("each reason a frame goes to the stack is counted once, and the frame is untouched")
{
    Relay relay = Relay::load();
    auto rule = rule_for(kGroup, kPort, {multicast_output(kOutGroup, 6000)});
    rule.outputs[0].mtu = 1000;
    relay.install(rule);
    const auto valid = make_udp_frame(default_spec());

    auto arp = valid;
    dataplane::store_be16(&arp[12], 0x0806);
    CHECK(pass_reason_of(relay, arp) == PassReason::not_ipv4);

    // BPF_PROG_TEST_RUN cannot set skb->vlan_present; a tag left in the
    // frame (no stripping) reads as another EtherType.
    auto tagged = valid;
    dataplane::store_be16(&tagged[12], 0x8100);
    CHECK(pass_reason_of(relay, tagged) == PassReason::not_ipv4);

    const std::vector<std::uint8_t> udp_header_cut(valid.begin(), valid.begin() + 38);
    CHECK(pass_reason_of(relay, udp_header_cut) == PassReason::malformed);
    auto udp_length_wrong = valid;
    dataplane::store_be16(&udp_length_wrong[38], 9);
    CHECK(pass_reason_of(relay, udp_length_wrong) == PassReason::malformed);
    auto total_length_beyond_frame = valid;
    dataplane::store_be16(&total_length_beyond_frame[16], static_cast<std::uint16_t>(valid.size()));
    refresh_ip_checksum(total_length_beyond_frame);
    CHECK(pass_reason_of(relay, total_length_beyond_frame) == PassReason::malformed);
    auto ihl_too_small = valid;
    ihl_too_small[14] = 0x44;
    CHECK(pass_reason_of(relay, ihl_too_small) == PassReason::malformed);

    auto more_fragments = valid;
    dataplane::store_be16(&more_fragments[20], 0x2000);
    refresh_ip_checksum(more_fragments);
    CHECK(pass_reason_of(relay, more_fragments) == PassReason::fragment);
    auto later_fragment = valid;
    dataplane::store_be16(&later_fragment[20], 0x0010);
    refresh_ip_checksum(later_fragment);
    CHECK(pass_reason_of(relay, later_fragment) == PassReason::fragment);

    auto options = valid;
    options[14] = 0x46;
    CHECK(pass_reason_of(relay, options) == PassReason::ip_options);

    auto tcp = valid;
    tcp[23] = 6;
    refresh_ip_checksum(tcp);
    CHECK(pass_reason_of(relay, tcp) == PassReason::not_udp);

    auto bad_checksum = valid;
    bad_checksum[25] ^= 0x01;
    CHECK(pass_reason_of(relay, bad_checksum) == PassReason::bad_ip_checksum);

    CHECK(pass_reason_of(relay, valid, fastpath::TestSkb{1400}) == PassReason::aggregated);

    FrameSpec other_port = default_spec();
    other_port.destination_port = kPort + 1;
    CHECK(pass_reason_of(relay, make_udp_frame(other_port)) == PassReason::no_rule);

    FrameSpec big = default_spec();
    big.payload.resize(1000 - 28 + 1); // IP packet of 1001 bytes, MTU 1000
    CHECK(pass_reason_of(relay, make_udp_frame(big)) == PassReason::too_big);
    big.payload.resize(1000 - 28);
    CHECK(relay.run(make_udp_frame(big)).verdict == kVerdictRelayed);

    // A version slot that names another key: what a frame finds when a hash
    // element is reused under it during a replace.
    mcr_fp_rule_version stranger{};
    stranger.key.group[0] = htonl(0xef090909);
    stranger.key.family = MCR_FP_FAMILY_IPV4;
    stranger.output_count = 1;
    stranger.max_ip_bytes = 1500;
    const std::uint32_t slot = 0; // the first rule's first version
    REQUIRE(bpf_map_update_elem(relay.maps.fds().rule_versions.get(), &slot, &stranger, BPF_ANY) == 0);
    CHECK(pass_reason_of(relay, valid) == PassReason::rule_changing);
}

TEST_CASE("counters: rule packets and payload bytes, per output packets and clone errors")
{
    Relay relay = Relay::load();
    const auto first = multicast_output(kOutGroup, 6000);
    const auto second = multicast_output(0xef030303, 7000);
    relay.install(rule_for(kGroup, kPort, {first, second}));
    FrameSpec spec = default_spec();
    spec.payload = std::vector<std::uint8_t>(100, 0x5a);
    const auto frame = make_udp_frame(spec);
    for (int i = 0; i < 3; ++i)
        REQUIRE(relay.run(frame).verdict == kVerdictRelayed);
    const auto traffic = relay.traffic({kGroup, 0, kPort});
    CHECK(traffic.packets == 3);
    CHECK(traffic.bytes == 300);
    REQUIRE(traffic.outputs.size() == 2);
    // The first output's clones go to an interface that does not exist.
    CHECK(traffic.outputs[0].packets == 0);
    CHECK(traffic.outputs[0].errors == 3);
    CHECK(traffic.outputs[1].packets == 3);
    CHECK(traffic.outputs[1].bytes == 300);
    CHECK(traffic.outputs[1].errors == 0);
    CHECK(relay.passes() == fastpath::PassCounts{});
}

TEST_CASE("several outputs: each copy is rewritten from the arriving frame, the last leaves by redirect")
{
    Relay relay = Relay::load();
    std::vector<fastpath::Output> outputs;
    for (std::uint32_t i = 0; i < fastpath::kMaxOutputs; ++i)
        outputs.push_back(multicast_output(0xef100000 + i * 0x10101, static_cast<std::uint16_t>(6000 + i * 7),
                                           i % 3 == 0 ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(i + 1))
                                                      : std::nullopt));
    relay.install(rule_for(kGroup, kPort, outputs));
    std::mt19937 random(7);
    for (int round = 0; round < 50; ++round) {
        FrameSpec spec = default_spec();
        spec.ttl = static_cast<std::uint8_t>(2 + random() % 254);
        spec.udp_checksum = round % 5 != 0;
        spec.payload.resize(random() % 600);
        for (auto& byte : spec.payload)
            byte = static_cast<std::uint8_t>(random());
        const auto frame = make_udp_frame(spec);
        const auto run = relay.run(frame);
        REQUIRE(run.verdict == kVerdictRelayed);
        // The frame went through 15 rewrites before the last one.
        REQUIRE(run.frame == userspace_copy(frame, outputs.back()));
    }
}

TEST_CASE("Ethernet padding is dropped, as the worker's copy ends with the IP packet")
{
    Relay relay = Relay::load();
    const auto output = multicast_output(kOutGroup, 6000);
    relay.install(rule_for(kGroup, kPort, {output}));
    FrameSpec spec = default_spec();
    spec.payload = {'x', 'x'}; // 44-byte frame
    auto frame = make_udp_frame(spec);
    frame.resize(60, 0); // padded to Ethernet's minimum
    const auto run = relay.run(frame);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(run.frame.size() == 44);
    CHECK(run.frame == userspace_copy(frame, output));
}

int main(int argc, char** argv)
{
    try {
        // Loading is the capability check that matters (CAP_BPF,
        // CAP_NET_ADMIN, lockdown); without it there is nothing to test here.
        auto probe = fastpath::Program::load();
        if (!probe && probe.error().refusal == fastpath::Refusal::not_permitted) {
            std::printf("SKIP: the fast path cannot be loaded here: %s\n", probe.error().message.c_str());
            return 77;
        }
        doctest::Context context(argc, argv);
        return context.run();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "test_fastpath: %s\n", error.what());
        return 1;
    }
}
