// Proves the IPv6 and translating rewrites: 33:33 MACs, hop limit rules,
// DSCP/ECN carried, extension headers not copied, sources of translated
// copies, the MTU check of a translated copy, and that every rewritten
// checksum equals one computed from scratch (random frames, both
// directions, with and without an IPv4 UDP checksum of 0).
#include "dataplane/packet_rewrite.hpp"
#include "frame_builder.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace mcr::dataplane;
using mcr::AddressFamily;
using mcr::test::address6;
using mcr::test::any_udp_checksum_verifies;
using mcr::test::Frame6Spec;
using mcr::test::FrameSpec;
using mcr::test::make_udp6_frame;
using mcr::test::make_udp_frame;

namespace {

const MacAddress kSourceMac{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};

OutputRewrite output6(const char* group, std::uint16_t port, std::optional<std::uint8_t> ttl = std::nullopt)
{
    OutputRewrite out;
    out.family = AddressFamily::ipv6;
    out.destination_address = address6(group);
    out.destination_mac = multicast_mac(out.family, out.destination_address);
    out.source_mac = kSourceMac;
    out.destination_port = port;
    if (ttl) // not a plain copy: GCC 12 warns about a disengaged optional's storage
        out.ttl = *ttl;
    return out;
}

OutputRewrite output4(std::uint32_t group, std::uint16_t port, std::optional<std::uint8_t> ttl = std::nullopt)
{
    OutputRewrite out;
    out.destination_address = ipv4_address_bytes(group);
    out.destination_mac = multicast_mac(group);
    out.source_mac = kSourceMac;
    out.destination_port = port;
    if (ttl)
        out.ttl = *ttl;
    return out;
}

std::vector<std::uint8_t> copy_of(const UdpFrameView& in, const OutputRewrite& out)
{
    std::vector<std::uint8_t> buffer(rewritten_length(in, out));
    REQUIRE(rewrite_for_output(in, out, buffer) == buffer.size());
    return buffer;
}

bool ipv4_header_verifies(const std::vector<std::uint8_t>& frame)
{
    return checksum_fold(checksum_accumulate({&frame[14], 20}, 0)) == 0xffff;
}

} // namespace

TEST_CASE("an IPv6 group's MAC is 33:33 and its low 32 bits (RFC 2464)")
{
    CHECK(multicast_mac(AddressFamily::ipv6, address6("ff3e::1")) == MacAddress{0x33, 0x33, 0, 0, 0, 1});
    CHECK(multicast_mac(AddressFamily::ipv6, address6("ff15::1:ff12:3456")) ==
          MacAddress{0x33, 0x33, 0xff, 0x12, 0x34, 0x56});
    CHECK(multicast_mac(AddressFamily::ipv4, ipv4_address_bytes(0xef020202U)) == multicast_mac(0xef020202U));
}

TEST_CASE("an IPv6 copy: new MACs, group, port and hop limit - 1; source, traffic class and flow label kept")
{
    Frame6Spec spec;
    spec.hop_limit = 9;
    spec.traffic_class = 0xb9;
    spec.flow_label = 0xabcde;
    const auto in = make_udp6_frame(spec);
    const auto parsed = parse_frame(in);
    REQUIRE(parsed.kind == FrameClass::accepted);
    const auto out = copy_of(parsed.udp, output6("ff3e::2", 6000));
    CHECK(out.size() == in.size());
    CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + 14) ==
          std::vector<std::uint8_t>{0x33, 0x33, 0, 0, 0, 2, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x86, 0xdd});
    const auto reparsed = parse_frame(out);
    REQUIRE(reparsed.kind == FrameClass::accepted);
    CHECK(reparsed.udp.destination_address == address6("ff3e::2"));
    CHECK(reparsed.udp.source_address == address6("2001:db8::2"));
    CHECK(reparsed.udp.destination_port == 6000);
    CHECK(reparsed.udp.source_port == 40000);
    CHECK(reparsed.udp.ttl == 8);
    CHECK(reparsed.udp.traffic_class == 0xb9);
    CHECK((load_be32(&out[14]) & 0xfffffU) == 0xabcde);
    CHECK(any_udp_checksum_verifies(out));
    CHECK(output_ttl(parsed.udp, output6("ff3e::2", 6000, 200)) == 200);
}

