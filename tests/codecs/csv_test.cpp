// The csv codec: RFC 4180 quoting both ways, typed columns, options, bad payloads.

#include <gtest/gtest.h>

#include "../runtime/spec_values.h"
#include "codecs/codec.h"
#include "codecs/value.h"

namespace trib::codecs {
namespace {

std::unique_ptr<codec> csv(std::string_view toml = "") {
    auto r = make_csv_codec(test::spec_values(csv_codec_spec(), toml));
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return std::move(r).value();
}

std::string as_json(const record& r, arena& a) {
    auto json = std::move(make_json_codec({})).value();
    std::string out;
    status s = json->encode(r, a, out);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    return out;
}

TEST(csv_codec, rfc4180_quoting_round_trips) {
    arena a;
    auto c = csv();
    std::string_view p =
        "name,note,empty\r\n"
        "\"Doe, Jane\",\"said \"\"hi\"\"\r\nthen left\",\r\n"
        "Zoë 😀,plain,\"\"\r\n";
    record r;
    ASSERT_TRUE(c->decode(p, a, r));
    EXPECT_EQ(as_json(r, a),
              R"([{"name":"Doe, Jane","note":"said \"hi\"\r\nthen left","empty":null},)"
              R"({"name":"Zoë 😀","note":"plain","empty":""}])");
    record changed = r;
    changed.modified = true;
    std::string out;
    ASSERT_TRUE(c->encode(changed, a, out));
    EXPECT_EQ(out, p);
}

TEST(csv_codec, typed_columns) {
    arena a;
    auto c = csv(
        R"(types = { id = "int", v = "float", ok = "bool", price = "decimal", at = "timestamp", )"
        R"(day = "date", uid = "uuid", raw = "bytes" })");
    std::string_view p =
        "id,v,ok,price,at,day,uid,raw,s\n"
        "-7,2.5e3,true,10.50,2024-05-06T07:08:09.5+02:00,2024-05-06,"
        "123e4567-e89b-12d3-a456-426614174000,AAEC,x\n";
    record r;
    ASSERT_TRUE(c->decode(p, a, r));
    ASSERT_EQ(r.kind, record_kind::typed);
    EXPECT_EQ(
        debug_string(typed_of(r)),
        "{\"id\":-7,\"v\":2500f,\"ok\":true,\"price\":decimal(10.50),"
        "\"at\":timestamp(1714972089s+500000000ns),\"day\":date(19849),"
        "\"uid\":uuid(123e4567-e89b-12d3-a456-426614174000),\"raw\":bytes(AAEC),\"s\":\"x\"}");
    record changed = r;
    changed.modified = true;
    std::string out;
    ASSERT_TRUE(c->encode(changed, a, out));
    EXPECT_EQ(out,
              "id,v,ok,price,at,day,uid,raw,s\r\n"
              "-7,2500,true,10.50,2024-05-06T05:08:09.500Z,2024-05-06,"
              "123e4567-e89b-12d3-a456-426614174000,AAEC,x\r\n");
}

TEST(csv_codec, no_header_columns_lf_and_null_marker) {
    arena a;
    auto c = csv(R"(header = false
columns = ["a", "b"]
delimiter = ";"
null_value = "NULL"
line_ending = "lf"
types = { b = "int" })");
    record r;
    ASSERT_TRUE(c->decode("x;NULL\n", a, r));
    EXPECT_EQ(as_json(r, a), R"({"a":"x","b":null})");
    auto json = std::move(make_json_codec({})).value();
    record j;
    ASSERT_TRUE(json->decode(R"({"b":3,"a":"NULL"})", a, j));
    std::string out;
    ASSERT_TRUE(c->encode(j, a, out));
    EXPECT_EQ(out, "\"NULL\";3\n");
}

TEST(csv_codec, bad_payloads) {
    arena a;
    auto c = csv(R"(types = { n = "int" })");
    for (auto [payload, why] : std::vector<std::pair<std::string_view, std::string_view>>{
             {"", "no header row"},
             {"n,m\n1\n", "has 1 fields, the header 2"},
             {"n\n\"1\n", "not closed"},
             {"n\n1\"2\n", "quote inside an unquoted field"},
             {"n\n\"1\"x\n", "text after a closing quote"},
             {"n\n12a\n", "is not an int"},
             {"n\n99999999999999999999\n", "is not an int"},
             {"n,n\n1,2\n", "appears twice"},
             {"n\n\xff\n", "UTF-8"},
             {"n\r1\n", "carriage return"},
         }) {
        record r;
        status s = c->decode(payload, a, r);
        ASSERT_FALSE(s) << payload;
        EXPECT_EQ(s.error().code(), errc::invalid_argument);
        EXPECT_NE(s.error().message().find(why), std::string::npos) << s.error().message();
    }
}

TEST(csv_codec, options_are_checked_at_start) {
    EXPECT_NE(test::spec_problems(csv_codec_spec(), "delimiter = \"ab\""), "");
    EXPECT_NE(test::spec_problems(csv_codec_spec(), "header = false"), "");
    EXPECT_NE(test::spec_problems(csv_codec_spec(), "types = { a = \"integer\" }"), "");
    EXPECT_EQ(test::spec_problems(csv_codec_spec(), "types = { a = \"int\" }"), "");
}

}  // namespace
}  // namespace trib::codecs
