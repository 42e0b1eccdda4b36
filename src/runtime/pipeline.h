#pragma once
// What the sink and source pipelines have in common: settings shared by both, and the
// start / request_stop / join lifecycle the supervisor drives.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "core/error.h"

namespace trib::runtime {

/// Bounds on what one connector holds in memory between Iggy and the connector (backpressure).
struct pipeline_limits {
    /// Payload bytes polled or produced and not yet committed/acknowledged. At least one batch is
    /// always admitted, however large.
    std::uint64_t max_in_flight_bytes = 64ull << 20;
    /// Batches in flight (queued, being written, or awaiting Iggy's acknowledgement).
    std::uint32_t max_in_flight_batches = 32;
};

/// How a pipeline ended.
struct pipeline_outcome {
    enum class kind {
        stopped,  // drained on request
        failed,   // an error the supervisor answers with a restart after a backoff
        halted,   // the error policy said stop: stays down until restarted by hand
    };
    kind what = kind::stopped;
    std::optional<error> err;
};

/// One running connector: its threads, its connection to Iggy, its connector instance.
/// Lifecycle: start() once; then request_stop() and join(), in that order, from one thread.
/// The pipeline may also end on its own (failure, halt): wait_end() returns then.
class pipeline {
  public:
    virtual ~pipeline() = default;
    /// Opens the connector and the Iggy side and starts the threads. On error nothing runs and
    /// everything opened is closed again.
    [[nodiscard]] virtual status start() = 0;
    /// Begins a graceful drain: stop taking new data, finish what is in flight, commit. Returns
    /// at once.
    virtual void request_stop() = 0;
    /// Waits for the threads to end. Work still in flight at `hard_deadline` is abandoned
    /// (never committed, so it is delivered again later) and the connector's stop token fires.
    virtual pipeline_outcome join(std::chrono::steady_clock::time_point hard_deadline) = 0;

    /// Called (from a pipeline thread) when the pipeline ends on its own. Set before start().
    void on_end(std::function<void()> f) { on_end_ = std::move(f); }

    /// Waits until the pipeline ended on its own (failure, halt) or `until`; true if it ended.
    bool wait_end(std::chrono::steady_clock::time_point until) {
        std::unique_lock lk(end_mu_);
        return end_cv_.wait_until(lk, until, [&] { return ended_; });
    }

  protected:
    /// Called by the pipeline's threads when it ends on its own or after a drain.
    void signal_end() {
        {
            std::lock_guard lk(end_mu_);
            ended_ = true;
        }
        end_cv_.notify_all();
        if (on_end_)
            on_end_();
    }

  private:
    std::mutex end_mu_;
    std::condition_variable end_cv_;
    bool ended_ = false;
    std::function<void()> on_end_;
};

}  // namespace trib::runtime
