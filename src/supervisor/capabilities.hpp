// The supervisor's privileges: it keeps CAP_NET_RAW (AF_PACKET sockets for
// workers), CAP_BPF + CAP_NET_ADMIN for the fast path if given, and in
// spawn mode with --worker-user what it takes to start a worker as that
// user (see for_worker_user below); nothing else, and it refuses to run as
// an all-powerful root.
#pragma once

#include "core/result.hpp"

namespace mcr::supervisor {

// Drops every capability but CAP_NET_RAW from the effective, permitted,
// inheritable, ambient and bounding sets, and (for uid 0) sets
// SECBIT_NOROOT so that a spawned worker gains nothing by exec. With
// `keep_fast_path`, CAP_BPF and CAP_NET_ADMIN are kept too when they are
// permitted (the unit grants them to load and attach the fast path; without
// them the fast path falls back to the userspace path, it never fails the
// start). Refuses (Error) when running as root with a full capability set
// unless `allow_root`, and when CAP_NET_RAW is not available at all.
// Verifies the result by reading the sets back.
//
// Without the fast path, CAP_NET_ADMIN is not needed: the socket factory
// falls back from SO_RCVBUFFORCE to SO_RCVBUF, and our sysctl.d raises
// net.core.rmem_max; joins and SO_BINDTODEVICE need no capability on
// Linux >= 5.7.
//
// With `for_worker_user` (spawn mode, --worker-user), CAP_SETUID and
// CAP_SETGID stay in the permitted set (not the effective one): a spawned
// worker's child raises them only to switch to its user, as workers are
// spawned again after a crash or a hot-plug. CAP_KILL stays effective: a
// worker under another uid takes mcrd's SIGTERM and its parent-death signal
// only from a holder of it. The bounding set is then
// emptied entirely, CAP_NET_RAW included (the permitted set keeps it), so
// that workers start with an empty bounding set; that needs CAP_SETPCAP
// at start, or a bounding set that is already empty.
[[nodiscard]] Status restrict_capabilities(bool allow_root, bool for_worker_user, bool keep_fast_path);

} // namespace mcr::supervisor
