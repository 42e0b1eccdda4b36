// The avro codec's direct encoder (src/codecs/avro.cpp, "the direct encoder") against its Avro C
// path (generic values, then avro_value_write), which was the only encoder before and stays the
// reference: for every record the direct encoder takes, the same bytes; for every record it
// leaves, the codec answers exactly what the Avro C path answers (bytes or error message).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <utility>

#include "codecs/avro_paths.h"
#include "codecs/codec.h"
#include "codecs/value.h"

namespace trib::codecs {
namespace {

std::string slurp(const std::string& name) {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    std::ifstream f(
        std::filesystem::path(s ? s : ".") / "tests" / "data" / "codecs" / "avro" / name,
        std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct paths3 {
    std::unique_ptr<codec> direct;  // direct encoder and decoder only
    std::unique_ptr<codec> c;       // the Avro C paths only
    std::unique_ptr<codec> both;    // what the codec does: direct, else Avro C
};

paths3 make_paths(std::string_view schema) {
    auto d = make_avro_codec_for_schema_with(schema, "", avro_paths{true, false, true});
    auto c = make_avro_codec_for_schema_with(schema, "", avro_paths{false, true, false});
    auto b = make_avro_codec_for_schema_with(schema, "", avro_paths{});
    EXPECT_TRUE(d && c && b) << (d ? "" : d.error().to_string());
    if (!d || !c || !b)
        return {};
    return {std::move(d).value(), std::move(c).value(), std::move(b).value()};
}

struct encoded {
    bool ok = false;
    std::string bytes;  // or the error message
};

encoded encode_with(const codec& c, const record& r, arena& a) {
    std::string out = "prefix";  // the encoders append
    status s = c.encode(r, a, out);
    if (!s)
        return {false, s.error().message()};
    EXPECT_EQ(out.substr(0, 6), "prefix");
    return {true, out.substr(6)};
}

std::string hex(std::string_view s) {
    std::string out;
    char buf[4];
    for (unsigned char ch : s) {
        std::snprintf(buf, sizeof buf, "%02x", ch);
        out += buf;
    }
    return out;
}

struct decoded {
    bool ok = false;
    std::string text;  // debug_string of the value, or the error message
};

decoded decode_with(const codec& c, std::string_view bytes, arena& a) {
    record r;
    status s = c.decode(bytes, a, r);
    if (!s)
        return {false, s.error().message()};
    return {true, debug_string(typed_of(r))};
}

// Compares the decode paths on one payload; answers whether the direct decoder took it.
bool same_decode(const paths3& p, std::string_view bytes, arena& a, const std::string& what) {
    decoded d = decode_with(*p.direct, bytes, a);
    decoded c = decode_with(*p.c, bytes, a);
    decoded b = decode_with(*p.both, bytes, a);
    if (d.ok) {
        EXPECT_TRUE(c.ok) << what << ": the direct decoder took a datum Avro C refuses: " << c.text;
        EXPECT_EQ(d.text, c.text) << what;
    }
    EXPECT_EQ(b.ok, c.ok) << what << ": " << b.text << " / " << c.text;
    EXPECT_EQ(b.text, c.text) << what;
    return d.ok;
}

// Compares the paths on one record (and the decode paths on its bytes); answers whether the
// direct encoder took it.
bool same(const paths3& p, const record& r, arena& a, const std::string& what) {
    encoded d = encode_with(*p.direct, r, a);
    encoded c = encode_with(*p.c, r, a);
    encoded b = encode_with(*p.both, r, a);
    if (d.ok) {
        EXPECT_TRUE(c.ok) << what
                          << ": the direct encoder took a record Avro C refuses: " << c.bytes;
        EXPECT_EQ(hex(d.bytes), hex(c.bytes)) << what;
    }
    EXPECT_EQ(b.ok, c.ok) << what << ": " << b.bytes << " / " << c.bytes;
    EXPECT_EQ(b.ok ? hex(b.bytes) : b.bytes, c.ok ? hex(c.bytes) : c.bytes) << what;
    if (c.ok) {
        EXPECT_TRUE(same_decode(p, c.bytes, a, what)) << what;
    }
    return d.ok;
}

bool same_json(const paths3& p, std::string_view json, arena& a) {
    record r;
    status s = make_json_codec({}).value()->decode(json, a, r);
    EXPECT_TRUE(s) << json;
    return same(p, r, a, std::string(json));
}

bool same_value(const paths3& p, const value& v, arena& a, const std::string& what) {
    record r;
    set_typed(r, new_value(a, v));
    return same(p, r, a, what);
}

// Builders for typed values in an arena.
class build {
  public:
    explicit build(arena& a) : a_(a) {}
    value rec(std::initializer_list<std::pair<std::string_view, value>> fields) {
        entry* es = new_entries(a_, fields.size());
        std::size_t k = 0;
        for (const auto& [key, v] : fields) {
            es[k].key = value::string_value(copy_to_arena(a_, key));
            es[k].val = v;
            ++k;
        }
        value out;
        out.type = value_type::record;
        out.n = static_cast<std::uint32_t>(k);
        out.entries = es;
        return out;
    }
    value map(std::initializer_list<std::pair<value, value>> items) {
        value out = rec({});
        entry* es = new_entries(a_, items.size());
        std::size_t k = 0;
        for (const auto& [key, v] : items) {
            es[k].key = key;
            es[k].val = v;
            ++k;
        }
        out.type = value_type::map;
        out.n = static_cast<std::uint32_t>(k);
        out.entries = es;
        return out;
    }
    value list(std::initializer_list<value> items) {
        value* vs = new_values(a_, items.size());
        std::size_t k = 0;
        for (const auto& v : items)
            vs[k++] = v;
        value out;
        out.type = value_type::list;
        out.n = static_cast<std::uint32_t>(k);
        out.items = vs;
        return out;
    }
    value str(std::string_view s) { return value::string_value(copy_to_arena(a_, s)); }
    value bytes(std::string_view s) { return value::bytes_value(copy_to_arena(a_, s)); }

  private:
    arena& a_;
};

const std::string event_record = R"({"id": -5, "name": "héllo", "ok": true, "score": 2.5,
 "ratio": 0.1, "count": 2147483647, "note": "n", "choice": {"x": 1, "y": -2},
 "tags": ["a", "", "ccc"], "attrs": {"k": 9007199254740993, "j": -1}, "price": "-12.34",
 "fprice": "99.0001", "uid": "123e4567-e89b-12d3-a456-426614174000", "day": "2024-02-29",
 "tms": 1000, "tus": 3, "ts_ms": "2024-01-02T03:04:05.678Z",
 "ts_us": "1969-12-31T23:59:59.999999Z", "lts": 7, "level": "HIGH", "blob": "AAEC/w==",
 "hash": "3q2+7w==", "nested": {"a": [{"p": {"x": 1, "y": 2}, "q": null}, {}]}})";

TEST(avro_wire, the_corpus_record_and_its_variants_encode_as_avro_c_does) {
    const auto p = make_paths(slurp("event.avsc"));
    ASSERT_TRUE(p.direct);
    arena a;
    EXPECT_TRUE(same_json(p, event_record, a));
    // Round trip through the decoder: typed decimals, uuids, dates, timestamps, bytes.
    {
        record j, typed;
        ASSERT_TRUE(make_json_codec({}).value()->decode(event_record, a, j));
        std::string bytes;
        ASSERT_TRUE(p.c->encode(j, a, bytes));
        ASSERT_TRUE(p.c->decode(bytes, a, typed));
        EXPECT_TRUE(same(p, typed, a, "the decoded corpus record"));
    }
    // Each field changed one way at a time: in range, out of range, another type, missing.
    const std::pair<std::string_view, std::vector<std::string>> edits[] = {
        {"id", {"9223372036854775807", "-9223372036854775808", "1.5", "\"x\"", "null"}},
        {"count", {"2147483648", "-2147483649", "-2147483648", "true"}},
        {"score", {"1e308", "-0.0", "3", "18446744073709551615", "\"1\""}},
        {"ratio", {"1e39", "1e-50", "-7"}},
        {"note", {"null", "{\"string\": \"s\"}", "{\"int\": 1}", "5"}},
        {"choice",
         {"null", "7", "\"s\"", "{\"int\": 3}", "{\"string\": \"t\"}",
          "{\"trib.test.Point\": {\"x\": 1, \"y\": 1}}", "4000000000", "2.5", "{\"x\": 1}", "[1]"}},
        {"tags", {"[]", "[1]", "{}", "[\"a\", null]"}},
        {"attrs", {"{}", "{\"a\": 1.5}", "[]", "{\"a\": 1, \"b\": 2, \"c\": 3}"}},
        {"price",
         {"\"0\"", "\"-0.01\"", "\"1.234\"", "\"123456789012345678.99\"",
          "\"1234567890123456789.99\"", "12", "1.5", "\"abc\"", "true"}},
        {"fprice", {"\"-1\"", "\"99999999999999.9999\"", "\"999999999999999.9999\"", "0"}},
        {"uid", {"\"not-a-uuid\"", "\"123E4567-E89B-12D3-A456-426614174000\"", "1"}},
        {"day", {"\"1970-01-01\"", "\"0001-01-01\"", "\"2024-13-01\"", "-3", "19000"}},
        {"ts_ms",
         {"\"1970-01-01T00:00:00Z\"", "\"2024-01-02T03:04:05+02:00\"", "\"x\"", "123",
          "\"9999-12-31T23:59:59.999999999Z\""}},
        {"ts_us", {"\"2024-01-02T03:04:05.123456789Z\"", "-1", "[]"}},
        {"level", {"\"LOW\"", "\"NONE\"", "0"}},
        {"blob", {"\"\"", "\"!!\"", "5"}},
        {"hash", {"\"AAAAAA==\"", "\"AAAA\"", "\"AAAAAAAAAAA=\""}},
        {"nested", {"{\"a\": []}", "{\"a\": [{\"k\": 1}]}", "{}", "null"}},
    };
    int took = 0, tries = 0;
    for (const auto& [field, values] : edits) {
        const std::string key = "\"" + std::string(field) + "\": ";
        const auto at = event_record.find(key);
        ASSERT_NE(at, std::string::npos) << field;
        // The old value runs to the next top-level comma (or the closing brace).
        std::size_t end = at + key.size();
        int depth = 0;
        for (; end < event_record.size(); ++end) {
            char ch = event_record[end];
            if (ch == '{' || ch == '[')
                ++depth;
            else if (ch == '}' || ch == ']') {
                if (depth == 0)
                    break;
                --depth;
            } else if (ch == ',' && depth == 0)
                break;
        }
        for (const auto& v : values) {
            std::string j = event_record.substr(0, at + key.size()) + v + event_record.substr(end);
            took += same_json(p, j, a) ? 1 : 0;
            ++tries;
        }
        // The field missing.
        std::size_t cut_end = end < event_record.size() && event_record[end] == ',' ? end + 1 : end;
        std::string missing = event_record.substr(0, at) + event_record.substr(cut_end);
        if (missing.find(",}") != std::string::npos || missing.find(", }") != std::string::npos)
            continue;
        took += same_json(p, missing, a) ? 1 : 0;
        ++tries;
    }
    // Most variants are valid records: the direct encoder must have taken a good share, and
    // refused the rest exactly where Avro C does (checked in same()).
    EXPECT_GT(took, tries / 3) << took << " of " << tries;
    EXPECT_LT(took, tries) << "every variant was taken: the invalid ones must not be";
}

TEST(avro_wire, typed_values_encode_as_avro_c_does) {
    const auto p = make_paths(slurp("event.avsc"));
    ASSERT_TRUE(p.direct);
    arena a;
    build b(a);
    record j;
    ASSERT_TRUE(make_json_codec({}).value()->decode(event_record, a, j));
    value base;
    ASSERT_TRUE(to_typed(j, a, base, value_limits{}));
    ASSERT_EQ(base.type, value_type::record);
    char u[16];
    for (int k = 0; k < 16; ++k)
        u[k] = static_cast<char>(k * 17);
    const std::pair<std::string_view, std::vector<value>> edits[] = {
        {"id", {value::uint_value(5), value::timestamp_value(1, 2)}},
        {"score",
         {value::uint_value(std::numeric_limits<std::uint64_t>::max()),
          value::float_value(std::numeric_limits<double>::quiet_NaN()),
          value::float_value(-std::numeric_limits<double>::infinity())}},
        {"ratio", {value::float_value(std::numeric_limits<double>::denorm_min())}},
        {"name", {b.str(std::string_view("a\0b", 3)), b.bytes("raw")}},
        {"price",
         {value::decimal_value("-0.50"), value::decimal_value("1e5"), value::float_value(1.005),
          value::int_value(-3), b.bytes("xx")}},
        {"fprice", {value::decimal_value("12.3456"), value::uint_value(7)}},
        {"uid", {value::uuid_value(u), b.str("x")}},
        {"day", {value::date_value(-719162), value::date_value(1LL << 40), value::int_value(3)}},
        {"ts_ms",
         {value::timestamp_value(-1, 999999999),
          value::timestamp_value(std::numeric_limits<std::int64_t>::max() / 100, 0)}},
        {"lts", {value::timestamp_value(5, 1000)}},
        {"blob", {b.bytes(std::string("\0\xff", 2))}},
        {"hash", {b.bytes("abcd"), b.bytes("abc"), value::uuid_value(u)}},
        {"choice",
         {b.rec({{"x", value::int_value(1)}, {"y", value::int_value(2)}}),
          b.rec({{"trib.test.Point", b.rec({{"y", value::int_value(2)}})}}),
          value::boolean_value(true)}},
        {"attrs",
         {b.map({{b.str("a"), value::int_value(1)}, {b.str("a"), value::int_value(2)}}),
          b.map({{b.str(std::string_view("a\0x", 3)), value::int_value(1)}}),
          b.map({{value::int_value(1), value::int_value(1)}}),
          b.map({{b.str("z"), value::int_value(1)}, {b.str("y"), value::int_value(2)}})}},
        {"tags", {b.list({b.str("x"), b.bytes("y")})}},
    };
    int took = 0;
    for (const auto& [field, values] : edits) {
        for (std::size_t k = 0; k < values.size(); ++k) {
            value v = base;
            entry* es = new_entries(a, base.n);
            std::copy(base.entries, base.entries + base.n, es);
            bool found = false;
            for (std::uint32_t e = 0; e < v.n; ++e)
                if (es[e].key.str() == field) {
                    es[e].val = values[k];
                    found = true;
                }
            v.entries = es;
            ASSERT_TRUE(found) << field;
            took += same_value(p, v, a, std::string(field) + " #" + std::to_string(k)) ? 1 : 0;
        }
    }
    EXPECT_GT(took, 10);
    // Fields out of schema order, unknown extra fields: found by name.
    value rev = base;
    entry* es = new_entries(a, base.n + 1);
    for (std::uint32_t e = 0; e < base.n; ++e)
        es[e] = base.entries[base.n - 1 - e];
    es[base.n] = {b.str("extra"), value::int_value(1)};
    rev.entries = es;
    rev.n = base.n + 1;
    EXPECT_TRUE(same_value(p, rev, a, "reversed"));
}

TEST(avro_wire, schemas_of_every_shape) {
    arena a;
    const std::pair<std::string, std::vector<std::string>> cases[] = {
        {R"("null")", {"null", "1"}},
        {R"("boolean")", {"true", "false", "0"}},
        {R"("int")", {"0", "-1", "63", "-64", "64", "2147483647", "-2147483648", "2147483648"}},
        {R"("long")", {"0", "-9223372036854775808", "9223372036854775807", "1e3"}},
        {R"("float")", {"1.5", "-0.0", "16777217"}},
        {R"("string")", {"\"\"", "\"\\u0000\"", "\"日本\"", "1"}},
        {R"({"type":"array","items":{"type":"array","items":"int"}})",
         {"[]", "[[]]", "[[1,2],[3]]", "[[1,\"x\"]]"}},
        {R"({"type":"map","values":{"type":"map","values":"string"}})",
         {"{}", "{\"a\":{}}", "{\"a\":{\"b\":\"c\"},\"d\":{\"e\":\"f\",\"g\":\"h\"}}"}},
        {R"(["null","long","double","string","bytes",{"type":"array","items":"long"},)"
         R"({"type":"map","values":"long"}])",
         {"null", "1", "1.5", "\"s\"", "[1]", "{\"a\":1}", "{\"bytes\":\"AA==\"}", "true",
          "{\"double\":1}", "{\"array\":[1]}", "{\"map\":{\"a\":1}}"}},
        {R"(["int","float"])", {"1", "4000000000", "1.5", "null"}},
        {R"(["string",{"type":"string","logicalType":"uuid"}])",
         {"\"123e4567-e89b-12d3-a456-426614174000\""}},
        {R"({"type":"record","name":"R","fields":[{"name":"a","type":"int","default":7},)"
         R"({"name":"b","type":["string","null"],"default":"d"},)"
         R"({"name":"c","type":{"type":"enum","name":"E","symbols":["X","Y"]},"default":"Y"},)"
         R"({"name":"d","type":["null","int"]},)"
         R"({"name":"e","type":{"type":"array","items":"int"},"default":[1,2]}]})",
         {"{}", "{\"a\":1,\"b\":null,\"c\":\"X\",\"d\":4,\"e\":[]}", "{\"b\":\"x\"}",
          "{\"a\":\"q\"}", "[]"}},
        {R"({"type":"record","name":"Node","fields":[{"name":"v","type":"int"},)"
         R"({"name":"next","type":["null","Node"]}]})",
         {"{\"v\":1,\"next\":{\"v\":2,\"next\":null}}", "{\"v\":1,\"next\":{\"Node\":{\"v\":3}}}",
          "{\"v\":1,\"next\":{\"v\":\"x\"}}"}},
        {R"({"type":"record","name":"W","fields":[{"name":"int","type":["null","int",)"
         R"({"type":"record","name":"int2","fields":[{"name":"int","type":"int"}]}]}]})",
         {"{\"int\":{\"int\":5}}", "{\"int\":5}"}},
    };
    int took = 0, tries = 0;
    for (const auto& [schema, inputs] : cases) {
        const auto p = make_paths(schema);
        ASSERT_TRUE(p.direct) << schema;
        for (const auto& in : inputs) {
            took += same_json(p, in, a) ? 1 : 0;
            ++tries;
        }
    }
    EXPECT_GT(took, tries / 2) << took << " of " << tries;
}

TEST(avro_wire, depth_beyond_max_depth_fails_as_avro_c_does) {
    const auto p =
        make_paths(R"({"type":"record","name":"Node","fields":[{"name":"v","type":"int"},)"
                   R"({"name":"next","type":["null","Node"]}]})");
    ASSERT_TRUE(p.direct);
    arena a;
    std::string deep, tail;
    for (int k = 0; k < 100; ++k) {
        deep += "{\"v\":1,\"next\":";
        tail += "}";
    }
    deep += "null" + tail;
    EXPECT_FALSE(same_json(p, deep, a));  // 200 levels > max_depth 128
}

TEST(avro_wire, damaged_payloads_decode_as_avro_c_does) {
    const auto p = make_paths(slurp("event.avsc"));
    ASSERT_TRUE(p.direct);
    arena a;
    record j;
    ASSERT_TRUE(make_json_codec({}).value()->decode(event_record, a, j));
    std::string good;
    ASSERT_TRUE(p.c->encode(j, a, good));
    int took = 0, refused = 0;
    // Every prefix, and every byte changed three ways: the scan refuses most, and what it
    // accepts the two decoders must read alike (or the direct one must leave it to Avro C).
    for (std::size_t n = 0; n < good.size(); ++n)
        refused += same_decode(p, good.substr(0, n), a, "prefix " + std::to_string(n)) ? 0 : 1;
    for (std::size_t k = 0; k < good.size(); ++k) {
        for (unsigned char x : {0x01, 0x80, 0xff}) {
            std::string bad = good;
            bad[k] = static_cast<char>(bad[k] ^ x);
            took += same_decode(p, bad, a, "byte " + std::to_string(k)) ? 1 : 0;
            a.reset();
        }
    }
    EXPECT_EQ(refused, static_cast<int>(good.size()));
    EXPECT_GT(took, 0);
}

TEST(avro_wire, map_keys_avro_c_merges_are_left_to_it) {
    const auto p = make_paths(R"({"type":"map","values":"int"})");
    ASSERT_TRUE(p.direct);
    arena a;
    // Two entries "a" -> 1, "a" -> 2: Avro C keeps one; a key with a NUL: Avro C cuts it.
    const std::string twice(
        "\x04\x02"
        "a\x02\x02"
        "a\x04\x00",
        8);
    const std::string nul(
        "\x02\x06"
        "a\x00"
        "b\x02\x00",
        7);
    // Two blocks, the second with a byte size: joined into one map.
    const std::string blocks(
        "\x02\x02"
        "a\x02\x03\x0c\x02"
        "b\x04\x02"
        "c\x06\x00",
        13);
    EXPECT_FALSE(same_decode(p, twice, a, "a key given twice"));
    EXPECT_FALSE(same_decode(p, nul, a, "a key with a NUL"));
    EXPECT_TRUE(same_decode(p, blocks, a, "blocks"));
    const auto arr = make_paths(R"({"type":"array","items":"null"})");
    EXPECT_TRUE(same_decode(arr, std::string("\x06\x03\x00\x00", 4), a, "null items"));
}

}  // namespace
}  // namespace trib::codecs
