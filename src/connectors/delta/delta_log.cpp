// The Delta Lake log as data: see delta_log.h. Layouts from the Delta transaction protocol
// (PROTOCOL.md of delta-io/delta): actions `protocol`, `metaData`, `txn`, `add`, `remove`,
// `commitInfo`, one JSON object per line of `_delta_log/<20-digit version>.json`.

#include "connectors/delta/delta_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json_members.h"
#include "core/json_parse.h"
#include "core/json_text.h"

namespace trib::connectors::delta {
namespace {

namespace pq = codecs::parquet;
using json = rapidjson::Document;
using jval = rapidjson::Value;

error bad_log(std::string m) {
    return error(errc::invalid_argument, retry_class::fatal, "delta log: " + std::move(m));
}

std::string_view sv(const jval& v) {
    return {v.GetString(), v.GetStringLength()};
}

const jval* member(const jval& o, const char* name) {
    auto it = o.FindMember(name);
    return it == o.MemberEnd() ? nullptr : &it->value;
}

struct primitive {
    std::string_view delta;
    pq::column_type column;
};
constexpr primitive k_primitives[] = {
    {"string", pq::column_type::string},       {"byte", pq::column_type::int8},
    {"short", pq::column_type::int16},         {"integer", pq::column_type::int32},
    {"long", pq::column_type::int64},          {"float", pq::column_type::float32},
    {"double", pq::column_type::float64},      {"boolean", pq::column_type::boolean},
    {"binary", pq::column_type::bytes},        {"date", pq::column_type::date},
    {"timestamp", pq::column_type::timestamp}, {"timestampNtz", pq::column_type::timestamp_ntz},
};

const primitive* primitive_named(std::string_view t) {
    for (const auto& p : k_primitives)
        if (p.delta == t)
            return &p;
    return nullptr;
}

/// Text of an arbitrary JSON value (nested types kept as written).
std::string text_of(const jval& v) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    v.Accept(w);
    return {b.GetString(), b.GetSize()};
}

result<std::vector<field>> fields_of(const jval& schema) {
    if (!schema.IsObject())
        return bad_log("the schema is not a JSON object");
    const jval* type = member(schema, "type");
    const jval* fields = member(schema, "fields");
    if (!type || !type->IsString() || sv(*type) != "struct" || !fields || !fields->IsArray())
        return bad_log("the schema is not {\"type\": \"struct\", \"fields\": [...]}");
    std::vector<field> out;
    for (const auto& f : fields->GetArray()) {
        if (!f.IsObject())
            return bad_log("a schema field is not an object");
        const jval* name = member(f, "name");
        const jval* ty = member(f, "type");
        const jval* nullable = member(f, "nullable");
        if (!name || !name->IsString() || !ty)
            return bad_log("a schema field without a name or type");
        field x;
        x.name = std::string(sv(*name));
        if (ty->IsString()) {
            x.type = std::string(sv(*ty));
            // decimal(p,s) and unknown names are kept; check_writable refuses what we cannot
            // write.
            x.nested = primitive_named(x.type) == nullptr;
        } else {
            x.type = text_of(*ty);
            x.nested = true;
            x.type_json = true;
        }
        x.nullable = !nullable || !nullable->IsBool() || nullable->GetBool();
        out.push_back(std::move(x));
    }
    return out;
}

status apply_protocol(table_state& st, const jval& p) {
    if (!p.IsObject())
        return bad_log("protocol is not an object");
    const jval* r = member(p, "minReaderVersion");
    const jval* w = member(p, "minWriterVersion");
    if (!r || !r->IsInt() || !w || !w->IsInt())
        return bad_log("protocol without integer minReaderVersion/minWriterVersion");
    st.has_protocol = true;
    st.min_reader_version = r->GetInt();
    st.min_writer_version = w->GetInt();
    auto features = [&](const char* name, std::vector<std::string>& out) -> status {
        out.clear();
        const jval* f = member(p, name);
        if (!f || f->IsNull())
            return ok();
        if (!f->IsArray())
            return bad_log(fmt::format("protocol.{} is not a list", name));
        for (const auto& e : f->GetArray()) {
            if (!e.IsString())
                return bad_log(fmt::format("protocol.{} holds a non-string", name));
            out.emplace_back(sv(e));
        }
        return ok();
    };
    TRIB_TRY(features("readerFeatures", st.reader_features));
    return features("writerFeatures", st.writer_features);
}

status apply_metadata(table_state& st, const jval& m) {
    if (!m.IsObject())
        return bad_log("metaData is not an object");
    const jval* id = member(m, "id");
    const jval* schema = member(m, "schemaString");
    if (!id || !id->IsString() || !schema || !schema->IsString())
        return bad_log("metaData without id or schemaString");
    json d;
    if (auto s = parse_json_document(sv(*schema), d); !s)
        return bad_log("metaData.schemaString: " + s.error().message());
    TRIB_ASSIGN_OR_RETURN(auto fields, fields_of(d));
    std::vector<std::string> parts;
    if (const jval* pc = member(m, "partitionColumns"); pc && !pc->IsNull()) {
        if (!pc->IsArray())
            return bad_log("metaData.partitionColumns is not a list");
        for (const auto& e : pc->GetArray()) {
            if (!e.IsString())
                return bad_log("metaData.partitionColumns holds a non-string");
            parts.emplace_back(sv(e));
        }
    }
    std::map<std::string, std::string> conf;
    if (const jval* c = member(m, "configuration"); c && c->IsObject()) {
        for (const auto& e : c->GetObject())
            if (e.value.IsString())
                conf.emplace(std::string(sv(e.name)), std::string(sv(e.value)));
    }
    st.has_metadata = true;
    st.table_id = std::string(sv(*id));
    st.schema_text = std::string(sv(*schema));
    st.schema = std::move(fields);
    st.partition_columns = std::move(parts);
    st.configuration = std::move(conf);
    return ok();
}

status apply_txn(table_state& st, const jval& t) {
    if (!t.IsObject())
        return bad_log("txn is not an object");
    const jval* app = member(t, "appId");
    const jval* ver = member(t, "version");
    if (!app || !app->IsString() || !ver || !ver->IsInt64())
        return bad_log("txn without a string appId and an integer version");
    // The protocol: the latest txn of an appId in log order is its version.
    st.txns[std::string(sv(*app))] = ver->GetInt64();
    return ok();
}

/// stats.numRecords of an add action (a JSON text inside the action; 0 when absent or odd:
/// statistics are optional).
std::uint64_t records_of(const jval& add) {
    const jval* stats = add.IsObject() ? member(add, "stats") : nullptr;
    if (!stats || !stats->IsString())
        return 0;
    json d;
    if (!parse_json_document(sv(*stats), d) || !d.IsObject())
        return 0;
    const jval* n = member(d, "numRecords");
    return n && n->IsUint64() ? n->GetUint64() : 0;
}

status apply_object(table_state& st, const jval& o) {
    if (!o.IsObject())
        return bad_log("an action is not a JSON object");
    for (const auto& m : o.GetObject()) {
        if (m.value.IsNull())
            continue;  // checkpoint rows: the columns of the other actions
        const auto name = sv(m.name);
        if (name == "protocol") {
            TRIB_TRY(apply_protocol(st, m.value));
        } else if (name == "metaData") {
            TRIB_TRY(apply_metadata(st, m.value));
        } else if (name == "txn") {
            TRIB_TRY(apply_txn(st, m.value));
        } else if (name == "add") {
            ++st.files_added;
            st.records_added += records_of(m.value);
        }
        // remove, commitInfo, cdc, domainMetadata, ...: nothing a blind appender needs.
    }
    return ok();
}

/// Keeps [A-Za-z0-9-]; every other byte becomes _XX (hex): injective, and nothing in the
/// result needs URI escaping in an add action's path.
void append_safe(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-') {
            out += static_cast<char>(c);
        } else {
            out += '_';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
}

}  // namespace

