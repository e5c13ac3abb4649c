// Proves the fast path's translation between IPv4 and IPv6 (v6design.md
// point 3) with BPF_PROG_TEST_RUN: a new IP header, TTL <-> hop limit,
// DSCP/ECN carried, flow label 0, the output's source address, the UDP
// checksum exact over the new pseudo-header (frames built from scratch by
// the test, checksums recomputed); rules with outputs of both families,
// every copy captured; and what the program leaves to the worker.
#include "fastpath_fixture.hpp"
#include "fastpath_frames6.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>

using namespace mcr;
using namespace mcr::test;
using fastpath::PassReason;

namespace {

// The egress interfaces' addresses a translated copy leaves from.
const IpAddress kInterface6 = IpAddress::from_ipv6(documentation6(1, 1)); // 2001:db8:1::1
const IpAddress kInterface4 = IpAddress::from_ipv4(0xcb007101);                   // 203.0.113.1

const Address16 kOutGroup6 = address6(0xff3e, 0x0202, 0x0002);

std::vector<std::uint8_t> with_tos(std::vector<std::uint8_t> frame, std::uint8_t tos)
{
    frame[15] = tos;
    refresh_ip_checksum(frame);
    return frame;
}

} // namespace

TEST_CASE("4 -> 6: a new IPv6 header with the TOS as traffic class, flow label 0, the interface's source")
{
    Relay relay = Relay::load();
    const auto output = translated_output(multicast_output6(kOutGroup6, 6000), kInterface6);
    relay.install(rule_for(kGroup, kPort, {output}));
    const auto frame = with_tos(make_udp_frame(default_spec()), 0xb9); // DSCP 46 (EF), ECN 01
    const auto run = relay.run(frame);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(run.frame == expected_copy(frame, output));
    CHECK(udp_checksum_verifies_any(run.frame));
    // The fields, one by one, beside the whole-frame comparison.
    REQUIRE(run.frame.size() == frame.size() + 20);
    CHECK(dataplane::load_be16(&run.frame[12]) == kEtherTypeIpv6);
    CHECK(dataplane::load_be32(&run.frame[14]) == ((6U << 28) | (0xb9U << 20)));
    CHECK(dataplane::load_be16(&run.frame[14 + 4]) == 8 + default_spec().payload.size());
    CHECK(run.frame[14 + 6] == 17);
    CHECK(run.frame[14 + 7] == 63);
    CHECK(std::equal(kInterface6.bytes().begin(), kInterface6.bytes().end(), run.frame.begin() + 14 + 8));
    CHECK(std::equal(kOutGroup6.begin(), kOutGroup6.end(), run.frame.begin() + 14 + 24));
    CHECK(dataplane::load_be16(&run.frame[14 + 40]) == default_spec().source_port);
    CHECK(dataplane::load_be16(&run.frame[14 + 40 + 2]) == 6000);
    CHECK(relay.traffic({kGroup, 0, kPort}).outputs.at(0).packets == 1);
}

TEST_CASE("6 -> 4: a new IPv4 header with the traffic class as TOS, id 0, DF, checksums exact")
{
    Relay relay = Relay::load();
    const auto output = translated_output(multicast_output(0xef020202, 6000), kInterface4);
    relay.install(rule6_for(kGroup6, kPort, {output}));
    FastPathFrame6Spec spec = default_spec6();
    spec.traffic_class = 0x2a;
    spec.flow_label = 0xabcde;
    const auto frame = make_fast_path_udp6_frame(spec);
    const auto run = relay.run(frame);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(run.frame == expected_copy(frame, output));
    CHECK(ip_checksum_verifies(run.frame));
    CHECK(udp_checksum_verifies_any(run.frame));
    REQUIRE(run.frame.size() == frame.size() - 20);
    CHECK(dataplane::load_be16(&run.frame[12]) == dataplane::kEtherTypeIpv4);
    CHECK(run.frame[14] == 0x45);
    CHECK(run.frame[15] == 0x2a);
    CHECK(dataplane::load_be16(&run.frame[16]) == 20 + 8 + spec.payload.size());
    CHECK(dataplane::load_be32(&run.frame[18]) == 0x00004000); // id 0, DF
    CHECK(run.frame[22] == 63);
    CHECK(dataplane::load_be32(&run.frame[26]) == 0xcb007101);
    CHECK(dataplane::load_be32(&run.frame[30]) == 0xef020202);
    // The parser the worker uses accepts it as it would a received frame.
    CHECK(dataplane::parse_frame(run.frame).kind == dataplane::FrameClass::accepted);
}

