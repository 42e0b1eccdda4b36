#pragma once
// The PostgreSQL connector's options as plain structs: spec.cpp fills them from validated config
// values (option names shared with Iggy's postgres_sink / postgres_source where they overlap);
// tests and benchmarks fill them directly.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "connectors/postgres/pg.h"

namespace trib::connectors::postgres {

// ---- sink -------------------------------------------------------------------------------------

/// How the payload column stores the message (append mode).
enum class payload_format { bytea, json, text };
/// append: one row per message, payload plus metadata columns (Iggy's sink table).
/// mapped: JSON fields to columns of an existing table.
enum class sink_mode { append, mapped };
/// copy: COPY FROM STDIN (direct, or into a temp table then INSERT ... SELECT for upserts).
/// insert: multi-row INSERT statements.
enum class write_method { copy, insert };
enum class copy_format { binary, text };
/// none: plain insert. key: ON CONFLICT (upsert_key) DO UPDATE. message_id: the Iggy message
/// id is a unique column and ON CONFLICT DO NOTHING makes replays no-ops.
enum class upsert_mode { none, key, message_id };
/// none: the payload is the row. debezium: the payload is a change envelope (before, after, op)
/// that is applied: c/r/u upsert `after`, d deletes `before`, t truncates.
enum class envelope_kind { none, debezium };

struct sink_options {
    conn_settings conn;
    std::string target_table;
    /// Rows per statement (one COPY or one multi-row INSERT); the runtime's whole batch is still
    /// one transaction.
    std::size_t batch_size = 1000;
    std::size_t max_connections = 10;
    bool auto_create_table = false;
    bool include_metadata = true;
    bool include_checksum = true;
    bool include_origin_timestamp = true;
    bool include_headers = false;
    payload_format payload = payload_format::bytea;
    sink_mode mode = sink_mode::append;
    write_method method = write_method::copy;
    copy_format copy = copy_format::binary;
    upsert_mode upsert = upsert_mode::none;
    std::vector<std::string> upsert_key;  // empty: the table's primary key
    std::string message_id_column = "iggy_message_id";
    /// mapped: column -> dotted JSON path ("user.id"); empty: top-level fields by column name.
    std::map<std::string, std::string> field_mapping;
    envelope_kind envelope = envelope_kind::none;
    /// mapped: a JSON field that names no column is an error (true) or ignored (false).
    bool strict_fields = false;
    bool verbose_logging = false;
};

// ---- source -----------------------------------------------------------------------------------

enum class source_mode { polling, cdc };
/// Iggy's names: json wraps the row in a record; bytea/text/json_direct take payload_column.
enum class source_payload { json, bytea, text, json_direct };
/// incrementing: a strictly growing column (serial id). timestamp: a modification time; ties
/// are broken by the primary key and rows younger than timestamp_delay are left for later.
enum class tracking_mode { incrementing, timestamp };
enum class cdc_plugin { pgoutput, wal2json };
enum class snapshot_mode { never, initial };
/// debezium: {before, after, op, source, ts_ms}; record: Iggy's DatabaseRecord
/// {table_name, operation_type, timestamp, data, old_data}.
enum class cdc_format { debezium, record };

struct source_options {
    conn_settings conn;
    source_mode mode = source_mode::polling;
    std::vector<std::string> tables;
    std::chrono::milliseconds poll_interval{10000};
    std::size_t batch_size = 1000;
    std::string tracking_column = "id";
    std::string initial_offset;  // empty: from the start
    bool has_initial_offset = false;
    tracking_mode tracking = tracking_mode::incrementing;
    std::chrono::milliseconds timestamp_delay{0};
    std::size_t max_connections = 10;
    std::string custom_query;
    bool snake_case_columns = false;
    bool include_metadata = true;
    std::string payload_column;
    source_payload payload = source_payload::json;
    bool delete_after_read = false;
    std::string processed_column;
    std::string primary_key_column;  // empty: tracking_column
    // CDC
    std::string replication_slot = "iggy_slot";
    std::string publication_name;  // empty: "<replication_slot>_pub"
    bool create_publication = true;
    std::vector<std::string> capture_operations = {"INSERT", "UPDATE", "DELETE"};
    cdc_plugin plugin = cdc_plugin::pgoutput;
    snapshot_mode snapshot = snapshot_mode::never;
    cdc_format format = cdc_format::debezium;
    std::chrono::milliseconds status_interval{10000};
    std::string server_name;  // Debezium source.name; empty: the connector key
    bool verbose_logging = false;
};

}  // namespace trib::connectors::postgres
