// The supervisor's half of the in-kernel fast path (src/fastpath): load the
// tc program, attach it to a worker's ingress interface (tcx link or
// cls_bpf filter), turn the link and map fds into named fds for the worker,
// which installs the rules and reads the counters, and detach the cls_bpf
// filter, which no process holds. Built without the fast path, every call
// refuses (and detaching has nothing to do).
#pragma once

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "netlink/tc_filters.hpp"
#include "supervisor/options.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mcr::supervisor {

// Why the fast path is not used on an interface: `reason` is a short stable
// name shown on every surface ("not-permitted", "foreign-program", "off"...),
// `message` the detail for the journal.
struct FastPathRefusal {
    std::string reason;
    std::string message;
};

struct FastPathHandoff {
    std::map<std::string, unique_fd> fds; // worker_protocol fast-path names -> link and map fds
    std::uint32_t program_id = 0;         // the attached program, as bpftool shows it
};

// Our cls_bpf filter on an ingress (the slot and name src/fastpath gives it).
struct OurLegacyFilter {
    std::uint32_t program_id = 0;
    std::uint32_t handle = 0;   // says whether we created the clsact qdisc
};

// Everything on an interface's ingress hooks, sorted into ours and anyone
// else's. Needs CAP_NET_ADMIN.
struct IngressOccupants {
    bool kernel_has_tcx = false;
    std::vector<std::uint32_t> tcx_programs;   // every program on the tcx ingress (ours among them)
    std::vector<TcFilter> other_filters;       // clsact ingress filters other than ours
    std::optional<OurLegacyFilter> ours;
};

// Whether this build has the fast path at all (-Dfastpath).
[[nodiscard]] bool fast_path_built() noexcept;

// Routes libbpf's messages (stderr by default) to the journal.
void route_libbpf_log();

[[nodiscard]] Result<IngressOccupants, FastPathRefusal> ingress_occupants(int ifindex);

// Loads a fresh program and attaches it to `ifindex`'s ingress with `mode`
// (tc or tc_legacy; with `replace_handle`, in place of our cls_bpf filter
// with that handle, in one step). The program fd is closed before
// returning: the link or filter and the maps live on in the fds.
[[nodiscard]] Result<FastPathHandoff, FastPathRefusal>
attach_fast_path(int ifindex, FastPathAttach mode, std::optional<std::uint32_t> replace_handle);

// Removes our cls_bpf filter from `ifindex`'s ingress, and the clsact qdisc
// when we created it and no other filter is on it. Returns the program id
// removed, 0 when there was none (or no such interface).
[[nodiscard]] Result<std::uint32_t, FastPathRefusal> detach_legacy_filter(int ifindex);

} // namespace mcr::supervisor
