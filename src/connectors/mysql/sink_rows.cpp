#include "connectors/mysql/sink_rows.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "core/base64.h"
#include "core/header_json.h"
#include "core/json_parse.h"
#include "core/json_path.h"
#include "core/message_id.h"

namespace trib::connectors::mysql {

namespace {

using rj_value = rapidjson::Value;

// One JSON value as a SQL literal for `col`. With `bytes_base64` (Debezium envelopes) a string
// for a binary column is base64 (Debezium's bytes), decoded here; false when it is not.
bool value_literal(std::string& out, const rj_value& v, const column_info& col, bool bytes_base64) {
    if (v.IsNull()) {
        out += "NULL";
    } else if (v.IsString() && col.binary && bytes_base64) {
        auto raw = base64_decode(std::string_view(v.GetString(), v.GetStringLength()));
        if (!raw)
            return false;
        append_literal(out, *raw, true);
    } else if (v.IsString()) {
        append_literal(out, std::string_view(v.GetString(), v.GetStringLength()), col.binary);
    } else if (v.IsBool()) {
        out += v.GetBool() ? "1" : "0";
    } else if (v.IsNumber()) {
        out += json_scalar_text(v).value_or("NULL");
    } else {
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        v.Accept(w);
        append_literal(out, std::string_view(sb.GetString(), sb.GetSize()), false);
    }
    return true;
}

std::string datetime_or_null(std::uint64_t us, bool quoted) {
    if (us == 0)
        return quoted ? "NULL" : "\\N";
    return quoted ? "'" + datetime_text(us) + "'" : datetime_text(us);
}

struct cell {
    std::size_t col;
    std::string literal;
};

// The row of `obj`'s fields (all mapped columns, or the key columns only).
bool object_row(const sink_options& o, const table_desc& t, const rj_value& obj, bool keys_only,
                std::vector<cell>& cells, std::string& why) {
    cells.clear();
    bool ok_values = true;
    auto add = [&](std::size_t col, const rj_value& v) {
        cell c{col, {}};
        if (!value_literal(c.literal, v, t.columns[col], o.envelope == envelope_kind::debezium)) {
            why = "column '" + t.columns[col].name + "' is binary and its value is not base64";
            ok_values = false;
        }
        cells.push_back(std::move(c));
    };
    if (keys_only) {
        for (std::size_t k : t.key_cols) {
            const rj_value* v = nullptr;
            for (const auto& [col, path] : t.mapping) {
                if (col == k)
                    v = json_member_at(obj, path);
            }
            if (t.mapping.empty() || v == nullptr) {
                auto it = obj.FindMember(t.columns[k].name.c_str());
                if (it != obj.MemberEnd())
                    v = &it->value;
            }
            if (v == nullptr) {
                why = "the key column '" + t.columns[k].name + "' is missing";
                return false;
            }
            add(k, *v);
        }
        return ok_values;
    }
    if (!t.mapping.empty()) {
        for (const auto& [col, path] : t.mapping) {
            if (const rj_value* v = json_member_at(obj, path))
                add(col, *v);
        }
    } else {
        for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
            std::string name(it->name.GetString(), it->name.GetStringLength());
            auto c = t.by_name.find(name);
            if (c == t.by_name.end()) {
                if (o.strict_fields) {
                    why = "field '" + name + "' names no column of " + t.table.text();
                    return false;
                }
                continue;
            }
            if (t.message_id_col && c->second == *t.message_id_col &&
                o.upsert == upsert_mode::message_id)
                continue;  // the message id wins over a payload field of that name
            add(c->second, it->value);
        }
    }
    if (!ok_values)
        return false;
    if (cells.empty()) {
        why = "no field of the message names a column of " + t.table.text();
        return false;
    }
    return true;
}

sql_row make_row(sql_row::kind k, std::vector<cell>& cells, std::uint32_t mi) {
    std::sort(cells.begin(), cells.end(),
              [](const cell& a, const cell& b) { return a.col < b.col; });
    sql_row r;
    r.k = k;
    r.msg = mi;
    r.tuple = "(";
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (i)
            r.tuple += ',';
        r.cols.push_back(cells[i].col);
        r.tuple += cells[i].literal;
    }
    r.tuple += ')';
    return r;
}

