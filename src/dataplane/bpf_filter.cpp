// cBPF generation. Conditional jumps are short (8-bit offsets), so each test
// that fails is followed directly by its own "ret #0", each (address, port)
// pair is a self-contained block (5 instructions for IPv4, 13 for IPv6), the
// fragment block is bounded, and only the EtherType dispatch jumps far
// (BPF_JA, 32-bit offset) to the IPv4 or the IPv6 section.
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
constexpr std::uint32_t kIpDestinationInFrame = kIpOffset + 16;
constexpr std::uint32_t kUdpDestinationPortFromIpHeader = kIpOffset + 2; // X holds the IP header length
constexpr std::uint32_t kIpv6NextHeaderOffset = kIpOffset + 6;
constexpr std::uint32_t kIpv6DestinationInFrame = kIpOffset + 24;
constexpr std::uint32_t kIpv6UdpDestinationPortOffset = kIpOffset + kIpv6HeaderBytes + 2;

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
    program.push_back(statement(BPF_LD | BPF_W | BPF_ABS, kIpDestinationInFrame));
    for (std::size_t i = 0; i < n; ++i)
        program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, groups[i], static_cast<std::uint8_t>(n - i), 0));
    program.push_back(statement(BPF_RET | BPF_K, 0));
    program.push_back(statement(BPF_RET | BPF_K, kFilterAcceptBytes));
}

// Addressed to this host and not sent by it. PACKET_OTHERHOST: a unicast
// frame for another MAC (promiscuous link), or an 802.1Q frame of a VLAN
// with no VLAN device here: the kernel takes the tag off and clears it
// before packet sockets see the frame (whose bytes at offset 12 then say
// IPv4), marking it OTHERHOST; a frame of VLAN 100 must not be relayed by a
// rule on the untagged link. PACKET_OUTGOING: the ingress sockets are bound
// to one protocol and set PACKET_IGNORE_OUTGOING, so none should arrive;
// checked here too, because a relay that reads back what it sent loops.
void append_packet_type_checks(std::vector<sock_filter>& program)
{
    program.push_back(statement(BPF_LD | BPF_B | BPF_ABS, kAncillaryPacketType));
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OTHERHOST, 0, 1));
    program.push_back(statement(BPF_RET | BPF_K, 0));
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 1));
    program.push_back(statement(BPF_RET | BPF_K, 0));
}

// IPv4 section: UDP, fragment check, X = IP header length, then one block
// per (address, port) pair. Too many pairs (`fits` false): every IPv4 UDP
// non-fragment, matching left to userspace.
std::vector<sock_filter> ipv4_section(const std::vector<std::pair<std::uint32_t, std::uint16_t>>& pairs, bool fits)
{
    std::vector<sock_filter> program;
    if (pairs.empty()) {
        program.push_back(statement(BPF_RET | BPF_K, 0));
        return program;
    }
    std::vector<std::uint32_t> groups;
    for (const auto& pair : pairs)
        groups.push_back(pair.first);
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end()); // pairs are sorted
    program.push_back(statement(BPF_LD | BPF_B | BPF_ABS, kIpProtocolOffset));
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kIpProtocolUdp, 1, 0));
    program.push_back(statement(BPF_RET | BPF_K, 0));
    append_fragment_check(program, groups);
    program.push_back(statement(BPF_LDX | BPF_B | BPF_MSH, kIpOffset));
    if (!fits) {
        program.push_back(statement(BPF_RET | BPF_K, kFilterAcceptBytes));
        return program;
    }
    for (const auto& [address, port] : pairs) {
        program.push_back(statement(BPF_LD | BPF_W | BPF_ABS, kIpDestinationInFrame));
        program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, address, 0, 3));
        program.push_back(statement(BPF_LD | BPF_H | BPF_IND, kUdpDestinationPortFromIpHeader));
        program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1));
        program.push_back(statement(BPF_RET | BPF_K, kFilterAcceptBytes));
    }
    program.push_back(statement(BPF_RET | BPF_K, 0));
    return program;
}

constexpr std::size_t kInstructionsPerPair6 = 13;

