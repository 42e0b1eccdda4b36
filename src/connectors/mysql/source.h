#pragma once
// MySQL -> Iggy by table polling (Iggy's mysql_source): rows after the last position of each
// table, ordered by the tracking column. Positions go to the runtime as state; deletes and marks
// of delivered rows run only after ack(), i.e. after Iggy acknowledged the batch and the state
// was persisted (core/poll_ledger.h, shared with the postgres source).

#include <atomic>
#include <cstdint>
#include <memory>

#include "connectors/mysql/options.h"
#include "core/connector.h"

namespace trib::connectors::mysql {

struct source_stats {
    std::atomic<std::uint64_t> rows{0};
    std::atomic<std::uint64_t> acked_ops{0};
    std::atomic<std::uint64_t> failed_ops{0};
    std::atomic<std::uint64_t> reconnects{0};
};

/// poll() from one thread, ack()/nack() from another (the ledger is locked).
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

/// The binlog CDC source: reads the server's binlog as a replica (libmariadb's mariadb_rpl_*),
/// decodes ROW events (row_image.h) into Debezium-style envelopes, optionally after a snapshot
/// under START TRANSACTION WITH CONSISTENT SNAPSHOT. The state is the binlog file and position
/// after the last whole transaction of a batch; the runtime persists it only after Iggy
/// acknowledged the batch. poll() from one thread, ack()/nack() from another.
class cdc_source final : public source {
  public:
    explicit cdc_source(source_options o);
    ~cdc_source() override;
    status open(connector_context& ctx, std::string_view state) override;
    result<source_batch> poll(std::chrono::milliseconds max_wait) override;
    void ack(std::uint64_t seq) override;
    void nack(std::uint64_t seq) override;
    void close() override;

    struct impl;

  private:
    std::unique_ptr<impl> impl_;
};

/// The source for `o.mode`.
std::unique_ptr<source> make_source(source_options o);

}  // namespace trib::connectors::mysql
