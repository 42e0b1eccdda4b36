#pragma once
// Connector files: one TOML per connector in the runtime's connectors.config_dir, exactly as Iggy's
// runtime reads them (type, key, enabled, version, name, path, plugin_config_format, verbose,
// benchmark, [[streams]], [plugin_config], [transforms.<name>]), plus Tributary's own keys
// (`plugin`, [error_policy], [delivery]).
//
// Versions: files sharing a (type, key) are versions of one connector. The active one is the
// version named in {config_dir}/.active_versions.toml ([sinks] key = N, [sources] key = N) and
// otherwise the highest version, enabled or not (Iggy's rule). Problems in inactive versions are
// reported as warnings.
//
// Environment overrides (Iggy's convention, plus TRIBUTARY_ which wins):
//   IGGY_CONNECTORS_{SINK|SOURCE}_{KEY}_{FIELD}            top-level fields (PATH, ENABLED, ...)
//   IGGY_CONNECTORS_{SINK|SOURCE}_{KEY}_STREAMS_{N}_{FIELD}  one [[streams]] entry
//   IGGY_CONNECTORS_{SINK|SOURCE}_{KEY}_PLUGIN_CONFIG_{FIELD} a plugin_config option

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/environment.h"
#include "config/problems.h"
#include "config/spec.h"
#include "core/error.h"

