// Open, load and attach through libbpf 1.1 (Debian 12): the skeleton for the
// object, bpf_link_create() for tcx since libbpf 1.1 has no attach_tcx, and
// bpf_tc_hook_create()/bpf_tc_attach()/bpf_tc_detach() for cls_bpf.
#include "fast_path.hpp"

// The skeleton embeds the BPF object as one string literal, longer (70 KB
// since IPv6 and translation) than the 64 KiB C++ compilers must support;
// GCC and clang take it, and -Wpedantic (clang-tidy) must not fail on it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
#include "relay.skel.h"
#pragma GCC diagnostic pop
#include "relay_abi.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

namespace mcr::fastpath {

namespace {

#ifdef MCR_HAVE_BPF_TCX_INGRESS
constexpr auto kTcxIngress = BPF_TCX_INGRESS;
#else
// enum bpf_attach_type of Linux 6.6+ (checked in this kernel's BTF:
// BPF_TCX_INGRESS val=46); Debian 12's 6.1 UAPI headers stop before it.
constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);
#endif

// Enough for the verifier's last states; the log's end says what it refused.
constexpr std::size_t kVerifierLogBytes = 1U << 20;
constexpr std::size_t kVerifierLogTailBytes = 2000;
// The kernel's internal ENOTSUPP, which bpf() returns for some features a
// kernel lacks (there is no userspace name for it).
constexpr int kKernelEnotsupp = 524;
// BPF_PROG_TEST_RUN copies the frame back into this much room.
constexpr std::size_t kTestRunExtraBytes = 256;

Failure failure_from(int error, const std::string& what)
{
    Refusal refusal = Refusal::other;
    switch (error) {
    case EPERM:
        refusal = Refusal::not_permitted;
        break;
    case ENOMEM:
    case E2BIG:
        refusal = Refusal::resources;
        break;
    case EOPNOTSUPP:
    case kKernelEnotsupp:
        refusal = Refusal::unsupported;
        break;
    default:
        break;
    }
    return Failure{refusal, error, what + ": " + std::strerror(error)};
}

std::string log_tail(const std::vector<char>& log)
{
    const std::string_view text(log.data(), strnlen(log.data(), log.size()));
    return std::string(text.size() > kVerifierLogTailBytes ? text.substr(text.size() - kVerifierLogTailBytes) : text);
}

Outcome<unique_fd> duplicate(const bpf_map* map)
{
    unique_fd fd(fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 3));
    if (!fd)
        return failure_from(errno, std::string("cannot duplicate the fd of map ") + bpf_map__name(map));
    return fd;
}

} // namespace

std::string_view attach_mode_name(AttachMode mode) noexcept
{
    return mode == AttachMode::tc_legacy ? "tc-legacy" : "tc";
}

std::string_view refusal_name(Refusal refusal) noexcept
{
    switch (refusal) {
    case Refusal::not_permitted:
        return "not-permitted";
    case Refusal::verifier:
        return "verifier-refused";
    case Refusal::unsupported:
        return "kernel-unsupported";
    case Refusal::no_interface:
        return "no-interface";
    case Refusal::attach_refused:
        return "attach-refused";
    case Refusal::resources:
        return "resources";
    case Refusal::other:
        break;
    }
    return "other";
}

void Program::SkeletonDeleter::operator()(relay_bpf* skeleton) const noexcept
{
    relay_bpf__destroy(skeleton);
}

Outcome<Program> Program::load()
{
    // libbpf keeps a pointer to the log buffer only until load returns.
    std::vector<char> log(kVerifierLogBytes, '\0');
    bpf_object_open_opts options{};
    options.sz = sizeof(options);
    options.kernel_log_buf = log.data();
    options.kernel_log_size = log.size();
    // Level 0: no log on success; libbpf asks again with level 1 on failure.
    options.kernel_log_level = 0;

    std::unique_ptr<relay_bpf, SkeletonDeleter> skeleton(relay_bpf__open_opts(&options));
    if (!skeleton)
        return failure_from(errno, "cannot open the fast path's BPF object");
    if (const int error = relay_bpf__load(skeleton.get()); error != 0) {
        const int code = -error;
        Failure failure = failure_from(code, "cannot load the fast path");
        // EACCES/EINVAL with a log: the verifier said no. EPERM stays
        // not_permitted even with a log (lockdown, missing CAP_BPF).
        if (code != EPERM && log[0] != '\0') {
            failure.refusal = Refusal::verifier;
            failure.message += "; verifier: " + log_tail(log);
        } else if (code == EINVAL) {
            failure.refusal = Refusal::unsupported;
        }
        return failure;
    }
    return Program(std::move(skeleton));
}

