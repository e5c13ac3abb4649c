// Proves RTP header validation and the sequence, SSRC and jitter accounting
// of RtpHealth against crafted packets with hand-computed expectations.
#include "dataplane/rtp_health.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using mcr::dataplane::parse_rtp_header;
using mcr::dataplane::RtpHealth;

namespace {

struct RtpSpec {
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0x11223344;
    std::uint8_t payload_type = 96;
    std::size_t payload_bytes = 8;
};

std::vector<std::uint8_t> rtp_packet(const RtpSpec& spec)
{
    // Sized once, then the 12-byte header written in place (an initializer
    // list followed by resize() trips GCC 12's -O3 -Warray-bounds).
    std::vector<std::uint8_t> p(12 + spec.payload_bytes, 0xab);
    p[0] = 0x80;
    p[1] = spec.payload_type;
    p[2] = static_cast<std::uint8_t>(spec.sequence >> 8);
    p[3] = static_cast<std::uint8_t>(spec.sequence);
    for (int i = 0; i < 4; ++i) {
        const int shift = 24 - 8 * i;
        p[4 + i] = static_cast<std::uint8_t>(spec.timestamp >> shift);
        p[8 + i] = static_cast<std::uint8_t>(spec.ssrc >> shift);
    }
    return p;
}

// Feeds sequence numbers in the given order, 1 ms apart.
RtpHealth feed(const std::vector<std::uint16_t>& sequences)
{
    RtpHealth health;
    std::uint64_t now = 0;
    for (const std::uint16_t s : sequences) {
        health.observe(rtp_packet({.sequence = s}), now);
        now += 1'000'000;
    }
    return health;
}

} // namespace

TEST_CASE("a minimal RTP header is parsed with its fields")
{
    const auto packet = rtp_packet({.sequence = 0x1234, .timestamp = 0xdeadbeef, .ssrc = 7, .payload_type = 33});
    const auto header = parse_rtp_header(packet);
    REQUIRE(header);
    CHECK(header->sequence == 0x1234);
    CHECK(header->timestamp == 0xdeadbeef);
    CHECK(header->ssrc == 7);
    CHECK(header->payload_type == 33);
    CHECK(header->payload_offset == 12);
    CHECK(header->payload_length == 8);
}

TEST_CASE("short packets, version != 2 and lengths past the end are not RTP")
{
    auto packet = rtp_packet({});
    CHECK_FALSE(parse_rtp_header(std::span(packet).first(11)));
    auto v1 = packet;
    v1[0] = 0x40;
    CHECK_FALSE(parse_rtp_header(v1));
    auto csrcs = packet;
    csrcs[0] = 0x83; // 3 CSRCs = 12 bytes, only 8 follow
    CHECK_FALSE(parse_rtp_header(csrcs));
    csrcs[0] = 0x82; // 2 CSRCs = 8 bytes: fits, empty payload
    REQUIRE(parse_rtp_header(csrcs));
    CHECK(parse_rtp_header(csrcs)->payload_length == 0);
    auto extension = packet;
    extension[0] = 0x90;               // X: 4-byte extension header at 12
    extension[14] = 0;
    extension[15] = 2;                 // + 8 bytes: 24 > 20
    CHECK_FALSE(parse_rtp_header(extension));
    extension[15] = 1;                 // + 4 bytes: 20, fits
    REQUIRE(parse_rtp_header(extension));
    CHECK(parse_rtp_header(extension)->payload_offset == 20);
    auto padded = packet;
    padded[0] = 0xa0;                  // P
    padded.back() = 9;                 // 9 > 8 payload bytes
    CHECK_FALSE(parse_rtp_header(padded));
    padded.back() = 0;                 // a zero padding count is invalid
    CHECK_FALSE(parse_rtp_header(padded));
    padded.back() = 3;
    REQUIRE(parse_rtp_header(padded));
    CHECK(parse_rtp_header(padded)->payload_length == 5);
    auto extension_header_cut = rtp_packet({.payload_bytes = 2});
    extension_header_cut[0] = 0x90;
    CHECK_FALSE(parse_rtp_header(extension_header_cut));
}

TEST_CASE("malformed datagrams are counted and leave the sequence state alone")
{
    RtpHealth health;
    health.observe(rtp_packet({.sequence = 1}), 0);
    const std::vector<std::uint8_t> garbage = {0x47, 0x00, 0x11};
    health.observe(garbage, 1);
    health.observe(std::span<const std::uint8_t>(), 2);
    health.observe(rtp_packet({.sequence = 2}), 3);
    const auto c = health.counters();
    CHECK(c.malformed == 2);
    CHECK(c.packets == 2);
    CHECK(c.lost == 0);
}

TEST_CASE("a gap of two counts two lost")
{
    const auto c = feed({10, 11, 14, 15}).counters();
    CHECK(c.packets == 4);
    CHECK(c.lost == 2);
    CHECK(c.reordered == 0);
    CHECK(c.duplicates == 0);
}

TEST_CASE("wraparound 65535 -> 0 is no gap; a gap across it is counted")
{
    CHECK(feed({65533, 65534, 65535, 0, 1, 2}).counters().lost == 0);
    CHECK(feed({65534, 65535, 1, 2}).counters().lost == 1);
    CHECK(feed({65535, 0}).counters().sequence_restarts == 0);
}

