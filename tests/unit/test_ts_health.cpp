// Proves TsHealth's alignment/sync checks and its continuity-counter rules
// (payload, adaptation only, duplicates, discontinuity, null PID) against
// crafted TS packets, in UDP and in RTP.
#include "dataplane/ts_health.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using mcr::dataplane::kTsPacketBytes;
using mcr::dataplane::TsHealth;

namespace {

struct TsSpec {
    std::uint16_t pid = 0x100;
    std::uint8_t counter = 0;
    bool payload = true;
    bool adaptation = false;
    bool discontinuity = false;
    bool pcr = false;
};

void append_ts_packet(std::vector<std::uint8_t>& out, const TsSpec& spec)
{
    const std::size_t start = out.size();
    out.resize(start + kTsPacketBytes, 0xff);
    std::uint8_t* p = &out[start];
    p[0] = 0x47;
    p[1] = static_cast<std::uint8_t>((spec.pid >> 8) & 0x1f);
    p[2] = static_cast<std::uint8_t>(spec.pid);
    const std::uint8_t control = (spec.adaptation ? 2 : 0) | (spec.payload ? 1 : 0);
    p[3] = static_cast<std::uint8_t>(control << 4 | (spec.counter & 0x0f));
    if (spec.adaptation) {
        p[4] = spec.payload ? 7 : 183;
        p[5] = static_cast<std::uint8_t>((spec.discontinuity ? 0x80 : 0) | (spec.pcr ? 0x10 : 0));
    }
}

std::vector<std::uint8_t> datagram(std::initializer_list<TsSpec> packets)
{
    std::vector<std::uint8_t> out;
    for (const TsSpec& spec : packets)
        append_ts_packet(out, spec);
    return out;
}

// One datagram per counter value on PID 0x100.
TsHealth feed_counters(std::initializer_list<std::uint8_t> counters)
{
    TsHealth health;
    for (const std::uint8_t cc : counters)
        health.observe(datagram({{.counter = cc}}), 0);
    return health;
}

} // namespace

TEST_CASE("a continuous stream, wrapping 15 -> 0, has no errors")
{
    TsHealth health;
    for (int i = 0; i < 40; ++i)
        health.observe(datagram({{.counter = static_cast<std::uint8_t>(i)},
                                 {.pid = 0x101, .counter = static_cast<std::uint8_t>(i)}}),
                       0);
    CHECK(health.counters().datagrams == 40);
    CHECK(health.counters().packets == 80);
    CHECK(health.counters().cc_errors == 0);
    CHECK(health.counters().pids == 2);
}

TEST_CASE("a skipped counter is one CC error; the counter resynchronises")
{
    const auto c = feed_counters({0, 1, 2, 5, 6, 7}).counters();
    CHECK(c.cc_errors == 1);
    CHECK(c.duplicates == 0);
}

TEST_CASE("one duplicate is allowed, a second repetition is an error")
{
    CHECK(feed_counters({0, 1, 1, 2}).counters().duplicates == 1);
    CHECK(feed_counters({0, 1, 1, 2}).counters().cc_errors == 0);
    const auto twice = feed_counters({0, 1, 1, 1, 2}).counters();
    CHECK(twice.duplicates == 1);
    CHECK(twice.cc_errors == 1);
    // A new duplicate is allowed again after a normal increment.
    const auto later = feed_counters({0, 1, 1, 2, 2, 3}).counters();
    CHECK(later.duplicates == 2);
    CHECK(later.cc_errors == 0);
}

TEST_CASE("adaptation-only packets keep the counter; a change there is an error")
{
    TsHealth health;
    health.observe(datagram({{.counter = 3}, {.counter = 3, .payload = false, .adaptation = true},
                             {.counter = 4, .adaptation = true}}),
                   0);
    CHECK(health.counters().cc_errors == 0);
    health.observe(datagram({{.counter = 6, .payload = false, .adaptation = true}}), 0);
    CHECK(health.counters().cc_errors == 1);
}