TEST_CASE("translation both ways on random frames: every copy exact, every checksum verifies")
{
    Relay relay = Relay::load();
    std::mt19937 random(4646); // fixed seed: reproducible
    for (int round = 0; round < 300; ++round) {
        CAPTURE(round);
        const std::optional<std::uint8_t> ttl =
            random() % 2 ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(1 + random() % 255)) : std::nullopt;
        const auto out_port = static_cast<std::uint16_t>(1 + random() % 65535);
        std::vector<std::uint8_t> payload(random() % 1400);
        for (auto& byte : payload)
            byte = static_cast<std::uint8_t>(random());
        if (round % 2 == 0) {
            FrameSpec spec = default_spec();
            spec.ttl = static_cast<std::uint8_t>(2 + random() % 254);
            spec.source_address = static_cast<std::uint32_t>(random());
            spec.source_port = static_cast<std::uint16_t>(random());
            spec.destination_port = static_cast<std::uint16_t>(1 + random() % 65535);
            spec.destination_address = 0xef000000U | (random() & 0xffffffU);
            spec.payload = payload;
            Address16 group = kOutGroup6;
            for (std::size_t i = 2; i < 16; ++i)
                group[i] = static_cast<std::uint8_t>(random());
            Address16 source = kSource6;
            for (std::size_t i = 8; i < 16; ++i)
                source[i] = static_cast<std::uint8_t>(random());
            const auto output =
                translated_output(multicast_output6(group, out_port, ttl), IpAddress::from_ipv6(source));
            relay.install(rule_for(spec.destination_address, spec.destination_port, {output}));
            const auto frame = with_tos(make_udp_frame(spec), static_cast<std::uint8_t>(random()));
            const auto run = relay.run(frame);
            REQUIRE(run.verdict == kVerdictRelayed);
            REQUIRE(run.frame == expected_copy(frame, output));
            REQUIRE(run.frame == userspace_copy(frame, output)); // and the worker's copy
            REQUIRE(udp_checksum_verifies_any(run.frame));
        } else {
            FastPathFrame6Spec spec = default_spec6();
            spec.hop_limit = static_cast<std::uint8_t>(2 + random() % 254);
            spec.traffic_class = static_cast<std::uint8_t>(random());
            spec.flow_label = static_cast<std::uint32_t>(random()) & 0xfffffU;
            spec.source_port = static_cast<std::uint16_t>(random());
            spec.destination_port = static_cast<std::uint16_t>(1 + random() % 65535);
            for (std::size_t i = 2; i < 16; ++i) {
                spec.destination_address[i] = static_cast<std::uint8_t>(random());
                spec.source_address[i] = static_cast<std::uint8_t>(random());
            }
            spec.payload = payload;
            const auto output =
                translated_output(multicast_output(0xef000000U | (random() & 0xffffffU), out_port, ttl),
                                  IpAddress::from_ipv4(static_cast<std::uint32_t>(random())));
            relay.install(rule6_for(spec.destination_address, spec.destination_port, {output}));
            const auto frame = make_fast_path_udp6_frame(spec);
            const auto run = relay.run(frame);
            REQUIRE(run.verdict == kVerdictRelayed);
            REQUIRE(run.frame == expected_copy(frame, output));
            REQUIRE(run.frame == userspace_copy(frame, output)); // and the worker's copy
            REQUIRE(ip_checksum_verifies(run.frame));
            REQUIRE(udp_checksum_verifies_any(run.frame));
        }
    }
}