TEST_CASE("hop limit <= 1 expires like TTL unless the rule forwards it, then leaves with 1")
{
    for (const std::uint8_t hop_limit : {0, 1}) {
        const auto in = make_udp6_frame([&] { Frame6Spec s; s.hop_limit = hop_limit; return s; }());
        const auto parsed = parse_frame(in);
        REQUIRE(parsed.kind == FrameClass::accepted);
        CHECK(ttl_expired(parsed.udp, false));
        CHECK_FALSE(ttl_expired(parsed.udp, true));
        CHECK(parse_frame(copy_of(parsed.udp, output6("ff3e::2", 6000))).udp.ttl == 1);
    }
    const auto in = make_udp6_frame([&] { Frame6Spec s; s.hop_limit = 2; return s; }());
    CHECK_FALSE(ttl_expired(parse_frame(in).udp, false));
}

TEST_CASE("extension headers are walked but not copied: the copy has the base header and UDP only")
{
    const auto in = make_udp6_frame([&] { Frame6Spec s; s.extension_headers = {{0, 8}, {60, 16}}; s.payload = {1, 2, 3}; return s; }());
    const auto parsed = parse_frame(in);
    REQUIRE(parsed.kind == FrameClass::accepted);
    const auto out = copy_of(parsed.udp, output6("ff3e::9", 7000));
    CHECK(out.size() == in.size() - 24);
    CHECK(out[14 + 6] == 17);
    CHECK(load_be16(&out[14 + 4]) == 8 + 3);
    REQUIRE(parse_frame(out).kind == FrameClass::accepted);
    CHECK(any_udp_checksum_verifies(out));
}

TEST_CASE("IPv4 -> IPv6: new header, TTL -> hop limit, TOS -> traffic class, flow label 0, source given")
{
    FrameSpec spec;
    spec.ttl = 17;
    spec.tos = 0x2e; // DSCP 11 (AF11), ECN 2
    const auto in = make_udp_frame(spec);
    const auto parsed = parse_frame(in);
    REQUIRE(parsed.kind == FrameClass::accepted);
    auto out_spec = output6("ff3e::3", 6000);
    out_spec.source_address = address6("2001:db8:1::1");
    const auto out = copy_of(parsed.udp, out_spec);
    CHECK(out.size() == in.size() + 20);
    CHECK(load_be16(&out[12]) == kEtherTypeIpv6);
    CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + 6) == std::vector<std::uint8_t>{0x33, 0x33, 0, 0, 0, 3});
    const auto reparsed = parse_frame(out);
    REQUIRE(reparsed.kind == FrameClass::accepted);
    CHECK(reparsed.udp.source_address == address6("2001:db8:1::1"));
    CHECK(reparsed.udp.destination_address == address6("ff3e::3"));
    CHECK(reparsed.udp.destination_port == 6000);
    CHECK(reparsed.udp.source_port == 40000);
    CHECK(reparsed.udp.ttl == 16);
    CHECK(reparsed.udp.traffic_class == 0x2e);
    CHECK((load_be32(&out[14]) & 0xfffffU) == 0); // flow label
    CHECK(reparsed.udp.payload_length == parsed.udp.payload_length);
    CHECK(any_udp_checksum_verifies(out));
    out_spec.ttl = 3;
    CHECK(parse_frame(copy_of(parsed.udp, out_spec)).udp.ttl == 3);
}

TEST_CASE("IPv4 -> IPv6 with an IPv4 UDP checksum of 0: the IPv6 copy gets a computed one")
{
    FrameSpec spec;
    spec.udp_checksum = false;
    const auto in = make_udp_frame(spec);
    const auto parsed = parse_frame(in);
    REQUIRE(parsed.udp.udp_checksum == 0);
    auto out_spec = output6("ff3e::3", 6000);
    out_spec.source_address = address6("fe80::1");
    const auto out = copy_of(parsed.udp, out_spec);
    const auto reparsed = parse_frame(out);
    REQUIRE(reparsed.kind == FrameClass::accepted); // not zero_udp_checksum
    CHECK(reparsed.udp.udp_checksum != 0);
    CHECK(any_udp_checksum_verifies(out));
}

