// The proto codec's direct encoder (src/codecs/proto_wire.cpp) against its JSON path (record ->
// proto3 JSON -> libprotobuf's parser), which was the only encoder before and stays the
// reference: for every form the direct encoder takes, the same bytes (maps of several entries:
// the same message, since libprotobuf writes map entries in its hash order); for every form it
// leaves, the codec answers exactly what the JSON path answers (bytes or error).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <utility>

#include "../runtime/spec_values.h"
#include "codecs/codec.h"
#include "codecs/proto_paths.h"
#include "codecs/value.h"

namespace trib::codecs {
namespace {

namespace fs = std::filesystem;

fs::path proto_dir() {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    return fs::path(s ? s : ".") / "tests" / "data" / "codecs" / "proto";
}

// proto2: explicit presence for every optional scalar, required fields, [packed = true], a
// closed enum, a group-free nested message.
constexpr std::string_view proto2_schema = R"(syntax = "proto2";
package trib.p2;
enum Color { RED = 0; GREEN = 1; }
message Inner { optional int32 v = 1; }
message Msg {
  optional int32 a = 1;
  required string name = 2;
  optional Color color = 3;
  repeated int32 loose = 4;
  repeated sint64 tight = 5 [packed = true];
  optional double d = 6;
  optional Inner inner = 7;
  optional bool flag = 8;
  map<bool, string> by_flag = 9;
  map<uint32, Inner> by_id = 10;
  optional int32 foo_bar = 11;
  optional int32 fooBar = 12;
}
)";

struct paths3 {
    std::unique_ptr<codec> direct;  // direct encoder only
    std::unique_ptr<codec> json;    // the JSON path only
    std::unique_ptr<codec> both;    // what the codec does: direct, else the JSON path
};

paths3 make_paths(const std::string& toml) {
    auto v = test::spec_values(proto_codec_spec(), toml);
    auto d = make_proto_codec_with(v, proto_paths{true, false});
    auto j = make_proto_codec_with(v, proto_paths{false, true});
    auto b = make_proto_codec_with(v, proto_paths{});
    EXPECT_TRUE(d && j && b);
    if (!d || !j || !b)
        return {};
    return {std::move(d).value(), std::move(j).value(), std::move(b).value()};
}

std::string corpus_toml(std::string_view type, std::string_view extra = "") {
    return "schema_path = \"" + (proto_dir() / "corpus.proto").string() +
           "\"\ninclude_paths = [\"" + (proto_dir() / "include").string() +
           "\"]\nmessage_type = \"" + std::string(type) + "\"\n" + std::string(extra);
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
        entry* es = new_entries(a_, items.size());
        std::size_t k = 0;
        for (const auto& [key, v] : items) {
            es[k].key = key;
            es[k].val = v;
            ++k;
        }
        value out;
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

value i(std::int64_t v) {
    return value::int_value(v);
}
value f(double v) {
    return value::float_value(v);
}

struct encoded {
    bool ok = false;
    std::string bytes;  // or the error message
};

encoded encode_with(const codec& c, const value& v, arena& a) {
    record r;
    set_typed(r, new_value(a, v));
    encoded e;
    std::string out;
    status s = c.encode(r, a, out);
    e.ok = static_cast<bool>(s);
    e.bytes = s ? out : s.error().message();
    return e;
}

// Map entries sorted by key, recursively: libprotobuf's map order is its hash order.
value sorted_maps(const value& v, arena& a) {
    if (v.type == value_type::list) {
        value* items = new_values(a, v.n);
        for (std::uint32_t k = 0; k < v.n; ++k)
            items[k] = sorted_maps(v.items[k], a);
        value out = v;
        out.items = items;
        return out;
    }
    if (v.type != value_type::map && v.type != value_type::record)
        return v;
    entry* es = new_entries(a, v.n);
    for (std::uint32_t k = 0; k < v.n; ++k) {
        es[k].key = v.entries[k].key;
        es[k].val = sorted_maps(v.entries[k].val, a);
    }
    if (v.type == value_type::map)
        std::sort(es, es + v.n, [](const entry& x, const entry& y) {
            return debug_string(x.key) < debug_string(y.key);
        });
    value out = v;
    out.entries = es;
    return out;
}

std::string decoded(const codec& c, const std::string& bytes, arena& a) {
    record r;
    status s = c.decode(bytes, a, r);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    return s ? debug_string(sorted_maps(typed_of(r), a)) : "";
}

// The direct encoder takes `v` and writes the JSON path's bytes.
void expect_same_bytes(const paths3& p, const value& v, arena& a) {
    encoded d = encode_with(*p.direct, v, a);
    encoded j = encode_with(*p.json, v, a);
    ASSERT_TRUE(j.ok) << debug_string(v) << ": " << j.bytes;
    ASSERT_TRUE(d.ok) << debug_string(v) << ": " << d.bytes;
    EXPECT_EQ(debug_string(value::bytes_value(d.bytes)), debug_string(value::bytes_value(j.bytes)))
        << debug_string(v);
    EXPECT_EQ(encode_with(*p.both, v, a).bytes, d.bytes);
}

// The direct encoder takes `v` and writes the JSON path's message (maps in another order).
void expect_same_message(const paths3& p, const value& v, arena& a) {
    encoded d = encode_with(*p.direct, v, a);
    encoded j = encode_with(*p.json, v, a);
    ASSERT_TRUE(j.ok) << j.bytes;
    ASSERT_TRUE(d.ok) << d.bytes;
    EXPECT_EQ(d.bytes.size(), j.bytes.size());
    EXPECT_EQ(decoded(*p.json, d.bytes, a), decoded(*p.json, j.bytes, a)) << debug_string(v);
}

// The direct encoder leaves `v` to the JSON path, and the codec answers as that path does.
void expect_json_path(const paths3& p, const value& v, arena& a) {
    encoded d = encode_with(*p.direct, v, a);
    EXPECT_FALSE(d.ok) << "the direct encoder took " << debug_string(v);
    encoded j = encode_with(*p.json, v, a);
    encoded b = encode_with(*p.both, v, a);
    EXPECT_EQ(b.ok, j.ok) << debug_string(v);
    EXPECT_EQ(b.bytes, j.bytes) << debug_string(v);
}

TEST(proto_wire, every_scalar_kind_nested_repeated_and_well_known_types_as_the_json_path) {
    arena a;
    build b(a);
    auto p = make_paths(corpus_toml("trib.test.Reading"));
    ASSERT_TRUE(p.direct);
    const value point = b.rec({{"x", f(1.5)}, {"y", f(-2)}, {"label", b.str("p")}});
    // Fields out of number order: the encoder writes them in number order, as libprotobuf.
    expect_same_bytes(
        p,
        b.rec({{"tags", b.list({b.str("a"), b.str(""), b.str("c")})},
               {"id", b.str("sensor-\xc3\xa9\xf0\x9f\x98\x80")},
               {"big", i(std::numeric_limits<std::int64_t>::min())},
               {"ubig", value::uint_value(std::numeric_limits<std::uint64_t>::max())},
               {"delta", i(-5)},
               {"value", f(21.5)},
               {"ratio", f(0.1)},
               {"ok", value::boolean_value(true)},
               {"raw", b.bytes(std::string("\x00\x01\xff", 3))},
               {"unit", b.str("KELVIN")},
               {"origin", point},
               {"at", value::timestamp_value(1'714'979'289, 123'456'789)},
               {"maybe", i(42)},
               {"number", i(0)},
               {"path", b.list({point, b.rec({}), point})},
               {"opt", i(0)},
               {"f32", i(4'294'967'295)},
               {"sf64", i(-1)},
               {"packed", b.list({i(1), i(-1), i(300), i(0)})},
               {"child", b.rec({{"id", b.str("kid")}, {"child", b.rec({{"big", i(7)}})}})}}),
        a);
    // Enums by number, the oneof's string member, a long string (a length of two bytes), a
    // nested message of more than 127 bytes (its length widened in place).
    const std::string long_text(300, 'x');
    expect_same_bytes(p,
                      b.rec({{"unit", i(2)},
                             {"text", b.str(long_text)},
                             {"child", b.rec({{"id", b.str(long_text)}})},
                             {"at", value::timestamp_value(-62'135'596'800, 0)}}),
                      a);
    // Integers into double and float fields, within the range they hold exactly.
    expect_same_bytes(p, b.rec({{"value", i(-(std::int64_t{1} << 53))}, {"ratio", i(1 << 24)}}), a);
    // Non-finite floats (the JSON path writes them as "NaN"/"Infinity" strings).
    expect_same_bytes(p,
                      b.rec({{"value", f(std::numeric_limits<double>::quiet_NaN())},
                             {"ratio", f(-std::numeric_limits<double>::infinity())}}),
                      a);
    expect_same_bytes(p, b.rec({{"value", f(std::numeric_limits<double>::infinity())}}), a);
    expect_same_bytes(p, b.rec({{"ratio", f(3.4028234663852886e38)}}), a);
    // A wrapper holding its default is an empty message, not an absent one.
    expect_same_bytes(p, b.rec({{"maybe", i(0)}}), a);
}

TEST(proto_wire, defaults_nulls_and_presence_as_the_json_path) {
    arena a;
    build b(a);
    auto p = make_paths(corpus_toml("trib.test.Reading"));
    ASSERT_TRUE(p.direct);
    // proto3 implicit presence: defaults are not written; -0.0 is not the default.
    expect_same_bytes(p,
                      b.rec({{"id", b.str("")},
                             {"big", i(0)},
                             {"value", f(0.0)},
                             {"ratio", f(-0.0)},
                             {"ok", value::boolean_value(false)},
                             {"unit", b.str("UNIT_UNSPECIFIED")},
                             {"tags", b.list({})},
                             {"packed", b.list({})},
                             {"raw", b.bytes("")},
                             {"origin", b.rec({})},
                             {"at", value::timestamp_value(0, 0)}}),
                      a);
    // A null field is left out.
    expect_same_bytes(p, b.rec({{"id", value()}, {"big", i(5)}, {"origin", value()}}), a);
    // An empty record is an empty message.
    expect_same_bytes(p, b.rec({}), a);
}

TEST(proto_wire, maps_with_string_integer_and_message_values_as_the_json_path) {
    arena a;
    build b(a);
    auto p = make_paths(corpus_toml("trib.test.Reading"));
    ASSERT_TRUE(p.direct);
    const value point = b.rec({{"x", f(1.5)}, {"label", b.str("p")}});
    // One entry: the bytes (keys and values are written even when they are defaults).
    expect_same_bytes(p, b.rec({{"counts", b.rec({{"x", i(1)}})}}), a);
    expect_same_bytes(p, b.rec({{"counts", b.rec({{"", i(0)}})}}), a);
    expect_same_bytes(p, b.rec({{"points", b.map({{i(-3), point}})}}), a);
    expect_same_bytes(p, b.rec({{"points", b.map({{i(0), b.rec({})}})}}), a);
    // A JSON object's keys are text: integer keys parsed from it.
    expect_same_bytes(p, b.rec({{"points", b.rec({{"-3", point}})}}), a);
    // Several entries: the same message.
    expect_same_message(
        p,
        b.rec({{"counts", b.rec({{"x", i(1)}, {"y", i(-2)}, {"z", i(0)}})},
               {"points", b.map({{i(5), point}, {i(-9), b.rec({})}, {i(70000), point}})}}),
        a);
}

TEST(proto_wire, names_decimals_and_unknown_fields_as_the_json_path) {
    arena a;
    build b(a);
    // lowerCamelCase names are accepted (as by protobuf's JSON parser).
    auto v2 = make_paths(corpus_toml("trib.test.ReadingV2"));
    ASSERT_TRUE(v2.direct);
    expect_same_bytes(v2, b.rec({{"addedNumber", i(3)}, {"added", b.str("new")}}), a);
    // A decimal into a string field is its text.
    auto flat = make_paths(corpus_toml("trib.test.Flat"));
    ASSERT_TRUE(flat.direct);
    expect_same_bytes(flat,
                      b.rec({{"id", b.str("a")},
                             {"n", i(-4)},
                             {"price", value::decimal_value("12345678901234567890.25")},
                             {"v", i(3)}}),
                      a);
    // Unknown fields kept by decode go back after the known ones.
    auto keep = make_paths(corpus_toml("trib.test.Reading", "preserve_unknown_fields = true"));
    ASSERT_TRUE(keep.direct);
    expect_same_bytes(keep,
                      b.rec({{"unknown_field_31", i(9)},
                             {"id", b.str("x")},
                             {"unknown_field_30", b.bytes("new")},
                             {"big", i(2)}}),
                      a);
}

TEST(proto_wire, proto2_presence_required_packed_and_closed_enums_as_the_json_path) {
    arena a;
    build b(a);
    const fs::path dir = fs::path(testing::TempDir()) / "proto_wire_p2";
    fs::create_directories(dir);
    std::ofstream(dir / "p2.proto") << proto2_schema;
    auto p = make_paths("schema_path = \"" + (dir / "p2.proto").string() +
                        "\"\nmessage_type = \"trib.p2.Msg\"\n");
    ASSERT_TRUE(p.direct);
    // Explicit presence: defaults are written.
    expect_same_bytes(p,
                      b.rec({{"a", i(0)},
                             {"name", b.str("")},
                             {"color", b.str("RED")},
                             {"d", f(0.0)},
                             {"flag", value::boolean_value(false)},
                             {"inner", b.rec({{"v", i(0)}})}}),
                      a);
    // Unpacked and packed repeated fields.
    expect_same_bytes(p,
                      b.rec({{"name", b.str("n")},
                             {"loose", b.list({i(1), i(0), i(-1)})},
                             {"tight", b.list({i(-1), i(0), i(1), i(-300)})},
                             {"color", i(1)}}),
                      a);
    const value name = b.str("n");
    expect_same_bytes(p, b.rec({{"name", name}, {"by_flag", b.rec({{"true", b.str("yes")}})}}), a);
    expect_same_bytes(
        p, b.rec({{"name", name}, {"by_flag", b.map({{value::boolean_value(false), b.str("")}})}}),
        a);
    expect_same_bytes(p, b.rec({{"name", name}, {"by_id", b.map({{i(7), b.rec({{"v", i(1)}})}})}}),
                      a);
    // Decoding still checks proto2 required fields (the check is skipped only for schemas
    // without any).
    {
        record r;
        const std::string no_name("\x08\x01", 2);  // a = 1, no name
        status s = p.both->decode(no_name, a, r);
        ASSERT_FALSE(s);
        EXPECT_NE(s.error().message().find("misses required fields"), std::string::npos)
            << s.error().message();
        const std::string inner_only("\x12\x01n\x3a\x00", 5);  // name = "n", inner = {}
        EXPECT_TRUE(p.both->decode(inner_only, a, r));
    }
    // A closed enum's unknown number, a missing (or null) required field: the JSON path's
    // answer.
    expect_json_path(p, b.rec({{"name", name}, {"color", i(5)}}), a);
    expect_json_path(p, b.rec({{"a", i(1)}}), a);
    expect_json_path(p, b.rec({{"name", value()}}), a);
    // "fooBar" is one field's name and the other's JSON name: the JSON path decides.
    expect_json_path(p, b.rec({{"name", name}, {"fooBar", i(1)}}), a);
    expect_same_bytes(p, b.rec({{"name", name}, {"foo_bar", i(2)}}), a);
}

TEST(proto_wire, every_other_form_goes_through_the_json_path_with_its_answer) {
    arena a;
    build b(a);
    auto p = make_paths(corpus_toml("trib.test.Reading"));
    ASSERT_TRUE(p.direct);
    std::vector<value> cases = {
        // Well-known types with JSON forms of their own.
        b.rec({{"took", b.str("1.5s")}}),
        b.rec({{"mask", b.str("a.b,cD")}}),
        b.rec({{"extra", b.rec({{"k", b.list({i(1), b.str("two"), value()})}})}}),
        b.rec({{"detail",
                b.rec({{"@type", b.str("type.googleapis.com/trib.common.Point")}, {"x", f(2)}})}}),
        // Text forms the JSON parser converts.
        b.rec({{"at", b.str("2024-05-06T07:08:09.5+02:00")}}),
        b.rec({{"raw", b.str("AAEC/w==")}}),
        b.rec({{"big", b.str("-12")}}),
        b.rec({{"maybe", b.str("42")}}),
        b.rec({{"delta", f(2.0)}}),
        b.rec({{"unit", b.str("1")}}),
        // Proto3 enums are open: an unknown number is kept.
        b.rec({{"unit", i(99)}}),
        // Mistakes: the JSON path's error.
        b.rec({{"nope", i(1)}}),
        b.rec({{"id", b.str("a")}, {"id", b.str("b")}}),
        b.rec({{"text", b.str("a")}, {"number", i(1)}}),
        b.rec({{"text", value()}}),
        b.rec({{"delta", i(std::int64_t{1} << 40)}}),
        b.rec({{"delta", f(1.5)}}),
        b.rec({{"big", value::uint_value(std::numeric_limits<std::uint64_t>::max())}}),
        b.rec({{"ubig", i(-1)}}),
        b.rec({{"f32", i(std::int64_t{1} << 32)}}),
        b.rec({{"ratio", f(1e300)}}),
        b.rec({{"value", i((std::int64_t{1} << 53) + 1)}}),
        b.rec({{"unit", b.str("FAHRENHEIT")}}),
        b.rec({{"id", b.str("\xff\xfe")}}),
        b.rec({{"id", i(5)}}),
        b.rec({{"raw", value::uuid_value("0123456789abcdef")}}),
        b.rec({{"tags", b.list({b.str("a"), value()})}}),
        b.rec({{"tags", b.str("a")}}),
        b.rec({{"counts", b.rec({{"x", value()}})}}),
        b.rec({{"points", b.rec({{"x", b.rec({})}})}}),
        // A map key given twice (a decoded payload can hold that; its JSON form cannot).
        b.rec({{"points", b.map({{i(0), b.rec({})}, {i(0), b.rec({})}})}}),
        b.rec({{"points", b.rec({{"7", b.rec({})}, {"07", b.rec({})}})}}),
        b.rec({{"counts", b.rec({{"x", i(1)}, {"x", i(2)}})}}),
        b.rec({{"origin", b.list({})}}),
        b.rec({{"at", value::timestamp_value(253'402'300'800, 0)}}),
        b.rec({{"at", value::timestamp_value(-62'135'596'801, 0)}}),
    };
    for (const value& v : cases)
        expect_json_path(p, v, a);
    // Nesting deeper than the direct encoder goes (its limit is below the JSON parser's).
    value deep = b.rec({{"id", b.str("leaf")}});
    for (int k = 0; k < 80; ++k)
        deep = b.rec({{"child", deep}});
    expect_json_path(p, deep, a);
}

}  // namespace
}  // namespace trib::codecs