// IPv6 section: one block per (address, port) pair. The destination is
// compared word by word; a packet to the address whose next header is not
// UDP (extension headers, fragments: a cBPF program cannot walk a chain)
// is accepted so that userspace counts it under its reason; one whose next
// header is UDP must have the port. Too many pairs: every IPv6 frame.
std::vector<sock_filter> ipv6_section(const std::vector<std::pair<AddressBytes, std::uint16_t>>& pairs, bool fits)
{
    std::vector<sock_filter> program;
    if (pairs.empty() || !fits) {
        program.push_back(statement(BPF_RET | BPF_K, pairs.empty() ? 0 : kFilterAcceptBytes));
        return program;
    }
    for (const auto& [address, port] : pairs) {
        // Block: 4 x (ld, jeq), ld next header, jeq, ld port, jeq, ret.
        for (std::size_t word = 0; word < 4; ++word) {
            const std::size_t offset = 4 * word;
            program.push_back(
                statement(BPF_LD | BPF_W | BPF_ABS, kIpv6DestinationInFrame + static_cast<std::uint32_t>(offset)));
            const auto to_next_block = static_cast<std::uint8_t>(kInstructionsPerPair6 - 2 - 2 * word);
            program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, load_be32(address.data() + offset), 0, to_next_block));
        }
        program.push_back(statement(BPF_LD | BPF_B | BPF_ABS, kIpv6NextHeaderOffset));
        program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kIpProtocolUdp, 0, 2)); // not UDP: to the ret accept
        program.push_back(statement(BPF_LD | BPF_H | BPF_ABS, kIpv6UdpDestinationPortOffset));
        program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1));
        program.push_back(statement(BPF_RET | BPF_K, kFilterAcceptBytes));
    }
    program.push_back(statement(BPF_RET | BPF_K, 0));
    return program;
}

void append(std::vector<sock_filter>& program, const std::vector<sock_filter>& section)
{
    program.insert(program.end(), section.begin(), section.end());
}

} // namespace

std::vector<sock_filter> build_ingress_filter(std::span<const Rule> rules)
{
    std::vector<std::pair<std::uint32_t, std::uint16_t>> pairs;
    std::vector<std::pair<AddressBytes, std::uint16_t>> pairs6;
    for (const Rule& rule : rules) {
        if (rule.input.address.is_ipv4())
            pairs.emplace_back(rule.input.address.ipv4(), rule.input.port);
        else
            pairs6.emplace_back(rule.input.address.bytes(), rule.input.port);
    }
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    std::sort(pairs6.begin(), pairs6.end());
    pairs6.erase(std::unique(pairs6.begin(), pairs6.end()), pairs6.end());

    std::vector<sock_filter> program;
    if (pairs.empty() && pairs6.empty()) {
        program.push_back(statement(BPF_RET | BPF_K, 0));
        return program;
    }
    // Within BPF_MAXINSNS: the larger section gives up per-pair matching
    // first, then the other.
    constexpr std::size_t kDispatchInstructions = 11; // packet type checks + EtherType dispatch
    std::vector<sock_filter> v4 = ipv4_section(pairs, true);
    std::vector<sock_filter> v6 = ipv6_section(pairs6, true);
    if (kDispatchInstructions + v4.size() + v6.size() > BPF_MAXINSNS) {
        if (v4.size() >= v6.size())
            v4 = ipv4_section(pairs, false);
        else
            v6 = ipv6_section(pairs6, false);
    }
    if (kDispatchInstructions + v4.size() + v6.size() > BPF_MAXINSNS) {
        v4 = ipv4_section(pairs, false);
        v6 = ipv6_section(pairs6, false);
    }

    append_packet_type_checks(program);
    program.push_back(statement(BPF_LD | BPF_H | BPF_ABS, kEtherTypeOffset));
    // Sections can be longer than an 8-bit conditional jump reaches: each
    // EtherType test is followed by an unconditional (32-bit) jump.
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kEtherTypeIpv4, 0, 1));
    program.push_back(statement(BPF_JMP | BPF_JA, 3)); // over jeq, ja, ret: to the IPv4 section
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kEtherTypeIpv6, 0, 1));
    program.push_back(statement(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(1 + v4.size())));
    program.push_back(statement(BPF_RET | BPF_K, 0));
    append(program, v4);
    append(program, v6);
    return program;
}

} // namespace mcr::dataplane
