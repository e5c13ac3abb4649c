// The fanout group that joins a worker's two ingress sockets of one family
// ("ingress", read through a ring, and "ingress-quiet", read frame by frame;
// "ingress6" and "ingress6-quiet" in a group of their own; see
// core/worker_protocol.hpp for the member order) and the one-instruction
// classic BPF program that picks which of them gets every frame.
#pragma once

#include "core/result.hpp"

#include <cstdint>

namespace mcr::sockets {

// Puts `quiet_fd` (first) and `ring_fd` (second) into a new
// PACKET_FANOUT_CBPF group with a kernel-chosen unique id and points the
// group at the quiet socket. Both sockets must already be bound to the
// same interface and protocol (the kernel refuses otherwise).
[[nodiscard]] Status join_ingress_fanout(int quiet_fd, int ring_fd);

// Replaces the group's program with "return `member`": from then on every
// frame goes to that member alone. Needs no privilege. The kernel returns
// only after an RCU grace period (synchronize_net()), so every frame given
// to the other member before the switch is in that member's queue (or
// ring) by then: none arrives there afterwards.
[[nodiscard]] Status select_fanout_member(int fd, unsigned member);

// The group's id, or an error when `fd` is in no PACKET_FANOUT_CBPF group.
[[nodiscard]] Result<std::uint16_t> cbpf_fanout_group(int fd);

} // namespace mcr::sockets
