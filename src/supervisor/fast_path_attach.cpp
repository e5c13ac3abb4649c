// Load, attach, hand-off and cls_bpf detach of the fast path (see
// fast_path_attach.hpp). The libbpf calls live in src/fastpath, the tc
// filter dump in src/netlink; this file tells our filter from anyone's,
// turns outcomes into named fds and refusal reasons, and is reduced to
// refusals when the build has no fast path.
#include "fast_path_attach.hpp"

#include "core/log.hpp"
#include "core/worker_protocol.hpp"

#ifdef MCR_HAVE_FASTPATH
#include "fastpath/fast_path.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#endif

namespace mcr::supervisor {

namespace wp = worker_protocol;

#ifdef MCR_HAVE_FASTPATH

namespace {

FastPathRefusal refusal_of(const fastpath::Failure& failure)
{
    return FastPathRefusal{std::string(fastpath::refusal_name(failure.refusal)), failure.message};
}

// libbpf's print callback: a C callback, so nothing may escape it. One line
// per message; libbpf's debug chatter only at our debug level.
int libbpf_to_journal(libbpf_print_level level, const char* format, va_list arguments) noexcept
{
    constexpr std::size_t kLineBytes = 1024;
    char line[kLineBytes];
    const int length = std::vsnprintf(line, sizeof(line), format, arguments);
    if (length <= 0)
        return 0;
    std::string_view text(line, std::min<std::size_t>(static_cast<std::size_t>(length), sizeof(line) - 1));
    while (!text.empty() && text.back() == '\n')
        text.remove_suffix(1);
    try {
        const LogLevel ours = level == LIBBPF_WARN ? LogLevel::warning : LogLevel::debug;
        log_event(ours, {}, std::string("libbpf: ") + std::string(text), {});
    } catch (...) {
    }
    return 0;
}

} // namespace

bool fast_path_built() noexcept { return true; }

void route_libbpf_log() { (void)libbpf_set_print(&libbpf_to_journal); }

namespace {

// Ours beyond doubt: a cls_bpf filter in our slot (priority and one of our
// two handles) whose attacher named it as libbpf names our program
// ("mcr_relay:[<id>]"), with that program id.
bool is_our_filter(const TcFilter& filter)
{
    if (filter.kind != "bpf" || filter.priority != fastpath::kLegacyFilterPriority ||
        (filter.handle != fastpath::kLegacyHandleFoundClsact && filter.handle != fastpath::kLegacyHandleMadeClsact))
        return false;
    const std::string expected = std::string(fastpath::kProgramName) + ":[" + std::to_string(filter.bpf_program_id) + "]";
    return filter.bpf_name == expected;
}

FastPathRefusal filter_refusal(int error, int ifindex)
{
    return FastPathRefusal{error == -ENODEV ? "no-interface" : "other",
                           "cannot list the tc filters of interface index " + std::to_string(ifindex) + ": " +
                               std::strerror(-error)};
}

} // namespace

Result<IngressOccupants, FastPathRefusal> ingress_occupants(int ifindex)
{
    IngressOccupants occupants;
    auto ids = fastpath::ingress_program_ids(ifindex);
    if (ids) {
        occupants.kernel_has_tcx = true;
        occupants.tcx_programs = std::move(*ids);
    } else if (ids.error().refusal != fastpath::Refusal::unsupported) {
        return refusal_of(ids.error());
    }
    TcFilterList filters = list_tc_filters(ifindex, TcHook::ingress);
    if (filters.error < 0)
        return filter_refusal(filters.error, ifindex);
    for (TcFilter& filter : filters.filters) {
        if (!occupants.ours && is_our_filter(filter))
            occupants.ours = OurLegacyFilter{filter.bpf_program_id, filter.handle};
        else
            occupants.other_filters.push_back(std::move(filter));
    }
    return occupants;
}

Result<FastPathHandoff, FastPathRefusal> attach_fast_path(int ifindex, FastPathAttach mode,
                                                          std::optional<std::uint32_t> replace_handle)
{
    auto program = fastpath::Program::load();
    if (!program)
        return refusal_of(program.error());
    const bool legacy = mode == FastPathAttach::tc_legacy;
    FastPathHandoff handoff;
    if (legacy) {
        auto handle = program->attach_tc_legacy(ifindex, replace_handle);
        if (!handle)
            return refusal_of(handle.error());
    } else {
        auto link = program->attach_ingress(ifindex);
        if (!link)
            return refusal_of(link.error());
        handoff.fds.emplace(wp::kFastPathLinkFd, std::move(*link));
    }
    auto recorded = program->record_attachment(legacy ? fastpath::AttachMode::tc_legacy : fastpath::AttachMode::tc,
                                               ifindex);
    auto maps = program->map_fds();
    if (!recorded || !maps) {
        // A filter outlives us: take it away again rather than leave a
        // program no worker can fill or count.
        if (legacy)
            (void)detach_legacy_filter(ifindex);
        return refusal_of(!recorded ? recorded.error() : maps.error());
    }
    handoff.program_id = recorded->program_id;
    // The order of wp::kFastPathMapFds.
    unique_fd* const map_fds[] = {&maps->rules,        &maps->rule_versions, &maps->version_outputs,
                                  &maps->pass_counts,  &maps->rule_traffic,  &maps->output_traffic,
                                  &maps->quiesce,      &maps->quiesce_inner,
                                  &maps->attachment};
    static_assert(std::size(map_fds) == std::size(wp::kFastPathMapFds));
    for (std::size_t i = 0; i < std::size(map_fds); ++i)
        handoff.fds.emplace(wp::kFastPathMapFds[i], std::move(*map_fds[i]));
    return handoff;
}

Result<std::uint32_t, FastPathRefusal> detach_legacy_filter(int ifindex)
{
    // A missing interface lists nothing: it took its filters with it.
    TcFilterList ingress = list_tc_filters(ifindex, TcHook::ingress);
    if (ingress.error < 0)
        return filter_refusal(ingress.error, ifindex);
    std::optional<OurLegacyFilter> ours;
    bool others = false;
    for (const TcFilter& filter : ingress.filters) {
        if (!ours && is_our_filter(filter))
            ours = OurLegacyFilter{filter.bpf_program_id, filter.handle};
        else
            others = true;
    }
    if (!ours)
        return 0U;
    // The qdisc goes only if we made it and nothing else hangs on it: its
    // deletion would take every filter on it along.
    bool remove_clsact = ours->handle == fastpath::kLegacyHandleMadeClsact && !others;
    if (remove_clsact) {
        TcFilterList egress = list_tc_filters(ifindex, TcHook::egress);
        remove_clsact = egress.error == 0 && egress.filters.empty();
    }
    auto detached = fastpath::detach_tc_legacy(ifindex, ours->handle, remove_clsact);
    if (!detached)
        return refusal_of(detached.error());
    return ours->program_id;
}

#else

namespace {
FastPathRefusal not_built()
{
    return FastPathRefusal{"not-built", "mcrd was built without the fast path (-Dfastpath=disabled, or libbpf, "
                                        "clang or bpftool missing)"};
}
} // namespace

bool fast_path_built() noexcept { return false; }
void route_libbpf_log() {}
Result<IngressOccupants, FastPathRefusal> ingress_occupants(int) { return not_built(); }
Result<FastPathHandoff, FastPathRefusal> attach_fast_path(int, FastPathAttach, std::optional<std::uint32_t>)
{
    return not_built();
}
Result<std::uint32_t, FastPathRefusal> detach_legacy_filter(int) { return 0U; }

#endif

} // namespace mcr::supervisor
