// The specs of the S3 sink and source. Both keep the option names of Iggy's s3_sink and s3_source
// (core/connectors/sinks/s3_sink, core/connectors/sources/s3_source) and add keys for what they do
// beyond them (credentials file, encryption, CSV, move/delete after read, ...).

#include <fmt/format.h>

#include "config/spec.h"
#include "connectors/s3/azure_util.h"
#include "connectors/s3/common.h"
#include "connectors/s3/format.h"
#include "connectors/s3/path.h"
#include "connectors/s3/s3.h"

namespace trib::connectors {
namespace {

using config::opt_type;
using s3_detail::store_kind;

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

/// Name, summary, description and example of the GCS, Azure Blob and HDFS sinks (the writer
/// and its options are the S3 sink's).
void other_store_sink_header(store_kind k, config::spec& s) {
    s.plugin_aliases.clear();
    const std::string common =
        "The S3 sink's writer over another store: the same options (`prefix`, "
        "`path_template`, rotation, `output_format`, ...), the same object names "
        "`<prefix>/<path_template>/<first offset>-<last offset>.<ext>` and the same "
        "**exactly-once effect** (names are a pure function of the offsets, a conditional "
        "create, offsets committed after every object of the batch is stored, a replay walks "
        "the objects already written). Iggy has no such connector; the options are "
        "Tributary's.\n\n";
    switch (k) {
        case store_kind::gcs:
            s.name = "gcs";
            s.summary =
                "Writes messages to Google Cloud Storage objects (JSON API) as JSON lines, "
                "JSON arrays, raw, CSV, Parquet or Avro, exactly once in effect";
            s.description =
                common +
                "**GCS:** objects go up by multipart upload (metadata and bytes in one request), "
                "above `part_size` by a resumable upload in chunks; the conditional create is "
                "`ifGenerationMatch=0` (GCS answers 412 when the object exists). Credentials: a "
                "service-account key file (`credentials_file` or "
                "`GOOGLE_APPLICATION_CREDENTIALS`; a JWT signed with RS256 is traded for a token "
                "at the key's `token_uri` and refreshed five minutes before it expires), a "
                "ready `token`, or none for an emulator (`STORAGE_EMULATOR_HOST` is honoured). "
                "401 and 403 are fatal, 429/503 throttled, other 5xx retried.";
            s.example = R"(type = "sink"
key = "gcs"
enabled = true
version = 0
name = "GCS sink"
plugin = "gcs"

[[streams]]
stream = "application_logs"
topics = ["api_requests"]
schema = "json"
batch_length = 1000
poll_interval = "100ms"
consumer_group = "gcs_sink"

[plugin_config]
bucket = "my-data-lake"
credentials_file = "/etc/tributary/gcs-key.json"
prefix = "iggy/raw"
path_template = "{stream}/{topic}/{date}/{hour}"
output_format = "json_lines")";
            return;
        case store_kind::azure_blob:
            s.name = "azure_blob";
            s.summary =
                "Writes messages to Azure Blob Storage block blobs as JSON lines, JSON arrays, "
                "raw, CSV, Parquet or Avro, exactly once in effect";
            s.description =
                common +
                "**Azure Blob:** Put Blob, above `part_size` Put Block and Put Block List; the "
                "conditional create is `If-None-Match: *` (409 BlobAlreadyExists when the blob "
                "exists). Credentials: SharedKey (`account_name` + `account_key`, each request "
                "signed with HMAC-SHA256 over Azure's canonical form), a `sas_token`, or a "
                "`connection_string`. AuthenticationFailed is fatal, 503 ServerBusy throttled, "
                "other 5xx retried.";
            s.example = R"(type = "sink"
key = "azure_blob"
enabled = true
version = 0
name = "Azure Blob sink"
plugin = "azure_blob"

[[streams]]
stream = "application_logs"
topics = ["api_requests"]
schema = "json"
batch_length = 1000
poll_interval = "100ms"
consumer_group = "azure_sink"

[plugin_config]
container = "iggy-archive"
account_name = "mystorageaccount"
account_key = "${env:AZURE_STORAGE_KEY}"
prefix = "raw"
path_template = "{stream}/{topic}/{date}"
output_format = "json_lines")";
            return;
        case store_kind::hdfs:
            s.name = "hdfs";
            s.summary =
                "Writes messages to HDFS files through WebHDFS as JSON lines, JSON arrays, raw, "
                "CSV, Parquet or Avro, exactly once in effect (contract-tested)";
            s.description =
                common +
                "**HDFS (WebHDFS):** each object is CREATEd (the NameNode redirects, the "
                "DataNode takes the bytes) as a hidden temporary file `.<name>.tributary-<random>` "
                "beside it, then RENAMEd to its name; RENAME refuses an existing destination, "
                "which is the conditional create, and a crash mid-upload never leaves a partial "
                "file under an object's name. Simple authentication (`user`, `user.name`) or a "
                "`delegation_token`. *Contract-tested:* against a stand-in of the documented "
                "WebHDFS REST API in the tests, not against a Hadoop NameNode.";
            s.example = R"(type = "sink"
key = "hdfs"
enabled = true
version = 0
name = "HDFS sink"
plugin = "hdfs"

[[streams]]
stream = "application_logs"
topics = ["api_requests"]
schema = "json"
batch_length = 1000
poll_interval = "100ms"
consumer_group = "hdfs_sink"

[plugin_config]
endpoint = "http://namenode:9870"
directory = "/data/iggy"
user = "iggy"
path_template = "{stream}/{topic}/{date}"
output_format = "json_lines")";
            return;
        case store_kind::s3:
            return;
    }
}

