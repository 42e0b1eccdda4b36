// Over 1,000 lines: row encoding, SQL building and the write/bisection loop. Issue 24 moves the
// pure row encoders and SQL builders into files of their own with database-free tests; not done
// yet.
//
// The PostgreSQL sink: encodes a runtime batch into row groups (binary or text cells), writes
// them in one transaction with COPY or multi-row INSERT (staged through a temp table when an
// ON CONFLICT clause is needed with COPY), and when a row is bad finds it by bisection under
// savepoints so that the other rows still commit.

#include "connectors/postgres/sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <unordered_map>

#include "connectors/postgres/errors.h"
#include "connectors/postgres/json.h"
#include "connectors/postgres/pg.h"
#include "core/base64.h"
#include "core/header_json.h"
#include "core/hex.h"
#include "core/json_text.h"
#include "core/parse_number.h"

namespace trib::connectors::postgres {

namespace {

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

bool is_textual(std::uint32_t oid) {
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

std::string render_headers_json(const std::vector<header>& headers) {
    std::string out;
    append_headers_json(out, headers);
    return out;
}

std::string iso_timestamp(std::uint64_t unix_us) {
    std::time_t secs = static_cast<std::time_t>(unix_us / 1000000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06u+00", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<unsigned>(unix_us % 1000000));
    return buf;
}

// A PostgreSQL array literal from a JSON array: {a,"b c",NULL,{1,2}}.
void json_array_literal(const json::document& d, const json::node& n, std::string& out) {
    out += '{';
    bool first = true;
    for (std::int32_t i = n.first; i >= 0; i = d.at(i).next) {
        const json::node& e = d.at(i);
        if (!first)
            out += ',';
        first = false;
        switch (e.k) {
            case json::kind::null:
                out += "NULL";
                break;
            case json::kind::boolean:
                out += e.b ? "true" : "false";
                break;
            case json::kind::number:
                out += e.text;
                break;
            case json::kind::array:
                json_array_literal(d, e, out);
                break;
            case json::kind::string:
            case json::kind::object: {
                std::string s;
                if (e.k == json::kind::string)
                    s = std::string(e.text);
                else
                    d.write(e, s);
                out += '"';
                for (char c : s) {
                    if (c == '"' || c == '\\')
                        out += '\\';
                    out += c;
                }
                out += '"';
                break;
            }
        }
    }
    out += '}';
}

}  // namespace

// ---- the implementation -----------------------------------------------------------------------

struct postgres_sink::impl {
    sink_options& o;
    sink_stats& stats;
    qualified_name table;
    std::unique_ptr<conn_pool> pool;
    std::vector<column_info> columns;
    std::map<std::string, std::size_t> column_by_name;
    // append mode
    std::vector<append_column> append_cols;
    bool id_unique = false;
    // mapped mode
    std::vector<std::size_t> key_cols;  // upsert / delete key (indices into columns)
    std::vector<std::pair<std::size_t, std::string>> mapping;  // column, dotted path
    std::optional<std::size_t> message_id_col;
    json::document doc;  // reused per message (write() is not re-entrant per instance)
    std::string scratch;

    impl(sink_options& opts, sink_stats& st) : o(opts), stats(st) {}

    bool keyed() const {
        return o.mode == sink_mode::mapped &&
               (o.upsert == upsert_mode::key || o.envelope == envelope_kind::debezium);
    }

    // ---- open --------------------------------------------------------------------------------

    status load_columns(db_conn& c) {
        auto r = c.exec_params(
            "SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "t.typcategory = 'A' FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            {table.sql().c_str()});
        if (!r)
            return unexpected(r.error().wrap("table " + table.text()));
        columns.clear();
        column_by_name.clear();
        for (int i = 0; i < r->rows(); ++i) {
            column_info ci;
            ci.name = r->str(i, 0);
            auto oid = parse_u32(r->value(i, 1));
            if (!oid) {
                return fail(errc::protocol_error, "type oid of column " + ci.name + " of " +
                                                      table.text() +
                                                      " is not a number: " + r->str(i, 1));
            }
            ci.oid = *oid;
            ci.type_sql = r->str(i, 2);
            ci.not_null = r->value(i, 3) == "t";
            ci.is_array = r->value(i, 4) == "t";
            column_by_name.emplace(ci.name, columns.size());
            columns.push_back(std::move(ci));
        }
        return ok();
    }

    // Column sets of the table's unique indexes without predicate or expressions (the ones an
    // ON CONFLICT (cols) clause can name).
    result<std::vector<std::vector<std::string>>> unique_keys(db_conn& c) {
        auto r = c.exec_params(
            "SELECT array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) k "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k ORDER BY a.attname), "
            "E'\\x1f') FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique "
            "AND i.indpred IS NULL AND i.indexprs IS NULL",
            {table.sql().c_str()});
        if (!r)
            return unexpected(r.error());
        std::vector<std::vector<std::string>> out;
        for (int i = 0; i < r->rows(); ++i) {
            std::vector<std::string> cols;
            std::string s = r->str(i, 0);
            std::size_t start = 0;
            while (start <= s.size()) {
                auto p = s.find('\x1f', start);
                cols.push_back(s.substr(start, p == std::string::npos ? p : p - start));
                if (p == std::string::npos)
                    break;
                start = p + 1;
            }
            out.push_back(std::move(cols));
        }
        return out;
    }

    bool has_unique(const std::vector<std::vector<std::string>>& keys,
                    std::vector<std::string> cols) {
        std::sort(cols.begin(), cols.end());
        return std::find(keys.begin(), keys.end(), cols) != keys.end();
    }

    status create_append_table(db_conn& c) {
        if (!table.schema.empty()) {
            TRIB_TRY(c.exec("CREATE SCHEMA IF NOT EXISTS " + quote_ident(table.schema)));
        }
        const char* payload_type = o.payload == payload_format::json   ? "JSONB"
                                   : o.payload == payload_format::text ? "TEXT"
                                                                       : "BYTEA";
        // The same table as Iggy's sink creates (plus iggy_headers when asked for).
        std::string sql =
            "CREATE TABLE IF NOT EXISTS " + table.sql() + " (id DECIMAL(39, 0) PRIMARY KEY";
        if (o.include_metadata) {
            sql +=
                ", iggy_offset BIGINT, iggy_timestamp TIMESTAMP WITH TIME ZONE, iggy_stream TEXT, "
                "iggy_topic TEXT, iggy_partition_id INTEGER";
        }
        if (o.include_checksum)
            sql += ", iggy_checksum BIGINT";
        if (o.include_origin_timestamp)
            sql += ", iggy_origin_timestamp TIMESTAMP WITH TIME ZONE";
        if (o.include_headers)
            sql += ", iggy_headers JSONB";
        sql += std::string(", payload ") + payload_type +
               ", created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW())";
        auto r = c.exec(sql);
        if (!r)
            return unexpected(r.error().wrap("create table " + table.text()));
        return ok();
    }

    status setup_append(db_conn& c) {
        append_cols.clear();
        auto add = [&](acol w, const char* name) { append_cols.push_back({w, name, 0}); };
        add(acol::id, "id");
        if (o.include_metadata) {
            add(acol::offset, "iggy_offset");
            add(acol::timestamp, "iggy_timestamp");
            add(acol::stream, "iggy_stream");
            add(acol::topic, "iggy_topic");
            add(acol::partition, "iggy_partition_id");
        }
        if (o.include_checksum)
            add(acol::checksum, "iggy_checksum");
        if (o.include_origin_timestamp)
            add(acol::origin_ts, "iggy_origin_timestamp");
        if (o.include_headers)
            add(acol::headers, "iggy_headers");
        add(acol::payload, "payload");
        std::vector<std::string> problems;
        for (auto& ac : append_cols) {
            auto it = column_by_name.find(ac.name);
            if (it == column_by_name.end()) {
                problems.push_back("column '" + ac.name + "' is missing");
                continue;
            }
            ac.oid = columns[it->second].oid;
            bool fits = true;
            switch (ac.what) {
                case acol::id:
                    fits = ac.oid == oid_numeric || ac.oid == oid_uuid || is_textual(ac.oid);
                    break;
                case acol::offset:
                case acol::checksum:
                    fits = ac.oid == oid_int8 || ac.oid == oid_numeric || is_textual(ac.oid);
                    break;
                case acol::timestamp:
                case acol::origin_ts:
                    fits =
                        ac.oid == oid_timestamptz || ac.oid == oid_timestamp || ac.oid == oid_int8;
                    break;
                case acol::stream:
                case acol::topic:
                    fits = is_textual(ac.oid);
                    break;
                case acol::partition:
                    fits = ac.oid == oid_int4 || ac.oid == oid_int8;
                    break;
                case acol::headers:
                    fits = ac.oid == oid_jsonb || ac.oid == oid_json || is_textual(ac.oid);
                    break;
                case acol::payload:
                    fits = ac.oid == oid_bytea || ac.oid == oid_jsonb || ac.oid == oid_json ||
                           is_textual(ac.oid);
                    break;
            }
            if (!fits) {
                problems.push_back("column '" + ac.name + "' has unsupported type " +
                                   columns[it->second].type_sql);
            }
        }
        if (!problems.empty()) {
            std::string msg = "table " + table.text() + " does not fit append mode: ";
            for (std::size_t i = 0; i < problems.size(); ++i)
                msg += (i ? "; " : "") + problems[i];
            return fail(errc::failed_precondition, msg);
        }
        TRIB_ASSIGN_OR_RETURN(auto keys, unique_keys(c));
        id_unique = has_unique(keys, {"id"});
        return ok();
    }

    status setup_mapped(db_conn& c) {
        mapping.clear();
        key_cols.clear();
        message_id_col.reset();
        std::vector<std::string> problems;
        for (const auto& [col, path] : o.field_mapping) {
            auto it = column_by_name.find(col);
            if (it == column_by_name.end())
                problems.push_back("field_mapping names column '" + col + "' which is missing");
            else
                mapping.emplace_back(it->second, path.empty() ? col : path);
        }
        TRIB_ASSIGN_OR_RETURN(auto uniques, unique_keys(c));
        if (keyed()) {
            std::vector<std::string> keys = o.upsert_key;
            if (keys.empty()) {
                auto r = c.exec_params(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                    "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND "
                    "i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
                    {table.sql().c_str()});
                if (!r)
                    return unexpected(r.error());
                for (int i = 0; i < r->rows(); ++i)
                    keys.push_back(r->str(i, 0));
                if (keys.empty())
                    problems.push_back("upserts need upsert_key or a primary key on the table");
            }
            for (const auto& k : keys) {
                auto it = column_by_name.find(k);
                if (it == column_by_name.end())
                    problems.push_back("upsert_key column '" + k + "' is missing");
                else
                    key_cols.push_back(it->second);
            }
            if (!keys.empty() && key_cols.size() == keys.size() && !has_unique(uniques, keys)) {
                problems.push_back("no unique index or primary key on the upsert_key columns");
            }
        }
        if (o.upsert == upsert_mode::message_id) {
            auto it = column_by_name.find(o.message_id_column);
            if (it == column_by_name.end()) {
                problems.push_back("message_id_column '" + o.message_id_column + "' is missing");
            } else {
                message_id_col = it->second;
                if (!has_unique(uniques, {o.message_id_column}))
                    problems.push_back("message_id_column '" + o.message_id_column +
                                       "' has no unique index");
            }
        }
        if (!problems.empty()) {
            std::string msg = "table " + table.text() + " does not fit mapped mode: ";
            for (std::size_t i = 0; i < problems.size(); ++i)
                msg += (i ? "; " : "") + problems[i];
            return fail(errc::failed_precondition, msg);
        }
        return ok();
    }

    status open() {
        TRIB_ASSIGN_OR_RETURN(table, parse_qualified_name(o.target_table));
        pool = std::make_unique<conn_pool>(o.conn, o.max_connections);
        auto lease = pool->acquire();
        if (!lease)
            return unexpected(lease.error());
        db_conn& c = **lease;
        if (o.auto_create_table && o.mode == sink_mode::append) {
            TRIB_TRY(create_append_table(c));
        }
        TRIB_TRY(load_columns(c));
        if (o.mode == sink_mode::append) {
            TRIB_TRY(setup_append(c));
        } else {
            TRIB_TRY(setup_mapped(c));
        }
        return ok();
    }

    // ---- encoding ----------------------------------------------------------------------------

    bool append_binary() const {
        return o.method == write_method::insert || o.copy == copy_format::binary;
    }

    void encode_append(const sink_batch& b, batch_plan& plan) {
        std::vector<std::size_t> cols(append_cols.size());
        for (std::size_t i = 0; i < cols.size(); ++i)
            cols[i] = i;
        bool bin = append_binary();
        row_group& g = plan.group(row_group::kind::upsert, cols, bin);
        const auto& msgs = b.messages->messages;
        g.msg.reserve(msgs.size());
        g.alive.reserve(msgs.size());
        g.cells.reserve(msgs.size() * cols.size());
        g.data.reserve(b.messages->payload_bytes() +
                       msgs.size() * (64 + b.stream.size() + b.topic.size()));
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            const message& m = msgs[i];
            g.begin_row(static_cast<std::uint32_t>(i));
            for (const auto& ac : append_cols) {
                if (bin)
                    append_binary_cell(g, ac, m, b);
                else
                    append_text_cell(g, ac, m, b);
            }
        }
    }

