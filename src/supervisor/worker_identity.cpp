// --worker-user: resolving the user, and the child's switch to it.
#include "worker_identity.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace mcr::supervisor {

namespace {

// capset(2) directly: libcap's cap_set_proc() allocates, which a forked
// child of a threaded process must not do before exec.
bool set_capabilities(std::uint32_t effective_and_permitted) noexcept
{
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    data[0].effective = effective_and_permitted;
    data[0].permitted = effective_and_permitted;
    return ::syscall(SYS_capset, &header, data) == 0;
}

constexpr std::uint32_t bit(int capability) { return std::uint32_t{1} << capability; }

} // namespace

Result<WorkerIdentity> resolve_worker_user(const std::string& user)
{
    passwd entry{};
    passwd* found = nullptr;
    constexpr std::size_t kPasswdBufferBytes = std::size_t{16} * 1024;
    std::vector<char> buffer(kPasswdBufferBytes);
    int r = getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (found == nullptr && r == 0 && !user.empty() && user.find_first_not_of("0123456789") == std::string::npos)
        r = getpwuid_r(static_cast<uid_t>(std::stoul(user)), &entry, buffer.data(), buffer.size(), &found);
    if (r != 0)
        return Error{"--worker-user", "cannot look up user '" + user + "': " + std::strerror(r)};
    if (found == nullptr)
        return Error{"--worker-user", "no such user '" + user + "'"};
    if (found->pw_uid == 0)
        return Error{"--worker-user", "workers never run as root ('" + user +
                                          "'); name an unprivileged user, or '-' for mcrd's own"};
    return WorkerIdentity{user, found->pw_uid, found->pw_gid};
}

bool become_worker_user(const WorkerIdentity& identity) noexcept
{
    // The supervisor holds CAP_SETUID/CAP_SETGID in its permitted set only;
    // raise them for the switch (and nothing else: CAP_NET_RAW goes here).
    if (!set_capabilities(bit(CAP_SETUID) | bit(CAP_SETGID)))
        return false;
    if (::setgroups(0, nullptr) < 0 || ::setresgid(identity.gid, identity.gid, identity.gid) < 0 ||
        ::setresuid(identity.uid, identity.uid, identity.uid) < 0)
        return false;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 || !set_capabilities(0))
        return false;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return false;
    // Paranoia that costs two syscalls: a uid switch that silently did not
    // happen must not exec a worker as root.
    return ::getuid() != 0 && ::geteuid() != 0;
}

} // namespace mcr::supervisor
