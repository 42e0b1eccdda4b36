#pragma once
// Runs a shell command to its end and collects what it printed (stdout and stderr): for tests
// that drive a reference tool (a Python reader, the `tributary` binary) and check its answer.
// Several tests still carry their own copy of this (tests/codecs/*_test.cpp,
// tests/connectors/s3/columnar_test.cpp); new ones use this one.

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace trib::test {

/// `cmd` through /bin/sh with stderr joined to stdout, appended to `out`. Returns the exit code,
/// or -1 when it could not start or was killed by a signal.
inline int run_command(const std::string& cmd, std::string& out) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return -1;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    const int st = ::pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace trib::test