TEST_CASE("TTL <-> hop limit: arriving - 1, the output's, and 1 for an expired one the rule forwards")
{
    Relay relay = Relay::load();
    struct Case {
        std::uint8_t arriving;
        std::optional<std::uint8_t> configured;
        std::uint8_t leaving;
    };
    for (const Case c : {Case{64, std::nullopt, 63}, Case{2, std::nullopt, 1}, Case{64, 5, 5}, Case{1, std::nullopt, 1},
                         Case{0, std::nullopt, 1}, Case{0, 200, 200}}) {
        CAPTURE(int{c.arriving});
        const auto to6 = translated_output(multicast_output6(kOutGroup6, 6000, c.configured), kInterface6);
        auto rule4 = rule_for(kGroup, kPort, {to6});
        rule4.forward_expired_ttl = true;
        relay.install(rule4);
        FrameSpec spec4 = default_spec();
        spec4.ttl = c.arriving;
        const auto run4 = relay.run(make_udp_frame(spec4));
        REQUIRE(run4.verdict == kVerdictRelayed);
        CHECK(run4.frame[14 + 7] == c.leaving);

        const auto to4 = translated_output(multicast_output(0xef020202, 6000, c.configured), kInterface4);
        auto rule6 = rule6_for(kGroup6, kPort, {to4});
        rule6.forward_expired_ttl = true;
        relay.install(rule6);
        FastPathFrame6Spec spec6 = default_spec6();
        spec6.hop_limit = c.arriving;
        const auto frame6 = make_fast_path_udp6_frame(spec6);
        const auto run6 = relay.run(frame6);
        REQUIRE(run6.verdict == kVerdictRelayed);
        CHECK(run6.frame[22] == c.leaving);
        CHECK(run6.frame == expected_copy(frame6, to4));
    }
}

