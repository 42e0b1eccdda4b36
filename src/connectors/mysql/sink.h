#pragma once
// Iggy -> MySQL/MariaDB. One transaction per runtime batch (multi-row INSERT, or LOAD DATA LOCAL
// INFILE fed from memory in append mode); the runtime commits Iggy offsets only after write()
// returned, i.e. after COMMIT.

#include <atomic>
#include <cstdint>
#include <memory>

#include "connectors/mysql/options.h"
#include "core/connector.h"

namespace trib::connectors::mysql {

/// Counters a test or benchmark can read (the runtime has its own metrics).
struct sink_stats {
    std::atomic<std::uint64_t> rows_written{0};
    std::atomic<std::uint64_t> rows_rejected{0};
    std::atomic<std::uint64_t> transactions{0};
    std::atomic<std::uint64_t> isolations{0};  // batches that needed the bad-row search
    std::atomic<std::uint64_t> reconnects{0};
    std::atomic<std::uint64_t> load_fallbacks{0};  // LOAD DATA batches redone with INSERT
};

/// The MySQL sink. write() blocks (libmariadb); the runtime calls it from a worker thread, one
/// call at a time per instance. Needs a transactional engine (InnoDB): a failed statement must
/// leave no rows, and a batch commits or not as a whole.
class mysql_sink final : public sink {
  public:
    explicit mysql_sink(sink_options opts);
    ~mysql_sink() override;

    status open(connector_context& ctx) override;
    result<write_outcome> write(const sink_batch& batch) override;
    void close() override;
    /// Append mode with a unique `id`; mapped mode with an upsert or the debezium envelope.
    bool idempotent() const override;

    const sink_stats& stats() const { return stats_; }

    struct impl;

  private:
    status open_impl();

    sink_options opts_;
    std::unique_ptr<impl> impl_;
    sink_stats stats_;
};

}  // namespace trib::connectors::mysql
