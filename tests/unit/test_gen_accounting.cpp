// Proves mcrgen's payload header round-trips, its receiver arithmetic (loss,
// duplicates, reordering, latency percentiles, pacing, destination policy)
// gives exact numbers, and its --json output keeps the keys scripts read.
#include "dataplane/rtp_health.hpp"
#include "mcrgen/destination_policy.hpp"
#include "mcrgen/pacer.hpp"
#include "mcrgen/payload_header.hpp"
#include "mcrgen/report.hpp"
#include "mcrgen/stream_accounting.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <vector>

using namespace mcr::gen;

TEST_CASE("payload header encodes big-endian and decodes to the same values")
{
    // Proves the wire layout (magic, stream, sequence, time) and the round trip.
    std::array<std::byte, 32> payload{};
    const PayloadHeader header{0x01020304U, 0x1122334455667788ULL, 42};
    REQUIRE(encode_payload_header(header, payload));
    CHECK(payload[0] == std::byte{'M'});
    CHECK(payload[3] == std::byte{'G'});
    CHECK(payload[4] == std::byte{0x01});
    CHECK(payload[7] == std::byte{0x04});
    CHECK(payload[8] == std::byte{0x11});
    CHECK(payload[15] == std::byte{0x88});
    CHECK(payload[23] == std::byte{42});
    auto decoded = decode_payload_header(payload);
    REQUIRE(decoded);
    CHECK(*decoded == header);
}

TEST_CASE("short payloads and foreign magic are not taken for headers")
{
    // Proves a datagram that is not ours is never accounted as a sequence number.
    std::array<std::byte, kPayloadHeaderBytes - 1> short_payload{};
    CHECK_FALSE(encode_payload_header(PayloadHeader{1, 2, 3}, short_payload));
    CHECK_FALSE(decode_payload_header(short_payload));
    std::array<std::byte, kPayloadHeaderBytes> payload{};
    REQUIRE(encode_payload_header(PayloadHeader{1, 2, 3}, payload));
    payload[0] = std::byte{'X'};
    CHECK_FALSE(decode_payload_header(payload));
}

TEST_CASE("in-order stream with a gap counts the gap as lost")
{
    // Proves loss without --expect is the holes below the highest sequence.
    StreamAccounting stream;
    for (std::uint64_t seq : {0, 1, 2, 5, 6})
        CHECK(stream.record(seq) == Arrival::in_order);
    CHECK(stream.received() == 5);
    CHECK(stream.unique() == 5);
    CHECK(stream.missing_below_highest() == 2);
    CHECK(stream.duplicated() == 0);
    CHECK(stream.reordered() == 0);
}

TEST_CASE("duplicates and late arrivals are told apart")
{
    // Proves a repeat is a duplicate (not unique) and a late first copy is reordered (and fills its gap).
    StreamAccounting stream;
    CHECK(stream.record(0) == Arrival::in_order);
    CHECK(stream.record(2) == Arrival::in_order);
    CHECK(stream.record(2) == Arrival::duplicate);
    CHECK(stream.record(1) == Arrival::reordered);
    CHECK(stream.record(1) == Arrival::duplicate);
    CHECK(stream.record(1000) == Arrival::in_order);  // grows the bitmap past one word
    CHECK(stream.record(kMaxTrackedSequence + 1) == Arrival::out_of_range);
    CHECK(stream.received() == 6);
    CHECK(stream.unique() == 4);
    CHECK(stream.duplicated() == 2);
    CHECK(stream.reordered() == 1);
    CHECK(stream.out_of_range() == 1);
    CHECK(stream.missing_below_highest() == 1001 - 4);
}

TEST_CASE("totals sum streams and --expect turns the tail into loss")
{
    // Proves two senders are accounted separately and loss against an expectation includes a lost tail.
    ReceiveAccounting accounting;
    for (std::uint64_t seq = 0; seq < 10; ++seq)
        accounting.record(7, seq, 100);
    for (std::uint64_t seq = 0; seq < 5; ++seq)
        accounting.record(9, seq, 100);
    accounting.record(9, 3, 100);
    accounting.record_invalid();
    const auto without_expect = accounting.totals(std::nullopt);
    CHECK(without_expect.streams == 2);
    CHECK(without_expect.received == 16);
    CHECK(without_expect.unique == 15);
    CHECK(without_expect.duplicated == 1);
    CHECK(without_expect.lost == 0);
    CHECK(without_expect.invalid == 1);
    CHECK(accounting.totals(20).lost == 5);
    CHECK(accounting.totals(15).lost == 0);
    CHECK(accounting.totals(10).lost == 0);
}

