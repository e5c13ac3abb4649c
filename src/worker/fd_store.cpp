// sd-daemon glue for the FD store. One sd_pid_notify_with_fds() per fd, so
// that each fd carries its own FDNAME=.
#include "fd_store.hpp"

#include "core/c_owned.hpp"

#include <systemd/sd-daemon.h>

#include <fcntl.h>

#include <cstdlib>
#include <string>

namespace mcr::worker {

NamedFds take_listen_fds()
{
    NamedFds fds;
    char** raw_names = nullptr;
    const int count = sd_listen_fds_with_names(1, &raw_names);
    const CStringList owned_names(raw_names);   // a NULL-terminated strv
    char** names = owned_names.get();
    for (int i = 0; i < count; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        const std::string name = names && names[i] ? names[i] : "unknown";
        if (!fds.try_emplace(name, fd).second)
            unique_fd(fd).reset(); // a second fd with the same name: close it
    }
    return fds;
}

bool have_notify_socket()
{
    const char* socket = std::getenv("NOTIFY_SOCKET");
    return socket != nullptr && *socket != '\0';
}

int store_fd(std::string_view name, int fd)
{
    const std::string state = "FDSTORE=1\nFDNAME=" + std::string(name) + "\nFDPOLL=0";
    const int rc = sd_pid_notify_with_fds(0, 0, state.c_str(), &fd, 1);
    return rc < 0 ? rc : 0;
}

int remove_stored_fd(std::string_view name)
{
    const std::string state = "FDSTOREREMOVE=1\nFDNAME=" + std::string(name);
    const int rc = sd_notify(0, state.c_str());
    return rc < 0 ? rc : 0;
}

int replace_stored_fd(std::string_view name, int fd)
{
    if (int rc = remove_stored_fd(name); rc < 0)
        return rc;
    return store_fd(name, fd);
}

void notify_ready(std::string_view status)
{
    (void)sd_notify(0, ("READY=1\nSTATUS=" + std::string(status)).c_str());
}

void notify_status(std::string_view status)
{
    (void)sd_notify(0, ("STATUS=" + std::string(status)).c_str());
}

void notify_stopping()
{
    (void)sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
}

} // namespace mcr::worker
