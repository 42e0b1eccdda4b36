// The Kafka source's spec. Iggy has no Kafka connector, so the names are Tributary's: the
// connection options are shared with the sink (common.cpp), the rest follows the MQTT and
// PostgreSQL sources (`[[streams]]` as the default route, per-topic routes in a table list).

#include <re2/re2.h>

#include <optional>

#include "connectors/kafka/common.h"
#include "connectors/kafka/kafka.h"
#include "connectors/kafka/source_options.h"

namespace trib::connectors {

namespace {

using config::opt_type;

// librdkafka's regex subscriptions start with ^; routes use the same convention.
bool is_regex(std::string_view s) {
    return !s.empty() && s.front() == '^';
}

// The reason RE2 refuses a pattern, or nothing.
std::optional<std::string> regex_problem(const std::string& pattern) {
    RE2::Options opts;
    opts.set_log_errors(false);
    RE2 re(pattern, opts);
    if (re.ok())
        return std::nullopt;
    return re.error();
}

}  // namespace

config::spec kafka_source_spec() {
    config::spec s;
    s.name = "kafka";
    s.kind = config::spec_kind::source;
    s.guarantee =
        "at-least-once; ids from (cluster, topic, partition, offset), so a de-duplicating Iggy "
        "server drops replays (exactly-once effect with an idempotent sink)";
    s.summary =
        "Consumes Kafka (or Redpanda) topics in a consumer group and sends the records to "
        "Iggy";
    s.description =
        "Each Kafka record becomes one Iggy message: the value as the payload (not copied), the "
        "Kafka headers as user headers (UTF-8 values as strings, others as raw bytes), the "
        "record's timestamp as the message's origin timestamp, the key as the Iggy partitioning "
        "key and as the `kafka.key` header, and `kafka.topic`, `kafka.partition`, "
        "`kafka.offset` headers. The Iggy message id is derived from (cluster id, topic, "
        "partition, offset), so a record read twice gets the same id.\n\n"
        "**At-least-once, nothing lost.** The source is a member of a consumer group "
        "(`group_id`) with cooperative-sticky rebalancing, so several Tributary processes split "
        "the partitions and a rebalance moves only the partitions that change owner. Offsets "
        "are committed only after Iggy acknowledged the messages: per partition, the offset "
        "after the longest run of acknowledged records. When a partition is revoked, what is "
        "acknowledged is committed before it goes; what is in flight is not, so its new owner "
        "reads it again. A crash (kill -9) of Tributary therefore never loses a record; records "
        "in flight at the crash or the revoke are sent again, with the same message ids. "
        "`isolation_level = \"read_committed\"` (the default) hides aborted transactions.\n\n"
        "Records Iggy cannot carry as they are go to the error policy (dead letter) with the "
        "reason, unless told to drop the part that does not fit: a null or empty value "
        "(`empty_values`), a header whose name or value is empty, null or longer than 255 bytes "
        "(`unfit_headers`).\n\n"
        "Routing: a record goes to the `[[streams]]` entry unless a `[[routes]]` entry matches "
        "its topic (by name, or a regex starting with `^`); the first match wins.";
    s.example = R"(type = "source"
key = "orders_bridge"
enabled = true
version = 0
name = "Orders from Kafka"
plugin = "kafka"

[[streams]]
stream = "shop"
topic = "events"
schema = "raw"

[plugin_config]
bootstrap_servers = ["kafka-1:9092", "kafka-2:9092"]
topics = ["orders", "^payments\\..*"]
group_id = "tributary-orders"
start_position = "earliest"
security_protocol = "sasl_ssl"

[plugin_config.sasl]
mechanism = "SCRAM-SHA-512"
username = "tributary"
password = "${env:KAFKA_PASSWORD}"

[plugin_config.tls]
ca_file = "/etc/ssl/certs/kafka-ca.pem"

[[plugin_config.routes]]
match = "orders"
stream = "shop"
topic = "orders"

[[plugin_config.routes]]
match = "^payments\\..*"
stream = "shop"
topic = "payments")";

    kafka::add_common_options(s, "tributary-{key}");
    s.options.push_back(config::opt(
        "topics", opt_type::list,
        "The topics to consume: names, or regular expressions starting with `^` (every topic "
        "that matches, including topics created later)."));
    s.options.push_back(config::opt(
        "group_id", opt_type::string,
        "The consumer group (`group.id`). Its committed offsets are where a restart resumes; "
        "processes with the same group split the partitions. `{key}` is the connector's key.",
        "\"tributary-{key}\""));
    auto start = config::opt(
        "start_position", opt_type::enumeration,
        "Where to start in a partition for which the group has no committed offset: the "
        "`earliest` record kept, the `latest` (only records produced from now on), or the first "
        "record at or after `start_timestamp`.",
        "\"earliest\"");
    start.choices = {"earliest", "latest", "timestamp"};
    s.options.push_back(start);
    auto ts = config::optional_opt(
        "start_timestamp", opt_type::integer,
        "With `start_position = \"timestamp\"`: milliseconds since the Unix epoch. A partition "
        "with no record that late starts at its end.");
    ts.min = 0;
    s.options.push_back(ts);
    auto iso = config::opt(
        "isolation_level", opt_type::enumeration,
        "`read_committed` skips records of aborted transactions and waits for open ones; "
        "`read_uncommitted` reads everything at once.",
        "\"read_committed\"");
    iso.choices = {"read_committed", "read_uncommitted"};
    s.options.push_back(iso);

