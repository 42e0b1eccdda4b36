#pragma once
// A Kafka record to an Iggy message, as a pure function (no librdkafka, no I/O), so that the
// mapping is unit-tested without a broker and fuzzed: key, headers, timestamp, the kafka.*
// metadata headers and the deterministic message id.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/message.h"

namespace trib::connectors::kafka {

/// The headers the source adds (and the sink may read back).
inline constexpr std::string_view topic_header = "kafka.topic";          // string
inline constexpr std::string_view partition_header = "kafka.partition";  // int32
inline constexpr std::string_view offset_header = "kafka.offset";        // int64
/// The record's key (string when it is UTF-8, else raw): Iggy keeps no key per message, so the
/// key travels here for a sink that writes it back to Kafka.
inline constexpr std::string_view key_header = "kafka.key";

/// Iggy's limit on a user header's key and value (1..255 bytes each).
inline constexpr std::size_t max_header_bytes = 255;

/// The 128-bit Iggy message id of a record: XXH3-128 of (cluster id, topic, partition, offset),
/// so that a record read twice (after a crash, a rebalance) gets the same id and a consumer can
/// drop the replay. Never zero (zero asks Iggy for a random id).
message_id record_id(std::string_view cluster_id, std::string_view topic, std::int32_t partition,
                     std::int64_t offset);

/// A record as read from Kafka, by reference (the views live in the librdkafka message).
struct record_view {
    std::string_view topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::optional<std::string_view> key;    // nullopt: null key
    std::optional<std::string_view> value;  // nullopt: null value (a tombstone)
    std::int64_t timestamp_ms = -1;         // -1: the record has none
    std::vector<std::pair<std::string_view, std::optional<std::string_view>>> headers;
};

/// What to do with a record Iggy cannot carry as it is.
enum class unfit_policy : std::uint8_t {
    reject,  // hand it to the error policy (dead letter), with the reason
    skip,    // drop the part that does not fit (a header) or the record (a tombstone)
};

struct mapping_options {
    bool metadata_headers = true;  // kafka.topic, kafka.partition, kafka.offset
    bool key_header = true;        // kafka.key
    bool partition_by_key = true;  // the record's key is the Iggy partitioning key
    /// Headers with an empty or longer-than-255-byte name or value, a null value, or a name the
    /// source uses itself (kafka.*) when metadata headers are on.
    unfit_policy unfit_headers = unfit_policy::reject;
    /// Records with a null or empty value (Iggy messages are never empty).
    unfit_policy empty_values = unfit_policy::reject;
};

/// The outcome of mapping one record.
struct mapped {
    enum class kind { message, rejected, skipped } what = kind::message;
    message msg;  // what == message: the payload views the record's value
    error why;    // what == rejected
};

/// The Iggy message for `r`: payload = value (a view, not a copy), headers in the record's order
/// (a repeated name: the first one wins) then the kafka.* headers, key, origin timestamp
/// (µs, from the record's timestamp; 0 when it has none), id = record_id(...). Keys longer than
/// 255 bytes partition the message but do not fit kafka.key: unfit_headers decides.
mapped map_record(const record_view& r, std::string_view cluster_id, const mapping_options& o);

/// True when `s` is valid UTF-8 (header values and keys go to Iggy as strings then).
bool valid_utf8(std::string_view s);

}  // namespace trib::connectors::kafka
