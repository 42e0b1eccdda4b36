// The specs of the S3 sink and source. Both keep the option names of Iggy's s3_sink and s3_source
// (core/connectors/sinks/s3_sink, core/connectors/sources/s3_source) and add keys for what they do
// beyond them (credentials file, encryption, CSV, move/delete after read, ...).

#include <fmt/format.h>

#include "config/spec.h"
#include "connectors/s3/common.h"
#include "connectors/s3/format.h"
#include "connectors/s3/path.h"
#include "connectors/s3/s3.h"

namespace trib::connectors {
namespace {

using config::opt_type;

config::option choice(std::string name, std::vector<std::string> choices, std::string doc,
                      std::string def) {
    auto o = config::opt(std::move(name), opt_type::enumeration, std::move(doc), "\"" + def + "\"");
    o.choices = std::move(choices);
    return o;
}

config::option ranged(config::option o, std::optional<double> min, std::optional<double> max) {
    o.min = min;
    o.max = max;
    return o;
}

}  // namespace

namespace s3_detail {

void add_store_options(std::vector<config::option>& o, bool region_required) {
    o.push_back(config::opt("bucket", opt_type::string, "The bucket."));
    o.push_back(config::optional_opt(
        "region", opt_type::string,
        std::string(region_required ? "Iggy requires it; Tributary does not: " : "") +
            "the AWS region (`us-east-1`, `auto` for R2). Absent: `AWS_REGION`, "
            "`AWS_DEFAULT_REGION`, else `us-east-1`."));
    o.push_back(config::optional_opt(
        "endpoint", opt_type::string,
        "Custom endpoint for S3-compatible stores (`http://localhost:9000` for MinIO). "
        "Absent: `https://s3.<region>.amazonaws.com`."));
    o.push_back(config::optional_opt(
        "path_style", opt_type::boolean,
        "Path-style addressing (`<endpoint>/<bucket>/<key>`) instead of virtual-host "
        "(`<bucket>.<host>/<key>`). Absent: path-style when `endpoint` is set, as Iggy does."));
    o.push_back(config::optional_opt(
        "access_key_id", opt_type::string,
        "AWS access key id (with `secret_access_key`). Absent: `AWS_ACCESS_KEY_ID` / "
        "`AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, then the shared credentials file."));
    o.push_back(config::optional_opt("secret_access_key", opt_type::secret,
                                     "AWS secret access key (accepts `${env:NAME}`)."));
    o.push_back(config::optional_opt("session_token", opt_type::secret,
                                     "Temporary credentials' session token.", true));
    o.push_back(config::optional_opt(
        "profile", opt_type::string,
        "Profile of the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else "
        "`~/.aws/credentials`). Absent: `AWS_PROFILE`, else `default`.",
        true));
    o.push_back(config::opt("timeout", opt_type::duration, "Time allowed for one S3 request.",
                            "\"60s\"", true));
    o.push_back(config::opt("connect_timeout", opt_type::duration,
                            "Time allowed to open a connection.", "\"10s\"", true));
    o.push_back(config::optional_opt("tls_ca_file", opt_type::string,
                                     "PEM file of the CAs to trust instead of the system's.",
                                     true));
    o.push_back(config::opt("tls_danger_accept_invalid_certs", opt_type::boolean,
                            "Skip TLS certificate and host name checks. Development only.", "false",
                            true));
}

void check_store_options(const config::values& v, const config::check_report& report) {
    if (v.has("access_key_id") != v.has("secret_access_key"))
        report("access_key_id", "access_key_id and secret_access_key go together");
    if (v.str("bucket").empty())
        report("bucket", "must not be empty");
    if (auto ep = v.opt_str("endpoint")) {
        if (!ep->starts_with("http://") && !ep->starts_with("https://"))
            report("endpoint", "must start with http:// or https://");
    }
}

}  // namespace s3_detail

config::spec s3_sink_spec() {
    config::spec s;
    s.name = "s3";
    s.kind = config::spec_kind::sink;
    s.guarantee = "exactly-once effect (object names from offsets, conditional put)";
    s.summary =
        "Writes messages to S3 and S3-compatible stores (MinIO, R2) as JSON lines, JSON "
        "arrays, raw or CSV objects, exactly once in effect";
    s.plugin_aliases = {"iggy_connector_s3_sink"};
    s.idempotent = true;
    s.description =
        "Reads Iggy's `s3_sink` options unchanged. Each batch the runtime hands over becomes one "
        "or more objects named `<prefix>/<path_template>/<first offset>-<last offset>.<ext>` "
        "(offsets zero-padded to six digits as Iggy does; `p<partition>_` in front of the name "
        "when the template has no `{partition}`, so that partitions never collide). A new "
        "object starts when the rotation limit is reached or the rendered path changes (a new "
        "hour, another `{payload.field}` value).\n\n"
        "**Delivery: exactly-once effect.** An object name is a pure function of (stream, "
        "topic, partition, first offset, last offset); objects are written with a conditional "
        "put (`If-None-Match: *`; a store without it gets an overwrite of identical bytes) and "
        "the runtime commits the offsets only after every object of the batch is complete. "
        "After a crash the replayed batch starts at the first uncommitted offset: the sink "
        "lists the name that starts there, skips the offsets objects already hold, and goes on "
        "after them, so every message is in exactly one object. Iggy's sink buffers across "
        "polls and documents data loss when uploads fail; Tributary does not buffer across "
        "batches (a batch is acknowledged only when it is stored), so an object never holds "
        "more than one batch: raise the stream's `batch_length` for larger objects.\n\n"
        "**Rotation** cuts at offsets that depend only on the messages: by size (the object "
        "reaches `max_file_size`), by count (`max_messages_per_file`), by time (`time`: a "
        "message whose Iggy timestamp is `max_file_age` after the object's first one; message "
        "time, not the wall clock, so that a replay cuts at the same offsets). "
        "`max_file_size` bounds every object in all modes. Templates using the receive time "
        "(`{timestamp}`, `{receive_date}`, `{receive_hour}`) lose the exactly-once effect for "
        "the batch in flight at a crash (its replay may render another path).\n\n"
        "**Errors.** 5xx, throttling (503 SlowDown) and transport failures are retried "
        "`max_retries` times inside the sink, then handed to the runtime's error policy as "
        "retryable or throttled; refused credentials, a missing bucket and other 4xx answers "
        "are fatal with S3's error code in the message. Objects larger than `part_size` go up "
        "by multipart upload, aborted when a part fails.";
    s.example = R"(type = "sink"
key = "s3"
enabled = true
version = 0
name = "S3 sink"
path = "target/release/libiggy_connector_s3_sink"

[[streams]]
stream = "application_logs"
topics = ["api_requests", "errors"]
schema = "json"
batch_length = 1000
poll_interval = "100ms"
consumer_group = "s3_sink"

[plugin_config]
bucket = "my-data-lake"
prefix = "iggy/raw"
region = "us-east-1"
endpoint = "http://localhost:9000"
access_key_id = "minioadmin"
secret_access_key = "${env:MINIO_SECRET}"
path_template = "{stream}/{topic}/{date}/{hour}"
file_rotation = "size"
max_file_size = "8MiB"
output_format = "json_lines"
include_metadata = true
include_headers = true)";
    auto& o = s.options;
    s3_detail::add_store_options(o, true);
    o.push_back(config::optional_opt("prefix", opt_type::string,
                                     "Key prefix in front of every object name."));
    o.push_back(config::opt(
        "path_template", opt_type::string,
        "The objects' folder: `{stream}`, `{topic}`, `{partition}`; from the message's Iggy "
        "timestamp (UTC) `{date}` (YYYY-MM-DD), `{hour}`, `{year}`, `{month}`, `{day}`, "
        "`{minute}`; from the receive time `{timestamp}` (epoch ms, as Iggy), "
        "`{receive_date}`, `{receive_hour}`; `{payload.a.b}` a field of a JSON payload "
        "(`unknown` when absent).",
        "\"{stream}/{topic}/{date}/{hour}\""));
    o.push_back(choice("file_rotation", {"size", "messages", "time"},
                       "What ends an object besides the end of the batch: `size` "
                       "(`max_file_size`), `messages` (`max_messages_per_file`), `time` "
                       "(`max_file_age` of message time; Tributary's addition).",
                       "size"));
    o.push_back(ranged(config::opt("max_file_size", opt_type::size,
                                   "Largest object before the next message starts a new one (all "
                                   "rotation modes).",
                                   "\"8MiB\""),
                       1, std::nullopt));
    o.push_back(ranged(config::optional_opt("max_messages_per_file", opt_type::integer,
                                            "Messages per object with `file_rotation = "
                                            "\"messages\"` (required then)."),
                       1, std::nullopt));
    o.push_back(config::optional_opt("max_file_age", opt_type::duration,
                                     "With `file_rotation = \"time\"`: a message this much "
                                     "younger (Iggy timestamp) than the object's first starts "
                                     "a new object."));
    o.push_back(config::opt("output_format", opt_type::string,
                            "`json_lines` (also `jsonl`, `jsonlines`; `.jsonl`), `json_array` "
                            "(also `json`; `.json`), `raw` (payload bytes, one per line; "
                            "`.bin`), `csv` (Tributary's addition; header row, RFC 4180; "
                            "`.csv`).",
                            "\"json_lines\""));
    o.push_back(config::opt("include_metadata", opt_type::boolean,
                            "JSON and CSV records carry `offset`, `timestamp` (RFC 3339), "
                            "`stream`, `topic`, `partition_id` beside `payload`.",
                            "true"));
    o.push_back(config::opt("include_headers", opt_type::boolean,
                            "JSON and CSV records carry the Iggy user headers as `headers` "
                            "(typed JSON values; Iggy's sink writes them all as strings).",
                            "false"));
    auto retries = ranged(config::opt("max_retries", opt_type::integer,
                                      "Retries of a failed S3 request inside the sink before the "
                                      "write fails to the runtime's error policy.",
                                      "3"),
                          0, 100);
    retries.aliases = {"max_attempts"};  // Iggy's config.toml spells it so
    o.push_back(retries);
    o.push_back(config::opt("retry_delay", opt_type::duration,
                            "First delay between retries (doubling, at most 30 s).", "\"1s\""));
    o.push_back(ranged(config::opt("part_size", opt_type::size,
                                   "Objects above this size go up by multipart upload in parts "
                                   "of this size (S3's minimum part is 5 MiB).",
                                   "\"8MiB\"", true),
                       5 * 1024 * 1024, 5.0 * 1024 * 1024 * 1024));
    o.push_back(config::opt("conditional_put", opt_type::boolean,
                            "Write objects with `If-None-Match: *` so that a replay never "
                            "replaces an object (stores that refuse it get a plain put).",
                            "true", true));
    auto sse = config::optional_opt("server_side_encryption", opt_type::enumeration,
                                    "Server-side encryption of the objects "
                                    "(`x-amz-server-side-encryption`).");
    sse.choices = {"AES256", "aws:kms", "aws:kms:dsse"};
    o.push_back(sse);
    o.push_back(config::optional_opt("sse_kms_key_id", opt_type::string,
                                     "The KMS key of `aws:kms` encryption."));
    o.push_back(config::opt("verbose_logging", opt_type::boolean,
                            "Accepted for compatibility; objects are logged at debug level.",
                            "false", true));
    s.check = [](const config::values& v, const config::check_report& report) {
        s3_detail::check_store_options(v, report);
        if (auto t = s3_detail::path_template::parse(v.str("path_template")); !t)
            report("path_template", t.error().message());
        if (auto f = s3_detail::parse_output_format(v.str("output_format")); !f)
            report("output_format", f.error().message());
        if (v.str("file_rotation") == "messages" && !v.has("max_messages_per_file"))
            report("max_messages_per_file", "file_rotation = \"messages\" needs it");
        if (v.str("file_rotation") == "time" && !v.has("max_file_age"))
            report("max_file_age", "file_rotation = \"time\" needs it");
        if (v.has("sse_kms_key_id") && v.opt_str("server_side_encryption").value_or("") == "AES256")
            report("sse_kms_key_id", "goes with server_side_encryption = \"aws:kms\"");
    };
    return s;
}