namespace trib::config {

enum class connector_type : unsigned char { sink, source };
std::string_view to_string(connector_type t);

/// What the loader needs from the runtime's registries. Any member may be empty: then that part
/// is not checked (plugin_config and transform options are kept as written).
struct catalog {
    /// The spec of a connector by plugin name: the built-in name ("postgres") or Iggy's plugin
    /// name ("iggy_connector_postgres_sink"); nullptr if unknown.
    std::function<const spec*(connector_type, std::string_view)> find_connector;
    /// Known plugin names of a type, for "did you mean".
    std::function<std::vector<std::string>(connector_type)> connector_names;
    std::function<const spec*(std::string_view)> find_transform;
    std::function<std::vector<std::string>()> transform_names;
    /// Codec (stream `schema`) names; empty function: json, raw and text.
    std::function<std::vector<std::string>()> codec_names;
    /// The spec of a codec by name (its options on `[[streams]]`); nullptr if unknown. Empty
    /// function: codec options are not accepted.
    std::function<const spec*(std::string_view)> find_codec;
    /// Builds a codec from validated options and reports why it cannot be built (a .proto that
    /// does not compile, a schema file that is missing), so that such a mistake stops the
    /// runtime at start (exit 2) instead of failing every pipeline start. May be empty.
    std::function<status(std::string_view, const values&)> check_codec;
    /// Builds a transform from validated options (the stream's JSON Schema keys, compiled at
    /// load so that a bad schema exits 2 naming the key). May be empty.
    std::function<status(std::string_view, const values&)> check_transform;
};

/// A sink's [[streams]] entry.
struct sink_stream_config {
    std::string stream;
    std::vector<std::string> topics;
    std::string schema = "json";
    std::uint32_t batch_length = 1000;
    std::chrono::milliseconds poll_interval{5};
    std::string consumer_group;  // default "iggy-connect-sink-{key}"
    std::optional<std::string> avro_schema_json;
    std::optional<std::string> avro_schema_path;
    /// The `schema` codec's options (validated against its spec; empty root when no catalog
    /// checked them): keys of the codec's spec written on the [[streams]] table itself or in
    /// its `schema_options` sub-table.
    values schema_options;
    /// Tributary: `json_schema_path` / `json_schema_json` / `json_schema_draft` as the options
    /// of the json_schema transform (schema_path, schema_json, draft), applied to the decoded
    /// record before the connector's transforms. No root: no JSON Schema on this stream.
    values json_schema;
};

/// A source's [[streams]] entry.
struct source_stream_config {
    std::string stream;
    std::string topic;
    std::string schema = "json";
    std::uint32_t batch_length = 1000;
    std::chrono::milliseconds linger_time{5};
    std::optional<std::string> avro_schema_json;
    std::optional<std::string> avro_schema_path;
    values schema_options;  // as sink_stream_config::schema_options
    values json_schema;     // as sink_stream_config::json_schema
    /// Tributary: the format the source's payloads are in (what an Iggy source plugin declares
    /// in its ProducedMessages). Empty: what the plugin declares, else the stream's `schema`.
    /// When it differs from `schema` the runtime converts (decode with this, encode with
    /// `schema`).
    std::string source_schema;
    values source_schema_options;  // its codec options (`[streams.source_schema_options]`)
};

/// One [transforms.<name>] table.
struct transform_config {
    std::string name;
    bool enabled = true;
    values options;  // validated against the transform's spec (without `enabled`)
};

enum class error_mode : unsigned char { retry, dead_letter, skip, stop };
std::string_view to_string(error_mode m);

/// [error_policy] (Tributary): what happens to messages that cannot be decoded, transformed or
/// written. Retryable errors are retried with capped exponential backoff and jitter, up to
/// max_retries (0: for ever); then, and for fatal errors at once, `mode` applies (retry: keep
/// retrying, with the same backoff; dead_letter: publish to the dead-letter topic with the error
/// in headers; skip: count and drop; stop: stop the connector until restarted). Without `mode`:
/// dead_letter when dead_letter_stream or dead_letter_topic is set, otherwise stop, so that a
/// message that can never succeed is neither retried for ever nor lost.
struct error_policy_config {
    std::optional<error_mode> mode;  // unset: see above
    std::uint32_t max_retries = 0;
    std::chrono::milliseconds backoff_initial{100};
    std::chrono::milliseconds backoff_max{30000};
    double backoff_multiplier = 2.0;
    double jitter = 0.2;                           // 0..1: share of each delay drawn at random
    std::chrono::milliseconds throttle_min{1000};  // least wait after a throttled error
    std::string dead_letter_stream;
    std::string dead_letter_topic;
};

/// [delivery] (Tributary): pipelining and backpressure limits.
struct delivery_config {
    std::uint32_t max_in_flight_batches = 4;  // per connector
    std::uint64_t max_in_flight_bytes = 64ull << 20;
    std::chrono::milliseconds shutdown_timeout{30000};  // drain deadline on stop
};

/// One connector file, validated.
struct connector_config {
    std::string file;  // where it came from
    connector_type type = connector_type::sink;
    std::string key;
    bool enabled = true;
    std::uint64_t version = 0;
    std::string name;
    std::string path;                   // Iggy's `path` as written (empty when `plugin` is used)
    std::string plugin;                 // the plugin name: `plugin`, or derived from `path`
    const spec* plugin_spec = nullptr;  // from the catalog; nullptr when unknown/unchecked
    std::string plugin_config_format;   // "json" | "yaml" | "toml" | "text" | "" (unset)
    bool verbose = false;
    bool benchmark = false;
    std::vector<sink_stream_config> sink_streams;      // type == sink
    std::vector<source_stream_config> source_streams;  // type == source
    values plugin_config;
    std::vector<transform_config> transforms;  // in file order, disabled ones included
    error_policy_config error_policy;
    delivery_config delivery;
    values raw;  // the whole validated file (for the API's redacted JSON)
};

/// All connector files of a directory.
struct connector_set {
    std::vector<connector_config> all;  // every file that validated, sorted by type, key, version
    std::vector<connector_config> active;  // the active version of each (type, key)
};

/// Iggy's plugin name from its `path`: the file name without directory, `lib` prefix and
/// extension ("target/release/libiggy_connector_postgres_sink.so" ->
/// "iggy_connector_postgres_sink").
std::string plugin_name_from_path(std::string_view path);

/// The spec of a connector file's own keys (without plugin_config/transform options).
const spec& connector_file_spec(connector_type t);

/// Loads one connector file (with environment overrides). `warnings_only` reports its errors as
/// warnings (inactive versions).
loaded<connector_config> load_connector_file(const std::string& path, const catalog& cat,
                                             const environment& env);

/// The same from text; `file` names it in problems.
loaded<connector_config> parse_connector_config(std::string_view toml, const std::string& file,
                                                const catalog& cat, const environment& env,
                                                bool warnings_only = false);

/// Loads every *.toml directly in `dir` (skipping hidden files and Cargo.toml), picks the active
/// versions and checks duplicates. An empty, missing or unlistable `dir` is an error, named as
/// `runtime_file: connectors.config_dir: ...` (a runtime without its connectors must not start).
loaded<connector_set> load_connectors(const std::string& dir, const catalog& cat,
                                      const environment& env, const std::string& runtime_file = "");

}  // namespace trib::config
