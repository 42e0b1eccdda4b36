#pragma once
// The shared 20-field benchmark record (bench/codecs/README.md) as a typed value, for the bson
// and json_schema benchmarks (the same values as bson_ref.py / json_schema_ref.py record(i)).

#include <cstdio>
#include <cstring>
#include <string_view>

#include "codecs/codec.h"
#include "codecs/value.h"

namespace trib::bench::formats {

using namespace trib::codecs;

inline std::string_view text(arena& a, const char* fmt, long long v) {
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, fmt, v);
    return copy_to_arena(a, std::string_view(buf, static_cast<std::size_t>(n)));
}

inline value container(value_type t, std::uint32_t n, const void* p) {
    value v;
    v.type = t;
    v.n = n;
    if (t == value_type::list)
        v.items = static_cast<const value*>(p);
    else
        v.entries = static_cast<const entry*>(p);
    return v;
}

// Record i as a typed value (the same values as bson_ref.py's record(i)).
inline const value* record20(arena& a, long long i) {
    entry* f = new_entries(a, 20);
    int n = 0;
    auto put = [&](const char* k, value v) {
        f[n].key = value::string_value(k);
        f[n].val = v;
        ++n;
    };
    put("id", value::int_value(i));
    put("name", value::string_value(text(a, "user-%lld", i)));
    put("active", value::boolean_value(i % 2 == 0));
    put("score", value::float_value(static_cast<double>(i) * 0.25));
    put("count", value::int_value(i % 1000));
    const long long ts = 1700000000000000LL + i;
    put("ts",
        value::timestamp_value(ts / 1000000, static_cast<std::uint32_t>(ts % 1000000) * 1000));
    put("day", value::date_value(19000 + i % 365));
    {
        char buf[32];
        const long long c = i % 100000;
        const int len = std::snprintf(buf, sizeof buf, "%lld.%02lld", c / 100, c % 100);
        put("price", value::decimal_value(
                         copy_to_arena(a, std::string_view(buf, static_cast<std::size_t>(len)))));
    }
    {
        char u[16];
        std::memcpy(u, &i, 8);
        std::memcpy(u + 8, &i, 8);
        put("uid", value::uuid_value(copy_to_arena(a, std::string_view(u, 16)).data()));
    }
    {
        value* t = new_values(a, 3);
        t[0] = value::string_value(text(a, "a%lld", i % 7));
        t[1] = value::string_value(text(a, "b%lld", i % 5));
        t[2] = value::string_value("c");
        put("tags", container(value_type::list, 3, t));
    }
    {
        entry* m = new_entries(a, 2);
        m[0].key = value::string_value("k1");
        m[0].val = value::string_value(text(a, "v%lld", i % 3));
        m[1].key = value::string_value("k2");
        m[1].val = value::string_value("w");
        put("attrs", container(value_type::map, 2, m));
    }
    {
        char p[16];
        std::memset(p, static_cast<int>(i & 0xff), 16);
        put("payload", value::bytes_value(copy_to_arena(a, std::string_view(p, 16))));
    }
    {
        entry* ll = new_entries(a, 2);
        ll[0].key = value::string_value("lat");
        ll[0].val = value::float_value(static_cast<double>(i % 90));
        ll[1].key = value::string_value("lon");
        ll[1].val = value::float_value(static_cast<double>(i % 180));
        put("nested", container(value_type::record, 2, ll));
    }
    put("note", i % 2 == 0 ? value::string_value(text(a, "n%lld", i)) : value());
    static const char* levels[] = {"low", "mid", "high"};
    put("level", value::string_value(levels[i % 3]));
    put("ratio", value::float_value(static_cast<double>(static_cast<float>((i % 100) / 100.0))));
    put("small", value::int_value(i % 128));
    put("big", value::int_value(i * 1000003));
    put("city", value::string_value(text(a, "city%lld", i % 50)));
    put("country", value::string_value(text(a, "country%lld", i % 20)));
    return new_value(a, container(value_type::record, 20, f));
}

}  // namespace trib::bench::formats