result<std::vector<field>> parse_schema_entries(const std::vector<std::string>& entries) {
    std::vector<field> out;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        std::vector<std::string_view> parts;
        std::string_view e = entries[i];
        std::size_t p = 0;
        while (p < e.size()) {
            while (p < e.size() && (e[p] == ' ' || e[p] == '\t'))
                ++p;
            std::size_t q = p;
            while (q < e.size() && e[q] != ' ' && e[q] != '\t')
                ++q;
            if (q > p)
                parts.push_back(e.substr(p, q - p));
            p = q;
        }
        if (parts.size() != 2)
            return fail(errc::invalid_argument,
                        fmt::format("entry {} (\"{}\") is not \"<name> <type>\", e.g. \"id long\"",
                                    i, entries[i]));
        if (!primitive_named(parts[1]))
            return fail(errc::invalid_argument,
                        fmt::format("entry {} (\"{}\"): unknown type '{}' (string, byte, short, "
                                    "integer, long, float, double, boolean, binary, date, "
                                    "timestamp, timestampNtz)",
                                    i, entries[i], parts[1]));
        for (const auto& f : out)
            if (f.name == parts[0])
                return fail(errc::invalid_argument,
                            fmt::format("entry {} (\"{}\"): column '{}' is declared twice", i,
                                        entries[i], parts[0]));
        out.push_back({std::string(parts[0]), std::string(parts[1]), true, false, false});
    }
    return out;
}

result<pq::column_type> column_type_of(const field& f) {
    const primitive* p = f.nested ? nullptr : primitive_named(f.type);
    if (!p)
        return fail(errc::invalid_argument,
                    fmt::format("column '{}' has type {}: this sink writes primitive columns only",
                                f.name, f.type));
    return p->column;
}

