#pragma once
// Source -> Iggy, at-least-once: poll the source, decode -> transforms -> encode (skipped without
// transforms), send to Iggy through the producer with several batches in flight, and only once
// Iggy acknowledged a batch persist the source's state atomically and tell the source ack(seq),
// in poll order. A batch that cannot be delivered is retried with backoff, then sent message by
// message with the error policy (dead_letter / skip / stop) for the ones that still fail. On a
// stop or failure the batches not delivered are nack()ed, in order.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core/connector.h"
#include "runtime/error_policy.h"
#include "runtime/pipeline.h"
#include "runtime/ports.h"
#include "runtime/processor.h"
#include "runtime/sink_pipeline.h"
#include "runtime/stats.h"

namespace trib::runtime {

/// One `[[streams]]` entry of a source.
struct source_stream_settings {
    std::string stream;
    std::string topic;
    std::string schema = "json";
    std::uint32_t batch_length = 1000;
    std::chrono::milliseconds linger_time{5};
};

struct source_settings {
    std::string key;
    std::string name;
    std::vector<source_stream_settings> streams;
    error_policy policy;
    pipeline_limits limits;
    /// Handed to the connector (connector_context::metrics); may be null.
    metrics_registry* metrics = nullptr;
    /// How long one source.poll() may wait (short, so that a drain starts promptly).
    std::chrono::milliseconds poll_wait{100};
    /// Partitions of topics the runtime creates.
    std::uint32_t create_partitions = 1;
};

using source_factory = std::function<result<std::unique_ptr<source>>()>;

class source_pipeline final : public pipeline {
  public:
    /// `iggy`, `state` and `stats` must outlive the pipeline. `make_processor(i, route)` makes
    /// the processor of a route from stream entry i (routes beyond the configured streams use
    /// entry 0); null means pass through.
    source_pipeline(source_settings s, source_factory make_source, processor_factory make_processor,
                    iggy_port& iggy, state_store& state, connector_stats& stats);
    ~source_pipeline() override;

    status start() override;
    void request_stop() override;
    pipeline_outcome join(std::chrono::steady_clock::time_point hard_deadline) override;

  private:
    struct part {
        std::size_t route = 0;
        std::shared_ptr<message_batch> batch;
        bool done = false;
        std::optional<error> err;
    };
    struct entry {
        std::uint64_t seq = 0;  // 0: a state change without messages
        std::string state;
        bool has_state = false;
        std::vector<part> parts;
        std::size_t pending = 0;  // sends not yet completed
        bool failed = false;      // some part failed
        std::vector<rejected_message> rejected;
        std::shared_ptr<message_batch> polled;  // owns the payloads the parts point into
        std::uint64_t bytes = 0;
        std::uint64_t delivered = 0;
        std::uint64_t delivered_bytes = 0;
        std::chrono::steady_clock::time_point polled_at;
    };
    enum class resolve_result { done, abandoned, halted };

    void poll_loop();
    void commit_loop();
    void on_sent(const std::shared_ptr<entry>& e, std::size_t part_index, status st);
    resolve_result resolve(entry& e);
    resolve_result send_each(entry& e, part& p, const error& first_error);
    resolve_result fail_message(entry& e, const message& m, const error& err, failure_stage stage);
    status send_retrying(std::size_t route, std::shared_ptr<const message_batch> b, bool forever,
                         error* last);
    bool pause(std::chrono::milliseconds d, bool wake_on_drain);
    void end_with(pipeline_outcome::kind k, error e);
    std::size_t route_of(const message& m) const;

    source_settings s_;
    source_factory make_source_;
    processor_factory make_processor_;
    iggy_port& iggy_;
    state_store& state_;
    connector_stats& stats_;

    std::unique_ptr<source> source_;
    connector_context ctx_;
    std::stop_source hard_stop_;
    std::vector<std::unique_ptr<producer_port>> producers_;       // per route
    std::vector<std::unique_ptr<message_processor>> processors_;  // per route (may be null)
    std::unique_ptr<producer_port> dlq_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<entry>> inflight_;
    std::uint64_t bytes_in_flight_ = 0;
    std::uint64_t next_seq_ = 0;  // poller only
    bool draining_ = false;
    bool poller_done_ = false;
    bool committer_done_ = false;
    std::optional<pipeline_outcome> outcome_;
    error halt_error_;  // committer only

    std::thread poller_;
    std::thread committer_;
};

}  // namespace trib::runtime
