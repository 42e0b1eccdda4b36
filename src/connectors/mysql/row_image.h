#pragma once
// The binlog's row images (ROW format, WRITE/UPDATE/DELETE_ROWS v1/v2 bodies) decoded by the
// column types and metadata of their TABLE_MAP event: the bytes a MariaDB or MySQL server sends
// to a replica. Pure code over foreign bytes: every length is checked against what is left, a
// malformed image is an error (errc::protocol_error), never a read past the end. Tested without
// a server (tests/connectors/mysql/row_image_test.cpp) and fuzzed (fuzz/mysql).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::connectors::mysql {

/// How a string column's bytes become JSON: UTF-8 text as it is, latin1 converted to UTF-8,
/// binary as base64 (Debezium's bytes), unknown: text when the bytes are UTF-8, else base64.
enum class text_charset : std::uint8_t { unknown, utf8, latin1, binary };

/// What a TABLE_MAP event says about a table's columns.
struct table_map {
    std::uint64_t table_id = 0;
    std::string database;
    std::string table;
    std::vector<std::uint8_t> types;       // MYSQL_TYPE_* per column
    std::vector<std::uint16_t> meta;       // the type's metadata (0 when it has none)
    std::vector<bool> is_unsigned;         // from the SIGNEDNESS optional metadata (else signed)
    std::vector<std::string> names;        // from COLUMN_NAME metadata (binlog_row_metadata=FULL)
    std::vector<std::size_t> primary_key;  // from SIMPLE_PRIMARY_KEY metadata
    std::vector<text_charset> charsets;    // per column (from the schema); empty: unknown
};

/// Splits the table map's metadata block into one value per column (by type: how many bytes
/// each type's metadata takes, and how they combine).
status parse_column_meta(table_map& t, std::string_view metadata);

/// Reads the optional metadata TLVs of a TABLE_MAP event (type byte, packed length, value):
/// SIGNEDNESS (1), COLUMN_NAME (4), SIMPLE_PRIMARY_KEY (8). Unknown types are skipped.
status parse_optional_meta(table_map& t, std::string_view tlvs);

/// One row image: a JSON value per column of the table (nullopt: the column is not in the
/// image, i.e. the event's column bitmap leaves it out).
using row_image = std::vector<std::optional<std::string>>;

/// Decodes one image starting at `data[pos]` (the null bitmap over the present columns, then
/// each present, non-NULL value) and advances `pos`. `present` is the event's column bitmap.
result<row_image> decode_row_image(const table_map& t, std::string_view data, std::size_t& pos,
                                   std::string_view present);

/// A value of `type` with metadata `meta` as JSON: integers and decimals as numbers (DECIMAL
/// with all its digits), FLOAT/DOUBLE as numbers (non-finite: null), dates and times as
/// strings ("2024-01-02 03:04:05.678900"), text as a string when it is UTF-8 (else base64),
/// BIT as a number, ENUM as its 1-based index, SET as its bit mask. Advances `pos`.
result<std::string> decode_value(std::uint8_t type, std::uint16_t meta, bool is_unsigned,
                                 std::string_view data, std::size_t& pos,
                                 text_charset cs = text_charset::unknown);

}  // namespace trib::connectors::mysql
