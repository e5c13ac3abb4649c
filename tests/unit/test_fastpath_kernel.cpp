// Proves the fast path against the kernel beyond single frames: rule
// versions switch whole, maps survive their owner, the fuzz corpus runs
// through the program, loading needs exactly CAP_BPF + CAP_NET_ADMIN, and on
// a real (throw-away) interface a relayed frame never reaches the worker's
// kind of packet socket.
#include "fastpath_fixture.hpp"
#include "frame_builder.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <thread>

using namespace mcr;
using namespace mcr::test;
using fastpath::PassReason;

namespace {


struct CapFree {
    void operator()(void* caps) const noexcept { (void)cap_free(caps); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

// Runs `body` on a thread whose effective set holds only `effective`:
// capabilities are per thread, so the test's main thread keeps its own.
template <typename Body>
bool with_effective_capabilities(std::vector<cap_value_t> effective, Body body)
{
    bool applied = false;
    std::thread thread([&] {
        CapPtr caps(cap_get_proc());
        if (!caps || cap_clear_flag(caps.get(), CAP_EFFECTIVE) != 0)
            return;
        if (!effective.empty() && cap_set_flag(caps.get(), CAP_EFFECTIVE, static_cast<int>(effective.size()),
                                               effective.data(), CAP_SET) != 0)
            return;
        applied = cap_set_proc(caps.get()) == 0;
        if (applied)
            body();
    });
    thread.join();
    return applied;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The relay's verdict on one frame must be one of the two allowed outcomes;
// `output` is the one output of the frame's rule, null when it has none.
void check_relayed_identically_or_passed(Relay& relay, const std::vector<std::uint8_t>& frame,
                                         const fastpath::Output* output)
{
    const auto before = relay.passes();
    const auto run = relay.run(frame);
    if (run.verdict == kVerdictRelayed) {
        REQUIRE(output != nullptr);
        const auto expected = userspace_copy(frame, *output);
        CHECK_FALSE(expected.empty());
        CHECK(run.frame == expected);
        CHECK(relay.passes() == before);
    } else {
        CHECK(run.verdict == kVerdictToStack);
        CHECK(run.frame == frame);
        CHECK(single_pass(before, relay.passes()).has_value());
    }
}

} // namespace

TEST_CASE("replacing a rule switches all its outputs at once and keeps its counters")
{
    Relay relay = Relay::load();
    const auto frame = make_udp_frame(default_spec());
    const auto old_output = multicast_output(0xef020202, 6000);
    relay.install(rule_for(kGroup, kPort, {multicast_output(0xef050505, 1), old_output}));
    CHECK(relay.run(frame).frame == userspace_copy(frame, old_output));
    for (std::uint16_t version = 1; version <= 5; ++version) {
        const auto output = multicast_output(0xef020202 + version, static_cast<std::uint16_t>(6000 + version));
        relay.install(rule_for(kGroup, kPort, {output}));
        CHECK(relay.run(frame).frame == userspace_copy(frame, output));
    }
    CHECK(relay.maps.size() == 1);
    const auto traffic = relay.traffic({kGroup, 0, kPort});
    CHECK(traffic.packets == 6);
    REQUIRE(traffic.outputs.size() == 1);
}

TEST_CASE("a removed rule's frames go to the stack; a new rule on its id starts from zero")
{
    Relay relay = Relay::load();
    const auto frame = make_udp_frame(default_spec());
    relay.install(rule_for(kGroup, kPort, {multicast_output(0xef020202, 6000)}));
    REQUIRE(relay.run(frame).verdict == kVerdictRelayed);
    REQUIRE(relay.maps.remove({kGroup, 0, kPort}).ok());
    CHECK_FALSE(relay.maps.remove({kGroup, 0, kPort}).ok());
    CHECK(relay.run(frame).verdict == kVerdictToStack);
    CHECK(count_of(relay.passes(), PassReason::no_rule) == 1);

    FrameSpec other = default_spec();
    other.destination_port = kPort + 1;
    relay.install(rule_for(kGroup, kPort + 1, {multicast_output(0xef020202, 6000)}));
    CHECK(relay.traffic({kGroup, 0, kPort + 1}).packets == 0);
    CHECK(relay.run(make_udp_frame(other)).verdict == kVerdictRelayed);
    CHECK(relay.traffic({kGroup, 0, kPort + 1}).packets == 1);
}

TEST_CASE("retire removes a rule and returns every count it made; its id then starts from zero")
{
    Relay relay = Relay::load();
    const auto frame = make_udp_frame(default_spec());
    relay.install(rule_for(kGroup, kPort, {multicast_output(0xef020202, 6000), multicast_output(0xef030303, 7000)}));
    for (int i = 0; i < 3; ++i)
        REQUIRE(relay.run(frame).verdict == kVerdictRelayed);

    auto retired = relay.maps.retire({kGroup, 0, kPort});
    REQUIRE_MESSAGE(retired.ok(), (retired.ok() ? "" : retired.error().message()));
    CHECK(retired->packets == 3);
    CHECK(retired->bytes == 3 * default_spec().payload.size());
    REQUIRE(retired->outputs.size() == 2);
    // Under a test run the clone to no interface fails; the last output is
    // the redirect verdict, counted as sent.
    CHECK(retired->outputs[0].errors == 3);
    CHECK(retired->outputs[1].packets == 3);
    CHECK(relay.maps.size() == 0);
    CHECK(relay.run(frame).verdict == kVerdictToStack);
    CHECK_FALSE(relay.maps.retire({kGroup, 0, kPort}).ok());

    // Back on the fast path (the same match takes the freed id): from zero,
    // so the caller's kept counts plus the new ones are the rule's total.
    relay.install(rule_for(kGroup, kPort, {multicast_output(0xef020202, 6000)}));
    CHECK(relay.traffic({kGroup, 0, kPort}).packets == 0);
    REQUIRE(relay.run(frame).verdict == kVerdictRelayed);
    CHECK(relay.traffic({kGroup, 0, kPort}).packets == 1);
}

TEST_CASE("replace_all installs the new set and removes the rest")
{
    Relay relay = Relay::load();
    relay.install(rule_for(kGroup, 1, {multicast_output(0xef020202, 6000)}));
    relay.install(rule_for(kGroup, 2, {multicast_output(0xef020202, 6000)}));
    const std::vector<fastpath::FastRule> wanted = {rule_for(kGroup, 2, {multicast_output(0xef030303, 7000)}),
                                                    rule_for(kGroup, 3, {multicast_output(0xef030303, 7000)})};
    REQUIRE(relay.maps.replace_all(wanted).ok());
    CHECK(relay.maps.size() == 2);
    CHECK_FALSE(relay.maps.traffic({kGroup, 0, 1}).ok());
    CHECK(relay.maps.traffic({kGroup, 0, 2}).ok());
    CHECK(relay.maps.traffic({kGroup, 0, 3}).ok());

    const std::vector<fastpath::FastRule> twice = {wanted[0], wanted[0]};
    const Status refused = relay.maps.replace_all(twice);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() == "rules[1]: same match as an earlier rule");
}

TEST_CASE("maps reopened from their fds find the installed rules, as a restarted worker does")
{
    Relay relay = Relay::load();
    const auto output = multicast_output(0xef020202, 6000);
    relay.install(rule_for(kGroup, kPort, {output}));
    relay.install(rule_for(kGroup, kPort, {output}, 0xc6336402));
    const auto frame = make_udp_frame(default_spec());
    REQUIRE(relay.run(frame).verdict == kVerdictRelayed);

    auto fds = relay.program.map_fds();
    REQUIRE(fds.ok());
    auto reopened = fastpath::RuleMaps::open(std::move(fds).value());
    REQUIRE(reopened.ok());
    CHECK(reopened->size() == 2);
    CHECK(reopened->traffic({kGroup, 0xc6336402, kPort})->packets == 1);
    // Replacing through the reopened maps works like through the first.
    const auto moved = multicast_output(0xef040404, 6001);
    REQUIRE(reopened->install(rule_for(kGroup, kPort, {moved}, 0xc6336402)).ok());
    CHECK(relay.run(frame).frame == userspace_copy(frame, moved));
}

TEST_CASE("install refuses what the fast path cannot do, naming the field")
{
    Relay relay = Relay::load();
    auto unicast = multicast_output(0xc6336409, 6000);
    unicast.multicast = false;
    const auto message = [&](const fastpath::FastRule& rule) {
        const Status status = relay.maps.install(rule);
        return status.ok() ? std::string("accepted") : status.error().message();
    };
    CHECK(message(rule_for(kGroup, kPort, {})) == "outputs: must hold 1..16 outputs, got 0");
    CHECK(message(rule_for(kGroup, kPort, {multicast_output(0xef020202, 1), unicast})) ==
          "outputs[1]: a unicast output needs the kernel's routing, which the fast path does not do");
    auto no_interface = multicast_output(0xef020202, 6000);
    no_interface.ifindex = 0;
    CHECK(message(rule_for(kGroup, kPort, {no_interface})) == "outputs[0].ifindex: must be an interface index, got 0");
    auto tiny_mtu = multicast_output(0xef020202, 6000);
    tiny_mtu.mtu = 67;
    CHECK(message(rule_for(kGroup, kPort, {tiny_mtu})) == "outputs[0].mtu: must be 68..65535, got 67");
    CHECK(message(rule_for(kGroup, kPort, {multicast_output(0xef020202, 6000, std::uint8_t{0})})) ==
          "outputs[0].ttl: must be 1..255, got 0");
    CHECK(relay.maps.size() == 0);
}

TEST_CASE("the frame fuzz corpus and its mutations: each frame relayed identically or passed with one reason")
{
    Relay relay = Relay::load();
    // Two kinds of rule, so the comparison covers an output's own TTL too.
    const auto output = multicast_output(0xef020202, 6000);
    const auto output_with_ttl = multicast_output(0xef020203, 6001, std::uint8_t{7});
    std::vector<std::vector<std::uint8_t>> frames;
    for (const auto& entry : std::filesystem::directory_iterator(MCR_FRAME_CORPUS_DIR))
        frames.push_back(read_file(entry.path()));
    REQUIRE(frames.size() >= 10);

    std::mt19937 random(99); // fixed seed: reproducible
    const std::size_t corpus_size = frames.size();
    for (std::size_t i = 0; i < corpus_size; ++i) {
        for (int round = 0; round < 400; ++round) {
            auto mutated = frames[i];
            const int flips = 1 + static_cast<int>(random() % 4);
            for (int f = 0; f < flips && !mutated.empty(); ++f)
                mutated[random() % mutated.size()] = static_cast<std::uint8_t>(random());
            if (random() % 8 == 0)
                mutated.resize(random() % (mutated.size() + 16), 0);
            // Half keep a valid IP checksum, so mutations reach the rewrite.
            if (round % 2 == 0 && mutated.size() >= 34)
                refresh_ip_checksum(mutated);
            frames.push_back(std::move(mutated));
        }
    }

    std::size_t relayed = 0;
    std::size_t without_rule = 0;
    // A rule for every other input the accepted frames name, alternately of
    // each kind: the rest must go to the stack untouched, as no-rule.
    std::map<std::tuple<std::uint32_t, std::uint16_t>, std::optional<fastpath::Output>> inputs;
    for (const auto& frame : frames) {
        CAPTURE(frame.size());
        const auto parsed = dataplane::parse_frame(frame);
        if (!test_run_accepts(frame)) {
            CHECK(parsed.kind == dataplane::FrameClass::malformed);
            continue;
        }
        const fastpath::Output* rule_output = nullptr;
        // IPv6 frames (in the corpus since the worker relays IPv6) are the
        // program's to pass until it relays IPv6: no rule is made for them.
        if (parsed.kind == dataplane::FrameClass::accepted && parsed.udp.is_ipv4()) {
            const auto input = std::make_tuple(parsed.udp.destination_ipv4(), parsed.udp.destination_port);
            auto [entry, fresh] = inputs.try_emplace(input);
            if (fresh && inputs.size() % 2 == 1 && relay.maps.size() < fastpath::kMaxRules) {
                entry->second = inputs.size() % 4 == 1 ? output : output_with_ttl;
                relay.install(rule_for(parsed.udp.destination_ipv4(), parsed.udp.destination_port, {*entry->second}));
            }
            if (entry->second)
                rule_output = &*entry->second;
        }
        const auto before = relay.passes();
        check_relayed_identically_or_passed(relay, frame, rule_output);
        const auto after = relay.passes();
        relayed += after == before ? 1 : 0;
        const auto no_rule = static_cast<std::size_t>(PassReason::no_rule);
        without_rule += after[no_rule] - before[no_rule];
    }
    MESSAGE(frames.size() << " frames, " << inputs.size() << " inputs, " << relay.maps.size() << " rules, " << relayed
                          << " relayed, " << without_rule << " passed without a rule");
    CHECK(relayed > 100);      // the mutations must reach the rewrite, not only the filters
    CHECK(without_rule > 100); // and the rule set must leave some of them alone
}

TEST_CASE("loading needs CAP_BPF and CAP_NET_ADMIN, and nothing more")
{
    std::optional<fastpath::Refusal> without;
    REQUIRE(with_effective_capabilities({}, [&] {
        auto program = fastpath::Program::load();
        without = program ? std::nullopt : std::optional(program.error().refusal);
    }));
    CHECK(without == fastpath::Refusal::not_permitted);

    bool loaded = false;
    REQUIRE(with_effective_capabilities({CAP_BPF, CAP_NET_ADMIN}, [&] { loaded = fastpath::Program::load().ok(); }));
    CHECK(loaded); // no CAP_PERFMON, no CAP_SYS_ADMIN: the verifier's unprivileged rules hold
}

TEST_CASE("attached to lo of a throw-away netns: a relayed frame never reaches an ETH_P_IP packet socket")
{
    // sender --udp 127.0.0.1:4000--> lo ingress: [ETH_P_ALL tap] -> [tcx: fast path]
    //   rule 127.0.0.1:4000 -> clone to lo as :4002, redirect to lo as :4001
    //   -> lo egress -> lo ingress again: tap, tcx (no rule: passes),
    //      then the ETH_P_IP socket (the worker's kind) and the stack.
    constexpr std::uint32_t kLocalhost = 0x7f000001;
    std::map<std::uint16_t, int> tapped;
    std::map<std::uint16_t, int> worker_socket;
    std::map<std::uint16_t, int> after_detach;
    fastpath::RuleTraffic traffic;
    std::optional<fastpath::Refusal> missing_interface;
    bool attached = false;

    const bool entered = in_throwaway_netns([&] {
        auto program = fastpath::Program::load();
        if (!program)
            return;
        auto fds = program->map_fds();
        auto maps = fastpath::RuleMaps::open(std::move(fds).value());
        if (!maps)
            return;
        const int lo = static_cast<int>(if_nametoindex("lo"));
        auto bad = program->attach_ingress(0x7ffffff0);
        missing_interface = bad ? std::nullopt : std::optional(bad.error().refusal);
        auto link = program->attach_ingress(lo);
        attached = link.ok();
        if (!attached)
            return;
        if (!maps->install(rule_for(kLocalhost, 4000,
                                    {multicast_output(kLocalhost, 4002, std::nullopt, lo),
                                     multicast_output(kLocalhost, 4001, std::nullopt, lo)}))
                 .ok())
            return;

        const auto packet_socket = [lo](int protocol) {
            unique_fd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(protocol)));
            sockaddr_ll address{};
            address.sll_family = AF_PACKET;
            address.sll_protocol = htons(static_cast<std::uint16_t>(protocol));
            address.sll_ifindex = lo;
            const int one = 1;
            (void)setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
            (void)bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address));
            return fd;
        };
        // UDP to 127.0.0.1, counted by destination port.
        const auto drain = [](const unique_fd& fd, std::map<std::uint16_t, int>& ports) {
            std::uint8_t buffer[2048];
            pollfd wait{fd.get(), POLLIN, 0};
            while (poll(&wait, 1, 300) > 0) {
                const ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
                if (n < 42)
                    continue;
                if (dataplane::load_be16(buffer + 12) == ETH_P_IP && buffer[23] == IPPROTO_UDP &&
                    dataplane::load_be32(buffer + 30) == 0x7f000001)
                    ++ports[dataplane::load_be16(buffer + 36)];
            }
        };
        const auto send_one = [] {
            unique_fd sender(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_port = htons(4000);
            to.sin_addr.s_addr = htonl(0x7f000001);
            (void)sendto(sender.get(), "relay me", 8, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
        };

        unique_fd tap = packet_socket(ETH_P_ALL);
        unique_fd worker = packet_socket(ETH_P_IP);
        send_one();
        drain(tap, tapped);
        drain(worker, worker_socket);
        if (auto counted = maps->traffic({kLocalhost, 0, 4000}))
            traffic = *counted;

        link.value().reset(); // the last holder closes the link: detached
        send_one();
        drain(worker, after_detach);
    });
    if (!entered) {
        MESSAGE("skipped: cannot make a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    CHECK(missing_interface == fastpath::Refusal::no_interface);
    REQUIRE(attached);
    // Taps (ptype_all) run before tc ingress: they see the original too.
    CHECK(tapped[4000] == 1);
    CHECK(tapped[4001] == 1);
    CHECK(tapped[4002] == 1);
    // A protocol socket bound to the device (ptype_specific) runs after tc:
    // it sees the copies coming back in, never the frame the fast path took.
    CHECK(worker_socket[4000] == 0);
    CHECK(worker_socket[4001] == 1);
    CHECK(worker_socket[4002] == 1);
    CHECK(traffic.packets == 1);
    REQUIRE(traffic.outputs.size() == 2);
    CHECK(traffic.outputs[0].packets == 1); // the clone was sent
    CHECK(traffic.outputs[0].errors == 0);
    CHECK(traffic.outputs[1].packets == 1);
    // Detached, the frame reaches the worker's socket as before.
    CHECK(after_detach[4000] == 1);
    CHECK(after_detach[4001] == 0);
}