TEST_CASE("a late packet is reordered and fills the gap it left")
{
    const auto c = feed({1, 2, 4, 3, 5}).counters();
    CHECK(c.reordered == 1);
    CHECK(c.lost == 0);
    CHECK(c.duplicates == 0);
    const auto across_wrap = feed({65534, 0, 65535, 1}).counters();
    CHECK(across_wrap.reordered == 1);
    CHECK(across_wrap.lost == 0);
}

TEST_CASE("a packet from before the first one extends the run, not the loss")
{
    const auto c = feed({10, 9, 11}).counters();
    CHECK(c.reordered == 1);
    CHECK(c.lost == 0);
}

TEST_CASE("duplicates, of the highest and of older packets, are counted once each and not as received")
{
    const auto c = feed({1, 2, 2, 3, 1, 5}).counters();
    CHECK(c.duplicates == 2);
    CHECK(c.reordered == 0);
    CHECK(c.lost == 1); // 4
    // A late packet repeated: the first is reordered, the second a duplicate.
    const auto late = feed({1, 3, 2, 2}).counters();
    CHECK(late.reordered == 1);
    CHECK(late.duplicates == 1);
    CHECK(late.lost == 0);
}

TEST_CASE("duplicate detection reaches back 100 packets across window shifts")
{
    std::vector<std::uint16_t> order;
    for (std::uint16_t s = 0; s < 200; ++s)
        order.push_back(s);
    order.push_back(101); // 98 behind: still within the window
    order.push_back(150);
    const auto c = feed(order).counters();
    CHECK(c.duplicates == 2);
    CHECK(c.lost == 0);
}

TEST_CASE("a jump past kRtpMaxDropout restarts tracking; earlier loss is kept")
{
    const auto c = feed({1, 3, 10000, 10001, 10003}).counters();
    CHECK(c.sequence_restarts == 1);
    CHECK(c.lost == 2); // 2, then 10002
}

TEST_CASE("an SSRC change is counted and restarts the sequence without a loss")
{
    RtpHealth health;
    health.observe(rtp_packet({.sequence = 100, .ssrc = 1}), 0);
    health.observe(rtp_packet({.sequence = 102, .ssrc = 1}), 1);
    health.observe(rtp_packet({.sequence = 7, .ssrc = 2}), 2);
    health.observe(rtp_packet({.sequence = 8, .ssrc = 2}), 3);
    const auto c = health.counters();
    CHECK(c.ssrc_changes == 1);
    CHECK(c.lost == 1); // 101 of the first source
    CHECK(health.ssrc() == 2U);
}

TEST_CASE("payload type: last seen; clock rate from static types, else 90000")
{
    RtpHealth health;
    CHECK_FALSE(health.payload_type());
    health.observe(rtp_packet({.payload_type = 0}), 0);
    CHECK(health.payload_type() == 0);
    CHECK(health.clock_rate() == 8000);
    health.observe(rtp_packet({.sequence = 1, .payload_type = 10}), 1);
    CHECK(health.clock_rate() == 44100);
    health.observe(rtp_packet({.sequence = 2, .payload_type = 96}), 2);
    CHECK(health.payload_type() == 96);
    CHECK(health.clock_rate() == 90000);
}

TEST_CASE("jitter follows RFC 3550 6.4.1 on a synthetic arrival schedule")
{
    // PCMU (8000 Hz), 20 ms packets: timestamps 160 apart. Arrivals at 0,
    // 20, 45 and 60 ms = 0, 160, 360 and 480 timestamp units, so
    // D = 0, 40, -40 and J = 0, 40/16 = 2.5, 2.5 + (40 - 2.5)/16 = 4.84375.
    RtpHealth health;
    const std::uint64_t arrivals_ms[] = {0, 20, 45, 60};
    for (std::uint16_t i = 0; i < 4; ++i)
        health.observe(rtp_packet({.sequence = i, .timestamp = 1000U + 160U * i, .payload_type = 0}),
                       arrivals_ms[i] * 1'000'000);
    CHECK(health.jitter_timestamp_units() == doctest::Approx(4.84375));
    CHECK(health.jitter_us() == doctest::Approx(4.84375 * 125.0)); // 1 unit = 125 us at 8000 Hz
}

TEST_CASE("jitter is zero for a perfectly paced stream, across a timestamp wrap")
{
    RtpHealth health;
    for (std::uint32_t i = 0; i < 50; ++i)
        health.observe(rtp_packet({.sequence = static_cast<std::uint16_t>(i),
                                   .timestamp = 0xffffff00U + 1800U * i}), // 90 kHz, 20 ms
                       std::uint64_t{i} * 20'000'000);
    CHECK(health.jitter_timestamp_units() == doctest::Approx(0.0));
}

TEST_CASE("random bytes never crash the parser or the tracker")
{
    RtpHealth health;
    std::uint32_t state = 12345;
    std::vector<std::uint8_t> packet;
    for (int i = 0; i < 20000; ++i) {
        state = state * 1103515245U + 12345U;
        packet.resize(state % 64);
        for (auto& b : packet) {
            state = state * 1103515245U + 12345U;
            b = static_cast<std::uint8_t>(state >> 16);
        }
        if (!packet.empty())
            packet[0] = static_cast<std::uint8_t>(0x80 | (packet[0] & 0x3f));
        health.observe(packet, static_cast<std::uint64_t>(i));
    }
    const auto c = health.counters();
    CHECK(c.packets + c.malformed == 20000);
}
