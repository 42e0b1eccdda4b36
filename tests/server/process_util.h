#pragma once
// Running a program to completion from a test: argv, extra environment, a deadline, combined
// stdout+stderr captured. The child is killed (SIGKILL, by its PID) when the deadline passes.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace trib::server::test {

struct process_result {
    int exit_code = -1;  // -1: killed or could not start
    bool timed_out = false;
    int signal = 0;  // the signal that ended it, when one did
    std::string output;
};

inline process_result run_process(
    const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
    const std::vector<std::pair<std::string, std::string>>& env = {}) {
    process_result r;
    int fds[2];
    if (::pipe(fds) != 0)
        return r;
    pid_t pid = ::fork();
    if (pid < 0)
        return r;
    if (pid == 0) {
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        ::close(fds[0]);
        ::close(fds[1]);
        for (const auto& [k, v] : env)
            ::setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> args;
        for (const auto& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) {
            r.timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
        if (n > 0) {
            auto got = ::read(fds[0], buf, sizeof(buf));
            if (got <= 0)
                break;
            r.output.append(buf, static_cast<std::size_t>(got));
        }
    }
    ::close(fds[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    if (!r.timed_out && WIFEXITED(st))
        r.exit_code = WEXITSTATUS(st);
    if (WIFSIGNALED(st)) {
        r.signal = WTERMSIG(st);
        r.output += "\n[process ended by signal " + std::to_string(r.signal) + "]";
    }
    return r;
}

/// $TRIB_SOURCE_DIR (the repository root when run by ctest), else the current directory.
inline std::filesystem::path source_dir() {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    return s ? std::filesystem::path(s) : std::filesystem::current_path();
}

/// $TRIB_BINARY_DIR (the build tree when run by ctest).
inline std::filesystem::path binary_dir() {
    const char* s = std::getenv("TRIB_BINARY_DIR");
    return s ? std::filesystem::path(s) : std::filesystem::current_path();
}

}  // namespace trib::server::test
