// The fast path of each worker: when to attach one, when someone else's
// program or a refusal keeps the interface on the userspace path, and when
// the supervisor lets go of the fds (once handed over, the worker holds the
// only link), and when it detaches a cls_bpf filter, which nothing else
// would. See src/fastpath/README.md "How it is wired".
#include "core/log.hpp"
#include "core/worker_protocol.hpp"
#include "netlink/link_monitor.hpp"
#include "supervisor/worker_manager.hpp"
#include "supervisor/worker_state.hpp"

#include <algorithm>

namespace mcr::supervisor {

namespace wp = worker_protocol;

namespace {

// The worker's own view, from its last counters document ("fast_path").
const nlohmann::json* reported_fast_path(const std::optional<nlohmann::json>& stats)
{
    if (!stats || !stats->contains("fast_path") || !(*stats)["fast_path"].is_object())
        return nullptr;
    return &(*stats)["fast_path"];
}

// The worker said it was given no fast path fds (the reason it reports then).
bool reports_none_handed_over(const std::optional<nlohmann::json>& stats)
{
    const nlohmann::json* reported = reported_fast_path(stats);
    return reported && reported->value("reason", "") == "not-handed-over";
}

bool has_pending_fds(const WorkerSockets& sockets)
{
    return sockets.by_name.count(std::string(wp::kFastPathAttachmentFd)) != 0;
}

} // namespace

void WorkerManager::forget_fast_path_fds(Worker& worker)
{
    auto& fds = worker.sockets.by_name;
    for (auto it = fds.begin(); it != fds.end();)
        it = wp::is_fast_path_fd_name(it->first) ? fds.erase(it) : std::next(it);
}

void WorkerManager::link_sockets_handed(const std::string& interface)
{
    // A unit keeps them in its FD store, and must be their only holder so
    // that stopping it detaches the program. A spawned child has no store:
    // the supervisor keeps them as it keeps the child's sockets, so the
    // program relays on (and counts on) while a crashed child restarts.
    if (settings_.mode != WorkerMode::systemd)
        return;
    if (auto it = workers_.find(interface); it != workers_.end())
        forget_fast_path_fds(*it->second);
}

void WorkerManager::refuse_fast_path(Worker& worker, std::string reason, const std::string& message)
{
    log_warning("Fast path not used on " + worker.interface + ", its rules run on the userspace path: " + message,
                {{"MCR_INTERFACE", worker.interface}, {"MCR_FAST_PATH_REASON", reason}});
    worker.fast_path_refusal = FastPathRefusal{std::move(reason), message};
    observer_.workers_changed();
}

std::vector<std::string> WorkerManager::plan_fast_path(Worker& worker)
{
    if (!settings_.fast_path || worker.fast_path_refusal || has_pending_fds(worker.sockets))
        return {};
    if (!fast_path_built()) {
        refuse_fast_path(worker, "not-built", attach_fast_path(0, FastPathAttach::tc, std::nullopt).error().message);
        return {};
    }
    const std::optional<LinkInfo> link = query_link(worker.interface);
    if (!link)
        return {};   // the worker waits for its interface; so does this
    auto occupants = ingress_occupants(link->ifindex);
    if (!occupants) {
        refuse_fast_path(worker, occupants.error().reason, occupants.error().message);
        return {};
    }
    const bool held = worker.fast_path_program != 0;
    const auto& tcx = occupants->tcx_programs;
    const bool ours_on_tcx = held && std::find(tcx.begin(), tcx.end(), worker.fast_path_program) != tcx.end();
    const bool ours_on_clsact = held && occupants->ours && occupants->ours->program_id == worker.fast_path_program;
    const std::size_t foreign_tcx = tcx.size() - (ours_on_tcx ? 1 : 0);
    if (ours_on_tcx && occupants->ours) {
        // Our cls_bpf filter from an earlier mcrd in the other mode: it
        // would relay what our tcx program passes by its stale rules.
        if (auto removed = detach_legacy_filter(link->ifindex); !removed) {
            refuse_fast_path(worker, removed.error().reason, removed.error().message);
            return {};
        }
        log_info("Removed an earlier mcrd's tc-legacy filter from " + worker.interface + " beside its tc program",
                 {{"MCR_INTERFACE", worker.interface}});
        occupants->ours.reset();
    }
    if (foreign_tcx == 0 && occupants->other_filters.empty() && (ours_on_tcx || ours_on_clsact))
        return {};   // ours, held by the worker (or on its way there)
    if (foreign_tcx != 0 || !occupants->other_filters.empty()) {
        // A worker unit that outlived the previous supervisor may hold a
        // tcx program we never saw: its first report says which.
        if (foreign_tcx != 0 && settings_.mode == WorkerMode::systemd && !reports_none_handed_over(worker.stats))
            return {};
        const std::string what =
            foreign_tcx != 0 ? "another tc program (id " + std::to_string(tcx.front()) + ")"
                             : "another tc filter (" + occupants->other_filters.front().kind + ", pref " +
                                   std::to_string(occupants->other_filters.front().priority) + ")";
        refuse_fast_path(worker, "foreign-program",
                         what + " is attached to the ingress of " + worker.interface +
                             "; mcrd does not run its own beside it");
        return {};
    }
    FastPathAttach mode = settings_.fast_path_attach;
    if (mode == FastPathAttach::automatic)
        mode = occupants->kernel_has_tcx ? FastPathAttach::tc : FastPathAttach::tc_legacy;
    if (mode == FastPathAttach::tc && !occupants->kernel_has_tcx) {
        refuse_fast_path(worker, "kernel-unsupported",
                         "--fast-path-attach tc: this kernel has no tcx (Linux 6.6+); tc-legacy would work");
        return {};
    }
    std::optional<std::uint32_t> replace_handle;
    if (occupants->ours) {
        // Our filter, but not one this worker holds the maps of: a worker
        // unit that outlived the previous supervisor says so in its first
        // report (then fast_path_program names it and we returned above);
        // otherwise (a spawned worker died with the previous mcrd, a unit
        // lost its FD store or holds other maps) nobody can fill or count
        // it. It relays on with its last rules until the worker runs, so
        // wait for a report (its ingress socket is open by then), then take
        // its place in one step: the worker relays what the new program
        // leaves to the stack until its rules are in.
        if (!worker.stats)
            return {};
        if (mode == FastPathAttach::tc_legacy) {
            replace_handle = occupants->ours->handle;
        } else if (auto removed = detach_legacy_filter(link->ifindex); !removed) {
            refuse_fast_path(worker, removed.error().reason, removed.error().message);
            return {};
        }
    }
    auto handoff = attach_fast_path(link->ifindex, mode, replace_handle);
    if (!handoff) {
        refuse_fast_path(worker, handoff.error().reason, handoff.error().message);
        return {};
    }
    worker.fast_path_program = handoff->program_id;
    std::vector<std::string> names;
    for (auto& [name, fd] : handoff->fds) {
        worker.sockets.by_name[name] = std::move(fd);
        names.push_back(name);
    }
    const std::string mode_name = mode == FastPathAttach::tc_legacy ? "tc-legacy" : "tc";
    log_info("Fast path attached to " + worker.interface + " (" + mode_name + ", program id " +
                 std::to_string(handoff->program_id) +
                 (replace_handle ? ", in place of an earlier mcrd's filter no worker held" : "") + ")",
             {{"MCR_INTERFACE", worker.interface}, {"MCR_FAST_PATH_MODE", mode_name}});
    return names;
}

void WorkerManager::detach_fast_path(const Worker& worker)
{
    // Only the cls_bpf filter needs us: a tcx link ends with its last fd.
    if (!settings_.fast_path || !fast_path_built())
        return;
    const std::optional<LinkInfo> link = query_link(worker.interface);
    if (!link)
        return;   // gone, and its filters with it
    auto removed = detach_legacy_filter(link->ifindex);
    if (!removed)
        log_warning("Failed to detach the fast path from " + worker.interface + ": " + removed.error().message,
                    {{"MCR_INTERFACE", worker.interface}});
    else if (*removed != 0)
        log_info("Fast path detached from " + worker.interface + " (tc-legacy, program id " +
                     std::to_string(*removed) + ")",
                 {{"MCR_INTERFACE", worker.interface}});
}

void WorkerManager::sweep_orphan_filter(const std::string& ifname, int ifindex)
{
    if (!settings_.fast_path || !fast_path_built() || workers_.count(ifname))
        return;
    // Our filter where no worker of ours receives: an earlier mcrd's, left
    // by a crash or by a rule removed while mcrd was not running.
    auto removed = detach_legacy_filter(ifindex);
    if (!removed)
        log_warning("Failed to remove an earlier mcrd's fast path from " + ifname + ": " + removed.error().message,
                    {{"MCR_INTERFACE", ifname}});
    else if (*removed != 0)
        log_info("Removed an earlier mcrd's fast path from " + ifname + " (tc-legacy, program id " +
                     std::to_string(*removed) + "): no rule uses it as input",
                 {{"MCR_INTERFACE", ifname}});
}

void WorkerManager::follow_fast_path_report(Worker& worker)
{
    const nlohmann::json* reported = reported_fast_path(worker.stats);
    if (!reported)
        return;   // a worker built without the fast path
    if (const std::string mode = reported->value("mode", ""); mode == "tc" || mode == "tc-legacy") {
        const auto id = reported->find("program_id");
        if (id == reported->end() || !id->is_number_unsigned() || id->get<std::uint32_t>() == worker.fast_path_program)
            return;
        worker.fast_path_program = id->get<std::uint32_t>();
        // A tcx program is attached while the worker holds its link; a
        // cls_bpf program only while the filter names it. A worker that
        // outlived us may hold maps whose filter is gone or was replaced:
        // plan_fast_path() adopts, attaches afresh or takes the filter over.
        if (mode != "tc-legacy" || !worker.link)
            return;
        const std::vector<std::string> names = plan_fast_path(worker);
        if (!names.empty())
            worker.link->send_config(worker.config, worker.sockets.named(names));
        return;
    }
    // Only a worker that has none gets one: one that holds the fds but
    // failed to use them says why, and attaching more would not help.
    if (!worker.link || !reports_none_handed_over(worker.stats))
        return;
    const std::vector<std::string> names = plan_fast_path(worker);
    if (!names.empty())
        worker.link->send_config(worker.config, worker.sockets.named(names));
}

nlohmann::json WorkerManager::fast_path_status(const Worker& worker) const
{
    if (!settings_.fast_path)
        return {{"mode", "userspace"}, {"reason", "off"}};
    if (worker.fast_path_refusal)
        return {{"mode", "userspace"}, {"reason", worker.fast_path_refusal->reason},
                {"message", worker.fast_path_refusal->message}};
    if (const nlohmann::json* reported = reported_fast_path(worker.stats))
        return {{"mode", reported->value("mode", "userspace")}, {"reason", reported->value("reason", "")}};
    if (worker.stats)
        return {{"mode", "userspace"}, {"reason", "worker-without-fast-path"}};
    return {{"mode", "userspace"}, {"reason", "starting"}};
}

} // namespace mcr::supervisor
