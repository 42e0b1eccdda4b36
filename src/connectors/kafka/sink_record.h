#pragma once
// The pure part of the Kafka sink: how one Iggy message becomes one Kafka record (topic, key,
// partition, timestamp, headers). No librdkafka here, no I/O: unit-tested without a broker
// (tests/connectors/kafka/sink_record_test.cpp) and fuzzed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/connector.h"
#include "core/error.h"
#include "core/message.h"
#include "core/name_template.h"

namespace trib::connectors::kafka_sink {

/// Where the record key comes from.
enum class key_source { none, header, field, iggy_partition, message_id, offset };
/// Where the Kafka partition comes from (`key`: the producer's partitioner hashes the key).
enum class partition_source { key, iggy_partition, header };
/// Where the record timestamp comes from (`none`: the producer's clock).
enum class timestamp_source { origin, iggy, header, none };

std::optional<key_source> parse_key_source(std::string_view s);
std::optional<partition_source> parse_partition_source(std::string_view s);
std::optional<timestamp_source> parse_timestamp_source(std::string_view s);

/// The topic template (core/name_template.h, shared with the RabbitMQ sink).
using topic_template = trib::name_template;
using trib::header_integer;
using trib::payload_fields;

/// A Kafka topic name the broker accepts: 1..249 of [a-zA-Z0-9._-], not "." or "..".
status check_topic_name(std::string_view name);

/// The record options of the sink, from its spec.
struct record_options {
    topic_template topic;
    key_source key = key_source::none;
    std::string key_name;  // header name or field path for key_source::header/field
    partition_source partition = partition_source::key;
    std::string partition_header = "kafka.partition";
    timestamp_source timestamp = timestamp_source::origin;
    std::string timestamp_header = "kafka.timestamp";
    bool include_headers = true;
    /// Header names not copied; an entry ending in '*' is a prefix.
    std::vector<std::string> exclude_headers;
};

/// One Kafka record, ready to produce. Views point into the message (payload, headers).
struct record {
    std::string topic;
    std::optional<std::string> key;  // nullopt: a null key
    std::int32_t partition = -1;     // -1: the partitioner chooses
    std::int64_t timestamp_ms = 0;   // 0: the producer's clock
    std::vector<std::pair<std::string_view, std::string>> headers;
};

/// A header value as Kafka header bytes: core/name_template.h's header_text.
inline std::string header_bytes(const header& h) {
    return header_text(h);
}

/// True when `name` matches one of `patterns` (exact, or a prefix when the pattern ends in '*').
bool header_excluded(std::string_view name, const std::vector<std::string>& patterns);

/// The topic for a message (the batch's stream, topic and partition fill the placeholders).
result<std::string> render_topic(const topic_template& t, const sink_batch& b, const message& m,
                                 payload_fields& fields);

/// Builds the record of one message. An error (missing key header or field, bad partition or
/// timestamp header, an invalid topic name) is the message's: it goes to the error policy.
result<record> build_record(const record_options& o, const sink_batch& b, const message& m);

}  // namespace trib::connectors::kafka_sink