    void append_binary_cell(row_group& g, const append_column& ac, const message& m,
                            const sink_batch& b) {
        std::string& d = g.data;
        std::size_t st = g.begin_cell();
        auto timestamp = [&](std::uint64_t us) {
            if (ac.oid == oid_int8)
                binary::put64(d, us);
            else
                binary::put64(d, static_cast<std::uint64_t>(binary::pg_timestamp(us)));
        };
        switch (ac.what) {
            case acol::id:
                if (ac.oid == oid_numeric)
                    binary::numeric_u128(d, m.id.hi, m.id.lo);
                else if (ac.oid == oid_uuid) {
                    binary::put64(d, m.id.hi);
                    binary::put64(d, m.id.lo);
                } else
                    d += u128_to_decimal(m.id.hi, m.id.lo);
                break;
            case acol::offset:
                if (ac.oid == oid_int8)
                    binary::put64(d, m.offset);
                else if (ac.oid == oid_numeric)
                    binary::numeric_u128(d, 0, m.offset);
                else
                    d += std::to_string(m.offset);
                break;
            case acol::timestamp:
                timestamp(m.timestamp_us);
                break;
            case acol::origin_ts:
                if (m.origin_timestamp_us == 0) {
                    g.null();
                    return;
                }
                timestamp(m.origin_timestamp_us);
                break;
            case acol::stream:
                d.append(b.stream);
                break;
            case acol::topic:
                d.append(b.topic);
                break;
            case acol::partition:
                if (ac.oid == oid_int8)
                    binary::put64(d, b.partition);
                else
                    binary::put32(d, b.partition);
                break;
            case acol::checksum:
                // The pipeline's message does not carry Iggy's frame checksum.
                g.null();
                return;
            case acol::headers:
                if (m.headers.empty()) {
                    g.null();
                    return;
                }
                if (ac.oid == oid_jsonb)
                    d.push_back('\1');
                append_headers_json(d, m.headers);
                break;
            case acol::payload:
                if (ac.oid == oid_jsonb)
                    d.push_back('\1');
                d.append(m.payload);
                break;
        }
        g.end_cell(st);
    }

