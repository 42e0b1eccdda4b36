// The typed record model: JSON conversion both ways, the shared text forms, limits.

#include "codecs/value.h"

#include <gtest/gtest.h>

#include <cstring>

namespace trib::codecs {
namespace {

std::string json_text(const value& v, arena& a) {
    json_value j;
    status s = to_json(v, a, j);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    std::string out;
    EXPECT_TRUE(write_json(j, a, out));
    return out;
}

TEST(value, is_sixteen_bytes) {
    EXPECT_EQ(sizeof(value), 16u);
    EXPECT_EQ(sizeof(entry), 32u);
}

TEST(value, json_round_trip_keeps_types_json_has) {
    arena a;
    std::string_view doc =
        R"({"n":null,"b":true,"i":-5,"u":18446744073709551615,"f":1.5,"s":"é😀","l":[1,[2,{}]],"o":{"x":{}}})";
    json_value* j = nullptr;
    ASSERT_TRUE(parse_json(doc, a, j));
    value v;
    ASSERT_TRUE(from_json(*j, a, v));
    EXPECT_EQ(v.type, value_type::record);
    EXPECT_EQ(v.entries[3].val.type, value_type::uint64);
    EXPECT_EQ(v.entries[2].val.type, value_type::int64);
    EXPECT_EQ(json_text(v, a), doc);
}

TEST(value, json_forms_of_types_json_lacks) {
    arena a;
    static const char id[16] = {
        0x12, 0x34, 0x56, 0x78, (char)0x9a, (char)0xbc, 0x0d,       (char)0xef,
        0x01, 0x23, 0x45, 0x67, (char)0x89, (char)0xab, (char)0xcd, (char)0xef};
    entry* es = new_entries(a, 8);
    const char* names[] = {"d", "b", "t", "day", "id", "nan", "inf", "m"};
    for (int k = 0; k < 8; ++k)
        es[k].key = value::string_value(names[k]);
    es[0].val = value::decimal_value("-123.4500");
    es[1].val = value::bytes_value(std::string_view("\x00\xff\x10", 3));
    es[2].val = value::timestamp_value(1700000000, 123000000);
    es[3].val = value::date_value(19675);
    es[4].val = value::uuid_value(id);
    es[5].val = value::float_value(std::numeric_limits<double>::quiet_NaN());
    es[6].val = value::float_value(-std::numeric_limits<double>::infinity());
    entry* me = new_entries(a, 2);
    me[0].key = value::int_value(7);
    me[0].val = value::string_value("seven");
    me[1].key = value::boolean_value(true);
    me[1].val = value();
    es[7].val.type = value_type::map;
    es[7].val.n = 2;
    es[7].val.entries = me;
    value rec;
    rec.type = value_type::record;
    rec.n = 8;
    rec.entries = es;
    EXPECT_EQ(json_text(rec, a),
              R"({"d":"-123.4500","b":"AP8Q","t":"2023-11-14T22:13:20.123Z","day":"2023-11-14",)"
              R"("id":"12345678-9abc-0def-0123-456789abcdef","nan":"NaN","inf":"-Infinity",)"
              R"("m":{"7":"seven","true":null}})");
}

TEST(value, timestamps_parse_and_print) {
    std::int64_t s;
    std::uint32_t ns;
    ASSERT_TRUE(parse_timestamp("1970-01-01T00:00:00Z", s, ns));
    EXPECT_EQ(s, 0);
    ASSERT_TRUE(parse_timestamp("2024-02-29T23:59:59.000000001+01:00", s, ns));
    EXPECT_EQ(ns, 1u);
    std::string out;
    append_timestamp(out, s, ns);
    EXPECT_EQ(out, "2024-02-29T22:59:59.000000001Z");
    ASSERT_TRUE(parse_timestamp("0001-01-01T00:00:00Z", s, ns));
    EXPECT_EQ(s, -62135596800);
    out.clear();
    append_timestamp(out, -1, 500000000);
    EXPECT_EQ(out, "1969-12-31T23:59:59.500Z");
    for (std::string_view bad :
         {"2023-02-29T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00", "2024-01-01",
          "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567890Z", "10000-01-01T00:00:00Z",
          "2024-01-01T00:00:60Z", "2024-01-01T00:00:00+1:00"})
        EXPECT_FALSE(parse_timestamp(bad, s, ns)) << bad;
}

TEST(value, dates_uuids_base64_decimals) {
    std::int64_t d;
    ASSERT_TRUE(parse_date("2000-03-01", d));
    std::string out;
    append_date(out, d);
    EXPECT_EQ(out, "2000-03-01");
    EXPECT_FALSE(parse_date("2001-02-29", d));
    char id[16];
    ASSERT_TRUE(parse_uuid("123E4567-e89b-12d3-a456-426614174000", id));
    out.clear();
    append_uuid(out, id);
    EXPECT_EQ(out, "123e4567-e89b-12d3-a456-426614174000");
    EXPECT_FALSE(parse_uuid("123e4567e89b12d3a456426614174000", id));
    std::string raw;
    ASSERT_TRUE(decode_base64("-_8", raw));  // URL-safe, unpadded
    EXPECT_EQ(raw, std::string("\xfb\xff"));
    raw.clear();
    EXPECT_FALSE(decode_base64("a", raw));
    EXPECT_FALSE(decode_base64("ab!c", raw));
    for (std::string_view ok : {"0", "-1.5", "123.000"})
        EXPECT_TRUE(valid_decimal(ok)) << ok;
    for (std::string_view bad : {"", "-", "1.", ".5", "1e5", "+1", "1.2.3"})
        EXPECT_FALSE(valid_decimal(bad)) << bad;
}

TEST(value, depth_limit_applies_to_conversions) {
    arena a;
    // 200 nested arrays, built directly: parse_json itself refuses anything deeper than 128.
    std::string deep(128, '[');
    deep += std::string(128, ']');
    json_value* j = nullptr;
    ASSERT_FALSE(parse_json("[" + deep + "]", a, j));
    ASSERT_TRUE(parse_json(deep, a, j));
    for (int i = 128; i < 200; ++i) {
        json_value* outer = a.get().new_value();
        outer->SetArray();
        outer->PushBack(*j, allocator_of(a));
        j = outer;
    }
    value v;
    auto s = from_json(*j, a, v);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument);
    value_limits wide;
    wide.max_depth = 300;
    ASSERT_TRUE(from_json(*j, a, v, wide));
    json_value back;
    EXPECT_FALSE(to_json(v, a, back));
}

TEST(value, typed_records_encode_as_json_through_the_json_codec) {
    arena a;
    auto json = std::move(make_json_codec({})).value();
    entry* es = new_entries(a, 1);
    es[0].key = value::string_value("at");
    es[0].val = value::date_value(0);
    value rec;
    rec.type = value_type::record;
    rec.n = 1;
    rec.entries = es;
    record r;
    set_typed(r, new_value(a, rec));
    std::string out;
    ASSERT_TRUE(json->encode(r, a, out));
    EXPECT_EQ(out, R"({"at":"1970-01-01"})");
    ASSERT_TRUE(typed_to_json_record(r, a));
    EXPECT_EQ(r.kind, record_kind::json);
}

}  // namespace
}  // namespace trib::codecs