std::string_view delta_type_of(pq::column_type t) {
    for (const auto& p : k_primitives)
        if (p.column == t)
            return p.delta;
    return "string";  // json: the value's JSON text
}

std::string schema_string(const std::vector<field>& fields) {
    std::string out = R"({"type":"struct","fields":[)";
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0)
            out += ',';
        out += '{';
        json_members m(out);
        m.str("name", fields[i].name);
        if (fields[i].type_json)
            m.raw("type", fields[i].type);
        else
            m.str("type", fields[i].type);
        m.raw("nullable", fields[i].nullable ? "true" : "false");
        m.raw("metadata", "{}");
        out += '}';
    }
    out += "]}";
    return out;
}

result<std::vector<field>> parse_schema_string(std::string_view text) {
    json d;
    if (auto s = parse_json_document(text, d); !s)
        return bad_log("schema: " + s.error().message());
    return fields_of(d);
}

status apply_commit(table_state& st, std::int64_t version, std::string_view text) {
    if (text.size() > max_commit_bytes)
        return bad_log(fmt::format("commit {} is larger than {} bytes", version, max_commit_bytes));
    std::size_t line_no = 0;
    std::size_t p = 0;
    while (p < text.size()) {
        std::size_t nl = text.find('\n', p);
        if (nl == std::string_view::npos)
            nl = text.size();
        std::string_view line = text.substr(p, nl - p);
        p = nl + 1;
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos)
            continue;
        json d;
        if (auto s = parse_json_document(line, d); !s)
            return bad_log(
                fmt::format("commit {} line {}: {}", version, line_no, s.error().message()));
        if (auto s = apply_object(st, d); !s)
            return bad_log(
                fmt::format("commit {} line {}: {}", version, line_no, s.error().message()));
    }
    st.version = version;
    return ok();
}

status apply_action_json(table_state& st, std::string_view text) {
    json d;
    if (auto s = parse_json_document(text, d); !s)
        return bad_log("checkpoint row: " + s.error().message());
    return apply_object(st, d);
}

status check_writable(const table_state& st) {
    if (!st.has_protocol || !st.has_metadata)
        return bad_log(fmt::format("no {} action up to version {}",
                                   st.has_protocol ? "metaData" : "protocol", st.version));
    if (st.min_reader_version > 3)
        return fail(errc::invalid_argument,
                    fmt::format("delta table: reader version {} (this sink knows up to 3)",
                                st.min_reader_version));
    if (st.min_writer_version > 7)
        return fail(errc::invalid_argument,
                    fmt::format("delta table: writer version {} (this sink knows up to 7)",
                                st.min_writer_version));
    // Writer versions 3..6 imply features (check constraints, generated columns, column
    // mapping, identity columns...) an appender must honour: refused. 7 lists them.
    if (st.min_writer_version >= 3 && st.min_writer_version <= 6)
        return fail(errc::invalid_argument,
                    fmt::format("delta table: writer version {} needs table features this sink "
                                "does not implement (constraints, generated or identity columns, "
                                "column mapping); versions 1, 2 and 7 are supported",
                                st.min_writer_version));
    for (const auto& f : st.writer_features)
        if (f != "appendOnly" && f != "timestampNtz" && f != "invariants")
            return fail(errc::invalid_argument,
                        fmt::format("delta table: writer feature '{}' is not supported (supported: "
                                    "appendOnly, invariants without invariants, timestampNtz)",
                                    f));
    if (!st.partition_columns.empty())
        return fail(errc::invalid_argument,
                    "delta table: partitioned tables are not supported (partition column '" +
                        st.partition_columns.front() + "')");
    for (const auto& f : st.schema) {
        TRIB_TRY(column_type_of(f));
    }
    return ok();
}

void protocol_for(const std::vector<field>& fields, table_state& st) {
    const bool ntz = std::any_of(fields.begin(), fields.end(),
                                 [](const field& f) { return f.type == "timestampNtz"; });
    st.has_protocol = true;
    st.reader_features.clear();
    st.writer_features.clear();
    if (ntz) {
        st.min_reader_version = 3;
        st.min_writer_version = 7;
        st.reader_features = {"timestampNtz"};
        st.writer_features = {"timestampNtz"};
    } else {
        st.min_reader_version = 1;
        st.min_writer_version = 2;
    }
}

std::string log_file_name(std::int64_t version) {
    return fmt::format("{:020d}.json", version);
}

std::optional<std::int64_t> parse_log_file_name(std::string_view name) {
    if (name.size() != 25 || name.substr(20) != ".json")
        return std::nullopt;
    std::int64_t v = 0;
    auto r = std::from_chars(name.data(), name.data() + 20, v);
    if (r.ec != std::errc() || r.ptr != name.data() + 20 || v < 0)
        return std::nullopt;
    return v;
}

