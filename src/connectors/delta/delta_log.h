#pragma once
// The Delta Lake transaction log as pure functions (no I/O): reading the actions of commit files
// (`_delta_log/<version>.json`, one JSON action per line) and checkpoint rows into a table state
// (schema, protocol, the latest `txn` version of each application id), and writing the text of
// the next commit. The sink (sink.cpp) does the file system part; these get unit tests and a
// fuzz target (the log is written by other programs too: hostile bytes give an error, never a
// crash).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/parquet.h"
#include "core/error.h"

namespace trib::connectors::delta {

/// A column of the table: a Delta primitive type name ("long", "string", "timestampNtz", ...);
/// a nested type (struct, array, map) keeps its JSON text in `type` (`type_json` set). `nested`:
/// a type this sink cannot write (nested, decimal, unknown names).
struct field {
    std::string name;
    std::string type;
    bool nullable = true;
    bool nested = false;
    bool type_json = false;
    friend bool operator==(const field&, const field&) = default;
};

/// Iggy's `schema` option: entries "<name> <type>" with the types string, byte, short, integer,
/// long, float, double, boolean, binary, date, timestamp, timestampNtz. The error names the
/// entry (index and text).
result<std::vector<field>> parse_schema_entries(const std::vector<std::string>& entries);

/// The Parquet column type a Delta primitive type is written as (nested: an error).
result<codecs::parquet::column_type> column_type_of(const field& f);

/// The Delta type of an inferred Parquet column (int64 -> long, float64 -> double, json ->
/// string, ...).
std::string_view delta_type_of(codecs::parquet::column_type t);

/// The metaData `schemaString`: {"type":"struct","fields":[{"name","type","nullable","metadata"}]}.
std::string schema_string(const std::vector<field>& fields);
result<std::vector<field>> parse_schema_string(std::string_view text);

/// What the log says about the table up to `version`.
struct table_state {
    std::int64_t version = -1;  // the latest version applied; -1: no commit yet (no table)
    bool has_protocol = false;
    bool has_metadata = false;
    int min_reader_version = 0;
    int min_writer_version = 0;
    std::vector<std::string> reader_features;
    std::vector<std::string> writer_features;
    std::string table_id;
    std::string schema_text;  // metaData.schemaString as written
    std::vector<field> schema;
    std::vector<std::string> partition_columns;
    std::map<std::string, std::string> configuration;
    /// The latest txn version per application id.
    std::map<std::string, std::int64_t, std::less<>> txns;
    std::uint64_t files_added = 0;    // add actions seen (for logs and tests)
    std::uint64_t records_added = 0;  // their stats.numRecords (where present)
};

/// Limits on what the log reader accepts (a commit or checkpoint row larger is refused).
inline constexpr std::size_t max_commit_bytes = 64u << 20;

/// Applies the actions of commit `version` (newline-delimited JSON objects; blank lines
/// skipped) to `st` and sets st.version = version. Unknown actions are ignored (the protocol
/// says readers skip what they do not know); a line that is not a JSON object, or a known
/// action of the wrong shape, is an invalid_argument error (fatal) naming the version and line.
[[nodiscard]] status apply_commit(table_state& st, std::int64_t version, std::string_view text);

/// Applies one action given as a JSON object text (a checkpoint row as the Parquet reader
/// renders it: one member per action column, nulls for the absent ones).
[[nodiscard]] status apply_action_json(table_state& st, std::string_view json);

/// Whether this writer may append to the table: a protocol it can honour (reader <= 3, writer
/// <= 7 with only the features it supports), no partition columns, no nested columns.
[[nodiscard]] status check_writable(const table_state& st);

/// The protocol a new table with these columns needs (1/2, or 3/7 with timestampNtz).
void protocol_for(const std::vector<field>& fields, table_state& st);

/// The `_delta_log` file name of a version ("00000000000000000042.json") and back.
std::string log_file_name(std::int64_t version);
std::optional<std::int64_t> parse_log_file_name(std::string_view name);

/// `_delta_log/_last_checkpoint`: {"version": N, "size": ..., "parts": ...}. Returns the version
/// and the number of parts (0 when one file).
struct checkpoint_ref {
    std::int64_t version = 0;
    std::int64_t parts = 0;
};
result<checkpoint_ref> parse_last_checkpoint(std::string_view text);
/// The checkpoint file names of `ref` ("<v>.checkpoint.parquet" or the multi-part names).
std::vector<std::string> checkpoint_file_names(const checkpoint_ref& ref);

/// A stable application id for the `txn` action: one per connector and partition.
std::string app_id(std::string_view key, std::string_view stream, std::string_view topic,
                   std::uint32_t partition);

/// A data file name as a pure function of (connector key, stream, topic, partition, first
/// offset, last offset): a replay of the same messages writes the same file.
std::string data_file_name(std::string_view key, std::string_view stream, std::string_view topic,
                           std::uint32_t partition, std::uint64_t first, std::uint64_t last);

struct added_file {
    std::string path;  // relative to the table root (no characters that need URI escaping)
    std::uint64_t size = 0;
    std::int64_t modification_time_ms = 0;
    std::uint64_t num_records = 0;
};

/// The text of the next commit: commitInfo, then (when `create`) protocol and metaData from
/// `st`, then the txn action and the add action (neither when `app` is empty: a table created
/// without data). `now_ms` is the commit's timestamp.
std::string commit_text(const table_state& st, bool create, std::string_view app,
                        std::int64_t txn_version, const added_file& add, std::int64_t now_ms);

}  // namespace trib::connectors::delta
