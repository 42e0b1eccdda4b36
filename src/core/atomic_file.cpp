#include "core/atomic_file.h"
#include "core/errno_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace trib {

namespace {

error sys_error(std::string_view what, const std::filesystem::path& path, int err) {
    return error(err == ENOENT ? errc::not_found : errc::io_error,
                 fmt::format("{} {}: {}", what, path.string(), errno_text(err)));
}

// Closes a descriptor on scope exit unless released.
class fd_guard {
  public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const { return fd_; }
    // Closes now and reports the error: close can be where a delayed write error surfaces.
    int close_now() {
        int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

  private:
    int fd_;
};

}  // namespace

status fsync_directory(const std::filesystem::path& dir) {
    const std::filesystem::path d = dir.empty() ? std::filesystem::path(".") : dir;
    fd_guard fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0)
        return sys_error("open directory", d, errno);
    if (::fsync(fd.get()) != 0)
        return sys_error("fsync directory", d, errno);
    return ok();
}

status write_file_atomic(const std::filesystem::path& path, std::string_view data, file_sync sync,
                         unsigned mode) {
    static std::atomic<unsigned long> counter{0};
    std::filesystem::path tmp = path;
    tmp += fmt::format(".tmp.{}.{}", ::getpid(), counter.fetch_add(1));

    fd_guard fd(
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode)));
    if (fd.get() < 0)
        return sys_error("create", tmp, errno);

    auto fail_and_clean = [&](std::string_view what, int err) -> status {
        error e = sys_error(what, tmp, err);
        ::unlink(tmp.c_str());
        return e;
    };

    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd.get(), p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail_and_clean("write", errno);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (sync == file_sync::durable && ::fsync(fd.get()) != 0)
        return fail_and_clean("fsync", errno);
    if (fd.close_now() != 0)
        return fail_and_clean("close", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return fail_and_clean("rename", errno);
    if (sync == file_sync::durable)
        return fsync_directory(path.parent_path());
    return ok();
}

result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
    fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        return sys_error("open", path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return sys_error("stat", path, errno);
    auto too_big = [&](std::uint64_t n) {
        return fail(errc::resource_exhausted,
                    fmt::format("{} has at least {} bytes, more than the {} allowed", path.string(),
                                n, max_bytes));
    };
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
        return too_big(static_cast<std::uint64_t>(st.st_size));
    std::string out;
    out.reserve(static_cast<std::size_t>(st.st_size));
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return sys_error("read", path, errno);
        }
        if (n == 0)
            break;
        if (out.size() + static_cast<std::size_t>(n) > max_bytes)
            return too_big(out.size() + static_cast<std::size_t>(n));  // it grew while we read
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace trib