TEST_CASE("IPv6 -> IPv4: 20-byte header with DF, hop limit -> TTL, traffic class -> TOS, valid checksums")
{
    Frame6Spec spec;
    spec.hop_limit = 64;
    spec.traffic_class = 0xb9;
    spec.extension_headers = {{0, 8}};
    const auto in = make_udp6_frame(spec);
    const auto parsed = parse_frame(in);
    REQUIRE(parsed.kind == FrameClass::accepted);
    auto out_spec = output4(0xef010104U, 6004);
    out_spec.source_address = ipv4_address_bytes(0xc0000201U); // 192.0.2.1
    const auto out = copy_of(parsed.udp, out_spec);
    CHECK(out.size() == in.size() - 20 - 8);
    CHECK(load_be16(&out[12]) == kEtherTypeIpv4);
    CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + 6) == std::vector<std::uint8_t>{1, 0, 0x5e, 1, 1, 4});
    const auto reparsed = parse_frame(out);
    REQUIRE(reparsed.kind == FrameClass::accepted);
    CHECK(reparsed.udp.source_ipv4() == 0xc0000201U);
    CHECK(reparsed.udp.destination_ipv4() == 0xef010104U);
    CHECK(reparsed.udp.destination_port == 6004);
    CHECK(reparsed.udp.ttl == 63);
    CHECK(reparsed.udp.traffic_class == 0xb9);
    CHECK(load_be16(&out[14 + 6]) == 0x4000); // DF, no fragment offset
    CHECK(ipv4_header_verifies(out));
    CHECK(reparsed.udp.udp_checksum != 0); // IPv6 always had one; it is kept
    CHECK(any_udp_checksum_verifies(out));
}

TEST_CASE("a translated multicast copy needs a source address; without one it is not built")
{
    const auto in4 = make_udp_frame(FrameSpec{});
    const auto v4 = parse_frame(in4).udp;
    const auto no_source6 = output6("ff3e::3", 6000);
    CHECK(lacks_source_address(v4, no_source6));
    std::vector<std::uint8_t> buffer(4096);
    CHECK(rewrite_for_output(v4, no_source6, buffer) == 0);
    // Same family needs none (the arriving source is kept); unicast copies
    // are payload only (the kernel picks the source).
    CHECK_FALSE(lacks_source_address(v4, output4(0xef020202U, 6000)));
    auto unicast6 = no_source6;
    unicast6.multicast = false;
    CHECK_FALSE(lacks_source_address(v4, unicast6));
    CHECK(rewrite_for_output(v4, unicast6, buffer) == v4.payload_length);
    const auto in6 = make_udp6_frame(Frame6Spec{});
    CHECK(lacks_source_address(parse_frame(in6).udp, output4(0xef020202U, 6000)));
    CHECK_FALSE(lacks_source_address(parse_frame(in6).udp, output6("ff3e::5", 1)));
}

TEST_CASE("MTU: a translated IPv4 -> IPv6 copy is 20 bytes longer and can exceed the egress MTU")
{
    constexpr std::size_t kMtu = 1500;
    constexpr std::size_t kMaxFrame = kMtu + kEthernetHeaderBytes; // what the worker allows (egress.cpp)
    FrameSpec spec;
    spec.payload.resize(kMtu - 20 - 8); // a full-size IPv4 packet
    const auto in = make_udp_frame(spec);
    const auto parsed = parse_frame(in);
    REQUIRE(parsed.kind == FrameClass::accepted);
    auto out_spec = output6("ff3e::3", 6000);
    out_spec.source_address = address6("2001:db8::1");
    CHECK(rewritten_length(parsed.udp, output4(0xef020202U, 6000)) == kMaxFrame);
    CHECK(rewritten_length(parsed.udp, out_spec) == kMaxFrame + 20); // counted too_big by the worker
    // The other way a full-size IPv6 packet fits with 20 bytes to spare.
    Frame6Spec spec6;
    spec6.payload.resize(kMtu - 40 - 8);
    const auto in6 = make_udp6_frame(spec6);
    auto back = output4(0xef020202U, 6000);
    back.source_address = ipv4_address_bytes(0xc0000201U);
    CHECK(rewritten_length(parse_frame(in6).udp, back) == kMaxFrame - 20);
    // A buffer one byte short is refused, never overrun.
    std::vector<std::uint8_t> short_buffer(kMaxFrame + 19);
    CHECK(rewrite_for_output(parsed.udp, out_spec, short_buffer) == 0);
}

