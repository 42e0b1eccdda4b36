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

}  // namespace trib::connectors::mysql