Outcome<unique_fd> Program::attach_ingress(int ifindex) const
{
    const int link = bpf_link_create(bpf_program__fd(skeleton_->progs.mcr_relay), ifindex, kTcxIngress, nullptr);
    if (link >= 0)
        return unique_fd(link);
    Failure failure = failure_from(-link, "cannot attach the fast path to interface index " + std::to_string(ifindex));
    if (-link == ENODEV)
        failure.refusal = Refusal::no_interface;
    else if (-link == EINVAL)
        failure.refusal = Refusal::unsupported; // a kernel before 6.6 knows no tcx attach type
    else if (failure.refusal == Refusal::other)
        failure.refusal = Refusal::attach_refused;
    return failure;
}

Outcome<MapFds> Program::map_fds() const
{
    const auto& maps = skeleton_->maps;
    MapFds fds;
    const std::pair<unique_fd*, const bpf_map*> wanted[] = {
        {&fds.rules, maps.rules},
        {&fds.rule_versions, maps.rule_versions},
        {&fds.version_outputs, maps.version_outputs},
        {&fds.pass_counts, maps.pass_counts},
        {&fds.rule_traffic, maps.rule_traffic},
        {&fds.output_traffic, maps.output_traffic},
        {&fds.quiesce, maps.quiesce},
        {&fds.quiesce_inner, maps.quiesce_inner},
        {&fds.attachment, maps.attachment},
    };
    for (const auto& [fd, map] : wanted) {
        auto copy = duplicate(map);
        if (!copy)
            return copy.error();
        *fd = std::move(copy).value();
    }
    return fds;
}

Outcome<std::vector<std::uint32_t>> ingress_program_ids(int ifindex)
{
    // A tcx ingress holds at most 64 programs (the kernel's bpf_mprog limit).
    constexpr std::uint32_t kMaxIds = 64;
    std::vector<std::uint32_t> ids(kMaxIds);
    struct bpf_prog_query_opts query {}; // "struct": a function has the same name
    query.sz = sizeof(query);
    query.prog_ids = ids.data();
    query.prog_cnt = kMaxIds;
    if (const int error = bpf_prog_query_opts(ifindex, kTcxIngress, &query); error != 0) {
        Failure failure =
            failure_from(-error, "cannot list the tc programs of interface index " + std::to_string(ifindex));
        if (-error == ENODEV)
            failure.refusal = Refusal::no_interface;
        else if (-error == EINVAL)
            failure.refusal = Refusal::unsupported; // no tcx attach type before Linux 6.6
        return failure;
    }
    ids.resize(query.prog_cnt);
    return ids;
}

Outcome<std::uint32_t> linked_program_id(int link_fd)
{
    bpf_link_info info{};
    std::uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(link_fd, &info, &length) != 0)
        return failure_from(errno, "cannot read the fast path link");
    return info.prog_id;
}

Outcome<std::uint32_t> map_id(int map_fd)
{
    bpf_map_info info{};
    std::uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(map_fd, &info, &length) != 0)
        return failure_from(errno, "cannot read a fast path map");
    return info.id;
}

Outcome<std::uint32_t> Program::id() const
{
    bpf_prog_info info{};
    std::uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(skeleton_->progs.mcr_relay), &info, &length) != 0)
        return failure_from(errno, "cannot read the fast path program's id");
    return info.id;
}

Outcome<Attachment> Program::record_attachment(AttachMode mode, int ifindex) const
{
    auto id = this->id();
    if (!id)
        return id.error();
    const mcr_fp_attachment record{*id, static_cast<__u32>(ifindex),
                                   mode == AttachMode::tc_legacy ? MCR_FP_ATTACHED_TC_LEGACY : MCR_FP_ATTACHED_TCX, 0};
    const int fd = bpf_map__fd(skeleton_->maps.attachment);
    const std::uint32_t key = 0;
    if (bpf_map_update_elem(fd, &key, &record, BPF_ANY) != 0)
        return failure_from(errno, "cannot write the fast path's attachment map");
    // Frozen, a worker (or anyone) holding the map fd cannot rewrite it.
    if (bpf_map_freeze(fd) != 0)
        return failure_from(errno, "cannot freeze the fast path's attachment map");
    return Attachment{*id, ifindex, mode};
}

Outcome<Attachment> read_attachment(int attachment_map_fd)
{
    mcr_fp_attachment record{};
    const std::uint32_t key = 0;
    if (bpf_map_lookup_elem(attachment_map_fd, &key, &record) != 0)
        return failure_from(errno, "cannot read the fast path's attachment map");
    if (record.program_id == 0 ||
        (record.mode != MCR_FP_ATTACHED_TCX && record.mode != MCR_FP_ATTACHED_TC_LEGACY))
        return Failure{Refusal::other, EINVAL, "the fast path's attachment map was never written"};
    return Attachment{record.program_id, static_cast<int>(record.ifindex),
                      record.mode == MCR_FP_ATTACHED_TC_LEGACY ? AttachMode::tc_legacy : AttachMode::tc};
}

