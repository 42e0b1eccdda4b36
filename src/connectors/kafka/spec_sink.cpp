// The spec of the Kafka sink. Iggy has no Kafka connector, so the option names are ours; the
// connection options follow librdkafka's property names where one exists.

#include <fmt/format.h>

#include "config/spec.h"
#include "connectors/kafka/common.h"
#include "connectors/kafka/kafka.h"
#include "connectors/kafka/sink_record.h"

namespace trib::connectors {
namespace {

using config::opt_type;

config::option choice(std::string name, std::vector<std::string> choices, std::string doc,
                      std::string def) {
    auto o = config::opt(std::move(name), opt_type::enumeration, std::move(doc), "\"" + def + "\"");
    o.choices = std::move(choices);
    return o;
}

}  // namespace

config::spec kafka_sink_spec() {
    config::spec s;
    s.name = "kafka";
    s.kind = config::spec_kind::sink;
    s.guarantee =
        "at-least-once with the idempotent producer; exactly-once effect for read_committed "
        "consumers with `transactional_id` set";
    s.summary =
        "Produces messages to Apache Kafka (or Redpanda) with an idempotent producer; offsets "
        "are committed after the broker acknowledged the whole batch";
    s.description =
        "Writes each Iggy message as one Kafka record: the payload bytes unchanged (a "
        "Confluent-framed Avro/Protobuf/JSON payload stays byte for byte what it was), the key, "
        "partition and timestamp chosen by the options below, the Iggy user headers as Kafka "
        "headers.\n\n"
        "**Delivery guarantee.** At-least-once, and no duplicates from the producer itself: the "
        "producer is idempotent (`enable.idempotence=true`, `acks=all`), a write returns only "
        "when the broker acknowledged every record of the batch (or refused it for good), and "
        "only then does the runtime commit the Iggy offsets. While the broker is down the write "
        "waits (librdkafka retries inside the same idempotent session, so a broker restart adds "
        "no duplicates) and resumes when it is back; the memory is bounded by the batch. A crash "
        "of the runtime between the broker's acknowledgement and the offset commit replays at "
        "most the batches in flight.\n\n"
        "**Exactly once with `transactional_id`.** Each batch is one Kafka transaction that "
        "also records the batch's last Iggy offset in `offsets_topic`. At start the sink fences "
        "any earlier instance (`init_transactions`) and reads that topic; a batch replayed after "
        "a crash is skipped up to the recorded offset. Consumers reading with "
        "`isolation.level=read_committed` then see every message once. Limitation: with the error "
        "policy `on_error = \"retry\"` the runtime writes a failing message after the later ones "
        "of its batch; a crash before it succeeded would make the restarted sink skip it (a "
        "later offset is recorded). Use `dead_letter` or `stop` with transactions.\n\n"
        "**Refused records.** A record larger than `message.max.bytes` (the producer's or the "
        "broker's), an invalid topic name from the template, a missing key field, or a record "
        "the broker refuses for good (`INVALID_RECORD`, `UNKNOWN_TOPIC_OR_PART` ...) goes to the "
        "connector's error policy with the broker's error in the dead-letter headers "
        "(`tributary.error`, `tributary.error.vendor_code` = the librdkafka error code); the "
        "other records of the batch are written.\n\n"
        "**Headers.** Iggy header values become Kafka header bytes: raw and string values as "
        "they are, booleans as `true`/`false`, numbers in decimal, 128-bit values as 32 hex "
        "digits. Headers named in `exclude_headers` (a trailing `*` makes a prefix) are not "
        "copied.\n\n"
        "Compression, batching and linger are librdkafka properties: set them in `properties` "
        "(`compression.type`, `linger.ms`, `batch.size`, ...). `enable.idempotence`, `acks`, "
        "`transactional.id` and the "
        "message timeout are the sink's (options above), not `properties`.";
    s.example = R"(type = "sink"
key = "kafka_out"
enabled = true
version = 0
name = "Kafka sink"

[[streams]]
stream = "orders"
topics = ["created"]
schema = "raw"
batch_length = 1000
poll_interval = "5ms"

[plugin_config]
bootstrap_servers = ["localhost:9092"]
topic = "{stream}.{topic}"
key_from = "header"
key_header = "kafka.key"

[plugin_config.properties]
"compression.type" = "lz4"
"linger.ms" = "5")";