TEST_CASE("incremental IPv6 and translated checksums equal from-scratch ones for random frames")
{
    std::mt19937 random(4242); // fixed seed: reproducible
    std::vector<std::uint8_t> buffer(16384);
    auto random_address6 = [&](std::uint8_t first) {
        AddressBytes a{};
        for (auto& b : a)
            b = static_cast<std::uint8_t>(random());
        a[0] = first;
        return a;
    };
    for (int round = 0; round < 3000; ++round) {
        std::vector<std::uint8_t> in;
        if (round % 2 == 0) {
            FrameSpec spec;
            spec.ttl = static_cast<std::uint8_t>(2 + random() % 254);
            spec.tos = static_cast<std::uint8_t>(random());
            spec.source_address = static_cast<std::uint32_t>(random());
            spec.destination_address = 0xef000000U | (random() & 0xffffffU);
            spec.destination_port = static_cast<std::uint16_t>(random());
            spec.udp_checksum = random() % 3 != 0;
            spec.payload.resize(random() % 9001);
            for (auto& b : spec.payload)
                b = static_cast<std::uint8_t>(random());
            in = make_udp_frame(spec);
        } else {
            Frame6Spec spec;
            spec.hop_limit = static_cast<std::uint8_t>(2 + random() % 254);
            spec.traffic_class = static_cast<std::uint8_t>(random());
            spec.source_address = random_address6(0x20);
            spec.destination_address = random_address6(0xff);
            spec.destination_port = static_cast<std::uint16_t>(random());
            if (random() % 2 != 0)
                spec.extension_headers = {{0, 8 * (1 + random() % 4)}};
            spec.payload.resize(random() % 9001);
            for (auto& b : spec.payload)
                b = static_cast<std::uint8_t>(random());
            in = make_udp6_frame(spec);
        }
        const auto parsed = parse_frame(in);
        REQUIRE(parsed.kind == FrameClass::accepted);
        OutputRewrite out;
        if (random() % 2 == 0) {
            out = output6("ff3e::1", static_cast<std::uint16_t>(random()));
            out.destination_address = random_address6(0xff);
            out.source_address = random_address6(0x20);
        } else {
            out = output4(0xef000000U | (random() & 0xffffffU), static_cast<std::uint16_t>(random()));
            out.source_address = ipv4_address_bytes(static_cast<std::uint32_t>(random()));
        }
        const std::size_t n = rewrite_for_output(parsed.udp, out, buffer);
        REQUIRE(n == rewritten_length(parsed.udp, out));
        const std::vector<std::uint8_t> copy(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
        const auto reparsed = parse_frame(copy);
        REQUIRE(reparsed.kind == FrameClass::accepted);
        CHECK(reparsed.udp.family == out.family);
        CHECK(reparsed.udp.destination_address == out.destination_address);
        CHECK(reparsed.udp.traffic_class == parsed.udp.traffic_class);
        CHECK(reparsed.udp.ttl == parsed.udp.ttl - 1);
        CHECK(reparsed.udp.payload_length == parsed.udp.payload_length);
        if (out.family == AddressFamily::ipv4)
            REQUIRE(ipv4_header_verifies(copy));
        // Only a same-family IPv4 copy keeps a 0 ("none"); all else verifies.
        if (reparsed.udp.udp_checksum == 0) {
            CHECK(parsed.udp.is_ipv4());
            CHECK(out.family == AddressFamily::ipv4);
            CHECK(parsed.udp.udp_checksum == 0);
        } else {
            REQUIRE(any_udp_checksum_verifies(copy));
        }
    }
}
