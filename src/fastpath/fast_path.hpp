// Loads the fast path's tc program (relay.bpf.c) and attaches it to an
// ingress interface: a tcx link where the kernel has tcx (6.6+), else a
// direct-action cls_bpf filter on a clsact qdisc ("tc-legacy"). Refusals are values that say why, so the caller can
// leave the rule on the userspace path and show the reason; the program fd
// never leaves this file (a holder of a program fd could attach it anywhere).
#pragma once

#include "core/result.hpp"
#include "core/unique_fd.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct relay_bpf; // the skeleton bpftool generates from relay.bpf.o

namespace mcr::fastpath {

// Why the fast path is not available; each maps to a line the operator can
// act on. The rule then runs on the userspace path ("fallback, never failure").
enum class Refusal : std::uint8_t {
    not_permitted,  // EPERM: no CAP_BPF / CAP_NET_ADMIN, or kernel lockdown
    verifier,       // the verifier refused the program (its log is in the message)
    unsupported,    // the kernel lacks a map type, a helper or tcx links (for attach mode tc)
    no_interface,   // no interface with that index
    attach_refused, // bpf_link_create / the cls_bpf filter refused for another reason
    resources,      // ENOMEM / E2BIG: memory or map size limits
    other,
};

[[nodiscard]] std::string_view refusal_name(Refusal refusal) noexcept;

// How a program is attached to its ingress interface; the names are the
// mode every surface shows ("tc", "tc-legacy") and the values of
// mcrd --fast-path-attach.
enum class AttachMode : std::uint8_t {
    tc,        // a tcx link (Linux 6.6+): attached while a process holds the link fd
    tc_legacy, // a cls_bpf filter on clsact: attached until someone deletes it
};
[[nodiscard]] std::string_view attach_mode_name(AttachMode mode) noexcept;

// The slot of our cls_bpf filter on a clsact ingress: a priority and
// handles no one else has a reason to use. The handle also records, in the
// kernel beside the filter (so no crash can lose it), whether mcrd created
// the clsact qdisc: only then may it delete the qdisc again.
inline constexpr std::uint16_t kLegacyFilterPriority = 0x6d63;        // "mc"
inline constexpr std::uint32_t kLegacyHandleFoundClsact = 0x6d637200; // the qdisc was there before us
inline constexpr std::uint32_t kLegacyHandleMadeClsact = 0x6d637201;  // we created the qdisc
// The program's name (relay.bpf.c), as bpftool and tc show it.
inline constexpr std::string_view kProgramName = "mcr_relay";

struct Failure {
    Refusal refusal = Refusal::other;
    int error = 0;       // positive errno
    std::string message; // what failed; for a verifier refusal, the log's last lines
};

// A value or the Failure that prevented it.
template <typename T>
using Outcome = Result<T, Failure>;

// The maps of one loaded program, each fd owned here. With the link fd this
// is what the worker keeps in its FD store (suggested FDNAMEs:
// "fastpath-<member>"): enough to install rules and read counters with no
// capability, and to keep the program attached across restarts.
struct MapFds {
    unique_fd rules;           // hash: (group, source, port) -> version slot
    unique_fd rule_versions;   // array: one immutable rule version per slot
    unique_fd version_outputs; // array: the outputs of each slot
    unique_fd pass_counts;     // per-CPU array: frames left to the stack, by reason
    unique_fd rule_traffic;    // per-CPU array: per rule id
    unique_fd output_traffic;  // per-CPU array: per rule id and output
    unique_fd quiesce;         // array of maps: updating it waits for running programs
    unique_fd quiesce_inner;   // the map quiesce is updated with
    unique_fd attachment;      // array, frozen: how and where the program is attached (relay_abi.h)
};

// What the attachment map says (read with a map fd, no capability).
struct Attachment {
    std::uint32_t program_id = 0;
    int ifindex = 0;
    AttachMode mode = AttachMode::tc;
};
[[nodiscard]] Outcome<Attachment> read_attachment(int attachment_map_fd);

// BPF_PROG_TEST_RUN's view of one run, for the unit tests.
struct TestRun {
    int verdict = 0;                 // TC_ACT_* the program returned
    std::vector<std::uint8_t> frame; // the frame as the program left it
};

// Fields of the test run's skb the program reads beyond the frame.
struct TestSkb {
    std::uint32_t gso_size = 0; // non-zero: a GRO-aggregated skb
};

// Ids of every program on `ifindex`'s tcx ingress, ours or anyone's
// (needs CAP_NET_ADMIN): a caller that finds one it did not attach knows
// someone else's program is there. A kernel without tcx refuses with
// Refusal::unsupported.
[[nodiscard]] Outcome<std::vector<std::uint32_t>> ingress_program_ids(int ifindex);

// The kernel's ids (as bpftool shows them) of the program behind a link fd
// and of a map: they identify a program instance and its maps across the
// processes holding fds to them. No capability needed.
[[nodiscard]] Outcome<std::uint32_t> linked_program_id(int link_fd);
[[nodiscard]] Outcome<std::uint32_t> map_id(int map_fd);

// Deletes our filter (handle `handle` in our slot) from `ifindex`'s clsact
// ingress; with `remove_clsact`, the clsact qdisc too (the caller checked
// that we made it and that no other filter is on it). A missing interface
// or filter is not an error: there is nothing left to detach.
[[nodiscard]] Outcome<Ok> detach_tc_legacy(int ifindex, std::uint32_t handle, bool remove_clsact);

// One loaded program and its maps. Destroying it closes the program and map
// fds it holds; an attached link and duplicated map fds keep them alive.
class Program {
public:
    [[nodiscard]] static Outcome<Program> load();

    // A tcx ingress link on interface `ifindex`: the program stays attached
    // while any process holds the returned fd, and is detached when the
    // last holder closes it (or detaches through it).
    [[nodiscard]] Outcome<unique_fd> attach_ingress(int ifindex) const;

    // A direct-action cls_bpf filter in our slot (kLegacyFilterPriority) on
    // `ifindex`'s clsact ingress, creating the qdisc if it is missing. With
    // `replace_handle`, the filter already in our slot under that handle is
    // swapped for this program in one step (frames see the old program or
    // the new one, never none). Returns the handle used. The filter keeps the
    // program and its maps alive without any process: only
    // detach_tc_legacy() or the interface's removal ends it.
    [[nodiscard]] Outcome<std::uint32_t> attach_tc_legacy(int ifindex,
                                                          std::optional<std::uint32_t> replace_handle) const;

    // The kernel's id of this program.
    [[nodiscard]] Outcome<std::uint32_t> id() const;

    // Writes the attachment map and freezes it: from then on no one, the
    // worker holding a map fd included, can change what it says.
    [[nodiscard]] Outcome<Attachment> record_attachment(AttachMode mode, int ifindex) const;

    // Duplicates of the map fds, to hand over or to open RuleMaps with.
    [[nodiscard]] Outcome<MapFds> map_fds() const;

    // Runs the program once on `frame` with BPF_PROG_TEST_RUN (no device is
    // involved; a bpf_redirect() is only reported in the verdict).
    [[nodiscard]] Outcome<TestRun> test_run(std::span<const std::uint8_t> frame, const TestSkb& skb = {}) const;

private:
    struct SkeletonDeleter {
        void operator()(relay_bpf* skeleton) const noexcept;
    };
    explicit Program(std::unique_ptr<relay_bpf, SkeletonDeleter> skeleton) noexcept : skeleton_(std::move(skeleton)) {}

    std::unique_ptr<relay_bpf, SkeletonDeleter> skeleton_;
};

} // namespace mcr::fastpath