    void append_text_cell(row_group& g, const append_column& ac, const message& m,
                          const sink_batch& b) {
        auto ts = [&](std::uint64_t us) {
            return ac.oid == oid_int8 ? std::to_string(us) : iso_timestamp(us);
        };
        switch (ac.what) {
            case acol::id:
                if (ac.oid == oid_uuid) {
                    char buf[40];
                    std::snprintf(buf, sizeof buf, "%016llx%016llx",
                                  static_cast<unsigned long long>(m.id.hi),
                                  static_cast<unsigned long long>(m.id.lo));
                    g.text(buf);
                } else {
                    g.text(u128_to_decimal(m.id.hi, m.id.lo));
                }
                return;
            case acol::offset:
                g.text(std::to_string(m.offset));
                return;
            case acol::timestamp:
                g.text(ts(m.timestamp_us));
                return;
            case acol::origin_ts:
                if (m.origin_timestamp_us == 0)
                    g.null();
                else
                    g.text(ts(m.origin_timestamp_us));
                return;
            case acol::stream:
                g.text(b.stream);
                return;
            case acol::topic:
                g.text(b.topic);
                return;
            case acol::partition:
                g.text(std::to_string(b.partition));
                return;
            case acol::checksum:
                g.null();
                return;
            case acol::headers:
                if (m.headers.empty())
                    g.null();
                else
                    g.text(render_headers_json(m.headers));
                return;
            case acol::payload:
                if (ac.oid == oid_bytea)
                    g.text("\\x" + hex_encode(m.payload));
                else
                    g.text(m.payload);
                return;
        }
    }

