// Proves parse_frame() on IPv6: a valid frame's fields, the bounded walk of
// hop-by-hop and destination options headers, and every drop reason of an
// IPv6 frame (fragment, routing header, unwalkable chain, zero UDP checksum,
// and malformed for truncation and lengths beyond the frame).
#include "dataplane/frame.hpp"
#include "frame_builder.hpp"

#include <doctest/doctest.h>

using mcr::dataplane::FrameClass;
using mcr::dataplane::parse_frame;
using mcr::dataplane::store_be16;
using mcr::test::address6;
using mcr::test::ExtensionHeader;
using mcr::test::Frame6Spec;
using mcr::test::make_udp6_frame;

namespace {
constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kRouting = 43;
constexpr std::uint8_t kFragment = 44;
constexpr std::uint8_t kEsp = 50;
constexpr std::uint8_t kAuthentication = 51;
constexpr std::uint8_t kIcmpv6 = 58;
constexpr std::uint8_t kNoNext = 59;
constexpr std::uint8_t kDestinationOptions = 60;

FrameClass classify6(const std::vector<std::uint8_t>& frame)
{
    return parse_frame(frame).kind;
}

FrameClass classify_with(std::vector<ExtensionHeader> headers, std::uint8_t upper = 17)
{
    Frame6Spec spec;
    spec.extension_headers = std::move(headers);
    spec.upper_protocol = upper;
    return classify6(make_udp6_frame(spec));
}
} // namespace

TEST_CASE("a valid IPv6 UDP frame is accepted with its 16-byte addresses, hop limit and traffic class")
{
    Frame6Spec spec;
    spec.payload = {1, 2, 3, 4, 5, 6, 7};
    spec.hop_limit = 33;
    spec.traffic_class = 0xb9; // DSCP 46 (EF), ECN 1
    spec.flow_label = 0x12345;
    const auto frame = make_udp6_frame(spec);
    const auto parsed = parse_frame(frame);
    REQUIRE(parsed.kind == FrameClass::accepted);
    CHECK(parsed.udp.family == mcr::AddressFamily::ipv6);
    CHECK(parsed.udp.source_address == address6("2001:db8::2"));
    CHECK(parsed.udp.destination_address == address6("ff3e::1"));
    CHECK(parsed.udp.source_port == 40000);
    CHECK(parsed.udp.destination_port == 5000);
    CHECK(parsed.udp.ttl == 33);
    CHECK(parsed.udp.traffic_class == 0xb9);
    CHECK(parsed.udp.udp_length == 8 + 7);
    CHECK(parsed.udp.udp_offset == 14 + 40);
    CHECK(parsed.udp.payload_offset == 14 + 40 + 8);
    CHECK(parsed.udp.payload_length == 7);
    CHECK(parsed.udp.payload()[6] == 7);
    CHECK(parsed.udp.udp_checksum != 0);
}

TEST_CASE("hop-by-hop and destination options headers are walked up to 8, and UDP found behind them")
{
    const auto parsed = parse_frame(make_udp6_frame([&] { Frame6Spec s; s.extension_headers = {{kHopByHop, 8}, {kDestinationOptions, 24}}; return s; }()));
    REQUIRE(parsed.kind == FrameClass::accepted);
    CHECK(parsed.udp.udp_offset == 14 + 40 + 8 + 24);
    CHECK(parsed.udp.payload_length == 5);
    std::vector<ExtensionHeader> eight{{kHopByHop, 8}};
    for (int i = 0; i < 7; ++i)
        eight.push_back({kDestinationOptions, 8});
    CHECK(classify_with(eight) == FrameClass::accepted);
    auto nine = eight;
    nine.push_back({kDestinationOptions, 8});
    CHECK(classify_with(nine) == FrameClass::ipv6_extension_chain);
}

TEST_CASE("a chain the relay cannot walk is ipv6_extension_chain")
{
    // Hop-by-hop anywhere but first (RFC 8200 4.1).
    CHECK(classify_with({{kDestinationOptions, 8}, {kHopByHop, 8}}) == FrameClass::ipv6_extension_chain);
    // Extension headers that are not walked.
    CHECK(classify_with({{kAuthentication, 16}}) == FrameClass::ipv6_extension_chain);
    for (const std::uint8_t unwalked : {135, 139, 140, 253, 254})
        CHECK(classify_with({}, unwalked) == FrameClass::ipv6_extension_chain);
    // A header whose length runs past the packet: payload length counts
    // 8 bytes of options but the header says 16.
    auto overlong = make_udp6_frame([&] { Frame6Spec s; s.extension_headers = {{kDestinationOptions, 8}}; return s; }());
    overlong[14 + 40 + 1] = 200; // (200 + 1) * 8 bytes
    CHECK(classify6(overlong) == FrameClass::ipv6_extension_chain);
    // A header that does not even begin inside the packet.
    Frame6Spec spec;
    spec.extension_headers = {{kHopByHop, 8}};
    auto cut = make_udp6_frame(spec);
    cut[14 + 40] = kDestinationOptions; // next: a destination options header...
    store_be16(&cut[14 + 4], 8);        // ...after the packet ends
    cut.resize(14 + 40 + 8);
    CHECK(classify6(cut) == FrameClass::ipv6_extension_chain);
}

