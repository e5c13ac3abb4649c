// The worker config document (see core/worker_protocol.hpp): which interface
// a worker serves, its rules and its egress interfaces. Parsed and checked
// here, shared by the worker and the test launcher.
#pragma once

#include "core/result.hpp"
#include "core/rule.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcr::worker {

inline constexpr unsigned kDefaultEgressMtu = 1500;
inline constexpr unsigned kMinEgressMtu = 68;    // RFC 791 minimum
inline constexpr unsigned kMaxEgressMtu = 65536;   // "lo" reports 65536
inline constexpr int kMinReceiveBufferBytes = 64 * 1024;
inline constexpr int kMaxReceiveBufferBytes = 1024 * 1024 * 1024;

struct EgressInterface {
    unsigned mtu = kDefaultEgressMtu; // IP MTU of the interface, 68..65535
    // false ("usable": false): down or missing, as the supervisor's link
    // monitor sees it. The worker's sends there fail and count; the fast
    // path could not count them (its last copy leaves after the program),
    // so rules with such an output stay on the userspace path meanwhile.
    bool usable = true;
};

struct WorkerConfig {
    std::string interface;                          // ingress interface
    std::vector<Rule> rules;                        // every input on `interface`
    std::map<std::string, EgressInterface> egress;  // every output interface appears here
    int receive_buffer_bytes = 16 * 1024 * 1024;
    // The ingress interface's MTU: sizes the receive ring's blocks. Unknown
    // (an older supervisor): a jumbo frame must fit.
    unsigned ingress_mtu = 9000;
    // [rule][output]: the output's "source_address" (core/worker_protocol.hpp),
    // the egress interface's address of the output's family; nullopt: none.
    std::vector<std::vector<std::optional<IpAddress>>> source_addresses;

    [[nodiscard]] std::optional<IpAddress> source_address(std::size_t rule, std::size_t output) const
    {
        if (rule >= source_addresses.size() || output >= source_addresses[rule].size())
            return std::nullopt;
        return source_addresses[rule][output];
    }
};

// Text -> config. Errors carry a JSON path ("rules[1].outputs[0].interface")
// and quote the bad value. Rules are validated with validate_rule(); inputs
// must be on `interface`; every output interface needs an "egress" entry; an
// output's "source_address" must be a unicast address of its family.
// Refuses text over kMaxConfigBytes.
[[nodiscard]] Result<WorkerConfig> parse_worker_config(std::string_view text);

// The socket names a worker with this config needs (worker_protocol.hpp):
// ingress, membership, ingress6 when an input is IPv6, pkt.<if> for
// interfaces with multicast outputs, udp.<if> (udp6.<if>) for interfaces
// with IPv4 (IPv6) unicast outputs. Sorted, no duplicates.
[[nodiscard]] std::vector<std::string> required_socket_names(const WorkerConfig& config);

} // namespace mcr::worker
