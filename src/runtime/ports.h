#pragma once
// The runtime's view of Iggy and of its state directory: small interfaces that the real Iggy
// client (src/iggy), the embedded server and the in-memory Iggy (memory_iggy.h) implement, so
// the pipeline logic is testable on its own.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/message.h"

namespace trib::runtime {

/// A sink's consumer of one stream/topic through a consumer group.
struct consumer_options {
    std::string stream;
    std::string topic;
    std::string group;  // consumer group name (Iggy runtime default: iggy-connect-sink-{key})
    std::uint32_t batch_length = 1000;
};

/// Messages of one partition, in offset order.
struct polled_batch {
    std::uint32_t partition = 0;
    message_batch batch;
    /// The partition's highest offset when polled, if the server said (for the lag figure).
    std::optional<std::uint64_t> partition_end;
};

/// Polls one topic as a member of a consumer group and stores the group's offsets. It never
/// commits on its own: the runtime commits an offset only after the sink accepted the message.
/// Used from one thread at a time.
class consumer_port {
  public:
    virtual ~consumer_port() = default;
    /// The next messages of one partition after those returned before, up to `max_messages`;
    /// an empty batch when nothing is new. After construction polling starts after the group's
    /// stored offset of each partition. Payloads stay valid as long as the
    /// batch (the batch holds the reply buffer).
    [[nodiscard]] virtual result<polled_batch> poll(std::uint32_t max_messages) = 0;
    /// Stores `offset` (the last processed message) as the group's offset of `partition`.
    /// errc::failed_precondition: the partition moved to another member of the group (which
    /// goes on from the last stored offset).
    [[nodiscard]] virtual status commit(std::uint32_t partition, std::uint64_t offset) = 0;
    /// Leaves the group. Idempotent.
    virtual void close() {}
};

/// Where a source's messages go, and how the producer batches them.
struct producer_options {
    std::string stream;
    std::string topic;
    std::uint32_t batch_length = 1000;  // messages per send
    std::chrono::milliseconds linger{5};
};

/// Sends batches to one stream/topic. Messages with a non-empty `key` are partitioned by it,
/// the others balanced. Thread-safe.
class producer_port {
  public:
    /// Called exactly once per send, from any thread, when Iggy acknowledged every message of the
    /// batch (ok) or the producer gave up on it (the error's retry class says whether to retry).
    /// Must not block.
    using completion = std::function<void(status)>;
    virtual ~producer_port() = default;
    /// Queues `batch` for sending; may block while the producer's in-flight window is full
    /// (backpressure). The producer keeps the batch alive until it calls `done`.
    virtual void send(std::shared_ptr<const message_batch> batch, completion done) = 0;
    /// Sends and waits for the acknowledgement.
    [[nodiscard]] status send_sync(std::shared_ptr<const message_batch> batch);
    /// Completes every outstanding send (with errc::cancelled when Iggy did not acknowledge it)
    /// before it returns; no completion runs afterwards. Idempotent.
    virtual void close() {}
};

/// A connection to Iggy (a real server, the embedded one, or memory_iggy).
class iggy_port {
  public:
    virtual ~iggy_port() = default;
    [[nodiscard]] virtual result<std::unique_ptr<consumer_port>> open_consumer(
        const consumer_options& o) = 0;
    [[nodiscard]] virtual result<std::unique_ptr<producer_port>> open_producer(
        const producer_options& o) = 0;
    /// Creates the stream and the topic (with `partitions` partitions) when missing; returns true
    /// when it created something.
    [[nodiscard]] virtual result<bool> ensure_topic(std::string_view stream, std::string_view topic,
                                                    std::uint32_t partitions) = 0;
};

/// A source state larger than this is refused by the file state store, on save and on load (a
/// state is a position: a few hundred bytes; a larger file is not one we wrote).
inline constexpr std::uint64_t k_max_state_bytes = 16u << 20;

/// Where sources keep their position between runs.
class state_store {
  public:
    virtual ~state_store() = default;
    /// Where the state of `key` is kept, for error messages (the file's path).
    virtual std::string where(std::string_view key) const {
        return "the saved state of " + std::string(key);
    }
    /// The last saved state of `key`, or nullopt if none was ever saved.
    [[nodiscard]] virtual result<std::optional<std::string>> load(std::string_view key) = 0;
    /// Replaces the state of `key` atomically and durably.
    [[nodiscard]] virtual status save(std::string_view key, std::string_view state) = 0;
};

/// One file per source in a directory, `source_{key}.state`, replaced atomically (temp file,
/// fsync, rename, directory fsync), like Iggy's runtime keeps one state file per source.
class file_state_store final : public state_store {
  public:
    explicit file_state_store(std::string dir) : dir_(std::move(dir)) {}
    result<std::optional<std::string>> load(std::string_view key) override;
    status save(std::string_view key, std::string_view state) override;
    std::string where(std::string_view key) const override { return path_of(key); }
    std::string path_of(std::string_view key) const;

  private:
    std::string dir_;
};

}  // namespace trib::runtime
