#pragma once
// A batching Iggy producer: accumulates messages per partition, flushes by count, bytes or linger
// time, sends over N connections (each partition always on the same connection, so per-partition
// order holds), acknowledges every `send` call once Iggy accepted all of its messages, and applies
// back-pressure through a bounded in-flight byte budget.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "iggy/client.h"
#include "iggy/wire/batch.h"

namespace trib::iggy {

/// How a producer picks partitions. Like Iggy's Rust SDK, balanced and key partitioning are
/// resolved on the client (after a cached GET_TOPIC) and sent as an explicit partition id.
enum class partition_mode : std::uint8_t {
    balanced,      // round-robin per `send` call (a call's messages stay together)
    partition_id,  // always `producer_options::partition`
    messages_key,  // XXH32(message key, seed 0) % partitions, per message
};

struct producer_options {
    client_options client;  // connection settings; each sender opens its own connection
    identifier stream;
    identifier topic;
    partition_mode mode = partition_mode::balanced;
    std::uint32_t partition = 0;  // for partition_id
    std::uint32_t batch_max_messages = 1000;
    std::size_t batch_max_bytes = 1 << 20;
    std::chrono::microseconds linger{1000};         // zero: flush at every send call
    unsigned connections = 1;                       // sender connections (parallelism)
    std::size_t max_in_flight_bytes = 64u << 20;    // back-pressure budget (accumulated + sending)
    std::chrono::milliseconds send_timeout{30000};  // how long `send` may block on the budget
    unsigned max_retries = 5;  // per batch, for retryable errors (with backoff)
    /// Iggy's SDKs refuse empty payloads, and so does this producer unless this is set; the
    /// runtime's dead-letter producers set it, so that an empty message somebody else wrote
    /// into a topic can still be dead-lettered as it was.
    bool allow_empty_payloads = false;
};

/// One message to produce. The producer copies payload and headers into its batch buffers, so
/// the views only need to live for the duration of `send`.
struct producer_message {
    bytes_view payload;
    bytes_view user_headers;             // encoded TLV (encode_user_headers), may be empty
    std::string_view key;                // for partition_mode::messages_key
    u128 id;                             // zero: a random id
    std::uint64_t origin_timestamp = 0;  // zero: now
};

/// Where an acknowledged `send` landed (one entry per partition batch it was split into).
struct send_ack {
    struct part {
        std::uint32_t partition = 0;
        std::uint64_t base_offset = 0;  // of the batch the messages went into (if reported)
        std::uint32_t messages = 0;
    };
    std::vector<part> parts;
};

using ack_callback = std::function<void(result<send_ack>)>;

/// Thread-safety: `send`, `flush` and `close` may be called from any thread. Callbacks run on a
/// sender thread; they must not block for long. Lifecycle: `create` connects and reads the topic;
/// `close` (or the destructor) flushes what is pending and waits for its acknowledgements.
class producer {
  public:
    [[nodiscard]] static result<std::unique_ptr<producer>> create(producer_options options);
    ~producer();
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;

    /// Queues messages; `done` runs once when all of them were accepted by Iggy (or with the
    /// first error). Blocks while the in-flight budget is used up (up to `send_timeout`).
    [[nodiscard]] status send(std::span<const producer_message> messages, ack_callback done);
    /// The same with a future.
    [[nodiscard]] std::future<result<send_ack>> send(std::span<const producer_message> messages);
    /// Sends everything accumulated so far and waits until it is acknowledged.
    [[nodiscard]] status flush();
    /// Flushes and stops the senders. Idempotent.
    void close();

    std::uint32_t partitions() const { return partitions_; }
    /// Bytes accumulated or being sent.
    std::size_t in_flight_bytes() const;

    struct ticket;
    struct pending_batch;

  private:
    explicit producer(producer_options options);
    struct sender;
    struct accumulator;
    void flush_partition_locked(std::uint32_t p);
    void linger_loop();
    void release(std::size_t bytes);

    producer_options opts_;
    std::uint32_t partitions_ = 1;
    std::uint64_t round_robin_ = 0;
    std::vector<std::unique_ptr<sender>> senders_;
    std::vector<std::unique_ptr<accumulator>> acc_;  // one per partition
    mutable std::mutex mu_;
    std::condition_variable budget_cv_;
    std::condition_variable idle_cv_;
    std::size_t in_flight_ = 0;
    std::size_t unacked_batches_ = 0;
    bool closed_ = false;
    std::thread linger_;
    std::condition_variable linger_cv_;
    bool linger_idle_ = false;  // the linger thread waits for a first message (guarded by mu_)
};

}  // namespace trib::iggy