    // One JSON value as the text input of a column; false with `why` if it cannot be.
    bool value_text(const json::node& n, const column_info& col, std::string& out,
                    std::string& why) {
        out.clear();
        if (col.oid == oid_json || col.oid == oid_jsonb) {
            doc.write(n, out);
            return true;
        }
        switch (n.k) {
            case json::kind::null:
                return true;  // the caller writes NULL
            case json::kind::boolean:
                out = n.b ? "true" : "false";
                return true;
            case json::kind::number:
                out.assign(n.text);
                return true;
            case json::kind::string:
                if (col.oid == oid_bytea) {
                    if (n.text.substr(0, 2) == "\\x") {
                        out.assign(n.text);
                        return true;
                    }
                    std::string raw;
                    if (!decode_base64(n.text, raw)) {
                        why = "column " + col.name + " is bytea and the value is not base64";
                        return false;
                    }
                    out = "\\x" + hex_encode(raw);
                    return true;
                }
                if (n.text.find('\0') != std::string_view::npos) {
                    why = "column " + col.name + ": text cannot hold a NUL character";
                    return false;
                }
                out.assign(n.text);
                return true;
            case json::kind::array:
                if (col.is_array) {
                    json_array_literal(doc, n, out);
                    return true;
                }
                doc.write(n, out);
                return true;
            case json::kind::object:
                doc.write(n, out);
                return true;
        }
        return true;
    }

