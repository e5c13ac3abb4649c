// Proves the frames of `mcrgen send --raw`: byte-exact Ethernet/IPv4/IPv6/UDP
// headers, group MACs, and UDP checksums that a from-scratch sum (written
// here, not dataplane's) accepts for every stamped sequence number.
#include "mcrgen/payload_header.hpp"
#include "mcrgen/raw_frames.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mcr::gen;
using mcr::IpAddress;
using mcr::dataplane::kEthernetHeaderBytes;
using mcr::dataplane::kEtherTypeIpv4;
using mcr::dataplane::kIpv4MinHeaderBytes;
using mcr::dataplane::kIpv6HeaderBytes;

namespace {

std::vector<std::byte> from_hex(const std::string& hex)
{
    std::vector<std::byte> bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes.push_back(static_cast<std::byte>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return bytes;
}

// RFC 1071 from scratch: 16-bit big-endian words, an odd byte padded.
std::uint64_t word_sum(const std::vector<std::byte>& bytes, std::size_t from, std::size_t length)
{
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < length; i += 2) {
        const auto high = std::to_integer<std::uint64_t>(bytes[from + i]);
        const auto low = i + 1 < length ? std::to_integer<std::uint64_t>(bytes[from + i + 1]) : 0;
        sum += (high << 8) | low;
    }
    return sum;
}

std::uint64_t folded(std::uint64_t sum)
{
    while ((sum >> 16) != 0)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

std::size_t load16(const std::vector<std::byte>& bytes, std::size_t at)
{
    return (std::to_integer<std::size_t>(bytes[at]) << 8) | std::to_integer<std::size_t>(bytes[at + 1]);
}

// A datagram is good when pseudo-header + UDP header + payload sum to all
// ones (the receiver's check) and the checksum field is not 0.
bool udp_checksum_good(const std::vector<std::byte>& frame)
{
    const bool ipv4 = load16(frame, 12) == kEtherTypeIpv4;
    const std::size_t ip = kEthernetHeaderBytes;
    const std::size_t udp = ip + (ipv4 ? kIpv4MinHeaderBytes : kIpv6HeaderBytes);
    const std::size_t udp_length = load16(frame, udp + 4);
    const std::size_t address_bytes = ipv4 ? 8 : 32;
    const std::uint64_t sum = word_sum(frame, ip + (ipv4 ? 12 : 8), address_bytes) + 17 + udp_length +
                              word_sum(frame, udp, udp_length);
    return folded(sum) == 0xffff && load16(frame, udp + 6) != 0 && udp + udp_length == frame.size();
}

bool ipv4_header_checksum_good(const std::vector<std::byte>& frame)
{
    return folded(word_sum(frame, kEthernetHeaderBytes, kIpv4MinHeaderBytes)) == 0xffff;
}

constexpr MacAddress kSourceMac{0x02, 0, 0, 0, 0, 0x01};

RawFrameSpec spec_for(const char* source, const char* group, std::uint8_t ttl, std::size_t stamped_bytes)
{
    RawFrameSpec spec;
    spec.source_mac = kSourceMac;
    spec.destination = *IpAddress::parse(group);
    spec.destination_mac = *multicast_mac(spec.destination);
    spec.source = *IpAddress::parse(source);
    spec.source_port = 5000;
    spec.destination_port = 5000;
    spec.ttl = ttl;
    spec.stamped_bytes = stamped_bytes;
    return spec;
}

// The payload mcrgen sends: header bytes (zero until stamped), then i % 251.
std::vector<std::byte> payload_of(std::size_t bytes, std::size_t stamped_bytes)
{
    std::vector<std::byte> payload(bytes);
    for (std::size_t i = stamped_bytes; i < bytes; ++i)
        payload[i] = static_cast<std::byte>((i - stamped_bytes) % 251);
    return payload;
}

std::vector<std::byte> stamped_frame(const RawFrameTemplate& frame, std::uint64_t sequence, std::uint64_t sent_ns)
{
    std::vector<std::byte> bytes = frame.bytes();
    REQUIRE(encode_payload_header(PayloadHeader{0x01020304, sequence, sent_ns},
                                  std::span(bytes).subspan(frame.payload_offset())));
    frame.seal(bytes);
    return bytes;
}

} // namespace

TEST_CASE("MAC addresses parse, print, and map from groups as RFC 1112 and RFC 2464 say")
{
    // Proves --dst-mac parsing (both cases, exact format only) and the group MACs.
    CHECK(parse_mac("02:aB:cd:EF:00:09") == MacAddress{0x02, 0xab, 0xcd, 0xef, 0x00, 0x09});
    CHECK(mac_to_string(*parse_mac("02:AB:cd:ef:00:09")) == "02:ab:cd:ef:00:09");
    for (const char* bad : {"", "02:ab:cd:ef:00", "02:ab:cd:ef:00:09:", "02-ab-cd-ef-00-09", "02:ab:cd:ef:00:0g",
                            "2:ab:cd:ef:00:091", "02:ab:cd:ef:00:09 "})
        CHECK_MESSAGE(!parse_mac(bad), bad);
    // 239.129.2.3: the 24th bit from the right is dropped (0x81 -> 0x01).
    CHECK(multicast_mac(*IpAddress::parse("239.129.2.3")) == MacAddress{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03});
    CHECK(multicast_mac(*IpAddress::parse("ff3e::aabb:ccdd")) == MacAddress{0x33, 0x33, 0xaa, 0xbb, 0xcc, 0xdd});
    CHECK(!multicast_mac(*IpAddress::parse("192.0.2.1")));
    CHECK(!multicast_mac(*IpAddress::parse("2001:db8::1")));
}

TEST_CASE("an IPv4 frame is byte-exact and both checksums verify from scratch")
{
    // Proves Ethernet + IPv4 (DF, id 0, TTL, header checksum) + UDP against
    // a frame built independently (Python struct, by hand) for sequence 7.
    const RawFrameTemplate frame(spec_for("192.0.2.2", "239.1.2.3", 16, kPayloadHeaderBytes),
                                 payload_of(64, kPayloadHeaderBytes));
    CHECK(frame.payload_offset() == 42);
    CHECK(frame.bytes().size() == 106);
    CHECK(raw_frame_bytes(*IpAddress::parse("239.1.2.3"), 64) == 106);
    const auto bytes = stamped_frame(frame, 7, 42);
    const auto expected = from_hex("01005e010203020000000001080045" "00005c000040001011b78ac0000202ef010203"
                                   "13881388004803f4" "4d435247010203040000000000000007000000000000002a");
    CHECK(std::vector(bytes.begin(), bytes.begin() + 66) == expected);
    for (std::size_t i = 66; i < bytes.size(); ++i)
        CHECK(bytes[i] == static_cast<std::byte>((i - 66) % 251));
    CHECK(ipv4_header_checksum_good(bytes));
    CHECK(udp_checksum_good(bytes));
    // The unstamped template is itself a valid frame.
    CHECK(ipv4_header_checksum_good(frame.bytes()));
    CHECK(udp_checksum_good(frame.bytes()));
}

TEST_CASE("an IPv6 frame is byte-exact and its UDP checksum verifies from scratch")
{
    // Proves Ethernet + IPv6 (payload length, next header, hop limit) + UDP
    // with the IPv6 pseudo-header, against an independently built frame.
    const RawFrameTemplate frame(spec_for("2001:db8:1::2", "ff3e::1:2", 9, kPayloadHeaderBytes),
                                 payload_of(64, kPayloadHeaderBytes));
    CHECK(frame.payload_offset() == 62);
    CHECK(frame.bytes().size() == 126);
    const auto bytes = stamped_frame(frame, 7, 42);
    const auto expected = from_hex("333300010002020000000001" "86dd" "600000000048110920010db80001000000000000"
                                   "00000002ff3e000000000000000000000001000213881388004889fd"
                                   "4d435247010203040000000000000007000000000000002a");
    CHECK(std::vector(bytes.begin(), bytes.begin() + 86) == expected);
    CHECK(udp_checksum_good(bytes));
    CHECK(udp_checksum_good(frame.bytes()));
}

TEST_CASE("the per-packet checksum equals a full recompute for every stamped sequence")
{
    // Proves seal() (stamped bytes summed onto the kept rest) is right for
    // both families, an odd payload length, the RTP-prefixed layout and the
    // all-ones substitute for a computed zero (hit on purpose below).
    struct Case {
        const char* source;
        const char* group;
        std::size_t payload_bytes;
        std::size_t stamped_bytes;
    };
    for (const Case c : {Case{"192.0.2.2", "239.1.2.3", 64, kPayloadHeaderBytes},
                         Case{"203.0.113.9", "239.255.0.1", 1401, kPayloadHeaderBytes},
                         Case{"2001:db8:1::2", "ff3e::1:2", 64, kPayloadHeaderBytes},
                         Case{"2001:db8:ffff::1", "ff15::9", 513, kRtpPrefixBytes + kPayloadHeaderBytes}}) {
        CAPTURE(c.group);
        CAPTURE(c.payload_bytes);
        const RawFrameTemplate frame(spec_for(c.source, c.group, 64, c.stamped_bytes),
                                     payload_of(c.payload_bytes, c.stamped_bytes));
        const std::size_t header_offset = c.stamped_bytes - kPayloadHeaderBytes;
        std::vector<std::byte> bytes = frame.bytes();
        const auto payload = std::span(bytes).subspan(frame.payload_offset());
        const std::size_t checksum_at = frame.payload_offset() - 2;
        std::uint64_t bad = 0;
        std::uint64_t all_ones = 0;
        for (std::uint64_t sequence = 0; sequence < 150'000; ++sequence) {
            if (header_offset > 0)
                REQUIRE(encode_rtp_prefix(0xfeedbeef, sequence, payload));
            REQUIRE(encode_payload_header(PayloadHeader{0xfeedbeef, sequence, 1'000'000 + sequence * 997},
                                          payload.subspan(header_offset)));
            frame.seal(bytes);
            bad += udp_checksum_good(bytes) ? 0 : 1;
            all_ones += load16(bytes, checksum_at) == 0xffff ? 1 : 0;
        }
        CHECK(bad == 0);
        CHECK(all_ones > 0);
    }
}
