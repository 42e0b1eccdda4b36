#pragma once
// The connector runtime process without its command line and HTTP layer: connects to Iggy (an
// external server, the embedded one the app started, or any iggy_port), creates the state
// directory, runs every enabled connector under a supervisor, and drains them all on stop.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/connector_config.h"
#include "config/runtime_config.h"
#include "connectors/registry.h"
#include "core/metrics.h"
#include "iggy/client.h"
#include "runtime/ports.h"
#include "runtime/stats.h"
#include "runtime/supervisor.h"
#include "transforms/chain.h"

namespace trib::runtime {

enum class connector_kind : std::uint8_t { source, sink };
std::string_view to_string(connector_kind k);

/// One configured connector (enabled or not) and what runs it.
struct connector_slot {
    connector_kind kind = connector_kind::sink;
    config::connector_config cfg;
    const connectors::connector_entry* entry = nullptr;  // nullptr: unknown plugin
    connector_stats stats;
    std::unique_ptr<supervisor> sup;   // null when disabled or not startable
    std::optional<error> setup_error;  // why it cannot run at all (unknown plugin, ...)

    connector_status status() const;
    std::optional<connector_error> last_error() const;
};

struct host_options {
    config::runtime_config runtime;
    /// The active version of each connector (config::load_connectors' `active`).
    std::vector<config::connector_config> connectors;
    std::shared_ptr<const connectors::registry> registry;
    /// Use this Iggy instead of connecting (tests and benchmarks: memory_iggy). Must outlive the
    /// host.
    iggy_port* iggy = nullptr;
    /// Connect here instead of the config's [iggy] (the embedded server the app started).
    std::optional<iggy::client_options> client;
    /// How long start() keeps trying to reach Iggy.
    std::chrono::milliseconds connect_timeout{30000};
};

/// Thread-safe after start(): the API and the status line read it from other threads.
class host {
  public:
    explicit host(host_options o);
    ~host();
    host(const host&) = delete;
    host& operator=(const host&) = delete;

    /// Connects to Iggy and starts every enabled connector. Connectors that fail to start are
    /// retried by their supervisors; only a runtime-wide problem (Iggy unreachable, state
    /// directory not writable) is an error here.
    [[nodiscard]] status start();
    /// Drains every connector at once, each within its delivery.shutdown_timeout. Idempotent.
    void stop();

    const std::vector<std::unique_ptr<connector_slot>>& connectors() const { return slots_; }
    connector_slot* find(connector_kind kind, std::string_view key) const;
    /// Restarts a connector (drain, start again); brings back one halted by its error policy.
    [[nodiscard]] status restart(connector_kind kind, std::string_view key);

    const config::runtime_config& runtime_config() const { return o_.runtime; }
    const connectors::registry& registry() const { return *o_.registry; }
    metrics_registry& metrics() { return metrics_; }
    /// Microseconds since the epoch when start() was called.
    std::uint64_t start_time_us() const { return start_us_; }
    /// Where the runtime's Iggy clients connect ("memory" for an injected port).
    std::string iggy_address() const { return iggy_address_; }

  private:
    std::unique_ptr<pipeline> make_pipeline(connector_slot& slot);

    host_options o_;
    std::unique_ptr<iggy_port> owned_iggy_;
    iggy_port* iggy_ = nullptr;
    std::unique_ptr<state_store> state_;
    std::vector<std::unique_ptr<connector_slot>> slots_;
    metrics_registry metrics_;
    std::uint64_t start_us_ = 0;
    std::string iggy_address_;
    std::mutex stop_mu_;
    bool stopped_ = false;
};

/// The codecs of one stream: what to decode with, what to encode with, and how.
struct stream_codecs {
    transforms::codec_choice decode;
    transforms::codec_choice encode;
    transforms::codec_mode mode = transforms::codec_mode::same;
};

/// A sink stream: decoded with its `schema`; json, raw and text reach the sink as they are
/// (nothing decoded without transforms), every other schema is converted to JSON (as Iggy's
/// decoders hand sinks JSON payloads).
stream_codecs sink_codecs(const config::sink_stream_config& st);
/// A source stream: decoded with `source_schema`, else what the source declares (`declared`),
/// else the stream's `schema`; encoded with `schema`. The same codec with the same options is
/// no conversion: json/raw/text then pass through, other formats are only validated.
stream_codecs source_codecs(const config::source_stream_config& st, std::string_view declared);

/// The error policy and limits of a connector file, as the pipelines take them.
error_policy policy_of(const config::connector_config& c);

/// What the config loader needs to check connector files: the built-in connectors of `reg` (by
/// name and Iggy plugin name), codecs and transforms. `reg` is kept alive by the catalog.
config::catalog make_catalog(std::shared_ptr<const connectors::registry> reg);

}  // namespace trib::runtime