/// Name, summary, description and example of the GCS, Azure Blob and HDFS sources.
void other_store_source_header(store_kind k, config::spec& s) {
    s.plugin_aliases.clear();
    const std::string common =
        "The S3 source's reader over another store: the same options (`prefix`, "
        "`start_after`, `pattern`, `format`, `after_read`, ...), key order, ranged reads and "
        "the same **at-least-once** delivery resumable in the middle of an object (the state "
        "is persisted after Iggy acknowledged a batch). Iggy has no such connector.\n\n";
    std::string store_doc, bucket_line;
    switch (k) {
        case store_kind::gcs:
            s.name = "gcs_source";
            s.summary =
                "Reads objects of a Google Cloud Storage bucket/prefix in key order into "
                "Iggy, resuming mid-object";
            store_doc =
                "**GCS:** objects.list with `prefix` and `startOffset`, ranged media downloads "
                "with `ifGenerationMatch` on the listed generation (an object replaced while it "
                "is read is read again from its start), `move` by rewrite and delete.";
            bucket_line = "bucket = \"events\"\nendpoint = \"http://127.0.0.1:4443\"";
            break;
        case store_kind::azure_blob:
            s.name = "azure_blob_source";
            s.summary =
                "Reads blobs of an Azure Blob Storage container/prefix in key order into Iggy, "
                "resuming mid-blob";
            store_doc =
                "**Azure Blob:** List Blobs with `prefix` (List Blobs has no start-after: the "
                "names up to `start_after` are skipped as the pages come), ranged Get Blob "
                "with `If-Match` on the listed ETag, `move` by Copy Blob and delete.";
            bucket_line =
                "container = \"events\"\nconnection_string = "
                "\"${env:AZURE_STORAGE_CONNECTION_STRING}\"";
            break;
        case store_kind::hdfs:
            s.name = "hdfs_source";
            s.summary =
                "Reads files of an HDFS directory tree in key order into Iggy through "
                "WebHDFS, resuming mid-file (contract-tested)";
            store_doc =
                "**HDFS (WebHDFS):** LISTSTATUS walks the directories under `directory` in key "
                "order (names starting with `.` are skipped: temporary files of the `hdfs` sink); "
                "OPEN with offset and length reads a range; `move` is a RENAME. The length and "
                "modification time stand in for an ETag. *Contract-tested:* against a stand-in "
                "of the documented WebHDFS REST API, not a Hadoop NameNode.";
            bucket_line = "endpoint = \"http://namenode:9870\"\ndirectory = \"/data/events\"";
            break;
        case store_kind::s3:
            return;
    }
    s.description = common + store_doc;
    s.example = "type = \"source\"\nkey = \"" + s.name + "\"\nenabled = true\nversion = 0\n" +
                "name = \"" + std::string(s3_detail::store_label(k)) + " source\"\nplugin = \"" +
                s.name + "\"\n\n[[streams]]\nstream = \"test_stream\"\ntopic = \"test_topic\"\n" +
                "schema = \"raw\"\nbatch_length = 1000\n\n[plugin_config]\n" + bucket_line +
                "\npoll_interval = \"5s\"\nmax_batch_messages = 1000";
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

void add_options_for(store_kind k, std::vector<config::option>& o, bool region_required) {
    auto common_tail = [&o](std::string_view what) {
        o.push_back(config::opt("timeout", opt_type::duration,
                                fmt::format("Time allowed for one {} request.", what), "\"60s\"",
                                true));
        o.push_back(config::opt("connect_timeout", opt_type::duration,
                                "Time allowed to open a connection.", "\"10s\"", true));
        o.push_back(config::optional_opt("tls_ca_file", opt_type::string,
                                         "PEM file of the CAs to trust instead of the system's.",
                                         true));
        o.push_back(config::opt("tls_danger_accept_invalid_certs", opt_type::boolean,
                                "Skip TLS certificate and host name checks. Development only.",
                                "false", true));
    };
    switch (k) {
        case store_kind::s3:
            add_store_options(o, region_required);
            return;
        case store_kind::gcs:
            o.push_back(config::opt("bucket", opt_type::string, "The GCS bucket."));
            o.push_back(config::optional_opt(
                "endpoint", opt_type::string,
                "JSON API endpoint (`http://127.0.0.1:4443` for fake-gcs-server). Absent: "
                "`STORAGE_EMULATOR_HOST` (http:// added when it has no scheme), else "
                "`https://storage.googleapis.com`."));
            o.push_back(config::optional_opt(
                "credentials_file", opt_type::string,
                "Service-account JSON key file: a JWT signed with its key (RS256) is traded "
                "for an access token at its `token_uri`, refreshed before it expires. Absent: "
                "`GOOGLE_APPLICATION_CREDENTIALS`; with neither nor `token`, requests carry no "
                "credentials (emulators)."));
            o.push_back(config::optional_opt("token", opt_type::secret,
                                             "A ready OAuth 2.0 access token (bearer) instead of "
                                             "a key file (accepts `${env:NAME}`)."));
            common_tail("GCS");
            return;
        case store_kind::azure_blob:
            o.push_back(config::opt("container", opt_type::string, "The blob container."));
            o.push_back(config::optional_opt(
                "endpoint", opt_type::string,
                "The account's blob endpoint (`http://127.0.0.1:10000/devstoreaccount1` for "
                "Azurite). Absent: `https://<account_name>.blob.core.windows.net`, or "
                "BlobEndpoint of `connection_string`."));
            o.push_back(config::optional_opt("account_name", opt_type::string,
                                             "Storage account name (SharedKey and the default "
                                             "endpoint)."));
            o.push_back(config::optional_opt(
                "account_key", opt_type::secret,
                "Storage account key (base64) for SharedKey signing (accepts `${env:NAME}`)."));
            o.push_back(config::optional_opt(
                "sas_token", opt_type::secret,
                "A shared access signature (the query string, with or without `?`) instead of "
                "the account key."));
            o.push_back(config::optional_opt(
                "connection_string", opt_type::secret,
                "An Azure Storage connection string (`AccountName=...;AccountKey=...;"
                "BlobEndpoint=...`, `SharedAccessSignature=...`, `UseDevelopmentStorage=true`); "
                "the options above override its parts."));
            common_tail("Azure Blob");
            return;
        case store_kind::hdfs:
            o.push_back(config::opt("endpoint", opt_type::string,
                                    "The NameNode's HTTP address (`http://namenode:9870`)."));
            o.push_back(config::opt("directory", opt_type::string,
                                    "The HDFS directory objects are under (`/data/iggy`); it "
                                    "must exist."));
            o.push_back(config::optional_opt(
                "user", opt_type::string,
                "`user.name` for simple authentication. Absent: `HADOOP_USER_NAME`, else "
                "none."));
            o.push_back(config::optional_opt(
                "delegation_token", opt_type::secret,
                "A delegation token (`delegation=`) instead of `user` (secured clusters)."));
            common_tail("WebHDFS");
            return;
    }
}

void check_options_for(store_kind k, const config::values& v, const config::check_report& report) {
    auto http_only = [&](const char* name) {
        if (auto ep = v.opt_str(name)) {
            if (!ep->starts_with("http://") && !ep->starts_with("https://"))
                report(name, "must start with http:// or https://");
        }
    };
    switch (k) {
        case store_kind::s3:
            check_store_options(v, report);
            return;
        case store_kind::gcs:
            if (v.str("bucket").empty())
                report("bucket", "must not be empty");
            if (v.has("credentials_file") && v.has("token"))
                report("token", "give credentials_file or token, not both");
            http_only("endpoint");
            return;
        case store_kind::azure_blob:
            if (v.str("container").empty())
                report("container", "must not be empty");
            if (auto cs = v.opt_str("connection_string")) {
                // The message names the part at fault, never a value.
                if (auto c = parse_azure_connection_string(*cs); !c)
                    report("connection_string", c.error().message());
            }
            if (!v.has("connection_string") && !v.has("sas_token") &&
                !(v.has("account_name") && v.has("account_key")))
                report("account_key",
                       "give account_name and account_key, sas_token or connection_string");
            if (!v.has("connection_string") && !v.has("endpoint") && !v.has("account_name"))
                report("account_name", "needed for the endpoint (or give endpoint)");
            http_only("endpoint");
            return;
        case store_kind::hdfs:
            if (!v.str("directory").starts_with('/'))
                report("directory", "must be an absolute HDFS path (starting with '/')");
            http_only("endpoint");
            return;
    }
}

}  // namespace s3_detail