    // Adds one row of `obj`'s fields (or only the key fields) to a group; the message is
    // rejected with the reason if a value does not fit. Returns the key text when keyed.
    bool add_row(batch_plan& plan, row_group::kind k, const json::node& obj, std::uint32_t mi,
                 const message& m, bool keys_only, std::string& key_out) {
        std::vector<std::pair<std::size_t, const json::node*>> fields;
        std::string why;
        if (obj.k != json::kind::object) {
            plan.rejected.push_back(
                {mi, error(errc::invalid_argument, "message is not a JSON object (mapped mode)")});
            return false;
        }
        if (keys_only) {
            for (auto kc : key_cols) {
                const json::node* n = doc.member(obj, columns[kc].name);
                if (auto mp = std::find_if(mapping.begin(), mapping.end(),
                                           [&](const auto& p) { return p.first == kc; });
                    mp != mapping.end())
                    n = doc.path(obj, mp->second);
                fields.emplace_back(kc, n);
            }
        } else if (!mapping.empty()) {
            for (const auto& [ci, path] : mapping) {
                if (const json::node* n = doc.path(obj, path))
                    fields.emplace_back(ci, n);
            }
        } else {
            for (std::int32_t i = obj.first; i >= 0; i = doc.at(i).next) {
                const json::node& f = doc.at(i);
                auto it = column_by_name.find(std::string(f.key));
                if (it == column_by_name.end()) {
                    if (o.strict_fields) {
                        plan.rejected.push_back(
                            {mi, error(errc::invalid_argument, "field '" + std::string(f.key) +
                                                                   "' names no column of " +
                                                                   table.text())});
                        return false;
                    }
                    continue;
                }
                fields.emplace_back(it->second, &f);
            }
        }
        if (!keys_only && message_id_col) {
            fields.erase(std::remove_if(fields.begin(), fields.end(),
                                        [&](const auto& f) { return f.first == *message_id_col; }),
                         fields.end());
            fields.emplace_back(*message_id_col, nullptr);
        }
        std::sort(fields.begin(), fields.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        fields.erase(std::unique(fields.begin(), fields.end(),
                                 [](const auto& a, const auto& b) { return a.first == b.first; }),
                     fields.end());
        if (keyed()) {
            for (auto kc : key_cols) {
                auto f = std::find_if(fields.begin(), fields.end(),
                                      [&](const auto& p) { return p.first == kc; });
                if (f == fields.end() || f->second == nullptr || f->second->k == json::kind::null) {
                    plan.rejected.push_back(
                        {mi, error(errc::invalid_argument,
                                   "key column '" + columns[kc].name + "' is missing or null")});
                    return false;
                }
            }
        }
        if (fields.empty()) {
            plan.rejected.push_back(
                {mi, error(errc::invalid_argument,
                           "no field of the message names a column of " + table.text())});
            return false;
        }
        std::vector<std::size_t> cols;
        cols.reserve(fields.size());
        for (const auto& f : fields)
            cols.push_back(f.first);
        row_group& g = plan.group(k, cols, false);
        std::size_t data0 = g.data.size();
        std::size_t cells0 = g.cells.size();
        g.begin_row(mi);
        for (const auto& [ci, n] : fields) {
            if (n == nullptr) {  // the message id column
                g.text(u128_to_decimal(m.id.hi, m.id.lo));
                continue;
            }
            if (n->k == json::kind::null) {
                g.null();
                continue;
            }
            if (!value_text(*n, columns[ci], scratch, why)) {
                g.drop_partial_row(data0, cells0);
                plan.rejected.push_back({mi, error(errc::invalid_argument, why)});
                return false;
            }
            g.text(scratch);
        }
        if (keyed()) {
            key_out.clear();
            std::size_t row = g.rows() - 1;
            for (auto kc : key_cols) {
                auto pos = static_cast<std::size_t>(std::find(g.cols.begin(), g.cols.end(), kc) -
                                                    g.cols.begin());
                key_out += g.value(row, pos);
                key_out += '\x1f';
            }
            // A later change of the same row supersedes this one within the batch (one
            // statement cannot touch a row twice with ON CONFLICT DO UPDATE).
            std::size_t gi = plan.index_of(g);
            auto [it, inserted] = plan.last_by_key.try_emplace(key_out, gi, row);
            if (!inserted) {
                plan.groups[it->second.first].alive[it->second.second] = 0;
                it->second = {gi, row};
            }
        }
        return true;
    }

    void encode_mapped(const sink_batch& b, batch_plan& plan) {
        const auto& msgs = b.messages->messages;
        std::string key, before_key;
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            auto mi = static_cast<std::uint32_t>(i);
            const message& m = msgs[i];
            if (auto st = doc.parse(m.payload); !st) {
                plan.rejected.push_back({i, st.error()});
                continue;
            }
            const json::node* root = &doc.root();
            if (o.envelope == envelope_kind::none) {
                (void)add_row(plan, row_group::kind::upsert, *root, mi, m, false, key);
                continue;
            }
            // Debezium: {"before", "after", "op", ...}, or wrapped as {"schema", "payload"}.
            if (const json::node* p = doc.member(*root, "payload");
                p != nullptr && p->k == json::kind::object && doc.member(*root, "schema")) {
                root = p;
            }
            const json::node* op = doc.member(*root, "op");
            if (op == nullptr || op->k != json::kind::string) {
                plan.rejected.push_back(
                    {i, error(errc::invalid_argument, "change envelope without \"op\"")});
                continue;
            }
            const json::node* before = doc.member(*root, "before");
            const json::node* after = doc.member(*root, "after");
            std::string_view o_ = op->text;
            if (o_ == "c" || o_ == "r" || o_ == "u") {
                if (after == nullptr || after->k != json::kind::object) {
                    plan.rejected.push_back(
                        {i, error(errc::invalid_argument, "change without \"after\" image")});
                    continue;
                }
                if (o_ == "u" && before != nullptr && before->k == json::kind::object) {
                    // A key change: the old row goes away, the new one is upserted.
                    bool key_changed = false;
                    for (auto kc : key_cols) {
                        const json::node* a = doc.member(*after, columns[kc].name);
                        const json::node* bn = doc.member(*before, columns[kc].name);
                        if (bn == nullptr)
                            continue;  // the before image does not carry the key: unchanged
                        std::string sa, sb, why;
                        if (a != nullptr)
                            (void)value_text(*a, columns[kc], sa, why);
                        (void)value_text(*bn, columns[kc], sb, why);
                        if (a == nullptr || sa != sb)
                            key_changed = true;
                    }
                    if (key_changed &&
                        !add_row(plan, row_group::kind::remove, *before, mi, m, true, before_key))
                        continue;
                }
                (void)add_row(plan, row_group::kind::upsert, *after, mi, m, false, key);
            } else if (o_ == "d") {
                if (before == nullptr || before->k != json::kind::object) {
                    plan.rejected.push_back(
                        {i, error(errc::invalid_argument,
                                  "delete without \"before\" image (REPLICA IDENTITY NOTHING?)")});
                    continue;
                }
                (void)add_row(plan, row_group::kind::remove, *before, mi, m, true, key);
            } else if (o_ == "t") {
                for (auto& g : plan.groups)
                    std::fill(g.alive.begin(), g.alive.end(), 0);
                plan.last_by_key.clear();
                plan.truncate = true;
            } else if (o_ == "m") {
                continue;  // a logical decoding message: nothing to apply
            } else {
                plan.rejected.push_back(
                    {i, error(errc::invalid_argument, "unknown op \"" + std::string(o_) + "\"")});
            }
        }
    }

