// Proves parse_frame() classifies every kind of frame exactly and exposes the
// right fields for accepted IPv4 UDP.
#include "dataplane/frame.hpp"
#include "frame_builder.hpp"

#include <doctest/doctest.h>

using mcr::dataplane::FrameClass;
using mcr::dataplane::load_be16;
using mcr::dataplane::parse_frame;
using mcr::dataplane::store_be16;
using mcr::test::FrameSpec;
using mcr::test::make_udp_frame;

namespace {
FrameClass classify(const std::vector<std::uint8_t>& frame)
{
    return parse_frame(frame).kind;
}
} // namespace

TEST_CASE("a valid IPv4 UDP frame is accepted with its fields in host order")
{
    FrameSpec spec;
    spec.payload = {1, 2, 3, 4, 5, 6, 7};
    const auto frame = make_udp_frame(spec);
    const auto parsed = parse_frame(frame);
    REQUIRE(parsed.kind == FrameClass::accepted);
    CHECK(parsed.udp.family == mcr::AddressFamily::ipv4);
    CHECK(parsed.udp.source_ipv4() == 0xc6336402U);
    CHECK(parsed.udp.destination_ipv4() == 0xef010101U);
    // The other 12 address bytes are zero, as in mcr::IpAddress::bytes().
    CHECK(parsed.udp.destination_address == mcr::IpAddress::parse("239.1.1.1")->bytes());
    CHECK(parsed.udp.source_port == 40000);
    CHECK(parsed.udp.destination_port == 5000);
    CHECK(parsed.udp.ttl == 64);
    CHECK(parsed.udp.udp_length == 8 + 7);
    CHECK(parsed.udp.udp_offset == 34);
    CHECK(parsed.udp.payload_offset == 42);
    CHECK(parsed.udp.payload_length == 7);
    CHECK(parsed.udp.payload()[6] == 7);
}

TEST_CASE("Ethernet padding after the IP packet is ignored")
{
    auto frame = make_udp_frame(FrameSpec{});
    frame.resize(60, 0); // minimum Ethernet frame, padded
    const auto parsed = parse_frame(frame);
    REQUIRE(parsed.kind == FrameClass::accepted);
    CHECK(parsed.udp.payload_length == 5);
}

TEST_CASE("frames that are neither IPv4 nor IPv6 are not_ip, including 802.1Q-tagged ones")
{
    auto arp = make_udp_frame(FrameSpec{});
    store_be16(&arp[12], 0x0806);
    CHECK(classify(arp) == FrameClass::not_ip);
    auto tagged = make_udp_frame(FrameSpec{});
    store_be16(&tagged[12], 0x8100);
    CHECK(classify(tagged) == FrameClass::not_ip);
    auto other = make_udp_frame(FrameSpec{});
    store_be16(&other[12], 0x88b5);
    CHECK(classify(other) == FrameClass::not_ip);
    // An IPv4 packet labelled IPv6 is no IPv6 packet: version 4.
    auto mislabelled = make_udp_frame(FrameSpec{});
    store_be16(&mislabelled[12], 0x86dd);
    CHECK(classify(mislabelled) == FrameClass::malformed);
}

TEST_CASE("every malformed kind is classified malformed")
{
    const auto good = make_udp_frame(FrameSpec{});
    // shorter than an Ethernet header
    CHECK(classify(std::vector<std::uint8_t>(good.begin(), good.begin() + 13)) == FrameClass::malformed);
    // truncated IP header
    CHECK(classify(std::vector<std::uint8_t>(good.begin(), good.begin() + 14 + 19)) == FrameClass::malformed);
    // IP version 6 in an IPv4 EtherType
    auto v6 = good;
    v6[14] = 0x65;
    CHECK(classify(v6) == FrameClass::malformed);
    // IHL < 5
    auto short_ihl = good;
    short_ihl[14] = 0x44;
    CHECK(classify(short_ihl) == FrameClass::malformed);
    // IHL beyond the frame
    auto long_ihl = std::vector<std::uint8_t>(good.begin(), good.begin() + 14 + 24);
    long_ihl[14] = 0x4f;
    CHECK(classify(long_ihl) == FrameClass::malformed);
    // total length beyond the frame
    auto too_long = good;
    store_be16(&too_long[16], static_cast<std::uint16_t>(good.size() - 14 + 1));
    CHECK(classify(too_long) == FrameClass::malformed);
    // total length shorter than the IP header
    auto shorter_than_header = good;
    store_be16(&shorter_than_header[16], 19);
    CHECK(classify(shorter_than_header) == FrameClass::malformed);
    // total length leaves no room for a UDP header
    auto no_udp_header = good;
    store_be16(&no_udp_header[16], 20 + 7);
    CHECK(classify(no_udp_header) == FrameClass::malformed);
    // UDP length disagrees with the IP payload length
    auto bad_udp_length = good;
    store_be16(&bad_udp_length[14 + 20 + 4], static_cast<std::uint16_t>(load_be16(&good[14 + 20 + 4]) + 1));
    CHECK(classify(bad_udp_length) == FrameClass::malformed);
    auto tiny_udp_length = good;
    store_be16(&tiny_udp_length[14 + 20 + 4], 7);
    CHECK(classify(tiny_udp_length) == FrameClass::malformed);
}