error bad_message(std::string why) {
    return error(errc::invalid_argument, retry_class::fatal, std::move(why));
}

}  // namespace

sql_row row_encoder::append_row(const sink_batch& b, const message& m, std::uint32_t index) const {
    sql_row r;
    r.msg = index;
    r.tuple = "(";
    bool first = true;
    for (const auto& [what, col] : t_.append_cols) {
        if (!first)
            r.tuple += ',';
        first = false;
        r.cols.push_back(col);
        switch (what) {
            case acol::id:
                r.tuple += to_decimal(m.id);
                break;
            case acol::offset:
                r.tuple += std::to_string(m.offset);
                break;
            case acol::timestamp:
                r.tuple += datetime_or_null(m.timestamp_us, true);
                break;
            case acol::stream:
                append_literal(r.tuple, b.stream);
                break;
            case acol::topic:
                append_literal(r.tuple, b.topic);
                break;
            case acol::partition:
                r.tuple += std::to_string(b.partition);
                break;
            case acol::checksum:
                r.tuple += "NULL";
                break;
            case acol::origin_ts:
                r.tuple += datetime_or_null(m.origin_timestamp_us, true);
                break;
            case acol::headers: {
                std::string h;
                append_headers_json(h, m.headers);
                append_literal(r.tuple, h);
                break;
            }
            case acol::payload:
                append_literal(r.tuple, m.payload, t_.columns[col].binary);
                break;
        }
    }
    r.tuple += ')';
    return r;
}

void append_tsv_row(std::string& out, const sink_options&, const table_desc& t, const sink_batch& b,
                    const message& m) {
    bool first = true;
    for (const auto& [what, col] : t.append_cols) {
        (void)col;
        if (!first)
            out += '\t';
        first = false;
        switch (what) {
            case acol::id:
                out += to_decimal(m.id);
                break;
            case acol::offset:
                out += std::to_string(m.offset);
                break;
            case acol::timestamp:
                out += datetime_or_null(m.timestamp_us, false);
                break;
            case acol::stream:
                append_tsv_field(out, b.stream);
                break;
            case acol::topic:
                append_tsv_field(out, b.topic);
                break;
            case acol::partition:
                out += std::to_string(b.partition);
                break;
            case acol::checksum:
                out += "\\N";
                break;
            case acol::origin_ts:
                out += datetime_or_null(m.origin_timestamp_us, false);
                break;
            case acol::headers: {
                std::string h;
                append_headers_json(h, m.headers);
                append_tsv_field(out, h);
                break;
            }
            case acol::payload:
                append_tsv_field(out, m.payload);
                break;
        }
    }
    out += '\n';
}

