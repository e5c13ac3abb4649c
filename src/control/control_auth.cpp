// Read authorization for the control socket and peer credential capture.
#include "control_auth.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace mcr::control {

bool may_read(const PeerCredentials& peer, uid_t daemon_uid, std::optional<gid_t> read_gid) noexcept
{
    if (peer.uid == 0 || peer.uid == daemon_uid)
        return true;
    if (!read_gid)
        return false;
    return peer.gid == *read_gid ||
           std::find(peer.groups.begin(), peer.groups.end(), *read_gid) != peer.groups.end();
}

Result<PeerCredentials> peer_credentials(int socket_fd)
{
    struct ucred cred {};
    socklen_t cred_len = sizeof(cred);
    if (getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0)
        return Error{"", std::string("SO_PEERCRED: ") + std::strerror(errno)};
    PeerCredentials peer{cred.pid, cred.uid, cred.gid, {}};

    // Start with room for a typical set; the kernel says how much it needs.
    constexpr std::size_t kInitialGroups = 32;
    std::vector<gid_t> groups(kInitialGroups);
    for (;;) {
        auto len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
            groups.resize(len / sizeof(gid_t));
            break;
        }
        if (errno != ERANGE)
            return Error{"", std::string("SO_PEERGROUPS: ") + std::strerror(errno)};
        groups.resize(len / sizeof(gid_t) + 1);
    }
    peer.groups = std::move(groups);
    return peer;
}

std::optional<gid_t> lookup_group(const char* name)
{
    struct group entry {};
    struct group* found = nullptr;
    constexpr std::size_t kGroupBufferBytes = std::size_t{16} * 1024;
    std::vector<char> buffer(kGroupBufferBytes);
    if (getgrnam_r(name, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return std::nullopt;
    return found->gr_gid;
}

} // namespace mcr::control
