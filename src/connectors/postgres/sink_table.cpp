#include "connectors/postgres/sink_table.h"

#include <algorithm>

#include "core/parse_number.h"

namespace trib::connectors::postgres {

status sink_table::load_columns(db_conn& c) {
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
result<std::vector<std::vector<std::string>>> sink_table::unique_keys(db_conn& c) {
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

bool sink_table::has_unique(const std::vector<std::vector<std::string>>& keys,
                            std::vector<std::string> cols) {
    std::sort(cols.begin(), cols.end());
    return std::find(keys.begin(), keys.end(), cols) != keys.end();
}

status sink_table::create_append_table(db_conn& c) {
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

status sink_table::setup_append(db_conn& c) {
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
                fits = ac.oid == oid_timestamptz || ac.oid == oid_timestamp || ac.oid == oid_int8;
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

status sink_table::setup_mapped(db_conn& c) {
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

std::string sink_table::column_list(const row_group& g) const {
    std::string s;
    for (std::size_t i = 0; i < g.cols.size(); ++i) {
        if (i)
            s += ", ";
        s += quote_ident(o.mode == sink_mode::append ? append_cols[g.cols[i]].name
                                                     : columns[g.cols[i]].name);
    }
    return s;
}

std::string sink_table::conflict_clause(const row_group& g, bool append_conflict) const {
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

}  // namespace trib::connectors::postgres