Outcome<std::uint32_t> Program::attach_tc_legacy(int ifindex, std::optional<std::uint32_t> replace_handle) const
{
    const std::string where = " on interface index " + std::to_string(ifindex);
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = ifindex;
    hook.attach_point = BPF_TC_INGRESS;
    bool made_clsact = false;
    if (!replace_handle) {
        // NLM_F_EXCL: EEXIST says the qdisc was someone's (or an earlier
        // filter's) before us, and must then outlive our filter.
        const int created = bpf_tc_hook_create(&hook);
        if (created != 0 && created != -EEXIST) {
            Failure failure = failure_from(-created, "cannot create a clsact qdisc" + where);
            failure.refusal = -created == ENODEV ? Refusal::no_interface
                              : failure.refusal == Refusal::other ? Refusal::attach_refused
                                                                  : failure.refusal;
            return failure;
        }
        made_clsact = created == 0;
        // Our slot holds one filter: under the other handle (the qdisc was
        // there, so the handle differs) a second one would be ours too.
        for (const std::uint32_t handle : {kLegacyHandleFoundClsact, kLegacyHandleMadeClsact}) {
            bpf_tc_opts query{};
            query.sz = sizeof(query);
            query.handle = handle;
            query.priority = kLegacyFilterPriority;
            if (!made_clsact && bpf_tc_query(&hook, &query) == 0)
                return Failure{Refusal::attach_refused, EEXIST,
                               "the fast path's cls_bpf slot is taken" + where + " (program id " +
                                   std::to_string(query.prog_id) + ")"};
        }
    }
    bpf_tc_opts options{};
    options.sz = sizeof(options);
    options.prog_fd = bpf_program__fd(skeleton_->progs.mcr_relay);
    options.priority = kLegacyFilterPriority;
    options.handle = replace_handle ? *replace_handle : made_clsact ? kLegacyHandleMadeClsact : kLegacyHandleFoundClsact;
    // libbpf always asks for direct action: the program's TC_ACT_* is the
    // verdict, as under tcx (TC_ACT_UNSPEC: the next filter, then the stack).
    options.flags = replace_handle ? BPF_TC_F_REPLACE : 0;
    if (const int attached = bpf_tc_attach(&hook, &options); attached != 0) {
        Failure failure = failure_from(-attached, "cannot attach the fast path's cls_bpf filter" + where);
        failure.refusal = -attached == ENODEV ? Refusal::no_interface
                          : failure.refusal == Refusal::other ? Refusal::attach_refused
                                                              : failure.refusal;
        if (made_clsact) {
            hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
            (void)bpf_tc_hook_destroy(&hook); // nothing of ours is left behind
        }
        return failure;
    }
    return options.handle;
}

Outcome<Ok> detach_tc_legacy(int ifindex, std::uint32_t handle, bool remove_clsact)
{
    const std::string where = " on interface index " + std::to_string(ifindex);
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = ifindex;
    hook.attach_point = BPF_TC_INGRESS;
    bpf_tc_opts options{};
    options.sz = sizeof(options);
    options.priority = kLegacyFilterPriority;
    options.handle = handle;
    // ENOENT: no such filter (or no clsact); ENODEV/EINVAL: the interface is
    // gone, and its filters with it.
    const int detached = bpf_tc_detach(&hook, &options);
    if (detached != 0 && detached != -ENOENT && detached != -ENODEV && detached != -EINVAL)
        return failure_from(-detached, "cannot detach the fast path's cls_bpf filter" + where);
    if (remove_clsact) {
        hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
        const int destroyed = bpf_tc_hook_destroy(&hook);
        if (destroyed != 0 && destroyed != -ENOENT && destroyed != -ENODEV && destroyed != -EINVAL)
            return failure_from(-destroyed, "cannot delete the clsact qdisc mcrd created" + where);
    }
    return Ok{};
}

Outcome<TestRun> Program::test_run(std::span<const std::uint8_t> frame, const TestSkb& skb) const
{
    TestRun run;
    run.frame.resize(frame.size() + kTestRunExtraBytes);
    __sk_buff context{};
    context.gso_size = skb.gso_size;
    bpf_test_run_opts options{};
    options.sz = sizeof(options);
    options.data_in = frame.data();
    options.data_size_in = static_cast<std::uint32_t>(frame.size());
    options.data_out = run.frame.data();
    options.data_size_out = static_cast<std::uint32_t>(run.frame.size());
    options.ctx_in = &context;
    options.ctx_size_in = sizeof(context);
    options.repeat = 1;
    if (const int error = bpf_prog_test_run_opts(bpf_program__fd(skeleton_->progs.mcr_relay), &options); error != 0)
        return failure_from(-error, "BPF_PROG_TEST_RUN failed");
    run.verdict = static_cast<int>(options.retval);
    run.frame.resize(options.data_size_out);
    return run;
}

} // namespace mcr::fastpath
