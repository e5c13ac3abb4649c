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
// process can undo any sandbox.
bool has_full_root_powers(cap_t caps)
{
    return has(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE) || has(caps, CAP_DAC_OVERRIDE, CAP_EFFECTIVE) ||
           has(caps, CAP_SETUID, CAP_EFFECTIVE);
}

Error errno_error(const char* what)
{
    return Error{"capabilities", std::string(what) + ": " + std::strerror(errno)};
}

} // namespace

Status restrict_capabilities(bool allow_root, bool keep_fast_path)
{
    CapPtr current(cap_get_proc());
    if (!current)
        return errno_error("cannot read the capability sets");
    if (geteuid() == 0 && has_full_root_powers(current.get()) && !allow_root)
        return Error{"capabilities", "refusing to run as root with full capabilities; run as user mcrd with "
                                     "AmbientCapabilities=CAP_NET_RAW, or pass --allow-root"};
    if (!has(current.get(), CAP_NET_RAW, CAP_PERMITTED))
        return Error{"capabilities", "CAP_NET_RAW is not available: workers' AF_PACKET sockets cannot be made"};

    std::vector<cap_value_t> keep = {CAP_NET_RAW};
    if (keep_fast_path)
        for (const cap_value_t cap : {CAP_BPF, CAP_NET_ADMIN})
            if (has(current.get(), cap, CAP_PERMITTED))
                keep.push_back(cap);
    const auto kept = [&keep](cap_value_t cap) { return std::find(keep.begin(), keep.end(), cap) != keep.end(); };

    // Bounding set and securebits first: both need CAP_SETPCAP, which the
    // final set no longer has.
    if (has(current.get(), CAP_SETPCAP, CAP_EFFECTIVE)) {
        for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
            if (!kept(cap) && cap_drop_bound(cap) < 0 && errno != EINVAL)
                return errno_error("cannot drop from the bounding set");
        }
        if (geteuid() == 0 &&
            prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP) < 0)
            return errno_error("cannot set SECBIT_NOROOT");
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return errno_error("cannot clear the ambient set");

    CapPtr wanted(cap_init());
    const int count = static_cast<int>(keep.size());
    if (!wanted || cap_set_flag(wanted.get(), CAP_PERMITTED, count, keep.data(), CAP_SET) < 0 ||
        cap_set_flag(wanted.get(), CAP_EFFECTIVE, count, keep.data(), CAP_SET) < 0)
        return errno_error("cannot build the capability set");
    if (cap_set_proc(wanted.get()) < 0)
        return errno_error("cannot apply the capability set");

    CapPtr after(cap_get_proc());
    if (!after)
        return errno_error("cannot read the capability sets back");
    for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        const bool expected = kept(cap);
        if (has(after.get(), cap, CAP_PERMITTED) != expected || has(after.get(), cap, CAP_EFFECTIVE) != expected ||
            has(after.get(), cap, CAP_INHERITABLE))
            return Error{"capabilities", "verification failed for capability " + std::to_string(cap)};
    }
    return Ok{};
}

} // namespace mcr::supervisor