config::spec s3_sink_spec() {
    return s3_detail::object_sink_spec(s3_detail::store_kind::s3);
}

config::spec s3_detail::object_sink_spec(store_kind k) {
    config::spec s;
    s.name = "s3";
    s.kind = config::spec_kind::sink;
    s.guarantee = "exactly-once effect (object names from offsets, conditional put)";
    s.summary =
        "Writes messages to S3 and S3-compatible stores (MinIO, R2) as JSON lines, JSON "
        "arrays, raw, CSV, Parquet or Avro objects, exactly once in effect";
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
        "by multipart upload, aborted when a part fails.\n\n"
        "**Parquet and Avro** (`output_format = \"parquet\"` / `\"avro\"`, Tributary's "
        "additions). One record per message: `iggy_offset`, `iggy_timestamp` (timestamp, UTC, "
        "microseconds), `iggy_stream`, `iggy_topic`, `iggy_partition_id` with "
        "`include_metadata`, `iggy_headers` (JSON text) with `include_headers`, then the "
        "payload's fields when it is a JSON object (else one field `payload`: a JSON value, "
        "text as a string, other bytes as bytes). Columns come from `parquet_schema` / "
        "`avro_schema`, or are inferred from each object's records, in order of first "
        "appearance: only integers -> int64 (Avro long), integers and floats -> double, "
        "booleans -> boolean, strings -> string, objects and arrays -> a string holding their "
        "JSON text, only nulls or a mix of kinds -> string (non-strings as JSON text); every "
        "column is nullable (a missing field is null). Avro field names replace characters "
        "outside `[A-Za-z0-9_]` with `_`. Parquet is written with Apache Arrow C++ "
        "(`parquet_compression`, row groups cut by `parquet_row_group_size`); Avro as an object "
        "container file (`avro_codec`). The file is built when the object is complete; "
        "`max_file_size` counts payload bytes + 64 per record for these formats.";
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
    if (k != store_kind::s3)
        other_store_sink_header(k, s);
    auto& o = s.options;
    s3_detail::add_options_for(k, o, true);
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
                            "`.csv`), `parquet` (`.parquet`, typed columns, Apache Arrow) and "
                            "`avro` (`.avro`, object container file) (Tributary's additions; "
                            "see below).",
                            "\"json_lines\""));
    o.push_back(config::opt("include_metadata", opt_type::boolean,
                            "JSON and CSV records carry `offset`, `timestamp` (RFC 3339), "
                            "`stream`, `topic`, `partition_id` beside `payload` (Parquet and "
                            "Avro: `iggy_offset`, `iggy_timestamp`, ... fields).",
                            "true"));
    o.push_back(config::opt("include_headers", opt_type::boolean,
                            "JSON and CSV records carry the Iggy user headers as `headers` "
                            "(typed JSON values; Iggy's sink writes them all as strings; Parquet "
                            "and Avro: `iggy_headers`, JSON text).",
                            "false"));
    auto retries =
        ranged(config::opt("max_retries", opt_type::integer,
                           fmt::format("Retries of a failed {} request inside the sink before the "
                                       "write fails to the runtime's error policy.",
                                       s3_detail::store_label(k)),
                           "3"),
               0, 100);
    retries.aliases = {"max_attempts"};  // Iggy's config.toml spells it so
    o.push_back(retries);
    o.push_back(config::opt("retry_delay", opt_type::duration,
                            "First delay between retries (doubling, at most 30 s).", "\"1s\""));
    if (k == store_kind::s3) {
        o.push_back(ranged(config::opt("part_size", opt_type::size,
                                       "Objects above this size go up by multipart upload in "
                                       "parts of this size (S3's minimum part is 5 MiB).",
                                       "\"8MiB\"", true),
                           5 * 1024 * 1024, 5.0 * 1024 * 1024 * 1024));
        o.push_back(config::opt("conditional_put", opt_type::boolean,
                                "Write objects with `If-None-Match: *` so that a replay never "
                                "replaces an object (stores that refuse it get a plain put).",
                                "true", true));
    } else if (k == store_kind::gcs) {
        o.push_back(ranged(config::opt("part_size", opt_type::size,
                                       "Objects above this size go up by a resumable upload in "
                                       "chunks of this size (rounded down to 256 KiB).",
                                       "\"8MiB\"", true),
                           256 * 1024, 5.0 * 1024 * 1024 * 1024));
        o.push_back(config::opt("conditional_put", opt_type::boolean,
                                "Create objects with `ifGenerationMatch=0` so that a replay "
                                "never replaces an object.",
                                "true", true));
    } else if (k == store_kind::azure_blob) {
        o.push_back(ranged(config::opt("part_size", opt_type::size,
                                       "Blobs above this size go up as blocks of this size (Put "
                                       "Block, then Put Block List).",
                                       "\"8MiB\"", true),
                           64 * 1024, 4000.0 * 1024 * 1024));
        o.push_back(config::opt("conditional_put", opt_type::boolean,
                                "Create blobs with `If-None-Match: *` so that a replay never "
                                "replaces a blob.",
                                "true", true));
    }
    if (k == store_kind::s3) {
        auto sse = config::optional_opt("server_side_encryption", opt_type::enumeration,
                                        "Server-side encryption of the objects "
                                        "(`x-amz-server-side-encryption`).");
        sse.choices = {"AES256", "aws:kms", "aws:kms:dsse"};
        o.push_back(sse);
        o.push_back(config::optional_opt("sse_kms_key_id", opt_type::string,
                                         "The KMS key of `aws:kms` encryption."));
    }
    o.push_back(config::opt("verbose_logging", opt_type::boolean,
                            "Accepted for compatibility; objects are logged at debug level.",
                            "false", true));
    o.push_back(config::optional_opt(
        "parquet_schema", opt_type::string,
        "`parquet`: the columns, as a JSON list `[{\"name\": \"temp\", \"type\": "
        "\"double\"}, ...]` or an Avro record schema (types boolean, int/long, float/double, "
        "string, bytes, timestamp, date, json; Avro's timestamp-millis/micros and date logical "
        "types; a union with null is its type; records, arrays and maps are `json`). A message "
        "whose field does not fit its column goes to the error policy. Absent: inferred from "
        "each object's records (see below)."));
    o.push_back(choice("parquet_compression", {"none", "snappy", "zstd", "gzip"},
                       "`parquet`: the compression of the column chunks.", "snappy"));
    o.push_back(ranged(config::opt("parquet_row_group_size", opt_type::size,
                                   "`parquet`: a row group ends once its records' estimated size "
                                   "(payload bytes + 64 each) reaches this.",
                                   "\"64MiB\""),
                       1, std::nullopt));
    o.push_back(config::optional_opt(
        "avro_schema", opt_type::string,
        "`avro`: the Avro schema (JSON) of the records; fields are looked up by name, a "
        "missing one takes its default (or null), a message that does not fit goes to the "
        "error policy. Absent: inferred from each object's records (every field a union with "
        "null)."));
    o.push_back(choice("avro_codec", {"null", "deflate", "snappy", "zstandard"},
                       "`avro`: the compression of the container file's blocks.", "deflate"));
    s.check = [k](const config::values& v, const config::check_report& report) {
        s3_detail::check_options_for(k, v, report);
        if (auto t = s3_detail::path_template::parse(v.str("path_template")); !t)
            report("path_template", t.error().message());
        auto f = s3_detail::parse_output_format(v.str("output_format"));
        if (!f) {
            report("output_format", f.error().message());
        } else if (*f == s3_detail::output_format::parquet ||
                   *f == s3_detail::output_format::avro) {
            s3_detail::record_options ro;
            s3_detail::columnar_options co;
            co.parquet_schema = v.opt_str("parquet_schema").value_or("");
            co.parquet_compression = v.str("parquet_compression");
            co.avro_schema = v.opt_str("avro_schema").value_or("");
            co.avro_codec = v.str("avro_codec");
            if (auto w = s3_detail::make_format_writer(*f, ro, co); !w)
                report(*f == s3_detail::output_format::parquet
                           ? (co.parquet_schema.empty() ? "output_format" : "parquet_schema")
                           : "avro_schema",
                       w.error().message());
        }
        if (v.str("file_rotation") == "messages" && !v.has("max_messages_per_file"))
            report("max_messages_per_file", "file_rotation = \"messages\" needs it");
        if (v.str("file_rotation") == "time" && !v.has("max_file_age"))
            report("max_file_age", "file_rotation = \"time\" needs it");
        if (k == store_kind::s3 && v.has("sse_kms_key_id") &&
            v.opt_str("server_side_encryption").value_or("") == "AES256")
            report("sse_kms_key_id", "goes with server_side_encryption = \"aws:kms\"");
    };
    return s;
}

