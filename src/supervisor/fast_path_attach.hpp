// The supervisor's half of the in-kernel fast path (src/fastpath): load the
// tc program, attach it to a worker's ingress interface and turn the link
// and map fds into named fds for the worker, which installs the rules and
// reads the counters. Built without the fast path, every call refuses.
#pragma once

#include "core/result.hpp"
#include "core/unique_fd.hpp"

#include <cstdint>
#include <map>
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

// Whether this build has the fast path at all (-Dfastpath).
[[nodiscard]] bool fast_path_built() noexcept;

// Routes libbpf's messages (stderr by default) to the journal.
void route_libbpf_log();

// Ids of the programs attached to the tcx ingress of `ifindex` (ours or
// anyone's). Needs CAP_NET_ADMIN.
[[nodiscard]] Result<std::vector<std::uint32_t>, FastPathRefusal> attached_ingress_programs(int ifindex);

// Loads a fresh program and attaches it to `ifindex`'s ingress. The program
// fd is closed before returning: the link and maps live on in the fds.
[[nodiscard]] Result<FastPathHandoff, FastPathRefusal> attach_fast_path(int ifindex);

} // namespace mcr::supervisor
