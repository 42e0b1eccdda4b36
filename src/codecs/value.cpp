// The typed record model: arena allocation, JSON conversion, shared text forms.

#include "codecs/value.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>

#include "core/hex.h"

namespace trib::codecs {

std::string_view to_string(value_type t) {
    switch (t) {
        case value_type::null:
            return "null";
        case value_type::boolean:
            return "bool";
        case value_type::int64:
            return "int64";
        case value_type::uint64:
            return "uint64";
        case value_type::float64:
            return "float64";
        case value_type::decimal:
            return "decimal";
        case value_type::string:
            return "string";
        case value_type::bytes:
            return "bytes";
        case value_type::timestamp:
            return "timestamp";
        case value_type::date:
            return "date";
        case value_type::uuid:
            return "uuid";
        case value_type::list:
            return "list";
        case value_type::map:
            return "map";
        case value_type::record:
            return "record";
    }
    return "null";
}

value value::boolean_value(bool v) {
    value x;
    x.type = value_type::boolean;
    x.b = v;
    return x;
}
value value::int_value(std::int64_t v) {
    value x;
    x.type = value_type::int64;
    x.i = v;
    return x;
}
value value::uint_value(std::uint64_t v) {
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return int_value(static_cast<std::int64_t>(v));
    value x;
    x.type = value_type::uint64;
    x.u = v;
    return x;
}
value value::float_value(double v) {
    value x;
    x.type = value_type::float64;
    x.d = v;
    return x;
}
namespace {
value text_value(value_type t, std::string_view v) {
    value x;
    x.type = t;
    x.s = v.data();
    x.n = static_cast<std::uint32_t>(v.size());
    return x;
}
}  // namespace
value value::string_value(std::string_view v) {
    return text_value(value_type::string, v);
}
value value::bytes_value(std::string_view v) {
    return text_value(value_type::bytes, v);
}
value value::decimal_value(std::string_view v) {
    return text_value(value_type::decimal, v);
}
value value::timestamp_value(std::int64_t seconds, std::uint32_t nanos) {
    value x;
    x.type = value_type::timestamp;
    x.i = seconds;
    x.n = nanos;
    return x;
}
value value::date_value(std::int64_t days) {
    value x;
    x.type = value_type::date;
    x.i = days;
    return x;
}
value value::uuid_value(const char* sixteen) {
    value x;
    x.type = value_type::uuid;
    x.s = sixteen;
    x.n = 16;
    return x;
}

// --- arena -----------------------------------------------------------------------------------

value* new_values(arena& a, std::size_t n) {
    if (n == 0)
        return nullptr;
    void* mem = allocator_of(a).Malloc(n * sizeof(value));
    auto* v = static_cast<value*>(mem);
    for (std::size_t k = 0; k < n; ++k)
        new (v + k) value();
    return v;
}

entry* new_entries(arena& a, std::size_t n) {
    if (n == 0)
        return nullptr;
    void* mem = allocator_of(a).Malloc(n * sizeof(entry));
    auto* e = static_cast<entry*>(mem);
    for (std::size_t k = 0; k < n; ++k)
        new (e + k) entry();
    return e;
}

std::string_view copy_to_arena(arena& a, std::string_view s) {
    if (s.empty())
        return std::string_view("", 0);  // never a null pointer (RapidJSON refuses those)
    char* p = static_cast<char*>(allocator_of(a).Malloc(s.size()));
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
}

value* new_value(arena& a, const value& v) {
    value* p = new_values(a, 1);
    *p = v;
    return p;
}

void set_typed(record& r, const value* v) {
    r.kind = record_kind::typed;
    r.typed = v;
    r.json = nullptr;
    r.bytes = {};
}

// --- text forms ------------------------------------------------------------------------------

namespace {
// Days since 1970-01-01 <-> proleptic Gregorian date (the era-based method: 400-year eras
// of 146097 days).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(std::int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

bool digits(std::string_view s, std::size_t at, std::size_t count, unsigned& out) {
    if (at + count > s.size())
        return false;
    out = 0;
    for (std::size_t k = at; k < at + count; ++k) {
        if (s[k] < '0' || s[k] > '9')
            return false;
        out = out * 10 + static_cast<unsigned>(s[k] - '0');
    }
    return true;
}

// Years 0001-9999 (RFC 3339, protobuf's Timestamp range).
constexpr std::int64_t min_seconds = -62135596800;
constexpr std::int64_t max_seconds = 253402300799;
constexpr std::int64_t min_days = -719162;  // 0001-01-01
constexpr std::int64_t max_days = 2932896;  // 9999-12-31

void append_2(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

void append_ymd(std::string& out, std::int64_t days) {
    std::int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04lld-", static_cast<long long>(y));
    out += buf;
    append_2(out, m);
    out.push_back('-');
    append_2(out, d);
}

bool parse_ymd(std::string_view in, std::int64_t& days) {
    unsigned y, m, d;
    if (in.size() < 10 || !digits(in, 0, 4, y) || in[4] != '-' || !digits(in, 5, 2, m) ||
        in[7] != '-' || !digits(in, 8, 2, d))
        return false;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return false;
    days = days_from_civil(y, m, d);
    return true;
}
}  // namespace

void append_timestamp(std::string& out, std::int64_t seconds, std::uint32_t nanos) {
    std::int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
    auto sod = static_cast<unsigned>(seconds - days * 86400);
    append_ymd(out, days);
    out.push_back('T');
    append_2(out, sod / 3600);
    out.push_back(':');
    append_2(out, sod / 60 % 60);
    out.push_back(':');
    append_2(out, sod % 60);
    if (nanos != 0) {
        char buf[16];
        if (nanos % 1'000'000 == 0)
            std::snprintf(buf, sizeof buf, ".%03u", nanos / 1'000'000);
        else if (nanos % 1000 == 0)
            std::snprintf(buf, sizeof buf, ".%06u", nanos / 1000);
        else
            std::snprintf(buf, sizeof buf, ".%09u", nanos);
        out += buf;
    }
    out.push_back('Z');
}

bool parse_timestamp(std::string_view in, std::int64_t& seconds, std::uint32_t& nanos) {
    std::int64_t days;
    unsigned hh, mm, ss;
    if (!parse_ymd(in, days) || in.size() < 20)
        return false;
    char t = in[10];
    if ((t != 'T' && t != 't' && t != ' ') || !digits(in, 11, 2, hh) || in[13] != ':' ||
        !digits(in, 14, 2, mm) || in[16] != ':' || !digits(in, 17, 2, ss))
        return false;
    if (hh > 23 || mm > 59 || ss > 59)  // no leap seconds (protobuf refuses them too)
        return false;
    std::size_t k = 19;
    nanos = 0;
    if (k < in.size() && in[k] == '.') {
        ++k;
        std::size_t start = k;
        while (k < in.size() && in[k] >= '0' && in[k] <= '9')
            ++k;
        std::size_t nd = k - start;
        if (nd == 0 || nd > 9)
            return false;
        unsigned frac;
        (void)digits(in, start, nd, frac);
        for (std::size_t z = nd; z < 9; ++z)
            frac *= 10;
        nanos = frac;
    }
    std::int64_t offset = 0;
    if (k < in.size() && (in[k] == 'Z' || in[k] == 'z')) {
        ++k;
    } else if (k < in.size() && (in[k] == '+' || in[k] == '-')) {
        unsigned oh, om;
        if (!digits(in, k + 1, 2, oh) || k + 3 >= in.size() || in[k + 3] != ':' ||
            !digits(in, k + 4, 2, om) || oh > 23 || om > 59)
            return false;
        offset = (in[k] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
        k += 6;
    } else {
        return false;
    }
    if (k != in.size())
        return false;
    seconds = days * 86400 + hh * 3600 + mm * 60 + ss - offset;
    return seconds >= min_seconds && seconds <= max_seconds;
}

void append_date(std::string& out, std::int64_t days) {
    append_ymd(out, days);
}

bool parse_date(std::string_view in, std::int64_t& days) {
    return in.size() == 10 && parse_ymd(in, days);
}

void append_uuid(std::string& out, const char* sixteen) {
    static constexpr char hex[] = "0123456789abcdef";
    for (int k = 0; k < 16; ++k) {
        if (k == 4 || k == 6 || k == 8 || k == 10)
            out.push_back('-');
        auto c = static_cast<unsigned char>(sixteen[k]);
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
}

bool parse_uuid(std::string_view in, char sixteen[16]) {
    if (in.size() != 36)
        return false;
    int o = 0;
    for (std::size_t k = 0; k < 36;) {
        if (k == 8 || k == 13 || k == 18 || k == 23) {
            if (in[k] != '-')
                return false;
            ++k;
            continue;
        }
        int hi = hex_digit_value(in[k]), lo = hex_digit_value(in[k + 1]);
        if (hi < 0 || lo < 0)
            return false;
        sixteen[o++] = static_cast<char>(hi * 16 + lo);
        k += 2;
    }
    return true;
}

bool valid_decimal(std::string_view in) {
    std::size_t k = 0;
    if (k < in.size() && in[k] == '-')
        ++k;
    std::size_t int_start = k;
    while (k < in.size() && in[k] >= '0' && in[k] <= '9')
        ++k;
    if (k == int_start)
        return false;
    if (k < in.size() && in[k] == '.') {
        ++k;
        std::size_t frac = k;
        while (k < in.size() && in[k] >= '0' && in[k] <= '9')
            ++k;
        if (k == frac)
            return false;
    }
    return k == in.size();
}

// --- JSON conversion -------------------------------------------------------------------------

namespace {

json_value owned_string(const std::string& s, json_allocator& al) {
    return json_value(s.data(), static_cast<rapidjson::SizeType>(s.size()), al);
}

json_value ref_string(std::string_view s) {
    if (s.data() == nullptr)
        s = std::string_view("", 0);
    return json_value(rapidjson::StringRef(s.data(), static_cast<rapidjson::SizeType>(s.size())));
}

status key_text(const value& k, std::string& out) {
    switch (k.type) {
        case value_type::string:
        case value_type::decimal:
            out.assign(k.s, k.n);
            return ok();
        case value_type::null:
            out = "null";
            return ok();
        case value_type::boolean:
            out = k.b ? "true" : "false";
            return ok();
        case value_type::int64:
            out = std::to_string(k.i);
            return ok();
        case value_type::uint64:
            out = std::to_string(k.u);
            return ok();
        case value_type::float64: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.17g", k.d);
            out = buf;
            return ok();
        }
        case value_type::bytes:
            out.clear();
            append_base64(out, k.str());
            return ok();
        case value_type::timestamp:
            if (k.i < min_seconds || k.i > max_seconds)
                return bad_payload("timestamp out of the RFC 3339 range (years 1-9999)");
            out.clear();
            append_timestamp(out, k.i, k.n);
            return ok();
        case value_type::date:
            if (k.i < min_days || k.i > max_days)
                return bad_payload("date out of the range of years 1-9999");
            out.clear();
            append_date(out, k.i);
            return ok();
        case value_type::uuid:
            out.clear();
            append_uuid(out, k.s);
            return ok();
        default:
            break;
    }
    return bad_payload("a map key of type " + std::string(to_string(k.type)) + " has no JSON form");
}

status to_json_at(const value& v, json_allocator& al, json_value& out, const value_limits& lim,
                  std::uint32_t depth) {
    if (depth > lim.max_depth)
        return bad_payload("value nested deeper than " + std::to_string(lim.max_depth));
    switch (v.type) {
        case value_type::null:
            out.SetNull();
            return ok();
        case value_type::boolean:
            out.SetBool(v.b);
            return ok();
        case value_type::int64:
            out.SetInt64(v.i);
            return ok();
        case value_type::uint64:
            out.SetUint64(v.u);
            return ok();
        case value_type::float64:
            if (std::isnan(v.d))
                out.SetString(rapidjson::StringRef("NaN"));
            else if (std::isinf(v.d))
                out.SetString(rapidjson::StringRef(v.d > 0 ? "Infinity" : "-Infinity"));
            else
                out.SetDouble(v.d);
            return ok();
        case value_type::string:
        case value_type::decimal:
            out = ref_string(v.str());
            return ok();
        case value_type::bytes:
        case value_type::timestamp:
        case value_type::date:
        case value_type::uuid: {
            std::string s;
            TRIB_TRY(key_text(v, s));
            out = owned_string(s, al);
            return ok();
        }
        case value_type::list: {
            out.SetArray();
            out.Reserve(v.n, al);
            for (std::uint32_t k = 0; k < v.n; ++k) {
                json_value item;
                TRIB_TRY(to_json_at(v.items[k], al, item, lim, depth + 1));
                out.PushBack(item, al);
            }
            return ok();
        }
        case value_type::map:
        case value_type::record: {
            out.SetObject();
            std::string key;
            for (std::uint32_t k = 0; k < v.n; ++k) {
                const entry& e = v.entries[k];
                json_value name;
                if (e.key.type == value_type::string) {
                    name = ref_string(e.key.str());
                } else {
                    TRIB_TRY(key_text(e.key, key));
                    name = owned_string(key, al);
                }
                json_value item;
                TRIB_TRY(to_json_at(e.val, al, item, lim, depth + 1));
                out.AddMember(name, item, al);
            }
            return ok();
        }
    }
    return ok();
}

status from_json_at(const json_value& j, arena& a, value& out, const value_limits& lim,
                    std::uint32_t depth) {
    if (depth > lim.max_depth)
        return bad_payload("JSON nested deeper than " + std::to_string(lim.max_depth));
    if (j.IsNull()) {
        out = value();
    } else if (j.IsBool()) {
        out = value::boolean_value(j.GetBool());
    } else if (j.IsInt64()) {
        out = value::int_value(j.GetInt64());
    } else if (j.IsUint64()) {
        out = value::uint_value(j.GetUint64());
    } else if (j.IsNumber()) {
        out = value::float_value(j.GetDouble());
    } else if (j.IsString()) {
        out = value::string_value({j.GetString(), j.GetStringLength()});
    } else if (j.IsArray()) {
        value* items = new_values(a, j.Size());
        for (rapidjson::SizeType k = 0; k < j.Size(); ++k)
            TRIB_TRY(from_json_at(j[k], a, items[k], lim, depth + 1));
        out = value();
        out.type = value_type::list;
        out.n = j.Size();
        out.items = items;
    } else {
        entry* es = new_entries(a, j.MemberCount());
        std::uint32_t k = 0;
        for (auto it = j.MemberBegin(); !is_end(it, j.MemberEnd()); ++it, ++k) {
            es[k].key = value::string_value({it->name.GetString(), it->name.GetStringLength()});
            TRIB_TRY(from_json_at(it->value, a, es[k].val, lim, depth + 1));
        }
        out = value();
        out.type = value_type::record;
        out.n = j.MemberCount();
        out.entries = es;
    }
    return ok();
}

}  // namespace

status to_json(const value& v, arena& a, json_value& out, const value_limits& lim) {
    return to_json_at(v, allocator_of(a), out, lim, 0);
}

status from_json(const json_value& j, arena& a, value& out, const value_limits& lim) {
    return from_json_at(j, a, out, lim, 0);
}

status to_typed(const record& r, arena& a, value& out, const value_limits& lim) {
    switch (r.kind) {
        case record_kind::typed:
            out = typed_of(r);
            return ok();
        case record_kind::json:
            return from_json(json_of(r), a, out, lim);
        case record_kind::text:
            out = value::string_value(r.bytes);
            return ok();
        case record_kind::raw:
            out = value::bytes_value(r.bytes);
            return ok();
    }
    return ok();
}

status typed_to_json_record(record& r, arena& a) {
    if (r.kind != record_kind::typed)
        return ok();
    json_value* j = a.get().new_value();
    TRIB_TRY(to_json(typed_of(r), a, *j));
    bool modified = r.modified;
    set_json(r, j);
    r.typed = nullptr;
    r.modified = modified;
    return ok();
}

// --- equality and debugging ------------------------------------------------------------------

bool equal(const value& x, const value& y) {
    if (x.type != y.type)
        return false;
    switch (x.type) {
        case value_type::null:
            return true;
        case value_type::boolean:
            return x.b == y.b;
        case value_type::int64:
        case value_type::date:
            return x.i == y.i;
        case value_type::uint64:
            return x.u == y.u;
        case value_type::float64:
            return (std::isnan(x.d) && std::isnan(y.d)) ||
                   std::memcmp(&x.d, &y.d, sizeof(double)) == 0;
        case value_type::timestamp:
            return x.i == y.i && x.n == y.n;
        case value_type::string:
        case value_type::bytes:
        case value_type::decimal:
        case value_type::uuid:
            return x.n == y.n && (x.n == 0 || std::memcmp(x.s, y.s, x.n) == 0);
        case value_type::list:
            if (x.n != y.n)
                return false;
            for (std::uint32_t k = 0; k < x.n; ++k)
                if (!equal(x.items[k], y.items[k]))
                    return false;
            return true;
        case value_type::map:
        case value_type::record:
            if (x.n != y.n)
                return false;
            for (std::uint32_t k = 0; k < x.n; ++k)
                if (!equal(x.entries[k].key, y.entries[k].key) ||
                    !equal(x.entries[k].val, y.entries[k].val))
                    return false;
            return true;
    }
    return false;
}

std::string debug_string(const value& v) {
    std::string out;
    switch (v.type) {
        case value_type::null:
            return "null";
        case value_type::boolean:
            return v.b ? "true" : "false";
        case value_type::int64:
            return std::to_string(v.i);
        case value_type::uint64:
            return std::to_string(v.u) + "u";
        case value_type::float64: {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.17gf", v.d);
            return buf;
        }
        case value_type::string:
            return "\"" + std::string(v.str()) + "\"";
        case value_type::decimal:
            return "decimal(" + std::string(v.str()) + ")";
        case value_type::bytes:
            out = "bytes(";
            append_base64(out, v.str());
            return out + ")";
        case value_type::timestamp:
            return "timestamp(" + std::to_string(v.i) + "s+" + std::to_string(v.n) + "ns)";
        case value_type::date:
            return "date(" + std::to_string(v.i) + ")";
        case value_type::uuid:
            out = "uuid(";
            append_uuid(out, v.s);
            return out + ")";
        case value_type::list:
            out = "[";
            for (std::uint32_t k = 0; k < v.n; ++k)
                out += (k ? "," : "") + debug_string(v.items[k]);
            return out + "]";
        case value_type::map:
        case value_type::record:
            out = v.type == value_type::map ? "map{" : "{";
            for (std::uint32_t k = 0; k < v.n; ++k)
                out += (k ? "," : "") + debug_string(v.entries[k].key) + ":" +
                       debug_string(v.entries[k].val);
            return out + "}";
    }
    return out;
}

}  // namespace trib::codecs
