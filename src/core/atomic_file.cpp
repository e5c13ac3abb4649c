// Crash-safe replacement of small state files (temp + fsync + rename +
// directory fsync) and reads that refuse anything but a bounded regular file.
#include "atomic_file.hpp"

#include "quote.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace mcr {

namespace {

constexpr int kMaxMoveAsideAttempts = 100; // PATH.corrupt-T, -T-1, ... -T-99

std::string directory_of(const std::string& path)
{
    const auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

int write_all(int fd, std::string_view content)
{
    while (!content.empty()) {
        const ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

// Removes the temporary file unless it was renamed into place.
class TempFileGuard {
public:
    explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
    TempFileGuard(const TempFileGuard&) = delete;
    TempFileGuard& operator=(const TempFileGuard&) = delete;
    ~TempFileGuard()
    {
        if (!path_.empty())
            (void)::unlink(path_.c_str()); // best effort: we are already failing
    }
    void keep() noexcept { path_.clear(); }

private:
    std::string path_;
};

int fsync_directory(const std::string& directory)
{
    unique_fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
        return -errno;
    return ::fsync(dir.get()) < 0 ? -errno : 0;
}

Error file_error(const std::string& path, int error_number)
{
    if (error_number == ENOENT)
        return Error{path, "not found"};
    return Error{path, std::strerror(error_number)};
}

} // namespace

int write_file_atomic(const std::string& path, std::string_view content, unsigned mode, Durability durability)
{
    const bool sync = durability == Durability::durable;
    const std::string directory = directory_of(path);
    const auto slash = path.rfind('/');
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    // Hidden, in the same directory (rename must not cross filesystems).
    std::string temp_path = (directory == "/" ? "" : directory) + "/." + base + ".tmp-XXXXXX";
    unique_fd fd(::mkostemp(temp_path.data(), O_CLOEXEC));
    if (!fd)
        return -errno;
    TempFileGuard guard(temp_path);
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) < 0)
        return -errno;
    if (int r = write_all(fd.get(), content); r < 0)
        return r;
    if (sync && ::fsync(fd.get()) < 0)
        return -errno;
    if (::rename(temp_path.c_str(), path.c_str()) < 0)
        return -errno;
    guard.keep();
    return sync ? fsync_directory(directory) : 0;
}

Result<std::string> read_file_limited(const std::string& path, std::size_t max_bytes)
{
    // O_NONBLOCK: opening a FIFO must not hang us; it is refused below.
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd)
        return file_error(path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0)
        return file_error(path, errno);
    if (!S_ISREG(st.st_mode))
        return Error{path, "not a regular file"};
    const auto too_big = [&](std::size_t size) {
        return Error{path, "file is " + std::to_string(size) + " bytes, at most " +
                               std::to_string(max_bytes) + " allowed"};
    };
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
        return too_big(static_cast<std::size_t>(st.st_size));
    // Read up to one byte past the limit: the file may have grown since fstat.
    std::string content(max_bytes + 1, '\0');
    std::size_t used = 0;
    while (used < content.size()) {
        const ssize_t n = ::read(fd.get(), content.data() + used, content.size() - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return file_error(path, errno);
        if (n == 0)
            break;
        used += static_cast<std::size_t>(n);
    }
    if (used > max_bytes)
        return too_big(used);
    content.resize(used);
    return content;
}

Result<std::string> move_aside(const std::string& path)
{
    const std::string base = path + ".corrupt-" + std::to_string(std::time(nullptr));
    for (int attempt = 0; attempt < kMaxMoveAsideAttempts; ++attempt) {
        const std::string target = attempt == 0 ? base : base + "-" + std::to_string(attempt);
        // RENAME_NOREPLACE: an earlier corrupt copy from the same second stays.
        if (::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) {
            (void)fsync_directory(directory_of(path)); // the rename happened; durability is best effort
            return target;
        }
        if (errno != EEXIST)
            return file_error(path, errno);
    }
    return Error{path, "could not find a free name for " + quoted_text(base)};
}

} // namespace mcr
