#pragma once
// An exclusive, process-lifetime lock on a directory, so that two processes never write the same
// data or state directory (two `tributary serve` on one data dir would acknowledge writes to the
// same ids and offsets, and one side's messages would be gone after a restart).

#include <filesystem>
#include <string>

#include "core/error.h"

namespace trib {

/// Holds `flock(LOCK_EX)` on `<dir>/.lock` until destroyed (or the process ends: the kernel drops
/// the lock with the last descriptor, also after kill -9, so a stale file never blocks a start).
/// The file holds the PID of the holder, so that a refused start can name it.
///
/// The lock is per open file, not per process: a second `acquire` of the same directory in the
/// same process is refused too. Move-only; not thread-safe (acquire and release it from one
/// owner).
class dir_lock {
  public:
    /// Creates `dir` if missing and takes the lock without waiting. Errors:
    /// `errc::failed_precondition` when another holder has it (the message names the directory
    /// and the holder's PID when it is known), `errc::io_error` when the directory or the lock
    /// file cannot be created or opened.
    [[nodiscard]] static result<dir_lock> acquire(const std::filesystem::path& dir);

    dir_lock() = default;
    dir_lock(dir_lock&& other) noexcept;
    dir_lock& operator=(dir_lock&& other) noexcept;
    dir_lock(const dir_lock&) = delete;
    dir_lock& operator=(const dir_lock&) = delete;
    ~dir_lock();

    bool held() const { return fd_ >= 0; }
    const std::filesystem::path& dir() const { return dir_; }
    /// Releases the lock early (idempotent).
    void release();

  private:
    dir_lock(int fd, std::filesystem::path dir) : fd_(fd), dir_(std::move(dir)) {}
    int fd_ = -1;
    std::filesystem::path dir_;
};

}  // namespace trib
