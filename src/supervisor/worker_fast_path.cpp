// The fast path of each worker: when to attach one, when someone else's
// program or a refusal keeps the interface on the userspace path, and when
// the supervisor lets go of the fds (once handed over, the worker holds the
// only link). See src/fastpath/README.md "Still to do to wire it in".
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
    return sockets.by_name.count(std::string(wp::kFastPathLinkFd)) != 0;
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
        refuse_fast_path(worker, "not-built", attach_fast_path(0).error().message);
        return {};
    }
    const std::optional<LinkInfo> link = query_link(worker.interface);
    if (!link)
        return {};   // the worker waits for its interface; so does this
    auto attached = attached_ingress_programs(link->ifindex);
    if (!attached) {
        refuse_fast_path(worker, attached.error().reason, attached.error().message);
        return {};
    }
    if (!attached->empty()) {
        const auto& ids = *attached;
        if (worker.fast_path_program != 0 && std::find(ids.begin(), ids.end(), worker.fast_path_program) != ids.end())
            return {};   // ours, held by the worker (or on its way there)
        // A worker unit that outlived the previous supervisor may hold a
        // program we never saw: its first report says which.
        if (settings_.mode == WorkerMode::systemd && !reports_none_handed_over(worker.stats))
            return {};
        refuse_fast_path(worker, "foreign-program",
                         "another tc program (id " + std::to_string(ids.front()) + ") is attached to the ingress of " +
                             worker.interface + "; mcrd does not run its own beside it");
        return {};
    }
    auto handoff = attach_fast_path(link->ifindex);
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
    log_info("Fast path attached to " + worker.interface + " (tc program id " +
                 std::to_string(handoff->program_id) + ")",
             {{"MCR_INTERFACE", worker.interface}});
    return names;
}

void WorkerManager::follow_fast_path_report(Worker& worker)
{
    const nlohmann::json* reported = reported_fast_path(worker.stats);
    if (!reported)
        return;   // a worker built without the fast path
    if (reported->value("mode", "") == "tc") {
        const auto id = reported->find("program_id");
        if (id != reported->end() && id->is_number_unsigned())
            worker.fast_path_program = id->get<std::uint32_t>();
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
