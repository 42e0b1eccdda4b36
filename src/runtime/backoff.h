#pragma once
// Capped exponential backoff with jitter, for retries of failed writes and sends and for
// restarts of failed connectors. Decorrelates retries of many connectors after a shared outage.

#include <chrono>
#include <cstdint>
#include <random>

namespace trib::runtime {

/// The shape of a backoff: delay n (n = 0, 1, ...) is min(max, initial * multiplier^n), then
/// randomised within +-jitter of itself (jitter 0.2: between 80% and 120%), never above max.
struct backoff_settings {
    std::chrono::milliseconds initial{100};
    std::chrono::milliseconds max{30000};
    double multiplier = 2.0;
    double jitter = 0.2;  // 0..1
};

/// A retry counter producing the delays of a `backoff_settings`. Not thread-safe.
class backoff {
  public:
    explicit backoff(backoff_settings s = {}, std::uint64_t seed = std::random_device{}());

    /// The delay before the next attempt; counts the attempt.
    std::chrono::milliseconds next();
    /// The delay `next()` would return without jitter (for logs and tests).
    std::chrono::milliseconds nominal() const;
    /// Attempts counted since the last reset.
    std::uint32_t attempts() const { return attempts_; }
    /// Back to the initial delay (after a success).
    void reset() { attempts_ = 0; }
    const backoff_settings& settings() const { return s_; }

  private:
    backoff_settings s_;
    std::uint32_t attempts_ = 0;
    std::mt19937_64 rng_;
};

}  // namespace trib::runtime