TEST_CASE("fragments are classified fragment, first or not")
{
    auto first = make_udp_frame(FrameSpec{});
    store_be16(&first[20], 0x2000); // MF, offset 0
    CHECK(classify(first) == FrameClass::fragment);
    auto later = make_udp_frame(FrameSpec{});
    store_be16(&later[20], 0x0010); // offset 16*8, last
    CHECK(classify(later) == FrameClass::fragment);
    auto df_only = make_udp_frame(FrameSpec{});
    store_be16(&df_only[20], 0x4000); // DF is not a fragment
    CHECK(classify(df_only) == FrameClass::accepted);
}

TEST_CASE("IP options are classified ip_options, other protocols not_udp")
{
    FrameSpec spec;
    auto with_options = make_udp_frame(spec);
    with_options.insert(with_options.begin() + 34, {1, 1, 1, 1}); // 4 bytes of NOP options
    with_options[14] = 0x46;
    store_be16(&with_options[16], static_cast<std::uint16_t>(load_be16(&with_options[16]) + 4));
    CHECK(classify(with_options) == FrameClass::ip_options);
    auto tcp = make_udp_frame(spec);
    tcp[14 + 9] = 6;
    CHECK(classify(tcp) == FrameClass::not_udp);
}

TEST_CASE("a CHECKSUM_PARTIAL frame (pseudo-header sum only) is completed to a valid UDP checksum")
{
    FrameSpec spec;
    spec.payload = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    auto frame = make_udp_frame(spec);
    frame.resize(frame.size() + 3, 0); // Ethernet padding must not enter the sum
    const std::uint16_t full = load_be16(&frame[14 + 20 + 6]);
    // What a local sender with offload leaves in the field: the folded pseudo-header sum.
    std::uint8_t pseudo[12];
    mcr::dataplane::store_be32(pseudo, spec.source_address);
    mcr::dataplane::store_be32(pseudo + 4, spec.destination_address);
    pseudo[8] = 0;
    pseudo[9] = 17;
    store_be16(pseudo + 10, static_cast<std::uint16_t>(8 + spec.payload.size()));
    store_be16(&frame[14 + 20 + 6], mcr::dataplane::checksum_fold(mcr::dataplane::checksum_accumulate(pseudo, 0)));
    frame[frame.size() - 1] = 0xab; // non-zero padding
    auto flagged_only = frame; // the same, as a ring hands it over: no offsets
    REQUIRE(mcr::dataplane::complete_partial_checksum(frame, 34, 6));
    CHECK(load_be16(&frame[14 + 20 + 6]) == full);
    CHECK(mcr::test::udp_checksum_verifies(frame));
    REQUIRE(mcr::dataplane::complete_partial_udp_checksum(flagged_only));
    CHECK(flagged_only == frame);
}

TEST_CASE("partial-checksum offsets outside the IP packet are refused and change nothing")
{
    auto frame = make_udp_frame(FrameSpec{});
    const auto before = frame;
    CHECK_FALSE(mcr::dataplane::complete_partial_checksum(frame, 34, frame.size()));
    CHECK_FALSE(mcr::dataplane::complete_partial_checksum(frame, 10, 6));
    auto arp = frame;
    store_be16(&arp[12], 0x0806);
    CHECK_FALSE(mcr::dataplane::complete_partial_checksum(arp, 34, 6));
    CHECK(frame == before);
}
