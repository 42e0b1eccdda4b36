#pragma once
// Keeps one connector running: starts its pipeline, restarts it with a capped backoff when it
// fails (without touching the other connectors), leaves it down when the error policy halted it,
// restarts it on request (management API), and drains it on shutdown.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "runtime/backoff.h"
#include "runtime/pipeline.h"
#include "runtime/stats.h"

namespace trib::runtime {

/// Iggy's runtime status names (lowercase on the API).
enum class connector_status : std::uint8_t { starting, running, stopping, stopped, error };
std::string_view to_string(connector_status s);

/// The last error of a connector, for the API.
struct connector_error {
    std::string message;  // redacted (core/redact.h)
    std::uint64_t timestamp_us = 0;
    /// The error policy stopped the connector: it stays down (no restart loop) until restarted.
    bool halted = false;
};

/// Runs one connector's pipelines one after another. Thread-safe.
class supervisor {
  public:
    using pipeline_factory = std::function<std::unique_ptr<pipeline>()>;

    struct settings {
        std::string key;
        std::string kind;  // "source" | "sink" (for logs)
        backoff_settings restart{std::chrono::milliseconds(1000), std::chrono::milliseconds(60000),
                                 2.0, 0.2};
        /// A pipeline that ran this long before failing restarts after the initial delay again.
        std::chrono::milliseconds healthy_after{30000};
        /// How long a drain may take on stop or restart.
        std::chrono::milliseconds drain_timeout{10000};
    };

    /// `stats` must outlive the supervisor.
    supervisor(settings s, pipeline_factory make, connector_stats& stats);
    ~supervisor();

    /// Starts the supervising thread (the first pipeline start happens there).
    void start();
    /// Drains the running pipeline and stops; blocks until done (at most drain_timeout plus the
    /// time a connector needs to honour its stop token).
    void stop();
    /// Asks for a restart (after a drain); also brings back a halted or failed connector.
    void restart();
    /// Begins stopping without waiting (stop() then waits); lets many connectors drain at once.
    void request_stop();

    connector_status status() const;
    std::optional<connector_error> last_error() const;
    /// Blocks until the status is `s` or `until` passes.
    bool wait_status(connector_status s, std::chrono::steady_clock::time_point until) const;
    /// True while a halted connector waits for restart() or stop(): from here nothing starts
    /// it again on its own (no timer is armed). Lets a test see "it stays down" as a state
    /// instead of waiting for a restart that must not come.
    bool parked() const;

  private:
    void run();
    void set_status(connector_status s);
    void set_error(const error& e, bool halted = false);
    /// Waits up to `d` for a stop or restart request; true if one came.
    bool wait_request(std::chrono::milliseconds d);

    settings s_;
    pipeline_factory make_;
    connector_stats& stats_;

    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    connector_status status_ = connector_status::stopped;
    std::optional<connector_error> last_error_;
    bool stop_requested_ = false;
    bool restart_requested_ = false;
    bool pipeline_ended_ = false;
    bool parked_ = false;
    std::thread thread_;
};

}  // namespace trib::runtime