    config::option routes;
    routes.name = "routes";
    routes.type = opt_type::table_list;
    routes.optional = true;
    routes.doc =
        "Per-topic destinations; a record whose topic no entry matches goes to the "
        "`[[streams]]` entry.";
    routes.children.push_back(
        config::opt("match", opt_type::string,
                    "A Kafka topic name, or a regular expression (RE2 syntax) starting with `^`."));
    routes.children.push_back(config::opt("stream", opt_type::string, "The Iggy stream."));
    routes.children.push_back(config::opt("topic", opt_type::string, "The Iggy topic."));
    s.options.push_back(routes);

    auto key = config::opt("key", opt_type::enumeration,
                           "The Iggy partitioning key: the record's `key` (records of one key "
                           "stay in order in one Iggy partition), or `none` (the stream's "
                           "default partitioning).",
                           "\"key\"");
    key.choices = {"key", "none"};
    s.options.push_back(key);
    s.options.push_back(config::opt(
        "metadata_headers", opt_type::boolean,
        "Add `kafka.topic`, `kafka.partition`, `kafka.offset` and `kafka.key`.", "true"));
    auto unfit = config::opt(
        "unfit_headers", opt_type::enumeration,
        "A record with a header Iggy cannot carry (name or value empty, null or longer than "
        "255 bytes; a `kafka.*` name the source sets itself; a key longer than 255 bytes for "
        "`kafka.key`): `reject` sends the record to the error policy, `skip` drops that "
        "header and keeps the record.",
        "\"reject\"");
    unfit.choices = {"reject", "skip"};
    s.options.push_back(unfit);
    auto empty = config::opt(
        "empty_values", opt_type::enumeration,
        "A record with a null value (a tombstone) or an empty one, which Iggy cannot store: "
        "`reject` sends it to the error policy, `skip` drops it (its offset is committed).",
        "\"reject\"");
    empty.choices = {"reject", "skip"};
    s.options.push_back(empty);
    auto batch =
        config::opt("max_batch_messages", opt_type::integer,
                    "At most this many records per batch handed to the runtime.", "1000", true);
    batch.min = 1;
    batch.max = 1'000'000;
    s.options.push_back(batch);
    auto session = config::opt(
        "session_timeout", opt_type::duration,
        "How long the group waits for a silent member before giving its partitions to the "
        "others (`session.timeout.ms`).",
        "\"45s\"", true);
    session.min = 1;
    s.options.push_back(session);
    auto commit = config::opt(
        "commit_interval", opt_type::duration,
        "Acknowledged offsets are committed at most this often (and always at a revoke and at "
        "close). Shorter: fewer records read again after a crash; longer: fewer commits, and "
        "fewer of them meet a rebalance (which makes the group read those partitions again).",
        "\"1s\"", true);
    s.options.push_back(commit);

    s.check = [](const config::values& v, const config::check_report& report) {
        kafka::check_common_options(
            v, report,
            {{"group.id", "use `group_id`"},
             {"enable.auto.commit", "offsets are committed after Iggy acknowledged"},
             {"enable.auto.offset.store", "offsets are committed after Iggy acknowledged"},
             {"partition.assignment.strategy", "the source rebalances cooperatively"},
             {"auto.offset.reset", "use `start_position`"},
             {"isolation.level", "use `isolation_level`"},
             {"enable.partition.eof", "the source reads continuously"}});
        if (v.list("topics").empty())
            report("topics", "name at least one topic or ^regex");
        for (const auto& t : v.list("topics")) {
            if (t.empty())
                report("topics", "an empty topic name");
            else if (is_regex(t))
                if (auto p = regex_problem(t))
                    report("topics", "\"" + t + "\": " + *p);
        }
        auto rs = v.tables("routes");
        for (std::size_t i = 0; i < rs.size(); ++i) {
            const std::string m = rs[i].str("match");
            if (is_regex(m)) {
                if (auto p = regex_problem(m))
                    report("routes[" + std::to_string(i) + "].match", "\"" + m + "\": " + *p);
            }
        }
        const bool by_ts = v.str("start_position") == "timestamp";
        if (by_ts && !v.opt_integer("start_timestamp"))
            report("start_timestamp", "start_position = \"timestamp\" needs start_timestamp");
        if (!by_ts && v.opt_integer("start_timestamp"))
            report("start_timestamp", "only used with start_position = \"timestamp\"");
    };
    return s;
}

namespace kafka {

source_options source_options_from(const config::values& v) {
    source_options o;
    o.raw = v;
    o.topics = v.list("topics");
    o.group_id = v.str("group_id");
    const std::string sp = v.str("start_position");
    o.start = sp == "latest"      ? start_position::latest
              : sp == "timestamp" ? start_position::timestamp
                                  : start_position::earliest;
    o.start_timestamp_ms = v.opt_integer("start_timestamp").value_or(0);
    o.read_committed = v.str("isolation_level") == "read_committed";
    for (const auto& r : v.tables("routes"))
        o.routes.push_back(route_rule{r.str("match"), stream_ref{r.str("stream"), r.str("topic")}});
    o.mapping.partition_by_key = v.str("key") == "key";
    o.mapping.metadata_headers = v.boolean("metadata_headers");
    o.mapping.key_header = o.mapping.metadata_headers;
    o.mapping.unfit_headers =
        v.str("unfit_headers") == "skip" ? unfit_policy::skip : unfit_policy::reject;
    o.mapping.empty_values =
        v.str("empty_values") == "skip" ? unfit_policy::skip : unfit_policy::reject;
    o.max_batch = static_cast<std::size_t>(v.integer("max_batch_messages"));
    o.session_timeout = v.duration("session_timeout");
    o.commit_interval = v.duration("commit_interval");
    return o;
}

}  // namespace kafka

}  // namespace trib::connectors
