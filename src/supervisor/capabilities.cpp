// libcap-based capability reduction at start-up.
#include "capabilities.hpp"

#include <algorithm>
#include <vector>

#include <sys/capability.h>
#include <sys/prctl.h>
#include <linux/securebits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace mcr::supervisor {

namespace {

struct CapFree {
    void operator()(cap_t caps) const noexcept { (void)cap_free(caps); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

bool has(cap_t caps, cap_value_t cap, cap_flag_t set)
{
    cap_flag_value_t value = CAP_CLEAR;
    return cap_get_flag(caps, cap, set, &value) == 0 && value == CAP_SET;
}

// "Full" = the ones that make root root: if any of these is effective, the
// process can undo any sandbox. CAP_SETUID counts unless the caller keeps it
// on purpose, to switch workers to --worker-user.
bool has_full_root_powers(cap_t caps, bool for_worker_user)
{
    return has(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE) || has(caps, CAP_DAC_OVERRIDE, CAP_EFFECTIVE) ||
           (!for_worker_user && has(caps, CAP_SETUID, CAP_EFFECTIVE));
}

bool bounding_set_empty()
{
    for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        if (cap_get_bound(cap) > 0)
            return false;
    }
    return true;
}

Error errno_error(const char* what)
{
    return Error{"capabilities", std::string(what) + ": " + std::strerror(errno)};
}

} // namespace

Status restrict_capabilities(bool allow_root, bool for_worker_user, bool keep_fast_path)
{
    CapPtr current(cap_get_proc());
    if (!current)
        return errno_error("cannot read the capability sets");
    if (geteuid() == 0 && has_full_root_powers(current.get(), for_worker_user) && !allow_root)
        return Error{"capabilities", "refusing to run as root with full capabilities; run as user mcrd with "
                                     "AmbientCapabilities=CAP_NET_RAW, or pass --allow-root"};
    if (!has(current.get(), CAP_NET_RAW, CAP_PERMITTED))
        return Error{"capabilities", "CAP_NET_RAW is not available: workers' AF_PACKET sockets cannot be made"};
    if (for_worker_user &&
        (!has(current.get(), CAP_SETUID, CAP_PERMITTED) || !has(current.get(), CAP_SETGID, CAP_PERMITTED)))
        return Error{"capabilities", "CAP_SETUID and CAP_SETGID are needed to start workers as --worker-user; "
                                     "grant them, or pass --worker-user - to keep workers on mcrd's own user"};
    // A worker under another uid takes signals only from a holder of
    // CAP_KILL: mcrd's SIGTERM when a worker is no longer needed, and the
    // parent-death signal when mcrd dies (sent with the dying mcrd's
    // credentials, so without CAP_KILL it is silently not delivered).
    if (for_worker_user && !has(current.get(), CAP_KILL, CAP_PERMITTED))
        return Error{"capabilities", "CAP_KILL is needed to stop workers running as --worker-user; grant it, "
                                     "or pass --worker-user - to keep workers on mcrd's own user"};
    if (for_worker_user && !has(current.get(), CAP_SETPCAP, CAP_EFFECTIVE) && !bounding_set_empty())
        return Error{"capabilities", "CAP_SETPCAP is needed at start to empty the bounding set workers inherit "
                                     "(--worker-user); grant it, or start with an empty bounding set"};

    std::vector<cap_value_t> keep = {CAP_NET_RAW};
    if (for_worker_user)
        keep.push_back(CAP_KILL);
    if (keep_fast_path)
        for (const cap_value_t cap : {CAP_BPF, CAP_NET_ADMIN})
            if (has(current.get(), cap, CAP_PERMITTED))
                keep.push_back(cap);
    const auto kept = [&keep](cap_value_t cap) { return std::find(keep.begin(), keep.end(), cap) != keep.end(); };

    // Bounding set and securebits first: both need CAP_SETPCAP, which the
    // final set no longer has.
    if (has(current.get(), CAP_SETPCAP, CAP_EFFECTIVE)) {
        for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
            if ((for_worker_user || !kept(cap)) && cap_drop_bound(cap) < 0 && errno != EINVAL)
                return errno_error("cannot drop from the bounding set");
        }
        if (geteuid() == 0 &&
            prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP) < 0)
            return errno_error("cannot set SECBIT_NOROOT");
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return errno_error("cannot clear the ambient set");

    CapPtr wanted(cap_init());
    const cap_value_t keep_permitted[] = {CAP_SETUID, CAP_SETGID};
    const int count = static_cast<int>(keep.size());
    if (!wanted || cap_set_flag(wanted.get(), CAP_PERMITTED, count, keep.data(), CAP_SET) < 0 ||
        cap_set_flag(wanted.get(), CAP_EFFECTIVE, count, keep.data(), CAP_SET) < 0 ||
        (for_worker_user && cap_set_flag(wanted.get(), CAP_PERMITTED, 2, keep_permitted, CAP_SET) < 0))
        return errno_error("cannot build the capability set");
    if (cap_set_proc(wanted.get()) < 0)
        return errno_error("cannot apply the capability set");

    CapPtr after(cap_get_proc());
    if (!after)
        return errno_error("cannot read the capability sets back");
    for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        const bool expected = kept(cap);
        const bool permitted = expected || (for_worker_user && (cap == CAP_SETUID || cap == CAP_SETGID));
        if (has(after.get(), cap, CAP_PERMITTED) != permitted || has(after.get(), cap, CAP_EFFECTIVE) != expected ||
            has(after.get(), cap, CAP_INHERITABLE))
            return Error{"capabilities", "verification failed for capability " + std::to_string(cap)};
    }
    return Ok{};
}

} // namespace mcr::supervisor
