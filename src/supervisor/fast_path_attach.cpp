// Load, attach and hand-off of the fast path (see fast_path_attach.hpp). The
// libbpf calls live in src/fastpath; this file turns their outcomes into
// named fds and refusal reasons, and is reduced to refusals when the build
// has no fast path.
#include "fast_path_attach.hpp"

#include "core/log.hpp"
#include "core/worker_protocol.hpp"

#ifdef MCR_HAVE_FASTPATH
#include "fastpath/fast_path.hpp"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
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

Result<std::vector<std::uint32_t>, FastPathRefusal> attached_ingress_programs(int ifindex)
{
    auto ids = fastpath::ingress_program_ids(ifindex);
    if (!ids)
        return refusal_of(ids.error());
    return std::move(*ids);
}

Result<FastPathHandoff, FastPathRefusal> attach_fast_path(int ifindex)
{
    auto program = fastpath::Program::load();
    if (!program)
        return refusal_of(program.error());
    auto link = program->attach_ingress(ifindex);
    if (!link)
        return refusal_of(link.error());
    auto maps = program->map_fds();
    if (!maps)
        return refusal_of(maps.error());
    auto id = fastpath::linked_program_id(link->get());
    if (!id)
        return refusal_of(id.error());
    FastPathHandoff handoff;
    handoff.program_id = *id;
    handoff.fds.emplace(wp::kFastPathLinkFd, std::move(*link));
    // The order of wp::kFastPathMapFds.
    unique_fd* const map_fds[] = {&maps->rules,        &maps->rule_versions, &maps->version_outputs,
                                  &maps->pass_counts,  &maps->rule_traffic,  &maps->output_traffic,
                                  &maps->quiesce,      &maps->quiesce_inner};
    static_assert(std::size(map_fds) == std::size(wp::kFastPathMapFds));
    for (std::size_t i = 0; i < std::size(map_fds); ++i)
        handoff.fds.emplace(wp::kFastPathMapFds[i], std::move(*map_fds[i]));
    return handoff;
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
Result<std::vector<std::uint32_t>, FastPathRefusal> attached_ingress_programs(int) { return not_built(); }
Result<FastPathHandoff, FastPathRefusal> attach_fast_path(int) { return not_built(); }

#endif

} // namespace mcr::supervisor
