#pragma once
// Small helpers of the benchmark programs (see README.md).

#include <sys/types.h>

#include <cstdint>

namespace trib::bench {

/// A TCP port on 127.0.0.1 that was free a moment ago (0 if none could be had).
std::uint16_t free_port();
/// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool connectable(std::uint16_t port);
/// This process's peak resident set size in KiB (getrusage).
long peak_rss_kb();
/// Peak resident set size in KiB of a running process (VmHWM); 0 when unknown.
long pid_peak_rss_kb(pid_t pid);

}  // namespace trib::bench
