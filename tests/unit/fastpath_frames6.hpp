// Test helper for the fast path's IPv6 and translation tests: IPv6 UDP frames
// built from scratch, the copy v6design.md (points 2-4) describes for any
// frame and output built from scratch too (never by the code under test),
// checksum checks by recomputation, and a run that captures every output's
// copy, clones included, from lo of a throw-away netns.
#pragma once

#include "fastpath_fixture.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <vector>

namespace mcr::test {

using Address16 = std::array<std::uint8_t, 16>;

inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::size_t kIpv6HeaderBytes = 40;

// ff3e::1:1, the IPv6 rule's group in these tests.
inline const Address16 kGroup6 = {0xff, 0x3e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
// 2001:db8::2, the sender.
inline const Address16 kSource6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

inline Address16 address6(std::uint16_t first, std::uint16_t last, std::uint16_t second_last = 0)
{
    Address16 bytes{};
    dataplane::store_be16(&bytes[0], first);
    dataplane::store_be16(&bytes[12], second_last);
    dataplane::store_be16(&bytes[14], last);
    return bytes;
}

// 2001:db8:<subnet>::<last>, a documentation address (RFC 3849).
inline Address16 documentation6(std::uint16_t subnet, std::uint16_t last)
{
    Address16 bytes = {0x20, 0x01, 0x0d, 0xb8};
    dataplane::store_be16(&bytes[4], subnet);
    dataplane::store_be16(&bytes[14], last);
    return bytes;
}

struct FastPathFrame6Spec {
    Address16 source_address = kSource6;
    Address16 destination_address = kGroup6;
    std::uint16_t source_port = 40000;
    std::uint16_t destination_port = 5000;
    std::uint8_t hop_limit = 64;
    std::uint8_t traffic_class = 0;
    std::uint32_t flow_label = 0;
    bool udp_checksum = true; // false: 0, which IPv6 does not allow
    std::vector<std::uint8_t> payload = hello_payload();
};

[[gnu::noinline]] inline FastPathFrame6Spec default_spec6()
{
    return FastPathFrame6Spec{};
}

// The UDP checksum over an IPv6 pseudo-header (RFC 8200 8.1), from scratch;
// over a datagram whose checksum field is filled in, 0 when it verifies.
inline std::uint16_t fast_path_udp6_checksum(const std::uint8_t* source, const std::uint8_t* destination,
                                                const std::uint8_t* udp, std::size_t udp_length)
{
    std::uint8_t pseudo[40] = {};
    std::copy(source, source + 16, pseudo);
    std::copy(destination, destination + 16, pseudo + 16);
    dataplane::store_be32(pseudo + 32, static_cast<std::uint32_t>(udp_length));
    pseudo[39] = dataplane::kIpProtocolUdp;
    std::uint32_t sum = dataplane::checksum_accumulate(pseudo, 0);
    sum = dataplane::checksum_accumulate({udp, udp_length}, sum);
    return static_cast<std::uint16_t>(~dataplane::checksum_fold(sum));
}

inline std::vector<std::uint8_t> make_fast_path_udp6_frame(const FastPathFrame6Spec& spec)
{
    const std::size_t udp_length = 8 + spec.payload.size();
    std::vector<std::uint8_t> f(14 + kIpv6HeaderBytes + udp_length, 0);
    f[0] = 0x33;
    f[1] = 0x33;
    std::copy(spec.destination_address.begin() + 12, spec.destination_address.end(), f.begin() + 2);
    f[6] = 0x02;
    f[11] = 0x01;
    dataplane::store_be16(&f[12], kEtherTypeIpv6);
    std::uint8_t* ip = &f[14];
    dataplane::store_be32(ip, (6U << 28) | (std::uint32_t{spec.traffic_class} << 20) | (spec.flow_label & 0xfffffU));
    dataplane::store_be16(ip + 4, static_cast<std::uint16_t>(udp_length));
    ip[6] = dataplane::kIpProtocolUdp;
    ip[7] = spec.hop_limit;
    std::copy(spec.source_address.begin(), spec.source_address.end(), ip + 8);
    std::copy(spec.destination_address.begin(), spec.destination_address.end(), ip + 24);
    std::uint8_t* udp = ip + kIpv6HeaderBytes;
    dataplane::store_be16(udp, spec.source_port);
    dataplane::store_be16(udp + 2, spec.destination_port);
    dataplane::store_be16(udp + 4, static_cast<std::uint16_t>(udp_length));
    std::copy(spec.payload.begin(), spec.payload.end(), udp + 8);
    if (spec.udp_checksum) {
        const std::uint16_t c = fast_path_udp6_checksum(ip + 8, ip + 24, udp, udp_length);
        dataplane::store_be16(udp + 6, c == 0 ? std::uint16_t{0xffff} : c);
    }
    return f;
}

inline bool is_ipv6_frame(std::span<const std::uint8_t> frame)
{
    return frame.size() >= 14 && dataplane::load_be16(&frame[12]) == kEtherTypeIpv6;
}

// The frame's UDP checksum verifies over its pseudo-header (either family);
// a checksum of 0 never does (IPv6 forbids it; for IPv4 it means "none").
inline bool udp_checksum_verifies_any(std::span<const std::uint8_t> frame)
{
    if (is_ipv6_frame(frame)) {
        const std::uint8_t* ip = &frame[14];
        const std::uint8_t* udp = ip + kIpv6HeaderBytes;
        const std::size_t udp_length = dataplane::load_be16(ip + 4);
        return dataplane::load_be16(udp + 6) != 0 && fast_path_udp6_checksum(ip + 8, ip + 24, udp, udp_length) == 0;
    }
    const std::vector<std::uint8_t> copy(frame.begin(), frame.end());
    return dataplane::load_be16(&frame[40]) != 0 && udp_checksum_verifies(copy);
}

// Out of line: inlined into long test bodies, GCC 12 -O2 warns (wrongly)
// that a disengaged optional hop limit may be read.
[[gnu::noinline]] inline fastpath::Output multicast_output6(const Address16& group, std::uint16_t port,
                                          std::optional<std::uint8_t> hop_limit = std::nullopt,
                                          int ifindex = kNoSuchIfindex)
{
    fastpath::Output output;
    output.ifindex = ifindex;
    output.destination_mac = {0x33, 0x33, group[12], group[13], group[14], group[15]};
    output.source_mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    output.destination_address = IpAddress::from_ipv6(group);
    output.destination_port = port;
    if (hop_limit)
        output.ttl = *hop_limit;
    return output;
}

// An output translated into the other family, from the egress interface's address.
inline fastpath::Output translated_output(fastpath::Output output, const IpAddress& interface_address)
{
    output.source_address = interface_address;
    return output;
}

inline fastpath::FastRule rule6_for(const Address16& group, std::uint16_t port, std::vector<fastpath::Output> outputs,
                                    std::optional<Address16> source = std::nullopt)
{
    fastpath::FastRule rule;
    rule.match = fastpath::RuleMatch{IpAddress::from_ipv6(group),
                                     source ? std::optional(IpAddress::from_ipv6(*source)) : std::nullopt, port};
    rule.outputs = std::move(outputs);
    return rule;
}

inline fastpath::RuleMatch match6(const Address16& group, std::uint16_t port, std::optional<Address16> source = std::nullopt)
{
    return fastpath::RuleMatch{IpAddress::from_ipv6(group),
                               source ? std::optional(IpAddress::from_ipv6(*source)) : std::nullopt, port};
}

// The copy of `frame` (IPv4 without options or IPv6 without extension
// headers; UDP) that `output` should get, from scratch as v6design.md says:
// the family of the output's destination; TTL/hop limit arriving - 1 (at
// least 1) or the output's; a same-family IPv6 copy keeps word 0 (traffic
// class, flow label); a translated one carries DSCP/ECN with flow label 0,
// an IPv4 one gets id 0 and DF, and its source is the output's
// source_address; the UDP checksum computed over the new pseudo-header
// (a computed 0 sent as 0xffff). Same-family IPv4 copies are the worker's
// (userspace_copy()), which this does not replace.
inline std::vector<std::uint8_t> expected_copy(std::span<const std::uint8_t> frame, const fastpath::Output& output)
{
    const bool in6 = is_ipv6_frame(frame);
    const std::uint8_t* ip = &frame[14];
    const std::size_t in_header = in6 ? kIpv6HeaderBytes : 20;
    const std::uint8_t* udp_in = ip + in_header;
    const std::size_t udp_length = dataplane::load_be16(udp_in + 4);
    const std::uint8_t arriving_ttl = in6 ? ip[7] : ip[8];
    const std::uint8_t traffic_class =
        in6 ? static_cast<std::uint8_t>((ip[0] << 4) | (ip[1] >> 4)) : ip[1];
    const std::uint8_t ttl = output.ttl ? *output.ttl : static_cast<std::uint8_t>(arriving_ttl > 1 ? arriving_ttl - 1 : 1);
    const bool out6 = !output.destination_address.is_ipv4();
    const std::size_t out_header = out6 ? kIpv6HeaderBytes : 20;

    std::vector<std::uint8_t> copy(14 + out_header + udp_length, 0);
    std::copy(output.destination_mac.begin(), output.destination_mac.end(), copy.begin());
    std::copy(output.source_mac.begin(), output.source_mac.end(), copy.begin() + 6);
    dataplane::store_be16(&copy[12], out6 ? kEtherTypeIpv6 : dataplane::kEtherTypeIpv4);
    std::uint8_t* header = &copy[14];
    const auto& destination = output.destination_address.bytes();
    if (out6) {
        if (in6) {
            std::copy(ip, ip + kIpv6HeaderBytes, header);
        } else {
            header[0] = static_cast<std::uint8_t>(0x60 | (traffic_class >> 4));
            header[1] = static_cast<std::uint8_t>(traffic_class << 4);
            dataplane::store_be16(header + 4, static_cast<std::uint16_t>(udp_length));
            header[6] = dataplane::kIpProtocolUdp;
            const auto& source = output.source_address.value().bytes();
            std::copy(source.begin(), source.end(), header + 8);
        }
        header[7] = ttl;
        std::copy(destination.begin(), destination.end(), header + 24);
    } else {
        REQUIRE(in6); // same-family IPv4 is userspace_copy()'s
        header[0] = 0x45;
        header[1] = traffic_class;
        dataplane::store_be16(header + 2, static_cast<std::uint16_t>(20 + udp_length));
        dataplane::store_be16(header + 6, 0x4000); // DF, id 0
        header[8] = ttl;
        header[9] = dataplane::kIpProtocolUdp;
        const auto& source = output.source_address.value().bytes();
        std::copy(source.begin(), source.begin() + 4, header + 12);
        std::copy(destination.begin(), destination.begin() + 4, header + 16);
        dataplane::store_be16(header + 10, dataplane::internet_checksum({header, 20}));
    }
    std::uint8_t* udp = header + out_header;
    std::copy(udp_in, udp_in + udp_length, udp);
    dataplane::store_be16(udp + 2, output.destination_port);
    dataplane::store_be16(udp + 6, 0);
    const std::uint16_t checksum =
        out6 ? fast_path_udp6_checksum(header + 8, header + 24, udp, udp_length)
             : udp_checksum_from_scratch(dataplane::load_be32(header + 12), dataplane::load_be32(header + 16), udp,
                                         udp_length);
    dataplane::store_be16(udp + 6, checksum == 0 ? std::uint16_t{0xffff} : checksum);
    return copy;
}

// What each output of a rule should get, in the rule's order.
inline std::vector<std::uint8_t> expected_for(std::span<const std::uint8_t> frame, const fastpath::Output& output)
{
    const bool same_ipv4 = !is_ipv6_frame(frame) && output.destination_address.is_ipv4();
    return same_ipv4 ? userspace_copy(frame, output) : expected_copy(frame, output);
}

// lo's index in any network namespace.
inline constexpr int kLoopbackIfindex = 1;

// One run whose clones went to lo of a throw-away netns: what lo received,
// in the order sent, and the frame the last output left with.
struct CapturedRun {
    bool entered = false;
    int verdict = 0;
    std::vector<std::uint8_t> last;
    std::vector<std::vector<std::uint8_t>> clones;
};

// Runs `frame` through `relay` on a thread in a throw-away netns, where the
// outputs' ifindex kLoopbackIfindex is that netns's lo: each clone is sent
// there and read back by an ETH_P_ALL socket (frames of UDP source port
// `source_port` only: nothing else of the netns's own traffic).
inline CapturedRun run_capturing_clones(const Relay& relay, const std::vector<std::uint8_t>& frame,
                                        std::uint16_t source_port)
{
    CapturedRun captured;
    captured.entered = in_throwaway_netns([&] {
        unique_fd tap(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)));
        if (!tap)
            return;
        sockaddr_ll address{};
        address.sll_family = AF_PACKET;
        address.sll_protocol = htons(ETH_P_ALL);
        address.sll_ifindex = kLoopbackIfindex;
        const int one = 1;
        if (setsockopt(tap.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0 ||
            bind(tap.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
            return;
        auto run = relay.program.test_run(frame);
        if (!run)
            return;
        captured.verdict = run->verdict;
        captured.last = run->frame;
        std::uint8_t buffer[70000];
        pollfd wait{tap.get(), POLLIN, 0};
        while (poll(&wait, 1, 200) > 0) {
            const ssize_t n = recv(tap.get(), buffer, sizeof(buffer), 0);
            if (n < 14)
                continue;
            const std::span<const std::uint8_t> got(buffer, static_cast<std::size_t>(n));
            const std::size_t udp = is_ipv6_frame(got) ? 14 + kIpv6HeaderBytes : 14 + 20;
            if (got.size() >= udp + 8 && dataplane::load_be16(&got[udp]) == source_port)
                captured.clones.emplace_back(got.begin(), got.end());
        }
    });
    return captured;
}

// A rule whose outputs on lo of the capture netns alternate families, IPv6
// first: ff3e::2:a port 6001, 239.2.2.11 port 6002, ff3e::2:c port 6003,
// 239.2.2.13 port 6004 (hop limit 33 on the IPv6 ones), each with the
// egress interface's address of its family as its source (only a
// translated copy uses it); and a frame for its input: 200 bytes of
// payload, DSCP/ECN 0x88. send_order: the rule's output indices in the
// order the program sends the copies (the input's family first, each family
// in the rule's order).
struct MixedFamilyRule {
    fastpath::FastRule rule;
    std::vector<std::uint8_t> frame;
    std::vector<std::size_t> send_order;
};

inline MixedFamilyRule mixed_family_rule(bool ipv6_input, const IpAddress& interface4, const IpAddress& interface6)
{
    const auto v4 = [&](std::uint32_t group, std::uint16_t port) {
        auto output = multicast_output(group, port, std::nullopt, kLoopbackIfindex);
        output.source_address = interface4;
        return output;
    };
    const auto v6 = [&](std::uint16_t last, std::uint16_t port) {
        auto output = multicast_output6(address6(0xff3e, last, 0x0002), port, std::uint8_t{33}, kLoopbackIfindex);
        output.source_address = interface6;
        return output;
    };
    std::vector<fastpath::Output> outputs = {v6(0xa, 6001), v4(0xef02020b, 6002), v6(0xc, 6003),
                                             v4(0xef02020d, 6004)};
    MixedFamilyRule mixed;
    mixed.send_order = ipv6_input ? std::vector<std::size_t>{0, 2, 1, 3} : std::vector<std::size_t>{1, 3, 0, 2};
    if (ipv6_input) {
        mixed.rule = rule6_for(kGroup6, kPort, std::move(outputs));
        FastPathFrame6Spec spec = default_spec6();
        spec.traffic_class = 0x88;
        spec.payload.assign(200, 0x77);
        mixed.frame = make_fast_path_udp6_frame(spec);
    } else {
        mixed.rule = rule_for(kGroup, kPort, std::move(outputs));
        FrameSpec spec = default_spec();
        spec.tos = 0x88;
        spec.payload.assign(200, 0x77);
        mixed.frame = make_udp_frame(spec);
    }
    return mixed;
}

} // namespace mcr::test
