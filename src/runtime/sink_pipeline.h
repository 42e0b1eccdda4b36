#pragma once
// Iggy -> sink, at-least-once: poll batches through a consumer group, decode -> transforms ->
// encode (skipped without transforms), sink.write(), and commit each partition's offset only up
// to the last message the sink accepted (offset_tracker). Failures go through the error policy:
// retries with backoff, then isolation of the failing messages by bisection, then dead_letter /
// skip / stop per message. Never auto-commits.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core/connector.h"
#include "runtime/error_policy.h"
#include "runtime/offset_tracker.h"
#include "runtime/pipeline.h"
#include "runtime/ports.h"
#include "runtime/processor.h"
#include "runtime/stats.h"

namespace trib::runtime {

/// One `[[streams]]` entry of a sink.
struct sink_stream_settings {
    std::string stream;
    std::vector<std::string> topics;
    std::string schema = "json";
    std::uint32_t batch_length = 1000;
    std::chrono::milliseconds poll_interval{5};
    std::string consumer_group;  // empty: iggy-connect-sink-{key}
};

struct sink_settings {
    std::string key;
    std::string name;
    std::vector<sink_stream_settings> streams;
    error_policy policy;
    pipeline_limits limits;
    /// Handed to the connector (connector_context::metrics); may be null.
    metrics_registry* metrics = nullptr;
};

/// Makes a fresh connector instance (each start of the pipeline gets one).
using sink_factory = std::function<result<std::unique_ptr<sink>>()>;
/// Makes the processor of `streams[i]` for one of its topics (sinks) or routes (sources), given
/// the format the source declares (source::schema(); empty for sinks); a null processor means
/// "nothing to do": pass through.
using processor_factory = std::function<result<std::unique_ptr<message_processor>>(
    std::size_t, const stream_ref&, std::string_view)>;

class sink_pipeline final : public pipeline {
  public:
    /// `iggy` and `stats` must outlive the pipeline.
    sink_pipeline(sink_settings s, sink_factory make_sink, processor_factory make_processor,
                  iggy_port& iggy, connector_stats& stats);
    ~sink_pipeline() override;

    status start() override;
    void request_stop() override;
    pipeline_outcome join(std::chrono::steady_clock::time_point hard_deadline) override;

    /// The consumer group of stream entry `s` of a sink with key `key`.
    static std::string group_of(const sink_stream_settings& s, std::string_view key);

  private:
    struct topic_input {
        std::size_t stream_index = 0;
        std::string topic;
        std::unique_ptr<consumer_port> consumer;
        std::unique_ptr<message_processor> processor;
        offset_tracker tracker;                                               // guarded by mu_
        std::vector<std::pair<std::uint32_t, std::uint64_t>> failed_commits;  // poller only
        std::map<std::uint32_t, std::uint64_t> partition_end;                 // poller only
    };
    struct work_item {
        std::size_t input = 0;
        std::uint32_t partition = 0;
        message_batch batch;
        std::vector<rejected_message> rejected;
        std::vector<message> originals;  // before processing, for the dead-letter topic
        offset_tracker::ticket ticket;
        std::uint64_t bytes = 0;
        std::chrono::steady_clock::time_point polled_at;
        /// Isolated messages the retry policy retries after the rest of the batch is written.
        std::vector<const message*> deferred;
    };
    enum class write_result { done, abandoned, halted };

    void poll_loop();
    void write_loop();
    bool poll_once(topic_input& in, std::size_t index);
    void do_commits(bool final_round);
    void update_lag();
    write_result handle(work_item& w);
    /// Writes `msgs` (all of w.batch or a subset) with retries, bisecting on failure; `forever`
    /// retries every error without giving up (error policy retry on an isolated message).
    write_result deliver(work_item& w, const std::vector<const message*>& msgs, bool forever);
    const message& original_of(const work_item& w, const message& m) const;
    write_result fail_message(work_item& w, const message& m, const error& e, failure_stage stage);
    write_result dead_letter(const work_item& w, const message& m, const error& e,
                             failure_stage stage);
    bool reopen_sink();
    /// Sleeps up to `d`; false if the pipeline must give up waiting (hard stop or draining when
    /// `wake_on_drain`).
    bool pause(std::chrono::milliseconds d, bool wake_on_drain);
    void end_with(pipeline_outcome::kind k, error e);

    sink_settings s_;
    sink_factory make_sink_;
    processor_factory make_processor_;
    iggy_port& iggy_;
    connector_stats& stats_;

    std::unique_ptr<sink> sink_;
    std::unique_ptr<producer_port> dlq_;
    connector_context ctx_;
    std::stop_source hard_stop_;
    std::vector<std::unique_ptr<topic_input>> inputs_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<work_item> queue_;
    std::uint64_t bytes_in_flight_ = 0;  // queued + being written
    std::uint32_t batches_in_flight_ = 0;
    bool draining_ = false;
    bool writer_done_ = false;
    bool poller_done_ = false;
    bool commits_ready_ = false;
    std::optional<pipeline_outcome> outcome_;  // set once, by the first thread that ends it
    error halt_error_;                         // writer only

    std::thread poller_;
    std::thread writer_;
};

}  // namespace trib::runtime
