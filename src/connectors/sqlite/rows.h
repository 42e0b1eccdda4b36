#pragma once
// The SQLite sink's pure parts: identifier quoting, the statements it prepares, and the values a
// message turns into (append-mode columns, JSON fields to mapped columns). No sqlite3 call here:
// tested without a database (tests/connectors/sqlite/rows_test.cpp) and fuzzed
// (fuzz/sqlite/fuzz_sqlite_rows.cpp).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/message.h"

namespace trib::connectors::sqlite {

/// `name` as an SQLite identifier: in double quotes, embedded quotes doubled.
std::string quote_ident(std::string_view name);

/// One value to bind. Text and blob bytes are held by the cell (`bytes`) or point into the
/// message (`view`, valid as long as the batch).
struct cell {
    enum class kind : std::uint8_t { null, integer, real, text, blob } k = kind::null;
    std::int64_t i = 0;
    double d = 0;
    std::string bytes;
    std::string_view view;
    bool owns = false;

    std::string_view data() const { return owns ? std::string_view(bytes) : view; }
    static cell null() { return {}; }
    static cell integer(std::int64_t v) {
        cell c;
        c.k = kind::integer;
        c.i = v;
        return c;
    }
    static cell real(double v) {
        cell c;
        c.k = kind::real;
        c.d = v;
        return c;
    }
    static cell text_owned(std::string s) {
        cell c;
        c.k = kind::text;
        c.bytes = std::move(s);
        c.owns = true;
        return c;
    }
    static cell text_view(std::string_view s) {
        cell c;
        c.k = kind::text;
        c.view = s;
        return c;
    }
    static cell blob_view(std::string_view s) {
        cell c;
        c.k = kind::blob;
        c.view = s;
        return c;
    }
};

/// What an append-mode column holds.
enum class acol : std::uint8_t {
    id,         // the Iggy message id as a decimal number (the primary key)
    offset,     // iggy_offset
    timestamp,  // iggy_timestamp: Iggy's append time, µs since the epoch
    stream,
    topic,
    partition,
    origin_ts,  // iggy_origin_timestamp, µs
    headers,    // iggy_headers: the user headers as a JSON object
    payload,
};

enum class payload_format : std::uint8_t { blob, json, text };

struct append_column {
    acol what;
    std::string name;
    std::string decl;  // the type in CREATE TABLE
};

/// The append-mode columns for these options, in table order.
std::vector<append_column> append_columns(bool include_metadata, bool include_origin_timestamp,
                                          bool include_headers, payload_format pf);

/// CREATE TABLE IF NOT EXISTS for the append-mode columns (`id` the primary key).
std::string create_append_table_sql(std::string_view table, const std::vector<append_column>& cols);

/// INSERT OR IGNORE of one row of `cols` (a replayed id is skipped, not an error).
std::string append_insert_sql(std::string_view table, const std::vector<append_column>& cols);

/// The message id as the decimal number the SQL sinks store (the `id` column; core/message_id.h).
std::string id_text(const message_id& id);

/// The append-mode cells of message `m` of a batch of (stream, topic, partition); an error (fatal,
/// invalid_argument) when the payload does not fit `pf` (json: one valid JSON value; text:
/// valid UTF-8).
result<std::vector<cell>> append_cells(const std::vector<append_column>& cols, const message& m,
                                       std::string_view stream, std::string_view topic,
                                       std::uint32_t partition, payload_format pf);

enum class upsert_mode : std::uint8_t { none, key, message_id };

/// How a mapped row is written: the columns present (by name, table order) and their values.
struct mapped_row {
    std::vector<std::size_t> cols;  // indices into the table's columns
    std::vector<cell> cells;
};

struct mapping {
    std::vector<std::string> table_columns;  // the table's columns, in table order
    /// column -> dotted JSON path; empty: top-level fields to columns of the same name.
    std::map<std::string, std::string> field_mapping;
    bool strict_fields = false;
    /// upsert = message_id: the column that receives the Iggy message id (id_text).
    std::optional<std::size_t> message_id_column;
};

/// The row a JSON payload maps to. Errors (fatal, invalid_argument): not one JSON object, a
/// field naming no column with `strict_fields`, no column at all. Integers beyond int64 are
/// written as decimal text, objects and arrays as JSON text, booleans as 0/1.
result<mapped_row> map_json(const mapping& mp, std::string_view payload, const message_id& id);

/// The INSERT for the columns `cols` of a mapped row: plain (none), ON CONFLICT (conflict)
/// DO UPDATE SET every other column (key), or ON CONFLICT (conflict) DO NOTHING (message_id: a
/// replay of the same message).
std::string mapped_insert_sql(std::string_view table, const std::vector<std::string>& names,
                              upsert_mode mode, const std::vector<std::string>& conflict);

}  // namespace trib::connectors::sqlite
