#include "core/dir_lock.h"
#include "core/errno_text.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <system_error>

namespace trib {

namespace {

/// The PID written into a lock file by its holder; 0 when the file holds none.
long holder_pid(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    long pid = 0;
    auto r = std::from_chars(buf, buf + n, pid);
    if (r.ec != std::errc() || pid <= 0)
        return 0;
    return pid;
}

}  // namespace

result<dir_lock> dir_lock::acquire(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return fail(errc::io_error,
                    "cannot create directory " + dir.string() + ": " + ec.message());
    const auto path = dir / ".lock";
    int fd = -1;
    do {
        fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return fail(errc::io_error,
                    "cannot open lock file " + path.string() + ": " + errno_text(errno));
    int rc = 0;
    do {
        rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK) {
            const long pid = holder_pid(fd);
            ::close(fd);
            std::string who = pid == 0 ? "another process"
                              : pid == ::getpid()
                                  ? "this process (pid " + std::to_string(pid) + ")"
                                  : "another process (pid " + std::to_string(pid) + ")";
            return fail(errc::failed_precondition, "directory " + dir.string() + " is in use by " +
                                                       who + " (lock file " + path.string() + ")");
        }
        ::close(fd);
        return fail(errc::io_error, "cannot lock " + path.string() + ": " + errno_text(err));
    }
    // Best effort: the PID only serves the message of a refused start.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0)
        (void)!::pwrite(fd, pid.data(), pid.size(), 0);
    return dir_lock(fd, dir);
}

dir_lock::dir_lock(dir_lock&& other) noexcept : fd_(other.fd_), dir_(std::move(other.dir_)) {
    other.fd_ = -1;
}

dir_lock& dir_lock::operator=(dir_lock&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = other.fd_;
        dir_ = std::move(other.dir_);
        other.fd_ = -1;
    }
    return *this;
}

dir_lock::~dir_lock() {
    release();
}

void dir_lock::release() {
    if (fd_ >= 0) {
        // Closing the last descriptor drops the flock. The file stays: removing it would race
        // with a process that just opened it and is about to lock the unlinked inode.
        ::close(fd_);
        fd_ = -1;
    }
}

}  // namespace trib