TEST_CASE("fragment and routing headers have their own reasons, also behind walked headers")
{
    CHECK(classify_with({{kFragment, 8}}) == FrameClass::ipv6_fragment);
    CHECK(classify_with({{kHopByHop, 8}, {kFragment, 8}}) == FrameClass::ipv6_fragment);
    CHECK(classify_with({{kRouting, 24}}) == FrameClass::ipv6_routing_header);
    CHECK(classify_with({{kDestinationOptions, 8}, {kRouting, 24}, {kFragment, 8}}) ==
          FrameClass::ipv6_routing_header);
}

TEST_CASE("other upper-layer protocols are not_udp")
{
    CHECK(classify_with({}, kIcmpv6) == FrameClass::not_udp);
    CHECK(classify_with({}, 6) == FrameClass::not_udp);
    CHECK(classify_with({}, kEsp) == FrameClass::not_udp);
    CHECK(classify_with({{kHopByHop, 8}}, kNoNext) == FrameClass::not_udp);
}

TEST_CASE("a zero UDP checksum is zero_udp_checksum (RFC 8200 8.1)")
{
    Frame6Spec spec;
    spec.udp_checksum = false;
    CHECK(classify6(make_udp6_frame(spec)) == FrameClass::zero_udp_checksum);
}

TEST_CASE("truncated IPv6 headers and lengths beyond the frame are malformed")
{
    const auto good = make_udp6_frame(Frame6Spec{});
    CHECK(classify6(std::vector<std::uint8_t>(good.begin(), good.begin() + 14 + 39)) == FrameClass::malformed);
    CHECK(classify6(std::vector<std::uint8_t>(good.begin(), good.begin() + 14)) == FrameClass::malformed);
    // Payload length beyond the frame.
    auto beyond = good;
    store_be16(&beyond[14 + 4], static_cast<std::uint16_t>(good.size() - 14 - 40 + 1));
    CHECK(classify6(beyond) == FrameClass::malformed);
    // Payload length 0 (a jumbogram's) or shorter than a UDP header.
    auto empty = good;
    store_be16(&empty[14 + 4], 0);
    CHECK(classify6(empty) == FrameClass::malformed);
    auto short_udp = good;
    store_be16(&short_udp[14 + 4], 7);
    CHECK(classify6(short_udp) == FrameClass::malformed);
    // UDP length disagreeing with the packet, either way.
    auto udp_long = good;
    store_be16(&udp_long[14 + 40 + 4], 14);
    CHECK(classify6(udp_long) == FrameClass::malformed);
    auto udp_short = good;
    store_be16(&udp_short[14 + 40 + 4], 12);
    CHECK(classify6(udp_short) == FrameClass::malformed);
    // Version other than 6 under the IPv6 EtherType.
    auto v4 = good;
    v4[14] = 0x40;
    CHECK(classify6(v4) == FrameClass::malformed);
}

TEST_CASE("Ethernet padding after the IPv6 packet is ignored")
{
    auto frame = make_udp6_frame([&] { Frame6Spec s; s.payload = {}; return s; }());
    frame.resize(frame.size() + 6, 0xee);
    const auto parsed = parse_frame(frame);
    REQUIRE(parsed.kind == FrameClass::accepted);
    CHECK(parsed.udp.payload_length == 0);
}

TEST_CASE("a CHECKSUM_PARTIAL IPv6 frame is completed like an IPv4 one")
{
    auto frame = make_udp6_frame([&] { Frame6Spec s; s.payload = {1, 2, 3, 4, 5, 6}; return s; }());
    const std::size_t udp = 14 + 40;
    // What a local sender with offload leaves: the pseudo-header sum only.
    std::uint8_t pseudo[40] = {};
    std::copy(&frame[14 + 8], &frame[14 + 40], pseudo);
    mcr::dataplane::store_be32(pseudo + 32, 14);
    pseudo[39] = 17;
    store_be16(&frame[udp + 6], mcr::dataplane::checksum_fold(mcr::dataplane::checksum_accumulate(pseudo, 0)));
    CHECK_FALSE(mcr::test::any_udp_checksum_verifies(frame));
    auto flagged_only = frame; // the same, as a ring hands it over: no offsets
    REQUIRE(mcr::dataplane::complete_partial_checksum(frame, udp, 6));
    CHECK(mcr::test::any_udp_checksum_verifies(frame));
    REQUIRE(mcr::dataplane::complete_partial_udp_checksum(flagged_only));
    CHECK(flagged_only == frame);
    // Not UDP right after the fixed header: left alone.
    auto hop_by_hop = flagged_only;
    hop_by_hop[14 + 6] = 0;
    const auto before = hop_by_hop;
    CHECK_FALSE(mcr::dataplane::complete_partial_udp_checksum(hop_by_hop));
    CHECK(hop_by_hop == before);
    // Offsets beyond the packet are refused.
    CHECK_FALSE(mcr::dataplane::complete_partial_checksum(frame, frame.size() - 4, 6));
    CHECK_FALSE(mcr::dataplane::complete_partial_checksum(frame, 14 + 20, 6));
}
