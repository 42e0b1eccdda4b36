#pragma once
// Starting real peers (servers) for integration tests. See README.md.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace trib::test {

/// True when running under CI (`CI=true`): missing peers are failures there, not skips.
bool in_ci();

/// Looks a program up in PATH and in the usual sbin/libexec folders (and `extra_dirs`).
/// Returns an empty path if it is not installed.
std::filesystem::path find_program(const std::string& name,
                                   const std::vector<std::string>& extra_dirs = {});

/// A loopback TCP port that was free a moment ago (bind to port 0, read it, close).
std::uint16_t free_port();

/// True if a TCP connection to 127.0.0.1:port succeeds now.
bool tcp_connectable(std::uint16_t port);

/// A field of /proc/<pid>/status in KiB ("VmRSS", "VmHWM"); 0 when it cannot be read.
std::uint64_t proc_status_kib(pid_t pid, const std::string& field);

/// Polls `cond` every few milliseconds until it holds or `deadline` passes. Returns whether it
/// held.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline);

/// A fresh directory under $TMPDIR, removed on destruction unless TRIB_KEEP_TMP is set.
class temp_dir {
  public:
    explicit temp_dir(const std::string& prefix = "trib");
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

class peer;

/// How to start a peer. In `args` and `env` values, `{port}`, `{port1}`, ... `{dir}` are replaced
/// by the chosen ports and the peer's temporary directory.
struct peer_spec {
    std::string name;               // for messages and the log file name
    std::string program;            // a name looked up with find_program, or a path
    std::vector<std::string> args;  // without argv[0]
    std::vector<std::pair<std::string, std::string>> env;  // added to the environment
    int extra_ports = 0;  // how many more free ports to choose ({port1}, ...)
    /// Runs before start: write config files into dir (the ports are chosen already).
    std::function<void(const peer&)> prepare;
    /// Readiness check polled until the deadline; default: TCP connect to the first port.
    std::function<bool(const peer&)> ready;
    std::chrono::milliseconds ready_timeout{20000};
    int attempts = 3;  // a port taken between choice and bind makes the peer fail: try again
};

/// A running peer process. Stopped (SIGTERM, then SIGKILL after a grace period) on destruction.
class peer {
  public:
    /// Starts the peer and waits for readiness. The error names the reason and holds the log tail.
    static result<std::unique_ptr<peer>> start(peer_spec spec);
    ~peer();
    peer(const peer&) = delete;
    peer& operator=(const peer&) = delete;

    std::uint16_t port(std::size_t i = 0) const { return ports_.at(i); }
    const std::filesystem::path& dir() const { return dir_.path(); }
    pid_t pid() const { return pid_; }
    const std::string& name() const { return spec_.name; }
    /// True while the process runs (it was not reaped yet and is not a zombie).
    bool alive();
    /// The peer's combined stdout and stderr so far.
    std::string log() const;
    /// SIGTERM, wait up to `grace`, then SIGKILL. Idempotent.
    status stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
    /// SIGKILL at once (crash tests).
    status kill9();
    /// Starts the same program again in the same directory on the same ports (restart tests).
    status restart();

  private:
    explicit peer(peer_spec spec);
    status spawn();
    std::string expand(const std::string& s) const;

    peer_spec spec_;
    temp_dir dir_;
    std::vector<std::uint16_t> ports_;
    std::filesystem::path program_;
    pid_t pid_ = -1;
};

/// For a GoogleTest body: starts the peer into `var` (a std::unique_ptr<peer>); if it cannot start,
/// fails the test in CI and skips it elsewhere, with the reason.
#define TRIB_START_PEER(var, spec)                                                              \
    std::unique_ptr<::trib::test::peer> var;                                                    \
    do {                                                                                        \
        auto trib_peer_r_ = ::trib::test::peer::start(spec);                                    \
        if (!trib_peer_r_) {                                                                    \
            if (::trib::test::in_ci()) {                                                        \
                FAIL() << "peer could not start (CI=true): " << trib_peer_r_.error().message(); \
            } else {                                                                            \
                GTEST_SKIP() << "peer not available: " << trib_peer_r_.error().message();       \
            }                                                                                   \
        }                                                                                       \
        var = std::move(trib_peer_r_).value();                                                  \
    } while (0)

}  // namespace trib::test
