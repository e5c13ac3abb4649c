// Test helper for the fast path: a freshly loaded program with its maps, the
// verdicts it returns, the userspace rewrite its output must equal, and a
// throw-away network namespace to attach it in.
#pragma once

#include "dataplane/checksum.hpp"
#include "dataplane/frame.hpp"
#include "dataplane/packet_rewrite.hpp"
#include "fastpath/fast_path.hpp"
#include "fastpath/rule_maps.hpp"
#include "frame_builder.hpp"

#include <doctest/doctest.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <thread>
#include <vector>

namespace mcr::test {

// What the program returns: a relayed frame leaves by bpf_redirect (its last
// output), everything else continues down the tcx chain to the stack.
inline constexpr int kVerdictRelayed = TC_ACT_REDIRECT;
inline constexpr int kVerdictToStack = TC_ACT_UNSPEC;

// No interface has this index: a clone to it fails before anything is sent,
// and a bpf_redirect() to it is only a verdict under BPF_PROG_TEST_RUN.
inline constexpr int kNoSuchIfindex = 0x7ffffff0;

// The rule both fast-path test files match on.
inline constexpr std::uint32_t kGroup = 0xef010101; // 239.1.1.1
inline constexpr std::uint16_t kPort = 5000;

// A crafted frame's IPv4 header checksum made valid again after an edit.
inline void refresh_ip_checksum(std::vector<std::uint8_t>& frame)
{
    dataplane::store_be16(&frame[24], 0);
    dataplane::store_be16(&frame[24], dataplane::internet_checksum({&frame[14], 20}));
}

// A program loaded for one test, so its counters start at zero.
struct Relay {
    fastpath::Program program;
    fastpath::RuleMaps maps;

    static Relay load()
    {
        auto program = fastpath::Program::load();
        REQUIRE_MESSAGE(program.ok(), (program.ok() ? "" : program.error().message));
        auto fds = program->map_fds();
        REQUIRE(fds.ok());
        auto maps = fastpath::RuleMaps::open(std::move(fds).value());
        REQUIRE_MESSAGE(maps.ok(), (maps.ok() ? "" : maps.error().message()));
        return Relay{std::move(program).value(), std::move(maps).value()};
    }

    fastpath::TestRun run(std::span<const std::uint8_t> frame, const fastpath::TestSkb& skb = {}) const
    {
        auto run = program.test_run(frame, skb);
        REQUIRE_MESSAGE(run.ok(), (run.ok() ? "" : run.error().message));
        return std::move(run).value();
    }

    void install(const fastpath::FastRule& rule)
    {
        const Status status = maps.install(rule);
        REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message()));
    }

    fastpath::PassCounts passes() const
    {
        auto counts = maps.pass_counts();
        REQUIRE(counts.ok());
        return *counts;
    }

    fastpath::RuleTraffic traffic(const fastpath::RuleMatch& match) const
    {
        auto traffic = maps.traffic(match);
        REQUIRE_MESSAGE(traffic.ok(), (traffic.ok() ? "" : traffic.error().message()));
        return *traffic;
    }
};

// The frame builder's defaults, built out of line: inlined into long test
// bodies, GCC 12 -O2 warns (wrongly) that the payload's initializer list may
// be read uninitialized.
[[gnu::noinline]] inline FrameSpec default_spec()
{
    return FrameSpec{};
}

inline fastpath::Output multicast_output(std::uint32_t group, std::uint16_t port,
                                         std::optional<std::uint8_t> ttl = std::nullopt,
                                         int ifindex = kNoSuchIfindex)
{
    fastpath::Output output;
    output.ifindex = ifindex;
    output.destination_mac = dataplane::multicast_mac(group);
    output.source_mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    output.destination_address = IpAddress::from_ipv4(group);
    output.destination_port = port;
    if (ttl) // not a plain copy: GCC 12 warns about a disengaged optional's storage
        output.ttl = *ttl;
    return output;
}

