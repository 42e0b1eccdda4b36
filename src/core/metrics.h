#pragma once
// Process metrics: counters, gauges and histograms with labels, rendered in the Prometheus text
// exposition format 0.0.4 for the management API's /metrics endpoint.
//
// The hot path is lock-free: register a metric once (that takes a lock), keep the returned
// reference, and update it with relaxed atomics from any thread. Rendering takes the registry's
// lock only to walk the list of metrics; it never blocks updates.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trib {

/// Label pairs of one metric, e.g. {{"connector", "pg_sink"}, {"kind", "sink"}}. Order does not
/// matter: {{a,1},{b,2}} and {{b,2},{a,1}} name the same metric.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count (messages, bytes, errors).
class alignas(64) counter {
  public:
    counter() = default;
    counter(const counter&) = delete;
    counter& operator=(const counter&) = delete;

    void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> v_{0};
};

/// A value that goes up and down (in-flight batches, lag, last-seen timestamp).
class alignas(64) gauge {
  public:
    gauge() = default;
    gauge(const gauge&) = delete;
    gauge& operator=(const gauge&) = delete;

    void set(double v) { v_.store(v, std::memory_order_relaxed); }
    void add(double d);
    void inc() { add(1.0); }
    void dec() { add(-1.0); }
    double value() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> v_{0.0};
};

/// Observations counted into fixed buckets (cumulative on output, as Prometheus wants).
class histogram {
  public:
    /// `bounds` are the buckets' inclusive upper bounds, strictly increasing and finite; the +Inf
    /// bucket is implicit. Normally built by metrics_registry::histogram.
    explicit histogram(std::vector<double> bounds);
    histogram(const histogram&) = delete;
    histogram& operator=(const histogram&) = delete;

    /// Lock-free: one relaxed increment of the bucket and one of the sum.
    void observe(double v);
    /// Observes a duration in seconds (the Prometheus base unit).
    template <class Rep, class Period>
    void observe(std::chrono::duration<Rep, Period> d) {
        observe(std::chrono::duration<double>(d).count());
    }

    std::span<const double> bounds() const { return bounds_; }
    /// Non-cumulative count of bucket i; i == bounds().size() is the +Inf bucket.
    std::uint64_t bucket_count(std::size_t i) const;
    /// Total observations (the sum of all buckets, read one by one).
    std::uint64_t count() const;
    double sum() const { return sum_.load(std::memory_order_relaxed); }

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
    std::atomic<double> sum_{0.0};
};

/// Owns every metric of the process (or of a test). Metrics live as long as the registry; the
/// references it returns stay valid until it is destroyed.
///
/// Thread-safety: every member function may be called from any thread. Registration and
/// rendering take an internal mutex; metric updates do not.
///
/// Names: metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*;
/// other characters are replaced by '_' (so a connector key can be used in a name safely).
/// Label values may hold anything; they are escaped on output.
class metrics_registry {
  public:
    metrics_registry();
    ~metrics_registry();
    metrics_registry(const metrics_registry&) = delete;
    metrics_registry& operator=(const metrics_registry&) = delete;

    /// Returns the counter `name` with exactly these labels, creating it (and its family, with
    /// `help`) on first use. Calling again with the same name and labels returns the same object.
    /// If `name` was registered as another type, a detached metric is returned: it works but is
    /// not rendered (a programming error, logged once per name).
    trib::counter& counter(std::string_view name, std::string_view help,
                           const metric_labels& labels = {});
    trib::gauge& gauge(std::string_view name, std::string_view help,
                       const metric_labels& labels = {});
    /// The buckets are fixed by the first registration of `name`; later calls with other bounds
    /// get the family's bounds. Empty `bounds` means latency_buckets().
    trib::histogram& histogram(std::string_view name, std::string_view help,
                               const metric_labels& labels = {},
                               std::span<const double> bounds = {});

    /// Called at the start of every prometheus_text(), under no lock, so that the owner can refresh
    /// gauges computed on demand (process memory, queue depths). Must not outlive what it captures
    /// for longer than the registry lives.
    void on_collect(std::function<void()> fn);

    /// The text exposition format 0.0.4 (Content-Type: text/plain; version=0.0.4), families in
    /// name order, each with # HELP and # TYPE, then its samples in label order.
    std::string prometheus_text() const;

    /// Seconds, from 0.5 ms to 10 s: suits request, write and commit latencies.
    static std::span<const double> latency_buckets();
    /// `count` bounds: start, start*factor, start*factor^2, ...
    static std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Content-Type of prometheus_text().
inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace trib
