#pragma once
// Per-connector figures, updated lock-free by the pipeline threads and read by the management
// API (/stats, /metrics) and the status line. Names follow Iggy's runtime where it has the same
// figure (messages_produced/sent for sources, messages_consumed/processed for sinks).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/error_policy.h"

namespace trib::runtime {

/// A fixed-bucket latency histogram (microseconds), Prometheus-style cumulative on export.
class latency_histogram {
  public:
    /// Upper bounds in seconds of the buckets (then +Inf).
    static constexpr std::array<double, 16> bounds_s = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
        0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
    void observe(std::chrono::microseconds d);
    /// Per-bucket counts (not cumulative), bounds_s.size() + 1 entries (the last is +Inf).
    std::vector<std::uint64_t> counts() const;
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
    double sum_s() const {
        return static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
    }
    /// An estimate of the q-quantile (0..1) in seconds, from the buckets.
    double quantile_s(double q) const;

  private:
    std::array<std::atomic<std::uint64_t>, bounds_s.size() + 1> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_us_{0};
};

/// The figures of one connector. Counters only grow (across restarts of the connector).
struct connector_stats {
    using counter = std::atomic<std::uint64_t>;
    // Sources: messages the connector produced (polled) and messages Iggy acknowledged.
    // Sinks: messages polled from Iggy and messages the sink accepted.
    counter messages_in{0};
    counter bytes_in{0};
    counter messages_out{0};
    counter bytes_out{0};
    counter batches_out{0};
    counter messages_filtered{0};  // dropped on purpose by a transform
    counter dead_lettered{0};
    counter skipped{0};
    counter retries{0};
    counter errors{0};                         // every failed attempt (all classes)
    std::array<counter, 3> errors_by_class{};  // retryable, throttled, fatal
    counter restarts{0};
    counter commits{0};
    std::atomic<std::int64_t> lag{-1};  // sinks: messages behind the partition ends (-1: unknown)
    std::atomic<std::uint64_t> in_flight_bytes{0};
    std::atomic<std::uint64_t> in_flight_batches{0};
    std::atomic<std::uint64_t> last_error_us{0};
    latency_histogram batch_latency;  // poll -> committed (sinks) / poll -> acknowledged (sources)

    void count_error(const error& e) {
        errors.fetch_add(1, std::memory_order_relaxed);
        errors_by_class[static_cast<std::size_t>(e.retry())].fetch_add(1,
                                                                       std::memory_order_relaxed);
        last_error_us.store(now_us(), std::memory_order_relaxed);
    }
};

}  // namespace trib::runtime