    // ---- statements --------------------------------------------------------------------------

    std::string column_list(const row_group& g) const {
        std::string s;
        for (std::size_t i = 0; i < g.cols.size(); ++i) {
            if (i)
                s += ", ";
            s += quote_ident(o.mode == sink_mode::append ? append_cols[g.cols[i]].name
                                                         : columns[g.cols[i]].name);
        }
        return s;
    }

    std::string conflict_clause(const row_group& g, bool append_conflict) const {
        if (o.mode == sink_mode::append) {
            return append_conflict && id_unique ? " ON CONFLICT (\"id\") DO NOTHING" : "";
        }
        if (o.upsert == upsert_mode::message_id) {
            return " ON CONFLICT (" + quote_ident(o.message_id_column) + ") DO NOTHING";
        }
        if (!keyed())
            return "";
        std::string keys, sets;
        for (std::size_t i = 0; i < key_cols.size(); ++i)
            keys += (i ? ", " : "") + quote_ident(columns[key_cols[i]].name);
        for (auto c : g.cols) {
            if (std::find(key_cols.begin(), key_cols.end(), c) != key_cols.end())
                continue;
            const std::string q = quote_ident(columns[c].name);
            sets += (sets.empty() ? "" : ", ") + q + " = EXCLUDED." + q;
        }
        return " ON CONFLICT (" + keys + ")" +
               (sets.empty() ? std::string(" DO NOTHING") : " DO UPDATE SET " + sets);
    }

    std::string copy_stream(const row_group& g, const std::vector<std::size_t>& rows) const {
        std::string s;
        if (g.binary) {
            s.reserve(binary::copy_header.size() + 2 + g.data.size() + g.cells.size() * 4 +
                      rows.size() * 2);
            s.append(binary::copy_header);
            for (auto r : rows) {
                binary::put16(s, static_cast<std::uint16_t>(g.width()));
                for (std::size_t c = 0; c < g.width(); ++c) {
                    const cell& ce = g.cells[r * g.width() + c];
                    binary::put32(s, static_cast<std::uint32_t>(ce.len));
                    if (ce.len > 0)
                        s.append(g.data, ce.off, static_cast<std::size_t>(ce.len));
                }
            }
            binary::put16(s, 0xffff);
        } else {
            s.reserve(g.data.size() + g.data.size() / 8 + rows.size() * g.width());
            for (auto r : rows) {
                for (std::size_t c = 0; c < g.width(); ++c) {
                    if (c)
                        s += '\t';
                    if (g.is_null(r, c))
                        s += "\\N";
                    else
                        copy_text_escape(s, g.value(r, c));
                }
                s += '\n';
            }
        }
        return s;
    }

    std::string stage_name(db_conn& c, const row_group& g) const {
        auto it = c.session().find("stage:" + g.signature);
        return it == c.session().end() ? std::string() : it->second;
    }

    bool needs_stage(const row_group& g, bool append_conflict) const {
        return o.method == write_method::copy && g.k == row_group::kind::upsert &&
               !conflict_clause(g, append_conflict).empty();
    }

    // Temp tables for COPY + INSERT ... SELECT ... ON CONFLICT, created outside the batch's
    // transaction so that a rollback does not take them away.
    status ensure_stages(db_conn& c, const batch_plan& plan, bool append_conflict) {
        for (const auto& g : plan.groups) {
            if (!needs_stage(g, append_conflict) || !stage_name(c, g).empty())
                continue;
            std::string name = "trib_stage_" + std::to_string(c.session().size());
            auto r = c.exec("CREATE TEMP TABLE IF NOT EXISTS " + quote_ident(name) +
                            " ON COMMIT DELETE ROWS AS SELECT " + column_list(g) + " FROM " +
                            table.sql() + " WITH NO DATA");
            if (!r)
                return unexpected(r.error().wrap("create staging table"));
            c.session()["stage:" + g.signature] = name;
        }
        return ok();
    }

    std::size_t rows_per_insert(const row_group& g) const {
        std::size_t by_params = 65535 / std::max<std::size_t>(1, g.width());
        return std::max<std::size_t>(1, std::min(o.batch_size, by_params));
    }

