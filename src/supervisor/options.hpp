// mcrd's command line and the environment systemd gives it, resolved into
// one Options value before anything starts.
#pragma once

#include "core/result.hpp"
#include "membership/membership_config.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace mcr::supervisor {

enum class WorkerMode { systemd, spawn };

// How the fast path's program is attached (src/fastpath/README.md): a tcx
// link ("tc", Linux 6.6+) or a cls_bpf filter on clsact ("tc-legacy");
// automatic takes tc where the kernel has it.
enum class FastPathAttach { automatic, tc, tc_legacy };

struct Options {
    std::string namespace_name;     // --namespace: "" = host
    std::string config_file;        // --config: read-only rules (JSON or MCR json5)
    std::string state_dir;          // --state-dir, else $STATE_DIRECTORY, else LOCALSTATEDIR/lib/mcrd
    std::string config_dir;         // --config-dir, else $CONFIGURATION_DIRECTORY, else SYSCONFDIR/mcrd
    std::string runtime_dir;        // --runtime-dir, else $RUNTIME_DIRECTORY, else /run/mcr
    std::string worker_socket;      // --worker-socket, else RUNTIME_DIR/worker.sock
    std::string control_socket;     // --control-socket, else RUNTIME_DIR/control.sock ("-" = none)
    WorkerMode worker_mode = WorkerMode::spawn;
    std::string worker_binary;      // --worker-binary, else MCR_LIBEXECDIR/mcrd-worker
    std::string bus;                // "system", "session", "none" (no D-Bus at all) or a D-Bus address
    // Spawn mode: the user workers run as ("-" = the supervisor's own). By
    // default "nobody" when the supervisor runs as uid 0, else "-".
    std::string worker_user;
    bool allow_root = false;
    bool reset_state = false;
    std::uint64_t idle_exit_sec = 0;  // 0 = never
    std::size_t max_rules = 0;
    std::string log_level = "info";
    bool fast_path = true;          // --fast-path auto|off: load the in-kernel fast path where it works
    FastPathAttach fast_path_attach = FastPathAttach::automatic; // --fast-path-attach auto|tc|tc-legacy
    // IGMP router side for outputs with "listeners": "required":
    // --robustness, --query-interval-ms, --query-response-interval-ms,
    // --last-member-interval-ms, --max-groups (RFC 3376 defaults).
    membership::MembershipConfig membership;
};

// --bus none: no D-Bus connection at all; the control socket is the API.
[[nodiscard]] inline bool without_bus(const Options& options) { return options.bus == "none"; }
// Spawn mode with a --worker-user other than "-": the supervisor keeps
// CAP_SETUID/CAP_SETGID to switch each worker to that user before exec.
[[nodiscard]] inline bool drops_worker_user(const Options& options)
{
    return options.worker_mode == WorkerMode::spawn && options.worker_user != "-";
}

// Parses argv. On an Error, `exit_code` says how to exit: 0 for --help
// (the reason is the help text), 2 for a usage error.
[[nodiscard]] Result<Options> parse_options(int argc, char** argv, int& exit_code);

} // namespace mcr::supervisor
