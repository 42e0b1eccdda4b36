// Parquet columns without Arrow: parsing a column list, inference from rows, the fit rules. Built
// with and without Arrow (the stub build still validates the options).

#include <fmt/format.h>

#include <deque>
#include <unordered_map>

#include "codecs/json_dom.h"
#include "codecs/parquet.h"

namespace trib::codecs::parquet {
namespace {

result<column_type> type_named(std::string_view t) {
    if (t == "boolean" || t == "bool")
        return column_type::boolean;
    if (t == "int" || t == "long" || t == "int64" || t == "int32" || t == "integer")
        return column_type::int64;
    if (t == "float" || t == "double" || t == "float64" || t == "number")
        return column_type::float64;
    if (t == "string" || t == "enum")
        return column_type::string;
    if (t == "bytes" || t == "binary" || t == "fixed")
        return column_type::bytes;
    if (t == "timestamp" || t == "timestamp-millis" || t == "timestamp-micros")
        return column_type::timestamp;
    if (t == "date")
        return column_type::date;
    if (t == "json" || t == "record" || t == "array" || t == "map")
        return column_type::json;
    return fail(errc::invalid_argument, fmt::format("unknown column type '{}'", t));
}

std::string_view str_of(const json_value& v) {
    return {v.GetString(), v.GetStringLength()};
}

/// The column type of an Avro field type (or of a plain {"name", "type"} entry).
result<column_type> field_type(const json_value& t) {
    if (t.IsString())
        return type_named(str_of(t));
    if (t.IsArray()) {
        // A union: null and one other type.
        const json_value* other = nullptr;
        for (auto& b : t.GetArray()) {
            if (b.IsString() && str_of(b) == "null")
                continue;
            if (other)
                return column_type::json;  // a union of several types: its JSON form
            other = &b;
        }
        if (!other)
            return fail(errc::invalid_argument, "a union of null only");
        return field_type(*other);
    }
    if (t.IsObject()) {
        auto lt = t.FindMember("logicalType");
        if (!is_end(lt, t.MemberEnd()) && lt->value.IsString()) {
            const auto l = str_of(lt->value);
            if (l == "timestamp-millis" || l == "timestamp-micros" ||
                l == "local-timestamp-millis" || l == "local-timestamp-micros")
                return column_type::timestamp;
            if (l == "date")
                return column_type::date;
            if (l == "decimal" || l == "uuid")
                return column_type::string;
        }
        auto ty = t.FindMember("type");
        if (is_end(ty, t.MemberEnd()))
            return fail(errc::invalid_argument, "a type without \"type\"");
        return field_type(ty->value);
    }
    return fail(errc::invalid_argument, "a type is a string, a list or an object");
}

}  // namespace

std::string_view to_string(column_type t) {
    switch (t) {
        case column_type::boolean:
            return "boolean";
        case column_type::int64:
            return "int64";
        case column_type::float64:
            return "float64";
        case column_type::string:
            return "string";
        case column_type::bytes:
            return "bytes";
        case column_type::timestamp:
            return "timestamp";
        case column_type::date:
            return "date";
        case column_type::json:
            return "json";
        case column_type::int32:
            return "int32";
        case column_type::int16:
            return "int16";
        case column_type::int8:
            return "int8";
        case column_type::float32:
            return "float32";
        case column_type::timestamp_ntz:
            return "timestamp_ntz";
    }
    return "?";
}

result<std::vector<column>> parse_columns(std::string_view schema_json) {
    arena a;
    json_value* root = nullptr;
    if (auto st = parse_json(schema_json, a, root); !st)
        return fail(errc::invalid_argument, "schema: " + st.error().message());
    const json_value* fields = root;
    if (root->IsObject()) {
        auto f = root->FindMember("fields");
        if (is_end(f, root->MemberEnd()) || !f->value.IsArray())
            return fail(errc::invalid_argument,
                        "schema: an object must be an Avro record schema with \"fields\"");
        fields = &f->value;
    }
    if (!fields->IsArray())
        return fail(errc::invalid_argument,
                    "schema: a list of {\"name\", \"type\"} or an Avro record schema");
    std::vector<column> out;
    std::unordered_map<std::string, int> seen;
    for (auto& f : fields->GetArray()) {
        if (!f.IsObject())
            return fail(errc::invalid_argument, "schema: each column is an object");
        auto n = f.FindMember("name");
        auto t = f.FindMember("type");
        if (is_end(n, f.MemberEnd()) || !n->value.IsString() || n->value.GetStringLength() == 0)
            return fail(errc::invalid_argument, "schema: a column without a \"name\"");
        const std::string name(str_of(n->value));
        if (is_end(t, f.MemberEnd()))
            return fail(errc::invalid_argument,
                        fmt::format("schema: column '{}' has no type", name));
        auto ty = field_type(t->value);
        if (!ty)
            return fail(errc::invalid_argument,
                        fmt::format("schema: column '{}': {}", name, ty.error().message()));
        if (!seen.emplace(name, 0).second)
            return fail(errc::invalid_argument, fmt::format("schema: column '{}' twice", name));
        out.push_back({name, *ty});
    }
    if (out.empty())
        return fail(errc::invalid_argument, "schema: no columns");
    return out;
}

std::vector<column> infer_columns(const std::vector<value>& rows) {
    enum : unsigned {
        k_int = 1,
        k_float = 2,
        k_bool = 4,
        k_string = 8,
        k_bytes = 16,
        k_ts = 32,
        k_date = 64,
        k_nested = 128,
        k_other = 256,
    };
    std::deque<std::string> names;  // stable: the index holds views of them
    std::vector<unsigned> seen;
    std::unordered_map<std::string_view, std::size_t> index;
    auto note = [&](std::string_view name, const value& v) {
        auto it = index.find(name);
        std::size_t i;
        if (it == index.end()) {
            i = names.size();
            names.emplace_back(name);
            seen.push_back(0);
            index.emplace(names.back(), i);
        } else {
            i = it->second;
        }
        switch (v.type) {
            case value_type::null:
                break;
            case value_type::int64:
                seen[i] |= k_int;
                break;
            case value_type::uint64:
            case value_type::float64:
                seen[i] |= k_float;
                break;
            case value_type::boolean:
                seen[i] |= k_bool;
                break;
            case value_type::string:
                seen[i] |= k_string;
                break;
            case value_type::bytes:
                seen[i] |= k_bytes;
                break;
            case value_type::timestamp:
                seen[i] |= k_ts;
                break;
            case value_type::date:
                seen[i] |= k_date;
                break;
            case value_type::list:
            case value_type::map:
            case value_type::record:
                seen[i] |= k_nested;
                break;
            default:
                seen[i] |= k_other;
        }
    };
    for (const auto& r : rows) {
        if (r.type != value_type::record) {
            note("payload", r);
            continue;
        }
        for (std::uint32_t k = 0; k < r.n; ++k) {
            if (r.entries[k].key.type != value_type::string)
                continue;
            note(r.entries[k].key.str(), r.entries[k].val);
        }
    }
    std::vector<column> out;
    out.reserve(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        column_type t = column_type::string;
        switch (seen[i]) {
            case k_int:
                t = column_type::int64;
                break;
            case k_float:
            case k_int | k_float:
                t = column_type::float64;
                break;
            case k_bool:
                t = column_type::boolean;
                break;
            case k_bytes:
                t = column_type::bytes;
                break;
            case k_ts:
                t = column_type::timestamp;
                break;
            case k_date:
                t = column_type::date;
                break;
            case k_nested:
                t = column_type::json;
                break;
            default:
                t = column_type::string;
        }
        out.push_back({names[i], t});
    }
    return out;
}

result<compression> parse_compression(std::string_view name) {
    if (name == "none" || name == "uncompressed" || name == "null")
        return compression::none;
    if (name == "snappy")
        return compression::snappy;
    if (name == "zstd" || name == "zstandard")
        return compression::zstd;
    if (name == "gzip")
        return compression::gzip;
    return fail(errc::invalid_argument,
                fmt::format("unknown Parquet compression '{}' (none, snappy, zstd, gzip)", name));
}

bool fits(const value& v, column_type t) {
    if (v.type == value_type::null)
        return true;
    switch (t) {
        case column_type::boolean:
            return v.type == value_type::boolean;
        case column_type::int64:
            return v.type == value_type::int64;
        case column_type::int32:
            return v.type == value_type::int64 && v.i >= INT32_MIN && v.i <= INT32_MAX;
        case column_type::int16:
            return v.type == value_type::int64 && v.i >= INT16_MIN && v.i <= INT16_MAX;
        case column_type::int8:
            return v.type == value_type::int64 && v.i >= INT8_MIN && v.i <= INT8_MAX;
        case column_type::float64:
        case column_type::float32:
            return v.type == value_type::int64 || v.type == value_type::uint64 ||
                   v.type == value_type::float64;
        case column_type::timestamp:
        case column_type::timestamp_ntz: {
            if (v.type == value_type::timestamp)
                return true;
            std::int64_t s = 0;
            std::uint32_t ns = 0;
            return v.type == value_type::string && parse_timestamp(v.str(), s, ns);
        }
        case column_type::date: {
            if (v.type == value_type::date)
                return true;
            std::int64_t d = 0;
            return v.type == value_type::string && parse_date(v.str(), d);
        }
        case column_type::bytes:
            return v.type == value_type::bytes || v.type == value_type::string;
        case column_type::string:
        case column_type::json:
            return true;
    }
    return false;
}

}  // namespace trib::codecs::parquet
