#include "config/spec.h"
#include "connectors/file/file.h"

namespace trib::connectors {
namespace {}  // namespace

config::spec file_source_spec() {
    using config::opt_type;
    config::spec s;
    s.name = "file";
    s.kind = config::spec_kind::source;
    s.guarantee =
        "at-least-once; exactly-once effect end to end when the Iggy server de-duplicates by "
        "message id (line ids: device, inode, first line, byte offset) and the sink is idempotent";
    s.summary = "Tails a text or JSON-lines file: one message per line, surviving rotation";
    s.description =
        "Each complete line (ended by a newline) becomes one message; a trailing `\\r` is "
        "removed. Whether lines are JSON or text is the stream's `schema`.\n\n"
        "The position (device, inode, byte offset and a fingerprint of the file's first bytes) "
        "is the connector's state: the runtime persists it only after Iggy acknowledged the "
        "lines before it, so a crash or restart sends lines again rather than losing them.\n\n"
        "Rotation: when the path is renamed and a new file created (logrotate `create`), the "
        "old file is read to its end before the new one is opened; when the file is truncated "
        "in place (logrotate `copytruncate`), reading starts again at its beginning. If the "
        "runtime was down during a rotation, the file it was reading is found again by its "
        "inode in the same directory. Lines written into a copytruncate'd file between the copy "
        "and the truncation cannot be seen by anyone.";
    s.example = R"(type = "source"
key = "app_log"
enabled = true
version = 0
name = "Application log"
plugin = "file"

[[streams]]
stream = "logs"
topic = "app"
schema = "json"
batch_length = 1000
linger_time = "5ms"

[plugin_config]
path = "/var/log/app/events.jsonl"
start_position = "beginning")";

    auto path = config::opt("path", opt_type::string, "The file to tail.", std::nullopt);
    s.options.push_back(path);
    auto start =
        config::opt("start_position", opt_type::enumeration,
                    "Where to start the first time (no saved position): at the beginning of "
                    "the file or at its end (only lines written later).",
                    "\"beginning\"");
    start.choices = {"beginning", "end"};
    s.options.push_back(start);
    s.options.push_back(config::opt("poll_interval", opt_type::duration,
                                    "How often to look for new data at the end of the file.",
                                    "\"250ms\""));
    auto lines = config::opt("max_batch_lines", opt_type::integer,
                             "At most this many lines per batch.", "1000", true);
    lines.min = 1;
    s.options.push_back(lines);
    auto bytes = config::opt("max_batch_bytes", opt_type::size,
                             "At most about this many bytes per batch.", "\"4MiB\"", true);
    bytes.min = 1024;
    s.options.push_back(bytes);
    auto line =
        config::opt("max_line_bytes", opt_type::size,
                    "Longer lines are cut into pieces of this size (each one message; a warning "
                    "is logged).",
                    "\"1MiB\"", true);
    line.min = 16;
    s.options.push_back(line);
    s.options.push_back(config::opt("skip_empty_lines", opt_type::boolean,
                                    "Send no message for empty lines.", "true"));
    s.options.push_back(
        config::opt("add_headers", opt_type::boolean,
                    "Add headers `file.path` (string) and `file.offset` (uint64, the "
                    "line's byte offset) to every message.",
                    "false"));
    auto enc = config::opt(
        "line_encoding", opt_type::enumeration,
        "How a line's text becomes the payload: `none` (the line's bytes), `base64` (standard or "
        "URL-safe, padding optional) or `hex` (either case). With `base64` or `hex` a file can "
        "carry binary payloads (FlatBuffers, Avro, Protobuf bytes contain newlines); pair it "
        "with the stream's `source_schema`. A line that does not decode is not sent: it goes "
        "to the connector's error policy as it was read (stage `decode`; with a dead-letter "
        "topic, the raw line with the reason in `tributary.error`).",
        "\"none\"");
    enc.choices = {"none", "base64", "hex"};
    s.options.push_back(enc);
    return s;
}

