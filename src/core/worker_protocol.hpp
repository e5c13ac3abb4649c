// The contract between the supervisor and a worker: names of the sockets a
// worker holds (also its FD store names), the peer-to-peer D-Bus interfaces
// on the link between them, and the JSON documents that travel over it.
//
// Why peer-to-peer D-Bus: a DynamicUser= worker cannot use the system bus on
// systemd 252 / dbus-daemon 1.14 (the daemon drops it after Hello), so the
// supervisor listens on a private AF_UNIX socket and runs an sd-bus server
// per connection; the same vtables and fd passing ('h') work there.
#pragma once

#include "address.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace mcr::worker_protocol {

// Outputs (rule name, output index) with "listeners": "required" that have
// listeners now: SetListeners' argument and the config's "listening".
using ListeningOutputs = std::set<std::pair<std::string, std::uint32_t>>;

// ---- FD names (FDNAME= in the FD store, LISTEN_FDNAMES= on restart) -------
// systemd forbids ':' in fd names (LISTEN_FDNAMES is ':'-separated), so the
// interface is appended after a '.'; interface names never contain ':'.
inline constexpr std::string_view kIngressFd = "ingress";        // AF_PACKET SOCK_RAW, ETH_P_IP, bound to the ingress ifindex
// The second ingress socket, like "ingress" but never given a ring: read
// with a wake-up per frame while traffic is light (no block timer to wait
// for). Both are members of one PACKET_FANOUT_CBPF group whose program (set
// by the worker with PACKET_FANOUT_DATA, no privilege needed) sends every
// frame to exactly one of them. An FD store of an older supervisor has only
// "ingress": that worker reads the ring alone.
inline constexpr std::string_view kIngressQuietFd = "ingress-quiet";
// Member indices in that group, which the selector program returns. The
// kernel appends a socket to a fanout group's array when it joins, and
// takes it out and appends it again whenever its protocol hook is
// re-registered: PACKET_RX_RING (the worker setting up the ring) does that
// to "ingress", and an interface going down and up re-registers both in the
// order they were created. So the contract is: "ingress-quiet" is created
// and joins first, "ingress" second; every one of those events then leaves
// "ingress" last, at index 1.
inline constexpr unsigned kQuietFanoutMember = 0;
inline constexpr unsigned kRingFanoutMember = 1;
inline constexpr std::string_view kMembershipFd = "membership";  // AF_INET6 UDP (AF_INET without IPv6), unbound, holds the IGMP and MLD joins; never read
inline constexpr std::string_view kConfigFd = "config";          // memfd holding the worker config JSON (below)
inline constexpr std::string_view kPacketEgressPrefix = "pkt.";  // "pkt.eth1": AF_PACKET SOCK_RAW, proto 0, bound to eth1, PACKET_QDISC_BYPASS
inline constexpr std::string_view kUdpEgressPrefix = "udp.";     // "udp.wg0":  AF_INET UDP, SO_BINDTODEVICE wg0, for unicast outputs
inline constexpr std::string_view kUdp6EgressPrefix = "udp6.";   // "udp6.wg0": AF_INET6 UDP, the same for IPv6 unicast outputs
// The ingress sockets for IPv6 (AF_PACKET SOCK_RAW, ETH_P_IPV6, bound to the
// ingress ifindex), made when a rule has an IPv6 input: "ingress6" read
// through a ring and "ingress6-quiet" read by recv, the same pair as
// "ingress" and "ingress-quiet" with the same member order, in a fanout
// group of their own. Not ETH_P_ALL with one pair for both families: a
// packet socket of ETH_P_ALL is a tap that sees every frame before tc
// ingress, so it would also read what the fast path relays. A packet
// socket binds one protocol and a fanout group holds one protocol, hence a
// pair of its own, outside the IPv4 sockets' group. An FD store of an older
// supervisor has only "ingress6": that worker reads its ring alone.
inline constexpr std::string_view kIngress6Fd = "ingress6";
inline constexpr std::string_view kIngress6QuietFd = "ingress6-quiet";

// The in-kernel fast path (src/fastpath), loaded and attached by the
// supervisor: the program's map fds and, in attach mode "tc", a tcx link fd;
// never the program fd (its holder could attach it anywhere). Kept in the
// worker's FD store, the link keeps the program attached across worker and
// supervisor restarts; emptying the store (systemctl stop) detaches it. In
// attach mode "tc-legacy" the kernel's cls_bpf filter holds the program and
// there is no link: the supervisor detaches it (src/fastpath/README.md).
// "fastpath-attachment" (read-only) says which program the maps belong to.
inline constexpr std::string_view kFastPathPrefix = "fastpath-";
inline constexpr std::string_view kFastPathLinkFd = "fastpath-link";
inline constexpr std::string_view kFastPathAttachmentFd = "fastpath-attachment";
inline constexpr std::string_view kFastPathMapFds[] = {
    "fastpath-rules",          "fastpath-rule-versions", "fastpath-version-outputs", "fastpath-pass-counts",
    "fastpath-rule-traffic",   "fastpath-output-traffic", "fastpath-quiesce",         "fastpath-quiesce-inner",
    kFastPathAttachmentFd,
};
inline bool is_fast_path_fd_name(std::string_view name) { return name.substr(0, kFastPathPrefix.size()) == kFastPathPrefix; }

inline std::string packet_egress_fd_name(std::string_view ifname) { return std::string(kPacketEgressPrefix) + std::string(ifname); }
inline std::string udp_egress_fd_name(std::string_view ifname) { return std::string(kUdpEgressPrefix) + std::string(ifname); }
inline std::string udp6_egress_fd_name(std::string_view ifname) { return std::string(kUdp6EgressPrefix) + std::string(ifname); }
// The egress socket an output to `address` on `ifname` is sent through.
inline std::string egress_fd_name(std::string_view ifname, const IpAddress& address)
{
    if (address.is_multicast())
        return packet_egress_fd_name(ifname);
    return address.is_ipv4() ? udp_egress_fd_name(ifname) : udp6_egress_fd_name(ifname);
}