    status apply(db_conn& c, const row_group& g, const std::vector<std::size_t>& rows,
                 bool append_conflict, bool isolating) {
        if (rows.empty())
            return ok();
        const std::string cols = column_list(g);
        if (g.k == row_group::kind::remove)
            return apply_delete(c, g, rows);
        const std::string conflict = conflict_clause(g, append_conflict);
        if (o.method == write_method::copy) {
            std::string fmt = g.binary ? " (FORMAT binary)" : "";
            std::string stream = copy_stream(g, rows);
            if (conflict.empty()) {
                auto r =
                    c.copy_in("COPY " + table.sql() + " (" + cols + ") FROM STDIN" + fmt, stream);
                if (!r)
                    return unexpected(r.error());
                return ok();
            }
            std::string stage = quote_ident(stage_name(c, g));
            auto r = c.copy_in("COPY " + stage + " (" + cols + ") FROM STDIN" + fmt, stream);
            if (!r)
                return unexpected(r.error());
            auto ins = c.exec("INSERT INTO " + table.sql() + " (" + cols + ") SELECT " + cols +
                              " FROM " + stage + conflict);
            if (!ins)
                return unexpected(ins.error());
            if (isolating) {  // the next attempt in this transaction must start empty
                TRIB_TRY(c.exec("DELETE FROM " + stage));
            }
            return ok();
        }
        // Multi-row INSERT with parameters (binary cells in append mode).
        std::size_t per = rows_per_insert(g);
        std::vector<const char*> values;
        std::vector<int> lengths, formats;
        for (std::size_t start = 0; start < rows.size(); start += per) {
            std::size_t n = std::min(per, rows.size() - start);
            std::string sql = "INSERT INTO " + table.sql() + " (" + cols + ") VALUES ";
            values.clear();
            lengths.clear();
            formats.clear();
            std::size_t p = 1;
            for (std::size_t i = 0; i < n; ++i) {
                sql += i ? ",(" : "(";
                std::size_t r = rows[start + i];
                for (std::size_t col = 0; col < g.width(); ++col) {
                    if (col)
                        sql += ',';
                    sql += '$';
                    sql += std::to_string(p++);
                    const cell& ce = g.cells[r * g.width() + col];
                    values.push_back(ce.len < 0 ? nullptr : g.data.data() + ce.off);
                    lengths.push_back(ce.len < 0 ? 0 : ce.len);
                    formats.push_back(g.binary ? 1 : 0);
                }
                sql += ')';
            }
            sql += conflict;
            auto res = c.exec_params(sql, values, lengths, formats);
            if (!res)
                return unexpected(res.error());
        }
        return ok();
    }

    status apply_delete(db_conn& c, const row_group& g, const std::vector<std::size_t>& rows) {
        std::size_t per = rows_per_insert(g);
        std::string alias_cols, match;
        for (std::size_t i = 0; i < g.width(); ++i) {
            const std::string q = quote_ident(columns[g.cols[i]].name);
            alias_cols += (i ? ", " : "") + q;
            match += (i ? " AND t." : "t.") + q + " = v." + q;
        }
        std::vector<const char*> values;
        for (std::size_t start = 0; start < rows.size(); start += per) {
            std::size_t n = std::min(per, rows.size() - start);
            std::string sql = "DELETE FROM " + table.sql() + " t USING (VALUES ";
            values.clear();
            std::size_t p = 1;
            for (std::size_t i = 0; i < n; ++i) {
                sql += i ? ",(" : "(";
                std::size_t r = rows[start + i];
                for (std::size_t col = 0; col < g.width(); ++col) {
                    if (col)
                        sql += ',';
                    sql += '$' + std::to_string(p++) + "::" + columns[g.cols[col]].type_sql;
                    const cell& ce = g.cells[r * g.width() + col];
                    values.push_back(ce.len < 0 ? nullptr : g.data.data() + ce.off);
                }
                sql += ')';
            }
            sql += ") AS v(" + alias_cols + ") WHERE " + match;
            auto res = c.exec_params(sql, values);
            if (!res)
                return unexpected(res.error());
        }
        return ok();
    }

    // Bisection under savepoints: a subset that fails with a row error is split until the bad
    // rows stand alone; those are rejected, every other row is written.
    status isolate(db_conn& c, const row_group& g, const std::vector<std::size_t>& rows,
                   bool append_conflict, std::vector<message_error>& rejected) {
        if (rows.empty())
            return ok();
        TRIB_TRY(c.exec("SAVEPOINT trib_isolate"));
        auto r = apply(c, g, rows, append_conflict, true);
        if (r) {
            TRIB_TRY(c.exec("RELEASE SAVEPOINT trib_isolate"));
            return ok();
        }
        TRIB_TRY(c.exec("ROLLBACK TO SAVEPOINT trib_isolate; RELEASE SAVEPOINT trib_isolate"));
        if (!is_row_error(r.error()))
            return r;
        if (rows.size() == 1) {
            rejected.push_back({g.msg[rows[0]], r.error()});
            return ok();
        }
        std::size_t half = rows.size() / 2;
        std::vector<std::size_t> a(rows.begin(), rows.begin() + static_cast<long>(half));
        std::vector<std::size_t> b(rows.begin() + static_cast<long>(half), rows.end());
        TRIB_TRY(isolate(c, g, a, append_conflict, rejected));
        return isolate(c, g, b, append_conflict, rejected);
    }

