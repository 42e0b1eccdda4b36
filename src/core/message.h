#pragma once
// The records that flow through the pipeline. Batches, not messages, move between stages
// (STYLE.md); payload bytes are referenced, not copied, until a codec or transform must change
// them.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace trib {

/// The value kinds of Iggy user headers (same numbering as the wire).
enum class value_kind : std::uint8_t {
    raw = 1,
    string = 2,
    boolean = 3,
    int8 = 4,
    int16 = 5,
    int32 = 6,
    int64 = 7,
    int128 = 8,
    uint8 = 9,
    uint16 = 10,
    uint32 = 11,
    uint64 = 12,
    uint128 = 13,
    float32 = 14,
    float64 = 15,
};

/// One Iggy user header. Numeric values are stored little-endian as on the wire.
struct header {
    std::string key;
    value_kind kind = value_kind::string;
    std::string value;
    friend bool operator==(const header&, const header&) = default;
};

/// A 128-bit Iggy message id (zero: the producer draws a random one).
struct message_id {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    bool is_zero() const { return lo == 0 && hi == 0; }
    friend bool operator==(const message_id&, const message_id&) = default;
};

/// One message. For sinks the Iggy fields (id, offset, partition, timestamps) are filled from the
/// poll; for sources the connector sets payload, headers, optionally key, id and origin time.
struct message {
    message_id id;
    std::uint64_t offset = 0;               // sinks: the Iggy offset
    std::uint32_t partition = 0;            // sinks: the Iggy partition id
    std::uint64_t timestamp_us = 0;         // sinks: Iggy's append time (µs since the epoch)
    std::uint64_t origin_timestamp_us = 0;  // producer's time; sources: event time (0 = now)
    std::string_view payload;               // owned by the batch (arena) or its held buffers
    std::vector<header> headers;
    std::string key;  // sources: partitioning key (empty: the stream's default partitioning)
    /// Sources: where the message goes, an index into connector_context::routes (0: the first
    /// `[[streams]]` entry).
    std::uint16_t route = 0;

    /// Looks up a header by key; nullptr if absent.
    const header* find_header(std::string_view k) const {
        for (const auto& h : headers) {
            if (h.key == k)
                return &h;
        }
        return nullptr;
    }
};

/// A batch of messages and the memory their payloads point into.
/// Not thread-safe; moved between pipeline stages, never shared.
class message_batch {
  public:
    std::vector<message> messages;

    /// Keeps `bytes` alive as long as the batch and returns a view of it (stable across moves of
    /// the batch).
    std::string_view own(std::string bytes) {
        arena_.push_back(std::move(bytes));
        return arena_.back();
    }
    /// Keeps an external buffer (e.g. a poll reply) alive as long as the batch.
    void hold(std::shared_ptr<const void> buffer) { holders_.push_back(std::move(buffer)); }

    std::size_t size() const { return messages.size(); }
    bool empty() const { return messages.empty(); }
    /// Sum of payload sizes.
    std::size_t payload_bytes() const {
        std::size_t n = 0;
        for (const auto& m : messages)
            n += m.payload.size();
        return n;
    }
    void clear() {
        messages.clear();
        arena_.clear();
        holders_.clear();
    }

  private:
    std::deque<std::string> arena_;  // deque: elements never move, so views stay valid
    std::vector<std::shared_ptr<const void>> holders_;
};

}  // namespace trib