// ---- D-Bus on the worker link ---------------------------------------------
inline constexpr const char* kObjectPath = "/org/mcr/Relay";
// Served by the supervisor on each worker connection. The supervisor knows
// which worker a connection belongs to from the connection itself (socketpair
// it made) or from the peer's credentials (unit mcrd-worker@IFACE.service),
// never from an argument.
//   AcquireSockets() -> a{sh}      every socket the worker should hold, by fd name
//   GetConfig()      -> s          the worker config JSON
inline constexpr const char* kSupervisorInterface = "org.mcr.Relay.Worker1";
// Served by the worker on the same connection.
//   SetConfig(s config, a{sh} sockets) -> ()   new rules; sockets added or replaced
//                                              (an empty dict keeps the current ones)
//   GetStats() -> s                              counters JSON (below)
//   SetListeners(a(su) listening) -> ()          the outputs with "listeners": "required"
//                                                that have listeners now, as (rule name,
//                                                output index); the others hold their copies
//                                                (counted as "no_listener"). The whole set
//                                                each time, so a lost or reordered call heals.
inline constexpr const char* kWorkerInterface = "org.mcr.Relay.WorkerAgent1";

// Default path of the supervisor's worker socket (per instance for mcrd@NS:
// /run/mcr/NS/worker.sock).
inline constexpr const char* kDefaultWorkerSocket = "/run/mcr/worker.sock";

// ---- JSON documents ---------------------------------------------------------
// Worker config:
//   { "interface": "in0",                      // ingress interface name
//     "rules": [ <rule_to_json(rule)>... ],    // only rules whose input is on "interface"
//                                              // a translated multicast output carries
//                                              // "source_address": the egress interface's
//                                              // address of the output's family, which its
//                                              // copies leave from (absent: it has none)
//     "egress": { "out0": { "mtu": 1500 } },   // one entry per output interface
//     "receive_buffer_bytes": 16777216,
//     "listening": [ ["video1", 0], ... ] }        // as SetListeners; absent: none
//
// Stats (GetStats, and the worker's --stats-file):
//   { "interface": "in0", "uptime_ms": 1234,
//     "kernel":  { "packets": N, "drops": N },     // PACKET_STATISTICS, accumulated over every ingress socket
//     "receive": { "mode": "quiet" | "ring" | "socket",   // how the IPv4 ingress is read now
//                  "to_ring": N, "to_quiet": N,        // switches between the two ingress sockets
//                  "discarded": N },                   // quiet backlog dropped after a switch to a full ring
//     "receive6": { ... },                         // the same for the IPv6 pair; only with an "ingress6"
//     "ingress": { "frames": N, "bytes": N, "not_ip": N, "malformed": N,
//                  "fragment": N, "ip_options": N, "not_matched": N,
//                  "ipv6_fragment": N, "ipv6_routing_header": N, "ipv6_extension_chain": N,
//                  "zero_udp_checksum": N, "no_buffer": N },   // reasons: dataplane/frame.hpp
//     "rules": [ { "name": "video1", "packets": N, "bytes": N, "ttl_expired": N,
//                  "outputs": [ { "interface": "out0", "address": "239.2.2.2", "port": 6000,
//                                 "packets": N, "bytes": N,
//                                 "drops": { "no_buffer": N, "would_block": N,
//                                            "too_big": N, "send_error": N,
//                                            "no_source_address": N } } ] } ] }
// An output with "listeners": "required" adds "no_listener": N, the copies
// held while no listener was known (not a drop).
// With the fast path (mcrd-worker built with it), rule and output "packets"
// and "bytes" are the sum of both paths, and the fast path's share is added:
//   rules[i]: "path": "tc" | "tc-legacy" | "userspace", "path_reason": "…" (userspace only),
//             "fast_path": { "packets": N, "bytes": N }
//   rules[i].outputs[j]: "fast_path": { "packets": N, "bytes": N, "errors": N }
//             (errors are also in drops.send_error)
//   "fast_path": { "mode": "tc" | "tc-legacy" | "userspace", "reason": "…", "program_id": N,
//                  "maps": "<id>",   // the maps' identity: counters continue while it stays
//                  "relayed": N, "pass": { "<pass reason>": N, ... } }
// A rule whose "inspect" is "rtp" or "mpegts" (worker/stream_health.hpp;
// it is never on the fast path: "path_reason": "inspect") adds:
//   rules[i]: "health": { "kind": "rtp", "state": "ok" | "losing",
//       "packets", "malformed", "lost", "reordered", "duplicates", "ssrc_changes",
//       "sequence_restarts": N, "payload_type", "ssrc": N | null,
//       "clock_rate": N, "jitter": <RTP timestamp units>, "jitter_us": <float> }
//     or { "kind": "mpegts", "state": …, "datagrams", "malformed", "packets",
//       "cc_errors", "duplicates", "discontinuities", "pids": N,
//       "pcr_pid": N | null, "rtp": { …as above, TS in RTP only } }
//   rules[i].outputs[j]: "health": { "gaps": N }   // copies this output dropped
// Definitions: dataplane/rtp_health.hpp, dataplane/ts_health.hpp.
// The fast path's counters live in its maps, which outlive a worker restart:
// the supervisor must not add an earlier run's fast-path share again while
// "maps" is unchanged.

} // namespace mcr::worker_protocol