    auto& o = s.options;
    o.push_back(config::opt(
        "topic", opt_type::string,
        "Kafka topic of each record, a template: `{stream}`, `{topic}`, `{partition}` (the Iggy "
        "stream, topic and partition), `{header:NAME}` (a header's value), `{field:a.b}` (a "
        "field of the JSON payload); `{{`/`}}` are literal braces. A record whose topic cannot "
        "be rendered or is not a valid Kafka name goes to the error policy."));
    o.push_back(choice("key_from",
                       {"none", "header", "field", "iggy_partition", "message_id", "offset"},
                       "Where the record key comes from: no key, a header (`key_header`; an "
                       "absent header gives a null key), a JSON payload field (`key_field`), "
                       "the Iggy partition id, the Iggy message id (32 hex digits) or offset.",
                       "none"));
    o.push_back(config::opt("key_header", opt_type::string,
                            "Header holding the key (`key_from = \"header\"`). The default is "
                            "where the Kafka source puts the key.",
                            "\"kafka.key\""));
    o.push_back(config::optional_opt("key_field", opt_type::string,
                                     "Dotted path of the JSON payload field holding the key "
                                     "(`key_from = \"field\"`)."));
    o.push_back(choice("partition_from", {"key", "iggy_partition", "header"},
                       "How the Kafka partition is chosen: the producer's partitioner on the key "
                       "(librdkafka's `partitioner` property), the Iggy partition id minus one, "
                       "or a header's number (`partition_header`; absent: the partitioner). The "
                       "partition must exist.",
                       "key"));
    o.push_back(config::opt("partition_header", opt_type::string,
                            "Header holding the partition number (`partition_from = \"header\"`).",
                            "\"kafka.partition\""));
    o.push_back(choice("timestamp_from", {"origin", "iggy", "header", "none"},
                       "Record timestamp: the message's origin timestamp (the Kafka source "
                       "puts the Kafka timestamp there; 0 falls back to Iggy's), Iggy's append "
                       "time, a header's milliseconds (`timestamp_header`), or none (the "
                       "producer's clock).",
                       "origin"));
    o.push_back(config::opt("timestamp_header", opt_type::string,
                            "Header holding the timestamp in ms (`timestamp_from = \"header\"`).",
                            "\"kafka.timestamp\""));
    o.push_back(config::opt("include_headers", opt_type::boolean,
                            "Copy the Iggy user headers to Kafka headers.", "true"));
    auto ex = config::opt("exclude_headers", opt_type::list,
                          "Header names not copied; an entry ending in `*` is a prefix "
                          "(`[\"kafka.*\"]` drops the Kafka source's metadata headers).",
                          "[]");
    o.push_back(std::move(ex));
    o.push_back(config::optional_opt(
        "transactional_id", opt_type::string,
        "Makes each batch one Kafka transaction (librdkafka `transactional.id`; one per "
        "connector instance: a second instance with the same id fences the first). The "
        "transaction also records the batch's Iggy offset in `offsets_topic`, so a batch lands "
        "exactly once for consumers with `isolation.level=read_committed`, across crashes too."));
    o.push_back(config::opt(
        "offsets_topic", opt_type::string,
        "With `transactional_id`: the compacted topic where each transaction also records the "
        "last Iggy offset it wrote per partition (key `<connector key>/<stream>/<topic>/"
        "<partition>`); created if missing. After a crash the sink skips what a committed "
        "transaction already holds, so replays add no duplicates.",
        "\"tributary_sink_offsets\"", true));
    auto dt = config::opt(
        "delivery_timeout", opt_type::duration,
        "How long a record may wait for the broker (librdkafka `message.timeout.ms`). `0s`: "
        "for ever, the default: while the broker is down the write waits and librdkafka "
        "retries in the same idempotent session, which adds no duplicates. A finite value "
        "fails the batch when it passes; the runtime retries it, and a record that may have "
        "reached the broker can then be written twice.",
        "\"0s\"", true);
    dt.min = 0;
    o.push_back(std::move(dt));
    auto ct = config::opt("connect_timeout", opt_type::duration,
                          "Time allowed at start for the first metadata answer of a broker.",
                          "\"10s\"", true);
    ct.min = 1;
    o.push_back(std::move(ct));
    // bootstrap_servers, client_id, security_protocol, sasl, tls, properties.
    kafka::add_common_options(s, "tributary-{key}");

    s.check = [](const config::values& v, const config::check_report& report) {
        auto t = kafka_sink::topic_template::parse(v.str("topic"));
        if (!t)
            report("topic", t.error().message());
        if (v.str("key_from") == "field" && !v.has("key_field"))
            report("key_field", "key_from = \"field\" needs key_field");
        if (v.has("key_field") && v.str("key_field").empty())
            report("key_field", "must not be empty");
        kafka::check_common_options(
            v, report,
            {{"bootstrap.servers", "use bootstrap_servers"},
             {"transactional.id", "use transactional_id"},
             {"enable.idempotence", "the sink's no-duplicates guarantee needs it"},
             {"acks", "the sink's guarantee needs acks=all"},
             {"message.timeout.ms", "use delivery_timeout"},
             {"delivery.timeout.ms", "use delivery_timeout"}});
    };
    return s;
}

}  // namespace trib::connectors
