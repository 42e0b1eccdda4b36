#pragma once
// Iggy -> PostgreSQL. One transaction per runtime batch (COPY FROM STDIN or multi-row INSERT),
// the runtime commits Iggy offsets only after write() returned, i.e. after COMMIT.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/postgres/options.h"
#include "core/connector.h"

namespace trib::connectors::postgres {

/// Counters a test or benchmark can read (the runtime has its own metrics).
struct sink_stats {
    std::atomic<std::uint64_t> rows_written{0};
    std::atomic<std::uint64_t> rows_rejected{0};
    std::atomic<std::uint64_t> transactions{0};
    std::atomic<std::uint64_t> isolations{0};  // batches that needed the poison-row search
    std::atomic<std::uint64_t> reconnects{0};
};

/// The PostgreSQL sink. write() blocks (libpq); the runtime calls it from a worker thread, one
/// call at a time per instance (the JSON parser is per instance). Connections come from a pool of
/// `max_connections`, so several sink instances of one config could share nothing but the server.
class postgres_sink final : public sink {
  public:
    explicit postgres_sink(sink_options opts);
    ~postgres_sink() override;

    status open(connector_context& ctx) override;
    result<write_outcome> write(const sink_batch& batch) override;
    void close() override;
    /// True when a replay cannot duplicate rows: append mode with a unique `id` column, or
    /// mapped mode with an upsert.
    bool idempotent() const override;

    const sink_stats& stats() const { return stats_; }

    struct impl;

  private:
    /// Creates and opens the implementation; on failure leaves the sink closed.
    status open_impl();

    sink_options opts_;
    std::unique_ptr<impl> impl_;
    sink_stats stats_;
};

}  // namespace trib::connectors::postgres
