#pragma once
// The PostgreSQL sink's rows before they reach the database: column types, row groups (cells in
// one buffer, binary or text), the batch plan, and the COPY stream built from them. Pure: no
// libpq call, tested without a server (tests/connectors/postgres/sink_rows_test.cpp).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "connectors/postgres/json.h"
#include "core/connector.h"

namespace trib::connectors::postgres {

enum : std::uint32_t {
    oid_bool = 16,
    oid_bytea = 17,
    oid_int8 = 20,
    oid_int2 = 21,
    oid_int4 = 23,
    oid_text = 25,
    oid_json = 114,
    oid_bpchar = 1042,
    oid_varchar = 1043,
    oid_timestamp = 1114,
    oid_timestamptz = 1184,
    oid_numeric = 1700,
    oid_uuid = 2950,
    oid_jsonb = 3802,
};

inline bool is_textual(std::uint32_t oid) {
    return oid == oid_text || oid == oid_varchar || oid == oid_bpchar;
}

struct column_info {
    std::string name;
    std::uint32_t oid = 0;
    std::string type_sql;  // format_type(): "integer", "character varying(20)", ...
    bool not_null = false;
    bool is_array = false;
};

// What an append-mode column holds.
enum class acol {
    id,
    offset,
    timestamp,
    stream,
    topic,
    partition,
    checksum,
    origin_ts,
    headers,
    payload
};

struct append_column {
    acol what;
    std::string name;
    std::uint32_t oid = 0;
};

struct cell {
    std::uint32_t off = 0;
    std::int32_t len = -1;  // < 0: NULL
};

// Rows that share one statement shape: the same kind and the same columns.
struct row_group {
    enum class kind { upsert, remove } k = kind::upsert;
    std::vector<std::size_t> cols;  // indices into the table's columns (append: append_cols_)
    bool binary = false;
    std::string data;
    std::vector<cell> cells;
    std::vector<std::uint32_t> msg;  // message index of each row
    std::vector<char> alive;         // 0: superseded by a later change of the same key
    std::string signature;

    std::size_t rows() const { return msg.size(); }
    std::size_t width() const { return cols.size(); }
    void begin_row(std::uint32_t m) {
        msg.push_back(m);
        alive.push_back(1);
    }
    void null() { cells.push_back({0, -1}); }
    void text(std::string_view v) {
        auto off = static_cast<std::uint32_t>(data.size());
        data.append(v.data(), v.size());
        data.push_back('\0');  // text parameters are C strings
        cells.push_back({off, static_cast<std::int32_t>(v.size())});
    }
    std::size_t begin_cell() const { return data.size(); }
    void end_cell(std::size_t start) {
        cells.push_back(
            {static_cast<std::uint32_t>(start), static_cast<std::int32_t>(data.size() - start)});
    }
    std::string_view value(std::size_t row, std::size_t col) const {
        const cell& c = cells[row * width() + col];
        return c.len < 0 ? std::string_view() : std::string_view(data).substr(c.off, c.len);
    }
    bool is_null(std::size_t row, std::size_t col) const {
        return cells[row * width() + col].len < 0;
    }
    // Drops the last, half-built row (a value could not be converted).
    void drop_partial_row(std::size_t data_size, std::size_t cell_count) {
        data.resize(data_size);
        cells.resize(cell_count);
        msg.pop_back();
        alive.pop_back();
    }
};

struct batch_plan {
    std::vector<row_group> groups;
    std::map<std::string, std::size_t> by_signature;
    bool truncate = false;
    std::vector<message_error> rejected;
    std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> last_by_key;

    row_group& group(row_group::kind k, const std::vector<std::size_t>& cols, bool binary) {
        std::string sig = k == row_group::kind::upsert ? "u" : "d";
        for (auto c : cols)
            sig += ":" + std::to_string(c);
        auto it = by_signature.find(sig);
        if (it != by_signature.end())
            return groups[it->second];
        row_group g;
        g.k = k;
        g.cols = cols;
        g.binary = binary;
        g.signature = sig;
        by_signature.emplace(sig, groups.size());
        groups.push_back(std::move(g));
        return groups.back();
    }
    std::size_t index_of(const row_group& g) const { return by_signature.at(g.signature); }
};

/// `unix_us` as PostgreSQL timestamptz text: "2024-01-02 03:04:05.000006+00".
std::string iso_timestamp(std::uint64_t unix_us);

/// A PostgreSQL array literal from a JSON array: {a,"b c",NULL,{1,2}}.
void json_array_literal(const json::document& d, const json::node& n, std::string& out);

/// The COPY FROM STDIN data of `rows` of `g`: PGCOPY binary (header, tuples, trailer) when the
/// group is binary, else text format (tab-separated, \N for NULL, escaped).
std::string copy_stream(const row_group& g, const std::vector<std::size_t>& rows);

}  // namespace trib::connectors::postgres