config::spec file_sink_spec() {
    using config::opt_type;
    config::spec s;
    s.name = "file";
    s.kind = config::spec_kind::sink;
    s.guarantee =
        "at-least-once; exactly-once effect with `idempotent = true` (per-partition offset marks "
        "skip replays)";
    s.summary = "Writes messages to a file as JSON lines (or raw lines), with rotation";
    s.description =
        "With `format = \"json\"` every message is one line `{\"payload\": ...}`: a payload of "
        "schema `json` is embedded as JSON (and must be valid JSON, or the message is rejected "
        "to the error policy), `text` as a string, `raw` (or anything else) as base64. With "
        "`include_metadata` the line also carries `stream`, `topic`, `partition`, `offset`, "
        "`id`, `timestamp`, `origin_timestamp` and `headers`. `format = \"raw\"` writes each "
        "payload followed by a newline.\n\n"
        "A batch is written with one write and, with `fsync` (the default), flushed to disk "
        "before the sink reports it written, so the runtime commits Iggy offsets only for "
        "durable lines. A last line without a newline is cut off when the sink opens again only "
        "if it is the start of a line of this sink's JSON shape (a write torn by a crash, whose "
        "message is delivered again); anything else there (another program's text, a raw-format "
        "line) is kept and the next line starts after a newline.\n\n"
        "Rotation: when the file would grow past `max_file_size`, or is older than "
        "`rotate_interval`, it is renamed to `<path>.<N>` (N = 1, 2, ..., never over an "
        "existing file; names beside it with other or out-of-range suffixes are ignored with a "
        "warning) and a new one started.\n\n"
        "`idempotent = true` makes replays leave no duplicates: every line carries its stream, "
        "topic, partition, offset and Iggy timestamp, the sink remembers the last line written "
        "per partition and skips messages at or below its offset that are not newer than it. "
        "Messages at or below it but newer (the topic was purged or recreated, so offsets "
        "started again) are written, with a warning and the counter "
        "`trib_file_sink_offset_resets_total`. The marks are kept in `<path>.offsets`, saved "
        "atomically at each rotation, at close and every 64 MiB written with a checkpoint of "
        "the current file, so that start-up reads at most the part of the current file written "
        "after the last checkpoint, in pieces (memory does not grow with the file). A corrupt "
        "`<path>.offsets` stops the sink with an error naming it (move it away to rebuild it "
        "from the current file).";
    s.idempotent = true;  // with `idempotent = true`
    s.example = R"(type = "sink"
key = "events_file"
enabled = true
version = 0
name = "Events to a file"
plugin = "file"

[[streams]]
stream = "example_stream"
topics = ["example_topic"]
schema = "json"
batch_length = 1000
poll_interval = "5ms"

[plugin_config]
path = "data/events.jsonl"
include_metadata = true
max_file_size = "256MiB"
idempotent = true)";

    s.options.push_back(config::opt("path", opt_type::string,
                                    "The file to write (directories are created).", std::nullopt));
    auto format = config::opt(
        "format", opt_type::enumeration,
        "json: one JSON object per line; raw: the payload bytes and a newline.", "\"json\"");
    format.choices = {"json", "raw"};
    s.options.push_back(format);
    s.options.push_back(
        config::opt("include_metadata", opt_type::boolean,
                    "json format: add stream, topic, partition, offset, id, timestamps "
                    "and headers to each line.",
                    "false"));
    s.options.push_back(config::opt("max_file_size", opt_type::size,
                                    "Rotate before the file would grow past this size (0: never).",
                                    "\"1GiB\""));
    s.options.push_back(config::opt(
        "rotate_interval", opt_type::duration,
        "Rotate a non-empty file this long after it was started (0: never).", "\"0ms\""));
    s.options.push_back(
        config::opt("fsync", opt_type::boolean,
                    "Flush every batch to disk before it counts as written (offsets are "
                    "committed only for durable lines).",
                    "true"));
    s.options.push_back(
        config::opt("idempotent", opt_type::boolean,
                    "Skip messages at or below the highest offset already in the file set, "
                    "so that replays after a crash write no duplicates (json format; "
                    "implies the stream/topic/partition/offset fields).",
                    "false"));
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.boolean("idempotent") && v.str("format") != "json") {
            report("idempotent", "needs format = \"json\" (lines carry their offsets)");
        }
    };
    return s;
}

}  // namespace trib::connectors
