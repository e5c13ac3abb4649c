// The worker's counters (plain integers, bumped on the hot path) and their
// JSON form, exactly the stats document of core/worker_protocol.hpp.
#pragma once

#include "core/rule.hpp"
#include "stream_health.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mcr::worker {

struct OutputCounters {
    std::uint64_t packets = 0;     // copies the kernel accepted
    std::uint64_t bytes = 0;       // UDP payload bytes of those copies
    std::uint64_t no_buffer = 0;   // no free egress slot or submission entry
    std::uint64_t would_block = 0; // socket buffer full (EAGAIN/ENOBUFS)
    std::uint64_t too_big = 0;     // larger than the egress MTU (or EMSGSIZE)
    std::uint64_t send_error = 0;  // any other send failure, or no socket for the output
    // Translated multicast copies not built: the egress interface has no
    // address of the output's family to send them from (never made up).
    std::uint64_t no_source_address = 0;
    // Copies not sent because the output's "listeners" is "required" and no
    // listener is known on its interface: the policy, not a drop.
    std::uint64_t no_listener = 0;
};

struct RuleCounters {
    std::uint64_t packets = 0;     // matched and forwarded (TTL not expired)
    std::uint64_t bytes = 0;       // UDP payload bytes of those
    std::uint64_t ttl_expired = 0;
    std::vector<OutputCounters> outputs; // same order as Rule::outputs
    // Set when the rule's "inspect" is not none; shared, not copied, when
    // the counters are carried into a new config (one inspector per stream).
    std::shared_ptr<StreamHealth> health;
};

struct IngressCounters {
    std::uint64_t frames = 0;
    std::uint64_t bytes = 0;       // whole frames, link header included
    std::uint64_t not_ip = 0;
    std::uint64_t malformed = 0;
    std::uint64_t fragment = 0;
    std::uint64_t ip_options = 0;
    std::uint64_t not_matched = 0; // IP but no rule (other protocols, ports, groups, SSM sources)
    std::uint64_t ipv6_fragment = 0;        // dataplane/frame.hpp says what each IPv6 reason is
    std::uint64_t ipv6_routing_header = 0;
    std::uint64_t ipv6_extension_chain = 0;
    std::uint64_t zero_udp_checksum = 0;    // IPv6 UDP with checksum 0 (RFC 8200)
    std::uint64_t no_buffer = 0;   // the provided-buffer ring ran empty (multishot receive re-armed)
};

struct KernelCounters {
    std::uint64_t packets = 0;     // PACKET_STATISTICS tp_packets, accumulated (reads reset it)
    std::uint64_t drops = 0;       // tp_drops, accumulated
};

// How a family's ingress is read (worker/receive_mode.hpp): "ring" or
// "quiet" with both sockets of its pair, "ring" alone without the quiet one
// ("ingress-quiet", "ingress6-quiet"), "socket" with --receive-mode socket;
// and how often the two-socket worker switched.
struct ReceiveCounters {
    const char* mode = nullptr;    // a string literal; nullptr: the family has no ingress socket
    std::uint64_t to_ring = 0;
    std::uint64_t to_quiet = 0;
    // Frames dropped from the quiet socket's queue after a switch to the
    // ring, because the ring was full (engine_receive_mode.cpp).
    std::uint64_t discarded = 0;
};

struct WorkerCounters {
    KernelCounters kernel;
    ReceiveCounters receive;       // IPv4: "ingress", "ingress-quiet"
    ReceiveCounters receive6;      // IPv6: "ingress6", "ingress6-quiet"
    IngressCounters ingress;
    std::vector<RuleCounters> rules; // same order as the config's rules
};

// Where an output of the old rule set counts in the new one.
struct OutputRef {
    std::uint32_t rule = 0;
    std::uint32_t output = 0;
};
// remap[old rule][old output]: the same output in the new rule set, or
// nullopt when its rule or the output went away.
using OutputRemap = std::vector<std::vector<std::optional<OutputRef>>>;

struct CarriedCounters {
    std::vector<RuleCounters> rules; // same order as the new rules
    OutputRemap remap;
};

// Counters for `rules`, keeping the numbers (and the stream health, when the
// inspection kind stays the same) of rules (by name) and outputs
// (by interface, address and port) that `old_rules` already had, and where
// each old output went (so that sends still in flight count there).
[[nodiscard]] CarriedCounters carry_over_counters(const std::vector<Rule>& old_rules,
                                                  const std::vector<RuleCounters>& old_counters,
                                                  const std::vector<Rule>& rules);

[[nodiscard]] std::string stats_to_json(const std::string& interface, std::uint64_t uptime_ms,
                                        const std::vector<Rule>& rules, const WorkerCounters& counters);

} // namespace mcr::worker
