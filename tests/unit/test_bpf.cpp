// Proves the generated ingress BPF program accepts exactly the frames the
// rules want, IPv4 and IPv6, and never one the host sent, by running it on
// crafted frames with a small cBPF interpreter.
#include "dataplane/bpf_filter.hpp"
#include "frame_builder.hpp"

#include <doctest/doctest.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

using mcr::IpAddress;
using mcr::Rule;
using mcr::dataplane::build_ingress_filter;
using mcr::dataplane::kFilterAcceptBytes;
using mcr::dataplane::load_be16;
using mcr::dataplane::load_be32;
using mcr::dataplane::store_be16;
using mcr::test::address6;
using mcr::test::Frame6Spec;
using mcr::test::FrameSpec;
using mcr::test::make_udp6_frame;
using mcr::test::make_udp_frame;

namespace {

// The subset of cBPF the generator emits; anything else fails the test.
// Out-of-bounds loads return 0 (drop), as in the kernel.
// `packet_type`: what the ancillary packet-type load returns (the kernel
// marks frames of an unknown VLAN, tag already removed, PACKET_OTHERHOST).
std::optional<std::uint32_t> run_filter(const std::vector<sock_filter>& program, const std::vector<std::uint8_t>& frame,
                                        std::uint32_t packet_type = PACKET_MULTICAST)
{
    std::uint32_t a = 0;
    std::uint32_t x = 0;
    auto in_bounds = [&](std::uint32_t offset, std::uint32_t size) { return offset + size <= frame.size(); };
    for (std::size_t pc = 0; pc < program.size(); ++pc) {
        const sock_filter& insn = program[pc];
        if (insn.code == (BPF_LD | BPF_B | BPF_ABS) && insn.k == mcr::dataplane::kAncillaryPacketType) {
            a = packet_type;
            continue;
        }
        switch (insn.code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (!in_bounds(insn.k, 4)) return 0;
            a = load_be32(&frame[insn.k]);
            break;
        case BPF_LD | BPF_H | BPF_ABS:
            if (!in_bounds(insn.k, 2)) return 0;
            a = load_be16(&frame[insn.k]);
            break;
        case BPF_LD | BPF_B | BPF_ABS:
            if (!in_bounds(insn.k, 1)) return 0;
            a = frame[insn.k];
            break;
        case BPF_LD | BPF_H | BPF_IND:
            if (!in_bounds(x + insn.k, 2)) return 0;
            a = load_be16(&frame[x + insn.k]);
            break;
        case BPF_LDX | BPF_B | BPF_MSH:
            if (!in_bounds(insn.k, 1)) return 0;
            x = 4U * (frame[insn.k] & 0x0fU);
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += (a == insn.k) ? insn.jt : insn.jf;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            pc += (a & insn.k) ? insn.jt : insn.jf;
            break;
        case BPF_JMP | BPF_JA:
            pc += insn.k;
            break;
        case BPF_RET | BPF_K:
            return insn.k;
        default:
            return std::nullopt; // unknown instruction
        }
    }
    return std::nullopt; // fell off the end: invalid program
}

Rule make_rule(const char* group, std::uint16_t port)
{
    Rule r;
    r.name = "r";
    r.input.interface = "in0";
    r.input.address = *IpAddress::parse(group);
    r.input.port = port;
    r.outputs.push_back({"out0", *IpAddress::parse("239.9.9.9"), 6000, std::nullopt});
    return r;
}

std::vector<std::uint8_t> frame_to(std::uint32_t group, std::uint16_t port)
{
    FrameSpec spec;
    spec.destination_address = group;
    spec.destination_port = port;
    return make_udp_frame(spec);
}

} // namespace

TEST_CASE("the filter accepts the rules' group/port pairs and drops other pairs")
{
    const std::vector<Rule> rules{make_rule("239.1.1.1", 5000), make_rule("239.1.1.2", 5002)};
    const auto program = build_ingress_filter(rules);
    CHECK(run_filter(program, frame_to(0xef010101U, 5000)) == kFilterAcceptBytes);
    CHECK(run_filter(program, frame_to(0xef010102U, 5002)) == kFilterAcceptBytes);
    CHECK(run_filter(program, frame_to(0xef010101U, 5002)) == 0U); // group of one rule, port of the other
    CHECK(run_filter(program, frame_to(0xef010102U, 5000)) == 0U);
    CHECK(run_filter(program, frame_to(0xef010103U, 5000)) == 0U);
}