result<checkpoint_ref> parse_last_checkpoint(std::string_view text) {
    json d;
    if (auto s = parse_json_document(text, d); !s)
        return bad_log("_last_checkpoint: " + s.error().message());
    if (!d.IsObject())
        return bad_log("_last_checkpoint is not an object");
    const jval* v = member(d, "version");
    if (!v || !v->IsInt64() || v->GetInt64() < 0)
        return bad_log("_last_checkpoint without a version");
    checkpoint_ref r;
    r.version = v->GetInt64();
    if (const jval* parts = member(d, "parts"); parts && !parts->IsNull()) {
        if (!parts->IsInt64() || parts->GetInt64() < 1 || parts->GetInt64() > 100000)
            return bad_log("_last_checkpoint.parts is not a count");
        r.parts = parts->GetInt64();
    }
    return r;
}

std::vector<std::string> checkpoint_file_names(const checkpoint_ref& ref) {
    std::vector<std::string> out;
    if (ref.parts == 0) {
        out.push_back(fmt::format("{:020d}.checkpoint.parquet", ref.version));
        return out;
    }
    for (std::int64_t i = 1; i <= ref.parts; ++i)
        out.push_back(
            fmt::format("{:020d}.checkpoint.{:010d}.{:010d}.parquet", ref.version, i, ref.parts));
    return out;
}

std::string app_id(std::string_view key, std::string_view stream, std::string_view topic,
                   std::uint32_t partition) {
    std::string out = "tributary-";
    append_safe(out, key);
    out += '.';
    append_safe(out, stream);
    out += '.';
    append_safe(out, topic);
    out += '.';
    out += std::to_string(partition);
    return out;
}

std::string data_file_name(std::string_view key, std::string_view stream, std::string_view topic,
                           std::uint32_t partition, std::uint64_t first, std::uint64_t last) {
    std::string out = "part-";
    append_safe(out, key);
    out += '.';
    append_safe(out, stream);
    out += '.';
    append_safe(out, topic);
    out += fmt::format(".{}.{:020d}-{:020d}.parquet", partition, first, last);
    return out;
}

std::string commit_text(const table_state& st, bool create, std::string_view app,
                        std::int64_t txn_version, const added_file& add, std::int64_t now_ms) {
    std::string out;
    auto strings = [](const std::vector<std::string>& v) {
        std::string s = "[";
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i > 0)
                s += ',';
            append_json_string(s, v[i]);
        }
        return s + "]";
    };
    out += R"({"commitInfo":{)";
    {
        json_members m(out);
        m.uint("timestamp", static_cast<std::uint64_t>(now_ms));
        if (app.empty()) {
            m.str("operation", "CREATE TABLE");
            m.raw("operationParameters", R"({"mode":"ErrorIfExists"})");
        } else {
            m.str("operation", "WRITE");
            m.raw("operationParameters", R"({"mode":"Append"})");
        }
        m.raw("isBlindAppend", "true");
        m.str("engineInfo", "tributary");
    }
    out += "}}\n";
    if (create) {
        out += R"({"protocol":{)";
        json_members m(out);
        m.uint("minReaderVersion", static_cast<std::uint64_t>(st.min_reader_version));
        m.uint("minWriterVersion", static_cast<std::uint64_t>(st.min_writer_version));
        if (st.min_reader_version >= 3)
            m.raw("readerFeatures", strings(st.reader_features));
        if (st.min_writer_version >= 7)
            m.raw("writerFeatures", strings(st.writer_features));
        out += "}}\n";
        out += R"({"metaData":{)";
        json_members md(out);
        md.str("id", st.table_id);
        md.raw("format", R"({"provider":"parquet","options":{}})");
        md.str("schemaString", st.schema_text);
        md.raw("partitionColumns", "[]");
        md.raw("configuration", "{}");
        md.uint("createdTime", static_cast<std::uint64_t>(now_ms));
        out += "}}\n";
    }
    if (app.empty())
        return out;  // a table created without data
    out += R"({"txn":{)";
    {
        json_members m(out);
        m.str("appId", app);
        m.uint("version", static_cast<std::uint64_t>(txn_version));
        m.uint("lastUpdated", static_cast<std::uint64_t>(now_ms));
    }
    out += "}}\n";
    out += R"({"add":{)";
    {
        json_members m(out);
        m.str("path", add.path);
        m.raw("partitionValues", "{}");
        m.uint("size", add.size);
        m.uint("modificationTime", static_cast<std::uint64_t>(add.modification_time_ms));
        m.raw("dataChange", "true");
        m.str("stats", fmt::format(R"({{"numRecords":{}}})", add.num_records));
    }
    out += "}}\n";
    return out;
}

}  // namespace trib::connectors::delta
