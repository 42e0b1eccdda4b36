#pragma once
// PostgreSQL -> Iggy: table polling (incrementing or timestamp tracking, mark-as-processed,
// delete-after-read) and CDC through logical replication (pgoutput or wal2json). Positions are
// handed to the runtime as state and acted on upstream (delete, mark, LSN confirm) only in ack(),
// i.e. after Iggy acknowledged the batch and the state was persisted.

#include <atomic>
#include <cstdint>
#include <memory>

#include "connectors/postgres/options.h"
#include "core/connector.h"

namespace trib::connectors::postgres {

/// Counters for tests and benchmarks.
struct source_stats {
    std::atomic<std::uint64_t> rows{0};        // messages produced
    std::atomic<std::uint64_t> acked_ops{0};   // deletes/marks done (polling)
    std::atomic<std::uint64_t> failed_ops{0};  // deletes/marks that failed and are retried
    std::atomic<std::uint64_t> reconnects{0};
    std::atomic<std::uint64_t> confirmed_lsn{0};  // CDC: last LSN confirmed to the server
    std::atomic<std::uint64_t> skipped_txns{0};   // CDC: replayed transactions skipped
};

/// Creates the source for `o.mode` (polling or CDC).
std::unique_ptr<source> make_source(source_options o);

/// The polling source. poll() from one thread, ack()/nack() from another (internally locked).
class polling_source final : public source {
  public:
    explicit polling_source(source_options o);
    ~polling_source() override;
    status open(connector_context& ctx, std::string_view state) override;
    result<source_batch> poll(std::chrono::milliseconds max_wait) override;
    void ack(std::uint64_t seq) override;
    void nack(std::uint64_t seq) override;
    void close() override;
    const source_stats& stats() const { return stats_; }

    struct impl;

  private:
    std::unique_ptr<impl> impl_;
    source_stats stats_;
};

/// The CDC source over a logical replication connection. poll() from one thread (it owns the
/// replication connection and sends the standby status updates); ack()/nack() from another
/// only record the acknowledged LSN.
class cdc_source final : public source {
  public:
    explicit cdc_source(source_options o);
    ~cdc_source() override;
    status open(connector_context& ctx, std::string_view state) override;
    result<source_batch> poll(std::chrono::milliseconds max_wait) override;
    void ack(std::uint64_t seq) override;
    void nack(std::uint64_t seq) override;
    void close() override;
    const source_stats& stats() const { return stats_; }

    struct impl;

  private:
    std::unique_ptr<impl> impl_;
    source_stats stats_;
};

}  // namespace trib::connectors::postgres