TEST_CASE("discontinuity_indicator accepts any counter")
{
    TsHealth health;
    health.observe(datagram({{.counter = 1}, {.counter = 9, .adaptation = true, .discontinuity = true},
                             {.counter = 10}}),
                   0);
    CHECK(health.counters().cc_errors == 0);
    CHECK(health.counters().discontinuities == 1);
}

TEST_CASE("the null PID and reserved adaptation_field_control 00 are ignored")
{
    TsHealth health;
    health.observe(datagram({{.pid = 0x1fff, .counter = 0}, {.pid = 0x1fff, .counter = 7},
                             {.counter = 0}, {.counter = 9, .payload = false}, {.counter = 1}}),
                   0);
    CHECK(health.counters().cc_errors == 0);
    CHECK(health.counters().pids == 1);
    CHECK(health.counters().packets == 5);
}

TEST_CASE("the PCR PID is the first PID with a PCR flag")
{
    TsHealth health;
    health.observe(datagram({{.pid = 0x20}}), 0);
    CHECK_FALSE(health.pcr_pid());
    health.observe(datagram({{.pid = 0x21, .adaptation = true, .pcr = true},
                             {.pid = 0x22, .adaptation = true, .pcr = true}}),
                   0);
    CHECK(health.pcr_pid() == 0x21);
}

TEST_CASE("bad sync bytes, odd lengths and overlong adaptation fields are malformed, whole datagram")
{
    TsHealth health;
    auto bad_sync = datagram({{.counter = 0}, {.counter = 1}});
    bad_sync[188] = 0x48;
    health.observe(bad_sync, 0);
    auto short_one = datagram({{.counter = 0}});
    short_one.pop_back();
    health.observe(short_one, 0);
    health.observe(std::span<const std::uint8_t>(), 0);
    auto overlong = datagram({{.counter = 0, .adaptation = true}});
    overlong[4] = 183; // 183 leaves no room for the payload the control bits promise
    health.observe(overlong, 0);
    const auto c = health.counters();
    CHECK(c.datagrams == 4);
    CHECK(c.malformed == 4);
    CHECK(c.packets == 0);
    CHECK(c.pids == 0);
}

TEST_CASE("TS in RTP: the RTP header is skipped and tracked too")
{
    TsHealth health;
    for (std::uint16_t seq : {std::uint16_t{1}, std::uint16_t{2}, std::uint16_t{4}}) {
        std::vector<std::uint8_t> packet = {0x80, 33, 0, static_cast<std::uint8_t>(seq), 0, 0, 0, 0, 0, 0, 0, 1};
        append_ts_packet(packet, {.counter = static_cast<std::uint8_t>(seq)});
        health.observe(packet, 0);
    }
    CHECK(health.in_rtp());
    CHECK(health.rtp().counters().lost == 1);
    CHECK(health.counters().cc_errors == 1);
    CHECK(health.counters().malformed == 0);
    // RTP around something that is not TS is malformed.
    std::vector<std::uint8_t> not_ts = {0x80, 33, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0x12, 0x34};
    health.observe(not_ts, 0);
    CHECK(health.counters().malformed == 1);
}

TEST_CASE("random bytes never crash the checker")
{
    TsHealth health;
    std::uint32_t state = 99;
    std::vector<std::uint8_t> packet;
    for (int i = 0; i < 5000; ++i) {
        state = state * 1103515245U + 12345U;
        packet.resize((state >> 8) % 3 == 0 ? 188 * ((state >> 4) % 8) : state % 1400);
        for (std::size_t b = 0; b < packet.size(); ++b) {
            state = state * 1103515245U + 12345U;
            packet[b] = b % 188 == 0 && (state & 1) ? 0x47 : static_cast<std::uint8_t>(state >> 16);
        }
        health.observe(packet, 0);
    }
    CHECK(health.counters().datagrams == 5000);
}
