#pragma once
// The shared 20-field benchmark record (bench/codecs/README.md), built from the record index i
// as a typed value (codecs/value.h) in an arena. The same values as the Python references'
// record(i) in record20.py.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "codecs/codec.h"
#include "codecs/value.h"

namespace trib::bench {

/// How a format without a type carries it.
struct record20_flavor {
    /// uuid as 16 bytes (proto: bytes) instead of the uuid type.
    bool uuid_as_bytes = false;
    /// date as its day number (proto: int32) instead of the date type.
    bool date_as_int = false;
    /// decimal as its text (proto, msgpack: string) instead of the decimal type.
    bool decimal_as_string = false;
    /// the null `note` left out (proto3 optional: absent) instead of a null value.
    bool omit_null = false;
};

inline std::string_view arena_text(codecs::arena& a, const char* fmt, std::int64_t v) {
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, fmt, static_cast<long long>(v));
    return codecs::copy_to_arena(a, std::string_view(buf, static_cast<std::size_t>(n)));
}

/// Record i: id int64 = i; name "user-<i>"; active i%2==0; score i*0.25; count i%1000; ts
/// timestamp-micros 1700000000000000+i; day date 19000+i%365; price decimal(10,2) (i%100000)
/// cents; uid 16 bytes (i little-endian, twice); tags ["a<i%7>","b<i%5>","c"]; attrs
/// {"k1":"v<i%3>","k2":"w"}; payload 16 bytes of (i & 0xff); nested {lat i%90, lon i%180}; note
/// null when i is odd else "n<i>"; level ["low","mid","high"][i%3]; ratio (i%100)/100 (a float);
/// small i%128; big i*1000003; city "city<i%50>"; country "country<i%20>".
inline const codecs::value* make_record20(codecs::arena& a, std::int64_t i,
                                          const record20_flavor& f = {}) {
    using codecs::entry;
    using codecs::value;
    entry* fields = codecs::new_entries(a, 20);
    std::size_t n = 0;
    auto put = [&](const char* key, value v) {
        fields[n].key = value::string_value(key);
        fields[n].val = v;
        ++n;
    };
    put("id", value::int_value(i));
    put("name", value::string_value(arena_text(a, "user-%lld", i)));
    put("active", value::boolean_value(i % 2 == 0));
    put("score", value::float_value(static_cast<double>(i) * 0.25));
    put("count", value::int_value(i % 1000));
    const std::int64_t ts = 1700000000000000LL + i;
    put("ts",
        value::timestamp_value(ts / 1000000, static_cast<std::uint32_t>(ts % 1000000) * 1000));
    put("day",
        f.date_as_int ? value::int_value(19000 + i % 365) : value::date_value(19000 + i % 365));
    {
        char buf[32];
        const std::int64_t cents = i % 100000;
        const int len =
            std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                          static_cast<long long>(cents % 100));
        auto text = codecs::copy_to_arena(a, std::string_view(buf, static_cast<std::size_t>(len)));
        put("price", f.decimal_as_string ? value::string_value(text) : value::decimal_value(text));
    }
    {
        char u[16];
        std::memcpy(u, &i, 8);
        std::memcpy(u + 8, &i, 8);
        auto bytes = codecs::copy_to_arena(a, std::string_view(u, 16));
        put("uid", f.uuid_as_bytes ? value::bytes_value(bytes) : value::uuid_value(bytes.data()));
    }
    {
        value* tags = codecs::new_values(a, 3);
        tags[0] = value::string_value(arena_text(a, "a%lld", i % 7));
        tags[1] = value::string_value(arena_text(a, "b%lld", i % 5));
        tags[2] = value::string_value("c");
        value l;
        l.type = codecs::value_type::list;
        l.n = 3;
        l.items = tags;
        put("tags", l);
    }
    {
        entry* m = codecs::new_entries(a, 2);
        m[0].key = value::string_value("k1");
        m[0].val = value::string_value(arena_text(a, "v%lld", i % 3));
        m[1].key = value::string_value("k2");
        m[1].val = value::string_value("w");
        value v;
        v.type = codecs::value_type::map;
        v.n = 2;
        v.entries = m;
        put("attrs", v);
    }
    {
        char p[16];
        std::memset(p, static_cast<int>(i & 0xff), 16);
        put("payload", value::bytes_value(codecs::copy_to_arena(a, std::string_view(p, 16))));
    }
    {
        entry* ll = codecs::new_entries(a, 2);
        ll[0].key = value::string_value("lat");
        ll[0].val = value::float_value(static_cast<double>(i % 90));
        ll[1].key = value::string_value("lon");
        ll[1].val = value::float_value(static_cast<double>(i % 180));
        value v;
        v.type = codecs::value_type::record;
        v.n = 2;
        v.entries = ll;
        put("nested", v);
    }
    if (i % 2 == 0) {
        put("note", value::string_value(arena_text(a, "n%lld", i)));
    } else if (!f.omit_null) {
        put("note", value::null_value());
    }
    static const char* levels[] = {"low", "mid", "high"};
    put("level", value::string_value(levels[i % 3]));
    put("ratio", value::float_value(static_cast<double>(static_cast<float>(i % 100) / 100.0f)));
    put("small", value::int_value(i % 128));
    put("big", value::int_value(i * 1000003));
    put("city", value::string_value(arena_text(a, "city%lld", i % 50)));
    put("country", value::string_value(arena_text(a, "country%lld", i % 20)));
    value r;
    r.type = codecs::value_type::record;
    r.n = static_cast<std::uint32_t>(n);
    r.entries = fields;
    return codecs::new_value(a, r);
}

}  // namespace trib::bench