config::spec s3_source_spec() {
    config::spec s;
    s.name = "s3_source";
    s.kind = config::spec_kind::source;
    s.guarantee =
        "at-least-once; stable ids (bucket, key, ETag, byte position) let a de-duplicating Iggy "
        "server drop replays (exactly-once effect with an idempotent sink)";
    s.summary =
        "Reads objects of an S3 bucket/prefix in key order into Iggy: one message per "
        "line (delimiter), JSON array element or CSV row, resuming mid-object";
    s.plugin_aliases = {"iggy_connector_s3_source"};
    s.description =
        "Reads Iggy's `s3_source` options unchanged. Lists `prefix` (after `start_after`, "
        "keys matching `pattern`) in key order and reads one object at a time in ranges of "
        "`read_chunk_size` bytes, with `If-Match` on the listed ETag: an object replaced while "
        "it is read is read again from its start.\n\n"
        "**Records.** `lines` (Iggy's framing): records end at `custom_delimiter` (exact "
        "bytes, default LF); empty records are skipped; the last record needs no delimiter. "
        "`json_array`: one message per element of a top-level array. `csv`: one message per "
        "row (RFC 4180 quoting, a quoted newline stays in the row) as a JSON object keyed by "
        "the header row. A record over `max_record_bytes` goes to the error policy with its "
        "first `max_record_bytes` bytes; reading goes on after it.\n\n"
        "**Delivery: at-least-once, resumable.** The state (object key, ETag, byte position "
        "after the last record of the batch, and the last finished key) is persisted by the "
        "runtime only after Iggy acknowledged the batch; a restart resumes in the middle of "
        "the object. Iggy's source stops after one walk of the prefix; this one lists again "
        "every `poll_interval` and picks up keys after the last finished one. With "
        "`after_read = \"delete\"` or `\"move\"` an object is removed (moved under "
        "`move_prefix`) after the batch holding its last record was acknowledged. Message ids "
        "are a hash of bucket, key, ETag and the record's byte position, the same on every "
        "replay, so that consumers can deduplicate.";
    s.example = R"(type = "source"
key = "s3"
enabled = true
version = 0
name = "S3 source"
path = "target/release/libiggy_connector_s3_source"

[[streams]]
stream = "test_stream"
topic = "test_topic"
schema = "raw"
batch_length = 1000
linger_time = "5ms"

[plugin_config]
bucket = "events"
region = "us-east-1"
endpoint = "http://localhost:9000"
poll_interval = "5s"
max_record_bytes = 1048576
max_batch_bytes = 4194304
max_batch_messages = 1000)";
    auto& o = s.options;
    s3_detail::add_store_options(o, false);
    o.push_back(
        config::optional_opt("prefix", opt_type::string, "Read only keys that begin with this."));
    o.push_back(config::optional_opt("start_after", opt_type::string,
                                     "Read only keys after this one (S3 `start-after`)."));
    o.push_back(config::optional_opt(
        "pattern", opt_type::string,
        "Glob the whole key must match (`*` any run of characters, `?` one); absent: all."));
    o.push_back(config::opt("poll_interval", opt_type::duration,
                            "Pause between listings when nothing new was found.", "\"5s\""));
    o.push_back(choice("format", {"lines", "json_array", "csv"},
                       "How an object splits into messages (see above).", "lines"));
    o.push_back(config::opt("custom_delimiter", opt_type::string,
                            "`lines`: the bytes that end a record (1 to 64 bytes).", "\"\\n\""));
    o.push_back(
        ranged(config::opt("max_record_bytes", opt_type::size,
                           "Largest record; a longer one goes to the error policy.", "1048576"),
               1, 64000000));
    o.push_back(ranged(config::opt("max_batch_bytes", opt_type::size,
                                   "Most payload bytes in one batch.", "4194304"),
                       1, std::nullopt));
    o.push_back(ranged(
        config::opt("max_batch_messages", opt_type::integer, "Most messages in one batch.", "1000"),
        1, 1000000));
    o.push_back(ranged(config::opt("read_chunk_size", opt_type::size,
                                   "Bytes asked for per ranged GET.", "\"4MiB\"", true),
                       4096, 1 << 30));
    o.push_back(choice("after_read", {"keep", "delete", "move"},
                       "What happens to an object once all its records are acknowledged "
                       "(Tributary's addition; Iggy's source never changes objects).",
                       "keep"));
    o.push_back(config::optional_opt("move_prefix", opt_type::string,
                                     "With `after_read = \"move\"`: the key prefix objects are "
                                     "moved under (the key keeps its name after it)."));
    o.push_back(config::opt("verbose_logging", opt_type::boolean,
                            "Log each object and batch at info level instead of debug.", "false"));
    s.check = [](const config::values& v, const config::check_report& report) {
        s3_detail::check_store_options(v, report);
        const auto d = v.str("custom_delimiter");
        if (d.empty() || d.size() > 64)
            report("custom_delimiter", "must be 1 to 64 bytes");
        if (v.size("max_record_bytes") > v.size("max_batch_bytes"))
            report("max_record_bytes", "is larger than max_batch_bytes");
        if (v.str("after_read") == "move" && v.opt_str("move_prefix").value_or("").empty())
            report("move_prefix", "after_read = \"move\" needs it");
    };
    return s;
}

}  // namespace trib::connectors
