// cBPF generation. Every jump is short (cBPF jump offsets are 8 bits), so
// each test that fails is followed directly by its own "ret #0", each
// (address, port) pair is a self-contained 5-instruction block, and the
// fragment block is bounded.
#include "bpf_filter.hpp"

#include "frame.hpp"

#include <linux/if_packet.h>

#include <algorithm>
#include <utility>

namespace mcr::dataplane {

namespace {

// Offsets from the start of the Ethernet frame (SOCK_RAW sees the link header).
constexpr std::uint32_t kEtherTypeOffset = 12;
constexpr std::uint32_t kIpOffset = kEthernetHeaderBytes;
constexpr std::uint32_t kIpFlagsFragmentOffset = kIpOffset + 6;
constexpr std::uint32_t kIpProtocolOffset = kIpOffset + 9;
constexpr std::uint32_t kIpDestinationOffset = kIpOffset + 16;
constexpr std::uint32_t kUdpDestinationPortFromIpHeader = kIpOffset + 2; // X holds the IP header length

sock_filter statement(std::uint16_t code, std::uint32_t k)
{
    return BPF_STMT(code, k);
}
sock_filter jump(std::uint16_t code, std::uint32_t k, std::uint8_t if_true, std::uint8_t if_false)
{
    return BPF_JUMP(code, k, if_true, if_false);
}

// Fragments to one of these groups reach userspace, which counts and drops
// them (an operator sees that a stream arrives fragmented); with more groups
// the block's jumps would not fit 8 bits, and fragments are dropped here.
constexpr std::size_t kMaxFragmentGroups = 250;

// Fragment handling: a non-fragment jumps over the block; a fragment is
// accepted when its destination is one of `groups`, else dropped.
void append_fragment_check(std::vector<sock_filter>& program, const std::vector<std::uint32_t>& groups)
{
    const std::uint32_t fragment_bits = kIpMoreFragmentsFlag | kIpFragmentOffsetMask;
    program.push_back(statement(BPF_LD | BPF_H | BPF_ABS, kIpFlagsFragmentOffset));
    if (groups.empty() || groups.size() > kMaxFragmentGroups) {
        program.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, fragment_bits, 0, 1));
        program.push_back(statement(BPF_RET | BPF_K, 0));
        return;
    }
    const std::size_t n = groups.size();
    // Block after the jset: ld, n x jeq, ret 0, ret accept.
    program.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, fragment_bits, 0, static_cast<std::uint8_t>(n + 3)));
    program.push_back(statement(BPF_LD | BPF_W | BPF_ABS, kIpDestinationOffset));
    for (std::size_t i = 0; i < n; ++i)
        program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, groups[i], static_cast<std::uint8_t>(n - i), 0));
    program.push_back(statement(BPF_RET | BPF_K, 0));
    program.push_back(statement(BPF_RET | BPF_K, kFilterAcceptBytes));
}

// Common prefix: addressed to this host, IPv4, UDP, fragment check; then
// X = IP header length. PACKET_OTHERHOST: a unicast frame for another MAC
// (promiscuous link), or an 802.1Q frame of a VLAN with no VLAN device here:
// the kernel takes the tag off and clears it before packet sockets see the
// frame (whose bytes at offset 12 then say IPv4), marking it OTHERHOST; a
// frame of VLAN 100 must not be relayed by a rule on the untagged link.
void append_header_checks(std::vector<sock_filter>& program, const std::vector<std::uint32_t>& groups)
{
    program.push_back(statement(BPF_LD | BPF_B | BPF_ABS, kAncillaryPacketType));
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OTHERHOST, 0, 1));
    program.push_back(statement(BPF_RET | BPF_K, 0));
    program.push_back(statement(BPF_LD | BPF_H | BPF_ABS, kEtherTypeOffset));
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kEtherTypeIpv4, 1, 0));
    program.push_back(statement(BPF_RET | BPF_K, 0));
    program.push_back(statement(BPF_LD | BPF_B | BPF_ABS, kIpProtocolOffset));
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kIpProtocolUdp, 1, 0));
    program.push_back(statement(BPF_RET | BPF_K, 0));
    append_fragment_check(program, groups);
    program.push_back(statement(BPF_LDX | BPF_B | BPF_MSH, kIpOffset));
}

constexpr std::size_t kInstructionsPerPair = 5;

} // namespace

std::vector<sock_filter> build_ingress_filter(std::span<const Rule> rules)
{
    std::vector<std::pair<std::uint32_t, std::uint16_t>> pairs;
    for (const Rule& rule : rules)
        if (rule.input.address.is_ipv4())
            pairs.emplace_back(rule.input.address.ipv4(), rule.input.port);
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());

    std::vector<sock_filter> program;
    if (pairs.empty()) {
        program.push_back(statement(BPF_RET | BPF_K, 0));
        return program;
    }
    std::vector<std::uint32_t> groups;
    for (const auto& pair : pairs)
        groups.push_back(pair.first);
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end()); // pairs are sorted
    append_header_checks(program, groups);
    if (program.size() + pairs.size() * kInstructionsPerPair + 1 > BPF_MAXINSNS) {
        program.push_back(statement(BPF_RET | BPF_K, kFilterAcceptBytes));
        return program;
    }
    for (const auto& [address, port] : pairs) {
        program.push_back(statement(BPF_LD | BPF_W | BPF_ABS, kIpDestinationOffset));
        program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, address, 0, 3));
        program.push_back(statement(BPF_LD | BPF_H | BPF_IND, kUdpDestinationPortFromIpHeader));
        program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1));
        program.push_back(statement(BPF_RET | BPF_K, kFilterAcceptBytes));
    }
    program.push_back(statement(BPF_RET | BPF_K, 0));
    return program;
}

} // namespace mcr::dataplane