inline fastpath::FastRule rule_for(std::uint32_t group, std::uint16_t port, std::vector<fastpath::Output> outputs,
                                   std::uint32_t source = 0)
{
    fastpath::FastRule rule;
    rule.match = fastpath::RuleMatch{group, source, port};
    rule.outputs = std::move(outputs);
    return rule;
}

// The worker's description of an output, for comparing with its rewrite.
inline dataplane::OutputRewrite rewrite_of(const fastpath::Output& output)
{
    dataplane::OutputRewrite rewrite;
    rewrite.multicast = output.multicast;
    rewrite.family = output.destination_address.family();
    rewrite.destination_mac = output.destination_mac;
    rewrite.source_mac = output.source_mac;
    rewrite.destination_address = output.destination_address.bytes();
    if (output.source_address)
        rewrite.source_address = output.source_address->bytes();
    rewrite.destination_port = output.destination_port;
    if (output.ttl)
        rewrite.ttl = *output.ttl;
    return rewrite;
}

// What the worker would send for `frame` on `output` (empty: it would not).
inline std::vector<std::uint8_t> userspace_copy(std::span<const std::uint8_t> frame, const fastpath::Output& output)
{
    const auto parsed = dataplane::parse_frame(frame);
    if (parsed.kind != dataplane::FrameClass::accepted)
        return {};
    const dataplane::OutputRewrite rewrite = rewrite_of(output);
    std::vector<std::uint8_t> copy(dataplane::rewritten_length(parsed.udp, rewrite));
    const std::size_t length = dataplane::rewrite_for_output(parsed.udp, rewrite, copy);
    REQUIRE(length == copy.size());
    return copy;
}

// BPF_PROG_TEST_RUN refuses (EINVAL) a frame shorter than an Ethernet
// header, and on Linux 6.18 also an IPv4 or IPv6 frame without a whole IP
// (base) header.
inline bool test_run_accepts(std::span<const std::uint8_t> frame)
{
    if (frame.size() < dataplane::kEthernetHeaderBytes)
        return false;
    const std::uint16_t ether_type = dataplane::load_be16(frame.data() + 12);
    if (ether_type == dataplane::kEtherTypeIpv4)
        return frame.size() >= dataplane::kEthernetHeaderBytes + dataplane::kIpv4MinHeaderBytes;
    if (ether_type == 0x86dd)
        return frame.size() >= dataplane::kEthernetHeaderBytes + 40;
    return true;
}

// The only non-zero count in `after` minus `before`, if exactly one reason
// moved and by exactly one.
inline std::optional<fastpath::PassReason> single_pass(const fastpath::PassCounts& before,
                                                       const fastpath::PassCounts& after)
{
    std::optional<fastpath::PassReason> moved;
    for (std::size_t i = 0; i < before.size(); ++i) {
        if (after[i] == before[i])
            continue;
        if (moved || after[i] != before[i] + 1)
            return std::nullopt;
        moved = static_cast<fastpath::PassReason>(i);
    }
    return moved;
}

// Runs `frame` and checks it went to the stack unchanged, counted once
// (shared by the fast-path test files: a unity build compiles them as one).
inline std::optional<fastpath::PassReason> pass_reason_of(const Relay& relay, const std::vector<std::uint8_t>& frame,
                                                         const fastpath::TestSkb& skb = {})
{
    const auto before = relay.passes();
    const auto run = relay.run(frame, skb);
    CHECK(run.verdict == kVerdictToStack);
    CHECK(run.frame == frame);
    return single_pass(before, relay.passes());
}

// Runs `body` on a thread in a network namespace of its own with lo up: the
// namespace, and whatever was attached in it, go when the thread ends.
template <typename Body>
bool in_throwaway_netns(Body body)
{
    bool entered = false;
    std::thread thread([&] {
        if (unshare(CLONE_NEWNET) != 0)
            return;
        unique_fd control(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        ifreq request{};
        std::snprintf(request.ifr_name, sizeof(request.ifr_name), "lo");
        request.ifr_flags = IFF_UP;
        entered = control && ioctl(control.get(), SIOCSIFFLAGS, &request) == 0;
        if (entered)
            body();
    });
    thread.join();
    return entered;
}

} // namespace mcr::test
