// The SQLite sink's pure parts (see rows.h).

#include "connectors/sqlite/rows.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <limits>

#include "core/header_json.h"
#include "core/json_parse.h"
#include "core/json_path.h"
#include "core/message_id.h"

namespace trib::connectors::sqlite {

std::string quote_ident(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 2);
    out.push_back('"');
    for (char c : name) {
        if (c == '"')
            out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::vector<append_column> append_columns(bool include_metadata, bool include_origin_timestamp,
                                          bool include_headers, payload_format pf) {
    std::vector<append_column> cols{{acol::id, "id", "TEXT PRIMARY KEY"}};
    if (include_metadata) {
        cols.push_back({acol::offset, "iggy_offset", "INTEGER"});
        cols.push_back({acol::timestamp, "iggy_timestamp", "INTEGER"});
        cols.push_back({acol::stream, "iggy_stream", "TEXT"});
        cols.push_back({acol::topic, "iggy_topic", "TEXT"});
        cols.push_back({acol::partition, "iggy_partition_id", "INTEGER"});
    }
    if (include_origin_timestamp)
        cols.push_back({acol::origin_ts, "iggy_origin_timestamp", "INTEGER"});
    if (include_headers)
        cols.push_back({acol::headers, "iggy_headers", "TEXT"});
    cols.push_back({acol::payload, "payload", pf == payload_format::blob ? "BLOB" : "TEXT"});
    return cols;
}

std::string create_append_table_sql(std::string_view table,
                                    const std::vector<append_column>& cols) {
    std::string sql = "CREATE TABLE IF NOT EXISTS " + quote_ident(table) + " (";
    for (std::size_t i = 0; i < cols.size(); ++i) {
        if (i > 0)
            sql += ", ";
        sql += quote_ident(cols[i].name) + " " + cols[i].decl;
    }
    return sql + ")";
}

namespace {

std::string insert_head(std::string_view verb, std::string_view table,
                        const std::vector<std::string>& names) {
    std::string sql = std::string(verb) + " INTO " + quote_ident(table) + " (";
    std::string marks;
    for (std::size_t i = 0; i < names.size(); ++i) {
        sql += (i > 0 ? ", " : "") + quote_ident(names[i]);
        marks += i > 0 ? ", ?" : "?";
    }
    return sql + ") VALUES (" + marks + ")";
}

error bad(std::string what) {
    return error(errc::invalid_argument, retry_class::fatal, std::move(what));
}

}  // namespace

std::string append_insert_sql(std::string_view table, const std::vector<append_column>& cols) {
    std::vector<std::string> names;
    for (const auto& c : cols)
        names.push_back(c.name);
    return insert_head("INSERT OR IGNORE", table, names);
}

std::string id_text(const message_id& id) {
    return to_decimal(id);
}

result<std::vector<cell>> append_cells(const std::vector<append_column>& cols, const message& m,
                                       std::string_view stream, std::string_view topic,
                                       std::uint32_t partition, payload_format pf) {
    if (pf == payload_format::json) {
        if (auto st = check_json(m.payload); !st)
            return bad("payload is not valid JSON: " + st.error().message());
    } else if (pf == payload_format::text && !valid_utf8(m.payload)) {
        return bad("payload is not valid UTF-8 (payload_format = \"text\")");
    }
    // SQLite's integers are signed 64-bit: larger unsigned values (never seen for offsets and
    // times) wrap rather than fail the batch.
    auto i64 = [](std::uint64_t v) { return cell::integer(static_cast<std::int64_t>(v)); };
    std::vector<cell> out;
    out.reserve(cols.size());
    for (const auto& c : cols) {
        switch (c.what) {
            case acol::id:
                out.push_back(cell::text_owned(id_text(m.id)));
                break;
            case acol::offset:
                out.push_back(i64(m.offset));
                break;
            case acol::timestamp:
                out.push_back(i64(m.timestamp_us));
                break;
            case acol::stream:
                out.push_back(cell::text_view(stream));
                break;
            case acol::topic:
                out.push_back(cell::text_view(topic));
                break;
            case acol::partition:
                out.push_back(cell::integer(partition));
                break;
            case acol::origin_ts:
                out.push_back(m.origin_timestamp_us == 0 ? cell::null()
                                                         : i64(m.origin_timestamp_us));
                break;
            case acol::headers: {
                if (m.headers.empty()) {
                    out.push_back(cell::null());
                } else {
                    std::string json;
                    append_headers_json(json, m.headers);
                    out.push_back(cell::text_owned(std::move(json)));
                }
                break;
            }
            case acol::payload:
                out.push_back(pf == payload_format::blob ? cell::blob_view(m.payload)
                                                         : cell::text_view(m.payload));
                break;
        }
    }
    return out;
}

namespace {

cell json_cell(const rapidjson::Value& v) {
    if (v.IsNull())
        return cell::null();
    if (v.IsBool())
        return cell::integer(v.GetBool() ? 1 : 0);
    if (v.IsInt64())
        return cell::integer(v.GetInt64());
    if (v.IsUint64())  // above int64: exact as decimal text
        return cell::text_owned(std::to_string(v.GetUint64()));
    if (v.IsNumber())
        return cell::real(v.GetDouble());
    if (v.IsString())
        return cell::text_owned(std::string(v.GetString(), v.GetStringLength()));
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    return cell::text_owned(std::string(sb.GetString(), sb.GetSize()));
}

}  // namespace

result<mapped_row> map_json(const mapping& mp, std::string_view payload, const message_id& id) {
    rapidjson::Document d;
    if (auto st = parse_json_document(payload, d); !st)
        return bad("payload is not valid JSON: " + st.error().message());
    if (!d.IsObject())
        return bad("mapped mode needs a JSON object as the payload");
    mapped_row row;
    const auto& cols = mp.table_columns;
    auto column_index = [&](std::string_view name) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < cols.size(); ++i) {
            if (cols[i] == name)
                return i;
        }
        return std::nullopt;
    };
    if (!mp.field_mapping.empty()) {
        for (std::size_t i = 0; i < cols.size(); ++i) {
            auto it = mp.field_mapping.find(cols[i]);
            if (it == mp.field_mapping.end())
                continue;
            if (const rapidjson::Value* v = json_member_at(d, it->second)) {
                row.cols.push_back(i);
                row.cells.push_back(json_cell(*v));
            }
        }
    } else {
        // Table order, so that messages with the same fields share one statement.
        std::vector<std::pair<std::size_t, const rapidjson::Value*>> found;
        // By index: comparing RapidJSON's member iterators is ambiguous to clang in C++20.
        for (rapidjson::SizeType k = 0; k < d.MemberCount(); ++k) {
            const auto m = d.MemberBegin() + k;
            const std::string_view name(m->name.GetString(), m->name.GetStringLength());
            auto i = column_index(name);
            if (!i) {
                if (mp.strict_fields)
                    return bad("field '" + std::string(name) + "' names no column of the table");
                continue;
            }
            if (mp.message_id_column && *i == *mp.message_id_column)
                continue;  // written from the message id below
            // A repeated member: the last one wins, as in most JSON readers.
            auto same = std::find_if(found.begin(), found.end(),
                                     [&](const auto& f) { return f.first == *i; });
            if (same != found.end())
                same->second = &m->value;
            else
                found.emplace_back(*i, &m->value);
        }
        std::sort(found.begin(), found.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [i, v] : found) {
            row.cols.push_back(i);
            row.cells.push_back(json_cell(*v));
        }
    }
    if (mp.message_id_column) {
        const std::size_t mi = *mp.message_id_column;
        auto at = std::find(row.cols.begin(), row.cols.end(), mi);
        if (at != row.cols.end()) {
            row.cells[static_cast<std::size_t>(at - row.cols.begin())] =
                cell::text_owned(id_text(id));
        } else {
            auto pos = std::lower_bound(row.cols.begin(), row.cols.end(), mi);
            const auto k = static_cast<std::size_t>(pos - row.cols.begin());
            row.cols.insert(pos, mi);
            row.cells.insert(row.cells.begin() + static_cast<std::ptrdiff_t>(k),
                             cell::text_owned(id_text(id)));
        }
    }
    if (row.cols.empty())
        return bad("no field of the payload names a column of the table");
    return row;
}

std::string mapped_insert_sql(std::string_view table, const std::vector<std::string>& names,
                              upsert_mode mode, const std::vector<std::string>& conflict) {
    std::string sql = insert_head("INSERT", table, names);
    if (mode == upsert_mode::none || conflict.empty())
        return sql;
    sql += " ON CONFLICT (";
    for (std::size_t i = 0; i < conflict.size(); ++i)
        sql += (i > 0 ? ", " : "") + quote_ident(conflict[i]);
    sql += ")";
    if (mode == upsert_mode::message_id)
        return sql + " DO NOTHING";
    std::string sets;
    for (const auto& n : names) {
        if (std::find(conflict.begin(), conflict.end(), n) != conflict.end())
            continue;
        sets += (sets.empty() ? "" : ", ") + quote_ident(n) + " = excluded." + quote_ident(n);
    }
    return sql + (sets.empty() ? " DO NOTHING" : " DO UPDATE SET " + sets);
}

}  // namespace trib::connectors::sqlite