config::spec s3_source_spec() {
    return s3_detail::object_source_spec(s3_detail::store_kind::s3);
}

config::spec s3_detail::object_source_spec(store_kind k) {
    config::spec s;
    s.name = "s3_source";
    s.kind = config::spec_kind::source;
    s.guarantee =
        "at-least-once; stable ids (bucket, key, ETag, byte position) let a de-duplicating Iggy "
        "server drop replays (exactly-once effect with an idempotent sink)";
    s.summary =
        "Reads objects of an S3 bucket/prefix in key order into Iggy: one message per "
        "line (delimiter), JSON array element, CSV row, Parquet row or Avro record, resuming "
        "mid-object";
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
        "first `max_record_bytes` bytes; reading goes on after it. `parquet`: one message per "
        "row as a JSON object (column name -> value; timestamps as RFC 3339, binary as base64, "
        "structs as objects, lists as arrays), read one row group at a time by ranged GETs "
        "(the footer, then each row group's bytes), so memory stays bounded by "
        "`max_row_group_bytes`. `avro`: one message per record of an object container file "
        "(its own schema; Avro's JSON form), the file read whole up to `max_object_bytes`. For "
        "these two the saved position is the row (record) index in the object; a corrupt or "
        "truncated file goes to the error policy (a record holding the object's key, with the "
        "reason) and the object is skipped.\n\n"
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
    if (k != store_kind::s3)
        other_store_source_header(k, s);
    auto& o = s.options;
    s3_detail::add_options_for(k, o, false);
    o.push_back(
        config::optional_opt("prefix", opt_type::string, "Read only keys that begin with this."));
    o.push_back(config::optional_opt("start_after", opt_type::string,
                                     "Read only keys after this one (S3 `start-after`)."));
    o.push_back(config::optional_opt(
        "pattern", opt_type::string,
        "Glob the whole key must match (`*` any run of characters, `?` one); absent: all."));
    o.push_back(config::opt("poll_interval", opt_type::duration,
                            "Pause between listings when nothing new was found.", "\"5s\""));
    o.push_back(choice("format", {"lines", "json_array", "csv", "parquet", "avro"},
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
    o.push_back(ranged(config::opt("max_row_group_bytes", opt_type::size,
                                   "`parquet`: the largest row group (compressed or in memory) "
                                   "and file footer read; a larger one is an error for the "
                                   "error policy and the object is skipped.",
                                   "\"256MiB\""),
                       1024, std::nullopt));
    o.push_back(ranged(config::opt("max_object_bytes", opt_type::size,
                                   "`avro`: the largest container file read (it is read whole); "
                                   "a larger one is an error for the error policy and the object "
                                   "is skipped.",
                                   "\"256MiB\""),
                       1024, std::nullopt));
    s.check = [k](const config::values& v, const config::check_report& report) {
        s3_detail::check_options_for(k, v, report);
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

config::spec gcs_sink_spec() {
    return s3_detail::object_sink_spec(store_kind::gcs);
}
config::spec gcs_source_spec() {
    return s3_detail::object_source_spec(store_kind::gcs);
}
config::spec azure_blob_sink_spec() {
    return s3_detail::object_sink_spec(store_kind::azure_blob);
}
config::spec azure_blob_source_spec() {
    return s3_detail::object_source_spec(store_kind::azure_blob);
}
config::spec hdfs_sink_spec() {
    return s3_detail::object_sink_spec(store_kind::hdfs);
}
config::spec hdfs_source_spec() {
    return s3_detail::object_source_spec(store_kind::hdfs);
}

}  // namespace trib::connectors
