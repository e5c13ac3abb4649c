// Proves the per-output rewrite: multicast MAC mapping, TTL rules, and that
// incrementally updated checksums equal checksums computed from scratch.
#include "dataplane/packet_rewrite.hpp"
#include "frame_builder.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace mcr::dataplane;
using mcr::test::FrameSpec;
using mcr::test::make_udp_frame;

namespace {
OutputRewrite multicast_output(std::uint32_t group, std::uint16_t port, std::optional<std::uint8_t> ttl)
{
    OutputRewrite out;
    out.destination_mac = multicast_mac(group);
    out.source_mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    out.destination_address = ipv4_address_bytes(group);
    out.destination_port = port;
    // Assigned only when set: copying a disengaged optional makes GCC 12 at
    // -O3 warn (falsely) that its value may be used uninitialized.
    if (ttl)
        out.ttl = *ttl;
    return out;
}
} // namespace

TEST_CASE("multicast MAC keeps only the low 23 bits of the group")
{
    CHECK(multicast_mac(0xef020202U) == MacAddress{0x01, 0x00, 0x5e, 0x02, 0x02, 0x02});
    // 239.130.2.3 and 239.2.2.3 share a MAC: bit 24 is dropped
    CHECK(multicast_mac(0xef820203U) == MacAddress{0x01, 0x00, 0x5e, 0x02, 0x02, 0x03});
    CHECK(multicast_mac(0xe0000001U) == MacAddress{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01});
}

TEST_CASE("a multicast copy carries new MACs, address, port and TTL-1 with valid checksums")
{
    const auto in = make_udp_frame(FrameSpec{});
    const auto parsed = parse_frame(in);
    REQUIRE(parsed.kind == FrameClass::accepted);
    std::vector<std::uint8_t> out(2048);
    const auto n = rewrite_for_output(parsed.udp, multicast_output(0xef020202U, 6000, std::nullopt), out);
    REQUIRE(n == in.size());
    out.resize(n);
    CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + 12) ==
          std::vector<std::uint8_t>{0x01, 0x00, 0x5e, 0x02, 0x02, 0x02, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee});
    const auto reparsed = parse_frame(out);
    REQUIRE(reparsed.kind == FrameClass::accepted);
    CHECK(reparsed.udp.destination_ipv4() == 0xef020202U);
    CHECK(reparsed.udp.destination_port == 6000);
    CHECK(reparsed.udp.ttl == 63);
    CHECK(reparsed.udp.source_ipv4() == 0xc6336402U);
    CHECK(reparsed.udp.source_port == 40000);
    CHECK(mcr::test::ip_checksum_verifies(out));
    CHECK(mcr::test::udp_checksum_verifies(out));
}

TEST_CASE("incremental checksums equal from-scratch ones for random payloads, TTLs and outputs")
{
    std::mt19937 random(12345); // fixed seed: reproducible
    std::vector<std::uint8_t> out(16384);
    for (int round = 0; round < 2000; ++round) {
        FrameSpec spec;
        spec.ttl = static_cast<std::uint8_t>(2 + random() % 254);
        spec.source_port = static_cast<std::uint16_t>(random());
        spec.destination_port = static_cast<std::uint16_t>(1 + random() % 65535);
        spec.destination_address = 0xef000000U | (random() & 0xffffffU);
        spec.payload.resize(random() % 9001);
        for (auto& b : spec.payload)
            b = static_cast<std::uint8_t>(random());
        const auto in = make_udp_frame(spec);
        const auto parsed = parse_frame(in);
        REQUIRE(parsed.kind == FrameClass::accepted);
        // The expectation is kept apart from the optional: reading *ttl back
        // makes GCC 12 at -O3 warn (falsely) that it may be uninitialized.
        const bool ttl_set = random() % 2 != 0;
        const auto ttl_value = static_cast<std::uint8_t>(1 + random() % 255);
        const std::optional<std::uint8_t> ttl = ttl_set ? std::optional<std::uint8_t>(ttl_value) : std::nullopt;
        const auto output = multicast_output(0xef000000U | (random() & 0xffffffU),
                                             static_cast<std::uint16_t>(1 + random() % 65535), ttl);
        const auto n = rewrite_for_output(parsed.udp, output, out);
        REQUIRE(n == in.size());
        const std::vector<std::uint8_t> copy(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
        const auto reparsed = parse_frame(copy);
        REQUIRE(reparsed.kind == FrameClass::accepted);
        CHECK(reparsed.udp.ttl == (ttl_set ? ttl_value : spec.ttl - 1));
        CHECK(reparsed.udp.destination_address == output.destination_address);
        REQUIRE(mcr::test::ip_checksum_verifies(copy));
        REQUIRE(mcr::test::udp_checksum_verifies(copy));
        CHECK(reparsed.udp.udp_checksum != 0);
    }
}

TEST_CASE("a UDP checksum of 0 (none) stays 0 after the rewrite")
{
    FrameSpec spec;
    spec.udp_checksum = false;
    const auto in = make_udp_frame(spec);
    const auto parsed = parse_frame(in);
    REQUIRE(parsed.udp.udp_checksum == 0);
    std::vector<std::uint8_t> out(2048);
    const auto n = rewrite_for_output(parsed.udp, multicast_output(0xef020202U, 6000, 5), out);
    out.resize(n);
    const auto reparsed = parse_frame(out);
    CHECK(reparsed.udp.udp_checksum == 0);
    CHECK(reparsed.udp.ttl == 5);
    CHECK(mcr::test::ip_checksum_verifies(out));
}

TEST_CASE("TTL expiry: TTL <= 1 expires unless the rule forwards it, then leaves with TTL >= 1")
{
    FrameSpec spec;
    spec.ttl = 1;
    const auto in = make_udp_frame(spec);
    const auto parsed = parse_frame(in);
    CHECK(ttl_expired(parsed.udp, false));
    CHECK_FALSE(ttl_expired(parsed.udp, true));
    CHECK(output_ttl(parsed.udp, multicast_output(0xef020202U, 6000, std::nullopt)) == 1);
    CHECK(output_ttl(parsed.udp, multicast_output(0xef020202U, 6000, 9)) == 9);
    spec.ttl = 2;
    const auto in2 = make_udp_frame(spec);
    CHECK_FALSE(ttl_expired(parse_frame(in2).udp, false));
}

TEST_CASE("a unicast copy is the bare payload; a too-small buffer yields 0")
{
    FrameSpec spec;
    spec.payload = {9, 8, 7};
    const auto in = make_udp_frame(spec);
    const auto parsed = parse_frame(in);
    OutputRewrite unicast;
    unicast.multicast = false;
    std::vector<std::uint8_t> out(3);
    CHECK(rewrite_for_output(parsed.udp, unicast, out) == 3);
    CHECK(out == std::vector<std::uint8_t>{9, 8, 7});
    std::vector<std::uint8_t> small(in.size() - 1);
    CHECK(rewrite_for_output(parsed.udp, multicast_output(0xef020202U, 6000, std::nullopt), small) == 0);
}