namespace {

// A rule of `input` family whose outputs alternate families, every clone
// captured on lo: each copy must be the one its output describes, and count
// under its place in the rule (the program sends the input's family first).
void check_mixed_rule(bool ipv6_input)
{
    MixedFamilyRule mixed = mixed_family_rule(ipv6_input, kInterface4, kInterface6);
    std::vector<fastpath::Output>& outputs = mixed.rule.outputs;
    // A same-family copy keeps the sender's address: it needs none of its own.
    outputs[ipv6_input ? 0 : 1].source_address.reset();
    Relay relay = Relay::load();
    relay.install(mixed.rule);
    const std::vector<std::uint8_t>& frame = mixed.frame;
    const auto captured = run_capturing_clones(relay, frame, default_spec().source_port);
    if (!captured.entered) {
        MESSAGE("skipped: cannot make a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    CHECK(captured.verdict == kVerdictRelayed);
    const std::vector<std::size_t>& order = mixed.send_order;
    REQUIRE(captured.clones.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(captured.clones[i] == expected_for(frame, outputs[order[i]]));
        CHECK(udp_checksum_verifies_any(captured.clones[i]));
    }
    CHECK(captured.last == expected_for(frame, outputs[order[3]]));
    CHECK(udp_checksum_verifies_any(captured.last));
    const auto traffic = relay.traffic(ipv6_input ? match6(kGroup6, kPort) : fastpath::RuleMatch{kGroup, 0, kPort});
    CHECK(traffic.packets == 1);
    REQUIRE(traffic.outputs.size() == 4);
    for (const auto& output : traffic.outputs) {
        CHECK(output.packets == 1);
        CHECK(output.bytes == 200);
        CHECK(output.errors == 0);
    }
}

} // namespace

TEST_CASE("IPv4 in, outputs of both families: every copy exact, each counted under its output")
{
    check_mixed_rule(false);
}

TEST_CASE("IPv6 in, outputs of both families: every copy exact, each counted under its output")
{
    check_mixed_rule(true);
}

TEST_CASE("an IPv4 datagram without checksum and a translated output goes to the worker, which computes it")
{
    Relay relay = Relay::load();
    const auto same = multicast_output(0xef020202, 6000);
    relay.install(rule_for(kGroup, kPort, {same, translated_output(multicast_output6(kOutGroup6, 6000), kInterface6)}));
    FrameSpec spec = default_spec();
    spec.udp_checksum = false;
    CHECK(pass_reason_of(relay, make_udp_frame(spec)) == PassReason::translation_needs_checksum);
    CHECK(relay.traffic({kGroup, 0, kPort}).packets == 0);
    // With a checksum it is relayed; without a translated output the zero one is too.
    CHECK(relay.run(make_udp_frame(default_spec())).verdict == kVerdictRelayed);
    relay.install(rule_for(kGroup, kPort, {same}));
    const auto zero = make_udp_frame(spec);
    const auto run = relay.run(zero);
    REQUIRE(run.verdict == kVerdictRelayed);
    CHECK(run.frame == userspace_copy(zero, same));
}

TEST_CASE("MTU: a copy translated to IPv6 is 20 bytes longer, one translated to IPv4 20 bytes shorter")
{
    Relay relay = Relay::load();
    auto to6 = translated_output(multicast_output6(kOutGroup6, 6000), kInterface6);
    to6.mtu = 1280;
    relay.install(rule_for(kGroup, kPort, {to6}));
    FrameSpec spec4 = default_spec();
    spec4.payload.resize(1280 - 48 + 1); // IPv4 packet of 1261 bytes: 1281 as IPv6
    CHECK(pass_reason_of(relay, make_udp_frame(spec4)) == PassReason::too_big);
    spec4.payload.resize(1280 - 48);
    CHECK(relay.run(make_udp_frame(spec4)).verdict == kVerdictRelayed);

    auto to4 = translated_output(multicast_output(0xef020202, 6000), kInterface4);
    to4.mtu = 1000;
    relay.install(rule6_for(kGroup6, kPort, {to4, multicast_output6(kOutGroup6, 6000)}));
    FastPathFrame6Spec spec6 = default_spec6();
    spec6.payload.resize(1000 - 28 + 1); // IPv6 packet of 1021 bytes: 1001 as IPv4
    CHECK(pass_reason_of(relay, make_fast_path_udp6_frame(spec6)) == PassReason::too_big);
    spec6.payload.resize(1000 - 28);
    CHECK(relay.run(make_fast_path_udp6_frame(spec6)).verdict == kVerdictRelayed);
}

TEST_CASE("install refuses a translated output without a source address of its family, naming the field")
{
    Relay relay = Relay::load();
    const auto message = [&](const fastpath::FastRule& rule) {
        const Status status = relay.maps.install(rule);
        return status.ok() ? std::string("accepted") : status.error().message();
    };
    CHECK(message(rule_for(kGroup, kPort, {multicast_output(0xef020202, 1), multicast_output6(kOutGroup6, 2)})) ==
          "outputs[1].source_address: a translated copy needs the egress interface's address of its family");
    CHECK(message(rule_for(kGroup, kPort, {translated_output(multicast_output6(kOutGroup6, 2), kInterface4)})) ==
          "outputs[0].source_address: must be of the destination's family");
    auto mixed_match = rule_for(kGroup, kPort, {multicast_output(0xef020202, 1)});
    mixed_match.match.source = IpAddress::from_ipv6(kSource6);
    CHECK(message(mixed_match) == "match.source: must be of the group's family");
    CHECK(relay.maps.size() == 0);
}

namespace {

// Runs a command in the calling thread's network namespace (fork copies
// it); true when it exits 0.
bool sh(const std::string& command)
{
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

dataplane::MacAddress mac_of(const char* interface)
{
    dataplane::MacAddress mac{};
    unique_fd control(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", interface);
    if (control && ioctl(control.get(), SIOCGIFHWADDR, &request) == 0)
        std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
    return mac;
}

unique_fd udp_receiver(const IpAddress& address, std::uint16_t port)
{
    const bool v6 = !address.is_ipv4();
    unique_fd fd(socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (v6) {
        auto* to = reinterpret_cast<sockaddr_in6*>(&storage);
        to->sin6_family = AF_INET6;
        to->sin6_port = htons(port);
        std::memcpy(&to->sin6_addr, address.bytes().data(), 16);
        length = sizeof(*to);
    } else {
        auto* to = reinterpret_cast<sockaddr_in*>(&storage);
        to->sin_family = AF_INET;
        to->sin_port = htons(port);
        to->sin_addr.s_addr = htonl(address.ipv4());
        length = sizeof(*to);
    }
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0)
        return {};
    return fd;
}

// Datagrams a receiver got, as strings.
std::vector<std::string> drain(const unique_fd& fd)
{
    std::vector<std::string> got;
    char buffer[2048];
    pollfd wait{fd.get(), POLLIN, 0};
    while (poll(&wait, 1, 300) > 0) {
        const ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
        if (n >= 0)
            got.emplace_back(buffer, static_cast<std::size_t>(n));
    }
    return got;
}

// The UDP InCsumErrors counters of the namespace (IPv4 and IPv6 summed).
long checksum_errors()
{
    long total = 0;
    std::ifstream snmp("/proc/net/snmp");
    std::string line;
    std::vector<std::string> header;
    while (std::getline(snmp, line)) {
        if (line.rfind("Udp: ", 0) != 0)
            continue;
        std::istringstream words(line);
        std::vector<std::string> fields{std::istream_iterator<std::string>(words), {}};
        if (header.empty()) {
            header = fields;
            continue;
        }
        for (std::size_t i = 0; i < fields.size() && i < header.size(); ++i)
            if (header[i] == "InCsumErrors")
                total += std::stol(fields[i]);
    }
    std::ifstream snmp6("/proc/net/snmp6");
    std::string name;
    long value = 0;
    while (snmp6 >> name >> value)
        if (name == "Udp6InCsumErrors")
            total += value;
    return total;
}

} // namespace

TEST_CASE("attached to veths of a throw-away netns: the receiving kernel verifies every copy's checksum")
{
    // a0 (sender: sockets to 239.1.1.1 and ff3e::1:1, port 5000) -> a1 ingress: tcx program
    //   -> redirect/clone to b0 (no checksum offload: a CHECKSUM_PARTIAL copy is
    //   completed in software) -> b1 (no receive offload: the UDP layer verifies
    //   every checksum), where each output's socket listens on b1's addresses.
    // Run once with a0's checksum offload on (the program sees CHECKSUM_PARTIAL
    // skbs, as from any local sender) and once off (complete checksums).
    const IpAddress b1_v4 = IpAddress::from_ipv4(0xc6336402);                          // 198.51.100.2
    const IpAddress b1_v6 = IpAddress::from_ipv6(documentation6(2, 2));                 // 2001:db8:2::2
    std::map<std::string, std::vector<std::vector<std::string>>> received; // offload -> per output
    std::map<std::string, long> errors;
    bool set_up = false;
    const bool entered = in_throwaway_netns([&] {
        set_up = sh("ip link add a0 type veth peer name a1") && sh("ip link add b0 type veth peer name b1") &&
                 sh("ip addr add 192.0.2.1/24 dev a0") && sh("ip addr add 2001:db8:1::1/64 dev a0 nodad") &&
                 sh("ip addr add 198.51.100.2/24 dev b1") && sh("ip addr add 2001:db8:2::2/64 dev b1 nodad") &&
                 sh("ethtool -K b0 tx off") && sh("ethtool -K b1 rx off") &&
                 // The same-family copies keep the sender's source, local here (a0).
                 sh("sysctl -qw net.ipv4.conf.all.accept_local=1") && sh("sysctl -qw net.ipv4.conf.b1.accept_local=1") &&
                 sh("sysctl -qw net.ipv4.conf.all.rp_filter=0") && sh("sysctl -qw net.ipv4.conf.b1.rp_filter=0") &&
                 sh("ip link set a0 up") &&
                 sh("ip link set a1 up") && sh("ip link set b0 up") && sh("ip link set b1 up");
        if (!set_up)
            return;
        auto program = fastpath::Program::load();
        if (!program)
            return;
        auto maps = fastpath::RuleMaps::open(std::move(program->map_fds()).value());
        auto link = program->attach_ingress(static_cast<int>(if_nametoindex("a1")));
        if (!maps || !link)
            return;
        const int b0 = static_cast<int>(if_nametoindex("b0"));
        const auto to = [&](const IpAddress& address, std::uint16_t port, std::optional<IpAddress> source) {
            fastpath::Output output;
            output.ifindex = b0;
            output.destination_mac = mac_of("b1");
            output.source_mac = mac_of("b0");
            output.destination_address = address;
            output.destination_port = port;
            output.source_address = source;
            return output;
        };
        const IpAddress source4 = IpAddress::from_ipv4(0xc0000263);                   // 192.0.2.99
        const IpAddress source6 = IpAddress::from_ipv6(documentation6(2, 0x99));         // 2001:db8:2::99
        set_up = maps->install(rule_for(kGroup, kPort, {to(b1_v4, 6001, {}), to(b1_v6, 6002, source6)})).ok() &&
                 maps->install(rule6_for(kGroup6, kPort, {to(b1_v6, 6003, {}), to(b1_v4, 6004, source4)})).ok();
        std::vector<unique_fd> receivers;
        receivers.push_back(udp_receiver(b1_v4, 6001));
        receivers.push_back(udp_receiver(b1_v6, 6002));
        receivers.push_back(udp_receiver(b1_v6, 6003));
        receivers.push_back(udp_receiver(b1_v4, 6004));
        for (const auto& receiver : receivers)
            set_up = set_up && receiver;
        unique_fd sender4(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        unique_fd sender6(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        const int a0 = static_cast<int>(if_nametoindex("a0"));
        ip_mreqn interface4{};
        interface4.imr_ifindex = a0;
        const int hops = 16; // not the multicast default of 1: the program would pass it as ttl-expired
        set_up = set_up && setsockopt(sender4.get(), IPPROTO_IP, IP_MULTICAST_IF, &interface4, sizeof(interface4)) == 0 &&
                 setsockopt(sender6.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &a0, sizeof(a0)) == 0 &&
                 setsockopt(sender4.get(), IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof(hops)) == 0 &&
                 setsockopt(sender6.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) == 0;
        if (!set_up)
            return;
        for (const char* offload : {"on", "off"}) {
            if (!sh(std::string("ethtool -K a0 tx ") + offload))
                continue;
            sockaddr_in group4{};
            group4.sin_family = AF_INET;
            group4.sin_port = htons(kPort);
            group4.sin_addr.s_addr = htonl(kGroup);
            sockaddr_in6 group6{};
            group6.sin6_family = AF_INET6;
            group6.sin6_port = htons(kPort);
            std::memcpy(&group6.sin6_addr, kGroup6.data(), 16);
            for (int i = 0; i < 3; ++i) {
                const std::string payload4 = std::string("four ") + offload + std::to_string(i) + std::string(300, 'x');
                const std::string payload6 = std::string("six ") + offload + std::to_string(i) + std::string(301, 'y');
                (void)sendto(sender4.get(), payload4.data(), payload4.size(), 0,
                             reinterpret_cast<sockaddr*>(&group4), sizeof(group4));
                (void)sendto(sender6.get(), payload6.data(), payload6.size(), 0,
                             reinterpret_cast<sockaddr*>(&group6), sizeof(group6));
            }
            for (const auto& receiver : receivers)
                received[offload].push_back(drain(receiver));
            errors[offload] = checksum_errors();
        }
    });
    if (!entered) {
        MESSAGE("skipped: cannot make a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    REQUIRE(set_up);
    for (const std::string offload : {"on", "off"}) {
        CAPTURE(offload);
        REQUIRE(received[offload].size() == 4);
        for (std::size_t output = 0; output < 4; ++output) {
            CAPTURE(output);
            const auto& got = received[offload][output];
            REQUIRE(got.size() == 3);
            for (int i = 0; i < 3; ++i) {
                const std::string expected = output < 2 ? std::string("four ") + offload + std::to_string(i) + std::string(300, 'x')
                                                        : std::string("six ") + offload + std::to_string(i) + std::string(301, 'y');
                CHECK(got[static_cast<std::size_t>(i)] == expected);
            }
        }
        CHECK(errors[offload] == 0);
    }
}
