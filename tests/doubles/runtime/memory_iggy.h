#pragma once
// An in-memory Iggy behind the runtime's ports: streams, topics, partitions, consumer-group
// offsets, with fault injection. For unit tests of the pipelines and as the baseline of the
// runtime benchmarks (the pipeline's own cost with no network in between). Not durable.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/ports.h"

namespace trib::runtime {

/// One stored message (owned copy).
struct stored_message {
    std::uint64_t offset = 0;
    std::uint32_t partition = 0;
    message_id id;
    std::uint64_t timestamp_us = 0;
    std::uint64_t origin_timestamp_us = 0;
    std::string payload;
    std::vector<header> headers;
};

class memory_iggy final : public iggy_port {
  public:
    memory_iggy();
    ~memory_iggy() override;

    result<std::unique_ptr<consumer_port>> open_consumer(const consumer_options& o) override;
    result<std::unique_ptr<producer_port>> open_producer(const producer_options& o) override;
    result<bool> ensure_topic(std::string_view stream, std::string_view topic,
                              std::uint32_t partitions) override;

    // ---- test and benchmark helpers (thread-safe) ----
    /// Appends messages directly (as another producer would).
    void append(std::string_view stream, std::string_view topic, std::uint32_t partition,
                std::vector<stored_message> msgs);
    /// A copy of every message of a topic, partition by partition in offset order.
    std::vector<stored_message> messages(std::string_view stream, std::string_view topic) const;
    std::size_t count(std::string_view stream, std::string_view topic) const;
    /// The stored offset of `group` on a partition (nullopt: never committed).
    std::optional<std::uint64_t> committed(std::string_view stream, std::string_view topic,
                                           std::string_view group, std::uint32_t partition) const;
    /// Every commit call so far, in order: (partition, offset).
    std::vector<std::pair<std::uint32_t, std::uint64_t>> commit_log(std::string_view group) const;

    /// The next `n` polls fail with `e`.
    void fail_polls(std::size_t n, error e);
    /// The next `n` sends fail with `e` (nothing of them is stored).
    void fail_sends(std::size_t n, error e);
    /// Sends of a batch containing a message for which `f` returns an error fail with it.
    void reject_sends_if(std::function<std::optional<error>(const message&)> f);
    /// Every send waits this long before it is acknowledged (in the producer's own thread).
    void set_send_latency(std::chrono::microseconds d);
    /// Sends of a topic are held (not acknowledged) until `release_sends()`.
    void hold_sends(bool on);

  private:
    struct partition_data {
        std::vector<stored_message> log;
    };
    struct topic_data {
        std::vector<partition_data> partitions;
        std::map<std::string, std::map<std::uint32_t, std::uint64_t>> groups;
        std::uint64_t rr = 0;
    };
    class consumer;
    class producer;
    topic_data* find(std::string_view stream, std::string_view topic);
    const topic_data* find(std::string_view stream, std::string_view topic) const;
    status store(const producer_options& o, const message_batch& b);

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::pair<std::string, std::string>, topic_data> topics_;
    std::map<std::string, std::vector<std::pair<std::uint32_t, std::uint64_t>>> commit_log_;
    std::size_t fail_polls_ = 0;
    error poll_error_;
    std::size_t fail_sends_ = 0;
    error send_error_;
    std::function<std::optional<error>(const message&)> reject_;
    std::chrono::microseconds send_latency_{0};
    bool hold_sends_ = false;
};

}  // namespace trib::runtime
