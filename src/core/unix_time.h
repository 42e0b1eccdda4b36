#pragma once
// Wall-clock time in the unit of message timestamps (µs since the Unix epoch).

#include <chrono>
#include <cstdint>

namespace trib {

/// Now, in microseconds since the Unix epoch (system clock: it may step).
inline std::uint64_t unix_now_us() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

}  // namespace trib