TEST_CASE("the filter drops non-IPv4 and non-UDP frames of a matching stream")
{
    const std::vector<Rule> rules{make_rule("239.1.1.1", 5000)};
    const auto program = build_ingress_filter(rules);
    auto arp = frame_to(0xef010101U, 5000);
    store_be16(&arp[12], 0x0806);
    CHECK(run_filter(program, arp) == 0U);
    auto tcp = frame_to(0xef010101U, 5000);
    tcp[23] = 6;
    CHECK(run_filter(program, tcp) == 0U);
    auto dont_fragment = frame_to(0xef010101U, 5000);
    store_be16(&dont_fragment[20], 0x4000);
    CHECK(run_filter(program, dont_fragment) == kFilterAcceptBytes);
}

TEST_CASE("the filter drops frames not for this host: another VLAN's (tag removed), another MAC's")
{
    const std::vector<Rule> rules{make_rule("239.1.1.1", 5000)};
    const auto program = build_ingress_filter(rules);
    const auto frame = frame_to(0xef010101U, 5000);
    CHECK(run_filter(program, frame, PACKET_MULTICAST) == kFilterAcceptBytes);
    CHECK(run_filter(program, frame, PACKET_HOST) == kFilterAcceptBytes);
    CHECK(run_filter(program, frame, PACKET_OTHERHOST) == 0U);
    // Also when the rule set is too large for per-pair checks.
    std::vector<Rule> many;
    for (int i = 0; i < 1000; ++i)
        many.push_back(make_rule(("239.5." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str(), 5000));
    const auto big_program = build_ingress_filter(many);
    CHECK(run_filter(big_program, frame_to(0xef050001U, 5000), PACKET_MULTICAST) == kFilterAcceptBytes);
    CHECK(run_filter(big_program, frame_to(0xef050001U, 5000), PACKET_OTHERHOST) == 0U);
}

TEST_CASE("fragments to a rule's group pass (userspace counts them), fragments to other groups do not")
{
    const std::vector<Rule> rules{make_rule("239.1.1.1", 5000), make_rule("239.1.1.2", 5000),
                                  make_rule("239.1.1.2", 5001)};
    const auto program = build_ingress_filter(rules);
    for (const std::uint16_t flags : {std::uint16_t{0x2000}, std::uint16_t{0x0001}, std::uint16_t{0x20ff}}) {
        auto first = frame_to(0xef010101U, 5000);
        store_be16(&first[20], flags);
        CHECK(run_filter(program, first) == kFilterAcceptBytes);
        auto second_group = frame_to(0xef010102U, 1); // a later fragment: bytes where the port was are payload
        store_be16(&second_group[20], flags);
        CHECK(run_filter(program, second_group) == kFilterAcceptBytes);
        auto other = frame_to(0xef010103U, 5000);
        store_be16(&other[20], flags);
        CHECK(run_filter(program, other) == 0U);
    }
}

TEST_CASE("with exactly 250 groups, fragments to the first and last group pass (longest jumps)")
{
    std::vector<Rule> rules;
    for (int i = 0; i < 250; ++i)
        rules.push_back(make_rule(("239.4.0." + std::to_string(i + 1)).c_str(), 5000));
    const auto program = build_ingress_filter(rules);
    for (const std::uint32_t group : {0xef040001U, 0xef0400faU}) {
        auto fragment = frame_to(group, 5000);
        store_be16(&fragment[20], 0x2000);
        CHECK(run_filter(program, fragment) == kFilterAcceptBytes);
        CHECK(run_filter(program, frame_to(group, 5000)) == kFilterAcceptBytes);
        CHECK(run_filter(program, frame_to(group, 5001)) == 0U);
    }
}

TEST_CASE("with more than 250 groups, fragments are dropped in the kernel")
{
    std::vector<Rule> rules;
    for (int i = 0; i < 251; ++i)
        rules.push_back(make_rule(("239.4.0." + std::to_string(i + 1)).c_str(), 5000));
    const auto program = build_ingress_filter(rules);
    auto fragment = frame_to(0xef040001U, 5000);
    store_be16(&fragment[20], 0x2000);
    CHECK(run_filter(program, fragment) == 0U);
    CHECK(run_filter(program, frame_to(0xef0400fbU, 5000)) == kFilterAcceptBytes); // 239.4.0.251
}

TEST_CASE("the filter finds the UDP port behind IP options (userspace counts them)")
{
    auto frame = frame_to(0xef010101U, 5000);
    frame.insert(frame.begin() + 34, {1, 1, 1, 1});
    frame[14] = 0x46;
    const std::vector<Rule> rules{make_rule("239.1.1.1", 5000)};
    CHECK(run_filter(build_ingress_filter(rules), frame) == kFilterAcceptBytes);
    const std::vector<Rule> other_port{make_rule("239.1.1.1", 257)}; // option bytes 1,1 read as a port would be 257
    CHECK(run_filter(build_ingress_filter(other_port), frame) == 0U);
}

TEST_CASE("no rules: the filter drops everything")
{
    const auto program = build_ingress_filter({});
    REQUIRE(program.size() == 1);
    CHECK(run_filter(program, frame_to(0xef010101U, 5000)) == 0U);
}

TEST_CASE("too many rules for BPF_MAXINSNS: the filter accepts all IPv4 UDP non-fragments")
{
    std::vector<Rule> rules;
    for (int i = 0; i < 1000; ++i)
        rules.push_back(make_rule(("239.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str(), 5000));
    const auto program = build_ingress_filter(rules);
    CHECK(program.size() <= BPF_MAXINSNS);
    CHECK(run_filter(program, frame_to(0xef7f0001U, 9)) == kFilterAcceptBytes);
    auto tcp = frame_to(0xef7f0001U, 9);
    tcp[23] = 6;
    CHECK(run_filter(program, tcp) == 0U);
}

TEST_CASE("a full-size program (800 pairs) stays within BPF_MAXINSNS and matches its last pair")
{
    std::vector<Rule> rules;
    for (int i = 0; i < 800; ++i)
        rules.push_back(make_rule(("239.3." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str(), 5000));
    const auto program = build_ingress_filter(rules);
    // Dispatch 11, UDP 3, fragment 3 (800 groups: no list), ldx 1, pairs,
    // ret 0, and the IPv6 section's ret 0.
    CHECK(program.size() == 11 + 7 + 800 * 5 + 1 + 1);
    CHECK(run_filter(program, frame_to(0xef030332U, 5000)) == kFilterAcceptBytes); // 239.3.3.50 = i 799
    CHECK(run_filter(program, frame_to(0xef030333U, 5000)) == 0U);
}

namespace {
std::vector<std::uint8_t> frame6_to(const char* group, std::uint16_t port)
{
    Frame6Spec spec;
    spec.destination_address = address6(group);
    spec.destination_port = port;
    return make_udp6_frame(spec);
}
} // namespace

TEST_CASE("IPv6: the filter accepts the rules' group/port pairs and drops other pairs and groups")
{
    const std::vector<Rule> rules{make_rule("ff3e::1", 5000), make_rule("ff3e::1:2", 5002),
                                  make_rule("239.1.1.1", 5000)};
    const auto program = build_ingress_filter(rules);
    CHECK(run_filter(program, frame6_to("ff3e::1", 5000)) == kFilterAcceptBytes);
    CHECK(run_filter(program, frame6_to("ff3e::1:2", 5002)) == kFilterAcceptBytes);
    CHECK(run_filter(program, frame6_to("ff3e::1", 5002)) == 0U);
    CHECK(run_filter(program, frame6_to("ff3e::1:2", 5000)) == 0U);
    // Differing in each of the four words.
    for (const char* other : {"ff3f::1", "ff3e:0:0:1::1", "ff3e::1:0:0:1", "ff3e::3"})
        CHECK(run_filter(program, frame6_to(other, 5000)) == 0U);
    // The IPv4 rule still works beside them, and an IPv4 group's bytes in
    // an IPv6 frame match nothing.
    CHECK(run_filter(program, frame_to(0xef010101U, 5000)) == kFilterAcceptBytes);
    CHECK(run_filter(program, frame6_to("ef01:101::", 5000)) == 0U);
    // IPv6 frames with only IPv4 rules are dropped, and the reverse.
    CHECK(run_filter(build_ingress_filter(std::vector<Rule>{make_rule("239.1.1.1", 5000)}), frame6_to("ff3e::1", 5000)) ==
          0U);
    CHECK(run_filter(build_ingress_filter(std::vector<Rule>{make_rule("ff3e::1", 5000)}), frame_to(0xef010101U, 5000)) ==
          0U);
}

TEST_CASE("IPv6: a frame to a rule's group with extension headers or a fragment passes (userspace counts it)")
{
    const std::vector<Rule> rules{make_rule("ff3e::1", 5000)};
    const auto program = build_ingress_filter(rules);
    for (const std::uint8_t first : {0, 43, 44, 60, 51}) {
        Frame6Spec spec;
        spec.extension_headers = {{first, 8}};
        CHECK(run_filter(program, make_udp6_frame(spec)) == kFilterAcceptBytes);
        spec.destination_address = address6("ff3e::2");
        CHECK(run_filter(program, make_udp6_frame(spec)) == 0U);
    }
    // ICMPv6 to the group passes too (not_udp in userspace); TCP as well.
    Frame6Spec icmp;
    icmp.upper_protocol = 58;
    CHECK(run_filter(program, make_udp6_frame(icmp)) == kFilterAcceptBytes);
}

TEST_CASE("frames of another host or sent by this one are dropped, for both families")
{
    const std::vector<Rule> rules{make_rule("ff3e::1", 5000), make_rule("239.1.1.1", 5000)};
    const auto program = build_ingress_filter(rules);
    for (const auto& frame : {frame6_to("ff3e::1", 5000), frame_to(0xef010101U, 5000)}) {
        CHECK(run_filter(program, frame, PACKET_MULTICAST) == kFilterAcceptBytes);
        CHECK(run_filter(program, frame, PACKET_OTHERHOST) == 0U);
        CHECK(run_filter(program, frame, PACKET_OUTGOING) == 0U);
    }
}

TEST_CASE("truncated IPv6 frames are dropped by the filter (out-of-bounds loads return 0)")
{
    const std::vector<Rule> rules{make_rule("ff3e::1", 5000)};
    const auto program = build_ingress_filter(rules);
    const auto good = frame6_to("ff3e::1", 5000);
    CHECK(run_filter(program, std::vector<std::uint8_t>(good.begin(), good.begin() + 14 + 39)) == 0U);
    CHECK(run_filter(program, std::vector<std::uint8_t>(good.begin(), good.begin() + 14 + 40 + 3)) == 0U);
}

TEST_CASE("IPv6: too many pairs for BPF_MAXINSNS: the IPv6 section accepts every IPv6 frame, IPv4 keeps its pairs")
{
    std::vector<Rule> rules;
    char text[64];
    for (int i = 0; i < 400; ++i) {
        std::snprintf(text, sizeof text, "ff3e::%x", i + 1);
        rules.push_back(make_rule(text, 5000));
    }
    rules.push_back(make_rule("239.1.1.1", 5000));
    const auto program = build_ingress_filter(rules);
    CHECK(program.size() <= BPF_MAXINSNS);
    CHECK(run_filter(program, frame6_to("ff3e::ffff", 9)) == kFilterAcceptBytes);
    CHECK(run_filter(program, frame_to(0xef010101U, 5000)) == kFilterAcceptBytes);
    CHECK(run_filter(program, frame_to(0xef010102U, 5000)) == 0U);
    // 300 IPv6 pairs fit beside it, each matched exactly, the last one too.
    rules.erase(rules.begin() + 300, rules.end() - 1);
    const auto fitting = build_ingress_filter(rules);
    CHECK(fitting.size() <= BPF_MAXINSNS);
    CHECK(run_filter(fitting, frame6_to("ff3e::12c", 5000)) == kFilterAcceptBytes); // i 299
    CHECK(run_filter(fitting, frame6_to("ff3e::12d", 5000)) == 0U);
}

TEST_CASE("the kernel's checker takes every kind of program (SO_ATTACH_FILTER on a UDP socket)")
{
    std::vector<Rule> mixed{make_rule("ff3e::1", 5000), make_rule("239.1.1.1", 5000)};
    std::vector<Rule> many6;
    char text[64];
    for (int i = 0; i < 400; ++i) {
        std::snprintf(text, sizeof text, "ff3e::%x", i + 1);
        many6.push_back(make_rule(text, 5000));
    }
    std::vector<Rule> many4;
    for (int i = 0; i < 1000; ++i)
        many4.push_back(make_rule(("239.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str(), 5000));
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    for (const auto* rules : {&mixed, &many6, &many4}) {
        auto program = build_ingress_filter(*rules);
        const sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
        CHECK(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) == 0);
    }
    close(fd);
}