TEST_CASE("latency percentiles are nearest-rank over first arrivals only")
{
    // Proves p50/p90/p99/max on 1..100 us and that a duplicate's latency is ignored.
    ReceiveAccounting accounting;
    for (std::uint64_t i = 1; i <= 100; ++i)
        accounting.record(1, i - 1, i * 1000);
    accounting.record(1, 0, 999'999'999);  // duplicate: must not move max
    accounting.record(1, 100, std::nullopt);  // clock went back: no sample
    const auto latency = accounting.latency();
    CHECK(latency.samples == 100);
    CHECK(latency.p50_ns == 50'000);
    CHECK(latency.p90_ns == 90'000);
    CHECK(latency.p99_ns == 99'000);
    CHECK(latency.max_ns == 100'000);
}

TEST_CASE("pacer owes one packet per period and caps a catch-up batch")
{
    // Proves the schedule at 1000 pps: packet k due at start + k ms, bursts capped at kMaxBatchPackets.
    const Pacer pacer(1000, 5'000'000);
    CHECK(pacer.deadline_ns(0) == 5'000'000);
    CHECK(pacer.deadline_ns(3) == 8'000'000);
    CHECK(pacer.due(4'999'999, 0) == 0);
    CHECK(pacer.due(5'000'000, 0) == 1);
    CHECK(pacer.due(7'500'000, 1) == 2);
    CHECK(pacer.due(7'500'000, 3) == 0);
    CHECK(pacer.due(5'000'000 + 1'000'000'000, 0) == kMaxBatchPackets);
    const Pacer flat_out(0, 0);
    CHECK(flat_out.due(0, 123) == kMaxBatchPackets);
}

TEST_CASE("only scoped multicast and documentation ranges are allowed without --force")
{
    // Proves the safety net: 239/8, TEST-NETs, 2001:db8::/32 and transient IPv6 groups (flags 1 or 3,
    // any scope) pass; everything else is refused with a reason that names --force.
    for (const char* ok : {"239.0.0.1", "239.255.255.255", "192.0.2.7", "198.51.100.1", "203.0.113.254",
                           "2001:db8::1", "2001:db8:ffff::1", "ff15::1", "ff3e::1", "ff3e:30:2001:db8::1", "ff12::7",
                           "ff1e::1", "ff35::1"})
        CHECK_MESSAGE(!destination_refusal(*mcr::IpAddress::parse(ok)), ok);
    for (const char* bad : {"224.0.0.1", "238.255.255.255", "240.0.0.1", "10.0.0.1", "192.168.1.1",
                            "8.8.8.8", "192.0.3.1", "2001:db9::1", "2001:d00::1", "ff02::1", "ff0e::1", "ff05::1",
                            "ff25::1", "ff7e::1", "fe80::1", "::1", "2002::1", "::ffff:239.1.1.1"}) {
        const auto refusal = destination_refusal(*mcr::IpAddress::parse(bad));
        REQUIRE_MESSAGE(refusal, bad);
        CHECK(refusal->find("--force") != std::string::npos);
    }
    CHECK(*destination_refusal(*mcr::IpAddress::parse("ff0e::1")) ==
          "destination ff0e::1 is outside 2001:db8::/32 and transient IPv6 multicast ff1x::/ff3x:: "
          "(use --force to send anyway)");
}

TEST_CASE("--json reports carry the keys and values the test scripts read")
{
    // Proves the JSON contract of tests/integration/lib and bench/: names and exact values.
    ReceiveAccounting accounting;
    for (std::uint64_t seq : {0, 1, 1, 3})
        accounting.record(5, seq, 2000);
    ReceiveReport received;
    received.totals = accounting.totals(4);
    received.latency = accounting.latency();
    received.bytes = 400;
    received.corrupt = 1;
    received.socket_drops = 2;
    received.elapsed_ns = 1'500'000'000;
    received.expected = 4;
    const auto r = nlohmann::json::parse(receive_report_json(received));
    CHECK(r["received"] == 4);
    CHECK(r["unique"] == 3);
    CHECK(r["lost"] == 1);
    CHECK(r["duplicated"] == 1);
    CHECK(r["reordered"] == 0);
    CHECK(r["invalid"] == 0);
    CHECK(r["corrupt"] == 1);
    CHECK(r["bytes"] == 400);
    CHECK(r["socket_drops"] == 2);
    CHECK(r["streams"] == 1);
    CHECK(r["expected"] == 4);
    CHECK(r["elapsed_ms"] == 1500);
    CHECK(r["latency_ns"]["p99"] == 2000);
    CHECK(r["latency_ns"]["samples"] == 3);

    SendReport sent{1000, 64000, 3, 500'000'000, 77, 9};
    const auto s = nlohmann::json::parse(send_report_json(sent));
    CHECK(s["sent"] == 1000);
    CHECK(s["bytes"] == 64000);
    CHECK(s["retries"] == 3);
    CHECK(s["refused"] == 9);
    CHECK(s["elapsed_ms"] == 500);
    CHECK(s["rate_pps"] == 2000);
    CHECK(s["stream_id"] == 77);
}

TEST_CASE("mcrgen send --rtp's prefix is a valid RTP header the relay's inspector reads back")
{
    std::vector<std::byte> payload(mcr::gen::kRtpPrefixBytes + mcr::gen::kPayloadHeaderBytes);
    REQUIRE(mcr::gen::encode_rtp_prefix(0xabcdef01, 65536 + 7, payload));
    const auto header = mcr::dataplane::parse_rtp_header(
        {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
    REQUIRE(header);
    CHECK(header->sequence == 7);
    CHECK(header->timestamp == (65536U + 7U) * 90U);
    CHECK(header->ssrc == 0xabcdef01);
    CHECK(header->payload_type == 96);
    CHECK(header->payload_offset == mcr::gen::kRtpPrefixBytes);
    std::vector<std::byte> short_payload(mcr::gen::kRtpPrefixBytes - 1);
    CHECK_FALSE(mcr::gen::encode_rtp_prefix(1, 1, short_payload));
}