void row_encoder::encode(const sink_batch& b, row_plan& plan) {
    const auto& msgs = b.messages->messages;
    if (o_.mode == sink_mode::append) {
        plan.rows.reserve(plan.rows.size() + msgs.size());
        for (std::size_t i = 0; i < msgs.size(); ++i)
            plan.rows.push_back(append_row(b, msgs[i], static_cast<std::uint32_t>(i)));
        return;
    }
    rapidjson::Document doc;
    std::vector<cell> cells;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        const message& m = msgs[i];
        auto mi = static_cast<std::uint32_t>(i);
        auto reject = [&](std::string why) {
            plan.rejected.push_back({i, bad_message(std::move(why))});
        };
        if (auto st = parse_json_document(m.payload, doc); !st) {
            plan.rejected.push_back({i, st.error().wrap("payload is not JSON")});
            continue;
        }
        const rj_value* root = &doc;
        std::string why;
        if (o_.envelope == envelope_kind::debezium) {
            if (root->IsObject() && root->HasMember("payload") && root->HasMember("schema") &&
                (*root)["payload"].IsObject())
                root = &(*root)["payload"];
            if (!root->IsObject() || !root->HasMember("op") || !(*root)["op"].IsString()) {
                reject("not a change event (no \"op\")");
                continue;
            }
            std::string_view op((*root)["op"].GetString(), (*root)["op"].GetStringLength());
            if (op == "t") {
                sql_row r;
                r.k = sql_row::kind::truncate;
                r.msg = mi;
                plan.rows.push_back(std::move(r));
                continue;
            }
            bool del = op == "d";
            if (!del && op != "c" && op != "r" && op != "u") {
                reject("unknown op '" + std::string(op) + "'");
                continue;
            }
            const char* side = del ? "before" : "after";
            auto it = root->FindMember(side);
            if (it == root->MemberEnd() || !it->value.IsObject()) {
                reject(std::string("op '") + std::string(op) + "' without an object in \"" + side +
                       "\"");
                continue;
            }
            if (!object_row(o_, t_, it->value, del, cells, why)) {
                reject(why);
                continue;
            }
            plan.rows.push_back(
                make_row(del ? sql_row::kind::remove : sql_row::kind::upsert, cells, mi));
            continue;
        }
        if (!root->IsObject()) {
            reject("payload is not a JSON object");
            continue;
        }
        if (!object_row(o_, t_, *root, false, cells, why)) {
            reject(why);
            continue;
        }
        if (o_.upsert == upsert_mode::message_id && t_.message_id_col)
            cells.push_back({*t_.message_id_col, to_decimal(m.id)});
        plan.rows.push_back(make_row(sql_row::kind::upsert, cells, mi));
    }
}

std::string insert_sql(const table_desc& t, const std::vector<std::size_t>& cols,
                       const std::vector<const sql_row*>& rows, std::string_view conflict) {
    std::string sql = "INSERT INTO " + t.table.sql() + " (";
    for (std::size_t i = 0; i < cols.size(); ++i) {
        if (i)
            sql += ',';
        sql += quote_ident(t.columns[cols[i]].name);
    }
    sql += ") VALUES ";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i)
            sql += ',';
        sql += rows[i]->tuple;
    }
    sql += conflict;
    return sql;
}

std::string delete_sql(const table_desc& t, const std::vector<std::size_t>& cols,
                       const std::vector<const sql_row*>& rows) {
    std::string sql = "DELETE FROM " + t.table.sql() + " WHERE (";
    for (std::size_t i = 0; i < cols.size(); ++i) {
        if (i)
            sql += ',';
        sql += quote_ident(t.columns[cols[i]].name);
    }
    sql += ") IN (";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i)
            sql += ',';
        sql += rows[i]->tuple;
    }
    sql += ')';
    return sql;
}

std::string conflict_clause(const sink_options& o, const table_desc& t,
                            const std::vector<std::size_t>& cols) {
    auto noop = [&](std::size_t col) {
        std::string q = quote_ident(t.columns[col].name);
        return " ON DUPLICATE KEY UPDATE " + q + " = " + q;
    };
    if (o.mode == sink_mode::append) {
        // A replay of messages already written (a crash between COMMIT and the offset commit).
        if (t.id_unique && !t.append_cols.empty())
            return noop(t.append_cols.front().second);
        return "";
    }
    bool keyed = o.upsert == upsert_mode::key || o.envelope == envelope_kind::debezium;
    if (o.upsert == upsert_mode::message_id && t.message_id_col && !keyed)
        return noop(*t.message_id_col);
    if (!keyed)
        return "";
    std::string set;
    for (std::size_t c : cols) {
        if (std::find(t.key_cols.begin(), t.key_cols.end(), c) != t.key_cols.end())
            continue;
        std::string q = quote_ident(t.columns[c].name);
        set += (set.empty() ? "" : ", ") + q + " = VALUES(" + q + ")";
    }
    if (set.empty())
        return noop(cols.front());
    return " ON DUPLICATE KEY UPDATE " + set;
}

}  // namespace trib::connectors::mysql
