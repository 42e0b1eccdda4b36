#pragma once
// An Iggy consumer: a poll loop for a plain consumer or a consumer group (create/join, SYNC, round
// robin over the assigned partitions with explicit ids, re-sync on the 0xFFFFFFFF head or a 20
// from a group offset store), explicit offset commits (no auto-commit by default), leave on close.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "iggy/client.h"

namespace trib::iggy {

struct consumer_options {
    client_options client;
    identifier stream;
    identifier topic;
    /// A consumer group to join (created if missing and `create_group`); empty = a plain
    /// consumer named by `consumer_id`.
    std::string group;
    bool create_group = true;
    identifier consumer_id = identifier::numeric(0);  // plain consumer's id or name
    /// Plain consumer: the partitions to read (empty = all of the topic's partitions).
    std::vector<std::uint32_t> partitions;
    /// Where to start a partition that has no stored offset: first (0) or the log's end.
    enum class start_at : std::uint8_t { first, next_new } start = start_at::first;
    std::uint32_t batch_size = 1000;  // messages per poll
    bool auto_commit = false;         // let the server store offsets as it polls
    /// How often to re-sync group assignments even without a hint (the SDK does it every 5 s).
    std::chrono::milliseconds resync_interval{5000};
};

/// Messages of one partition from one poll. Views into `data`; valid until the next `poll`.
struct consumer_batch {
    std::uint32_t partition = 0;
    std::uint64_t current_offset = 0;  // the partition's high-water mark
    std::span<const polled_message> messages;
    /// The offset to commit after processing all of `messages` (the last one's).
    std::uint64_t last_offset() const { return messages.empty() ? 0 : messages.back().offset; }
};

/// Thread-safety: one thread polls and commits; not safe for concurrent use.
/// Lifecycle: `create` connects (and joins the group); `close` leaves the group.
class consumer_client {
  public:
    [[nodiscard]] static result<std::unique_ptr<consumer_client>> create(consumer_options options);
    ~consumer_client();
    consumer_client(const consumer_client&) = delete;
    consumer_client& operator=(const consumer_client&) = delete;

    /// Polls the next partition in turn (round robin over the assigned ones) and returns the
    /// first non-empty batch, or an empty batch when every partition was empty. Never commits
    /// unless `auto_commit`.
    [[nodiscard]] result<consumer_batch> poll();
    /// Stores `offset` (the last processed message) for a partition. For a group whose partition
    /// moved to another member, returns `failed_precondition` (vendor 20) after re-syncing: the
    /// new owner goes on from the last committed offset.
    [[nodiscard]] status commit(std::uint32_t partition, std::uint64_t offset);
    /// The partitions currently assigned (a group member's from its last sync).
    const std::vector<std::uint32_t>& assigned() const { return assigned_; }
    std::uint64_t generation() const { return generation_; }
    /// Leaves the group (if any). Idempotent.
    [[nodiscard]] status close();

    client& raw() { return *client_; }

  private:
    explicit consumer_client(consumer_options options);
    status sync();
    consumer kind() const;

    consumer_options opts_;
    std::unique_ptr<client> client_;
    identifier group_id_;
    bool is_group_ = false;
    bool joined_ = false;
    std::vector<std::uint32_t> assigned_;
    std::uint64_t generation_ = 0;
    std::size_t next_index_ = 0;
    /// Next offset to read per partition; absent = ask the server (Next strategy).
    std::map<std::uint32_t, std::uint64_t> position_;
    std::chrono::steady_clock::time_point last_sync_{};
    polled_messages polled_;
};

}  // namespace trib::iggy