    status run_transaction(db_conn& c, const batch_plan& plan, bool append_conflict, bool isolating,
                           std::vector<message_error>& rejected) {
        TRIB_TRY(ensure_stages(c, plan, append_conflict));
        auto body = [&]() -> status {
            TRIB_TRY(c.exec("BEGIN"));
            if (plan.truncate) {
                TRIB_TRY(c.exec("TRUNCATE " + table.sql()));
            }
            // Deletes before upserts: after de-duplication each key has one change, and a
            // deleted row may free a unique value an upserted row takes.
            for (int pass = 0; pass < 2; ++pass) {
                auto want = pass == 0 ? row_group::kind::remove : row_group::kind::upsert;
                for (const auto& g : plan.groups) {
                    if (g.k != want)
                        continue;
                    std::vector<std::size_t> rows;
                    rows.reserve(g.rows());
                    for (std::size_t r = 0; r < g.rows(); ++r) {
                        if (g.alive[r])
                            rows.push_back(r);
                    }
                    if (isolating) {
                        TRIB_TRY(isolate(c, g, rows, append_conflict, rejected));
                    } else {
                        TRIB_TRY(apply(c, g, rows, append_conflict, false));
                    }
                }
            }
            TRIB_TRY(c.exec("COMMIT"));
            return ok();
        };
        auto st = body();
        if (!st)
            c.rollback_quietly();
        return st;
    }

    std::size_t alive_rows(const batch_plan& plan) const {
        std::size_t n = 0;
        for (const auto& g : plan.groups)
            n += static_cast<std::size_t>(std::count(g.alive.begin(), g.alive.end(), 1));
        return n;
    }

    result<write_outcome> write(const sink_batch& b) {
        write_outcome out;
        if (b.messages == nullptr || b.messages->empty())
            return out;
        batch_plan plan;
        if (o.mode == sink_mode::append)
            encode_append(b, plan);
        else
            encode_mapped(b, plan);
        if (alive_rows(plan) == 0 && !plan.truncate) {
            out.rejected = std::move(plan.rejected);
            stats.rows_rejected += out.rejected.size();
            return out;
        }
        auto lease = pool->acquire();
        if (!lease)
            return unexpected(lease.error());
        db_conn& c = **lease;
        bool append_conflict = o.mode == sink_mode::append && o.method == write_method::insert;
        std::vector<message_error> rejected;
        status st = run_transaction(c, plan, append_conflict, false, rejected);
        if (!st && o.mode == sink_mode::append && !append_conflict && id_unique &&
            sqlstate_text(st.error().vendor_code()) == "23505") {
            // A replay of messages already written (a crash between COMMIT and the offset
            // commit): write again, skipping ids that are there.
            append_conflict = true;
            st = run_transaction(c, plan, append_conflict, false, rejected);
        }
        if (!st && is_row_error(st.error())) {
            stats.isolations++;
            rejected.clear();
            st = run_transaction(c, plan, append_conflict, true, rejected);
        }
        if (!st) {
            if (is_connection_error(st.error()) || !c.ok()) {
                lease->discard();
                stats.reconnects++;
            }
            return unexpected(st.error().wrap("write to " + table.text()));
        }
        stats.transactions++;
        out.rejected = std::move(plan.rejected);
        out.rejected.insert(out.rejected.end(), rejected.begin(), rejected.end());
        std::sort(out.rejected.begin(), out.rejected.end(),
                  [](const auto& a, const auto& b2) { return a.index < b2.index; });
        stats.rows_rejected += out.rejected.size();
        stats.rows_written += b.messages->size() - out.rejected.size();
        if (o.verbose_logging) {
            spdlog::info("postgres sink: wrote {} of {} messages to {}",
                         b.messages->size() - out.rejected.size(), b.messages->size(),
                         table.text());
        }
        return out;
    }
};

postgres_sink::postgres_sink(sink_options opts) : opts_(std::move(opts)) {}

postgres_sink::~postgres_sink() {
    close();
}

status postgres_sink::open(connector_context&) {
    return open_impl();
}

status postgres_sink::open_impl() {
    impl_ = std::make_unique<impl>(opts_, stats_);
    auto st = impl_->open();
    if (!st) {
        impl_.reset();
        return st;
    }
    return ok();
}

result<write_outcome> postgres_sink::write(const sink_batch& batch) {
    if (!impl_) {
        // The runtime closes and reopens the sink after a lost connection; when PostgreSQL was
        // still down that reopen failed. Open again here so that the caller sees the
        // connection's error (retryable) and the batch is retried, not a fatal "not open".
        auto st = open_impl();
        if (!st)
            return unexpected(st.error().wrap("postgres sink: open"));
        stats_.reconnects++;
    }
    return impl_->write(batch);
}

void postgres_sink::close() {
    impl_.reset();
}

bool postgres_sink::idempotent() const {
    if (!impl_)
        return false;
    if (opts_.mode == sink_mode::append)
        return impl_->id_unique;
    return opts_.upsert != upsert_mode::none || opts_.envelope == envelope_kind::debezium;
}

}  // namespace trib::connectors::postgres
