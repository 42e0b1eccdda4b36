// The avro codec: exact bytes, logical types, unions, schema resolution, single-object
// encoding, container files with every codec, encode errors naming the field, hostile payloads
// (lengths and counts beyond the payload, depth), avro_convert, and conversions to the other
// formats through the typed model. Cross-checks with fastavro are in avro_interop_test.cpp.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../runtime/spec_values.h"
#include "codecs/avro.h"
#include "codecs/codec.h"
#include "codecs/value.h"
#include "transforms/transform.h"

namespace trib::codecs {
namespace {

std::filesystem::path data_dir() {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    return std::filesystem::path(s ? s : ".") / "tests" / "data" / "codecs";
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string toml_string(std::string_view s) {
    std::string out = "'''";
    out += s;
    out += "'''";
    return out;
}

std::unique_ptr<codec> avro(std::string_view schema, std::string_view extra = "") {
    auto r = make_avro_codec(test::spec_values(
        avro_codec_spec(), "schema_json = " + toml_string(schema) + "\n" + std::string(extra)));
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? std::move(r).value() : nullptr;
}

std::unique_ptr<codec> json_codec() {
    return std::move(make_json_codec({})).value();
}

std::string to_json_text(const record& r, arena& a) {
    std::string out;
    status s = json_codec()->encode(r, a, out);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    return out;
}

// JSON text -> avro bytes.
result<std::string> encode_json(const codec& c, std::string_view json, arena& a) {
    record j;
    TRIB_TRY(json_codec()->decode(json, a, j));
    std::string out;
    TRIB_TRY(c.encode(j, a, out));
    return out;
}

result<std::string> decode_to_json(const codec& c, std::string_view bytes, arena& a) {
    record r;
    TRIB_TRY(c.decode(bytes, a, r));
    return to_json_text(r, a);
}

std::string hex(std::string_view s) {
    std::string out;
    char buf[4];
    for (unsigned char c : s) {
        std::snprintf(buf, sizeof buf, "%02x", c);
        out += buf;
    }
    return out;
}

const char* user_schema =
    R"({"type":"record","name":"User","fields":[{"name":"name","type":"string"},)"
    R"({"name":"age","type":"int"}]})";

TEST(avro_codec, writes_the_bytes_the_specification_gives) {
    auto c = avro(user_schema);
    arena a;
    auto b = encode_json(*c, R"({"age": 30, "name": "Alice"})", a);
    ASSERT_TRUE(b) << b.error().to_string();
    // "Alice": length 5 zigzag (0a) + bytes; 30 zigzag = 60 (3c).
    EXPECT_EQ(hex(*b), "0a416c6963653c");
    auto j = decode_to_json(*c, *b, a);
    ASSERT_TRUE(j) << j.error().to_string();
    EXPECT_EQ(*j, R"({"name":"Alice","age":30})");
}

TEST(avro_codec, the_corpus_schema_round_trips_through_json) {
    auto c = avro(slurp(data_dir() / "avro" / "event.avsc"));
    ASSERT_TRUE(c);
    arena a;
    const std::string in =
        R"({"id":-9007199254740993,"name":"Zoë 😀 \"q\"","ok":true,"score":-1.5e300,)"
        R"("ratio":0.25,"count":-2147483648,"note":null,"choice":{"trib.test.Point":{"x":1,"y":-1}},)"
        R"("tags":["a","","日本語"],"attrs":{"k1":1,"k2":-9223372036854775808},)"
        R"("price":"-12345678.90","fprice":"-0.0001","uid":"123e4567-e89b-12d3-a456-426614174000",)"
        R"("day":"2024-02-29","tms":45296789,"tus":45296789012,)"
        R"("ts_ms":"1969-12-31T23:59:59.999Z","ts_us":"2023-11-14T22:13:20.000001Z",)"
        R"("lts":"2000-01-01T00:00:00Z","level":"HIGH","blob":"AP8Q","hash":"3q2+7w==",)"
        R"("nested":{"a":[{"p":{"trib.test.Point":{"x":2,"y":3}},"q":null},{}]}})";
    auto b = encode_json(*c, in, a);
    ASSERT_TRUE(b) << b.error().to_string();
    auto j = decode_to_json(*c, *b, a);
    ASSERT_TRUE(j) << j.error().to_string();
    const std::string want =
        R"({"id":-9007199254740993,"name":"Zoë 😀 \"q\"","ok":true,"score":-1.5e300,)"
        R"("ratio":0.25,"count":-2147483648,"note":null,"choice":{"trib.test.Point":{"x":1,"y":-1}},)"
        R"("tags":["a","","日本語"],"attrs":{"k1":1,"k2":-9223372036854775808},)"
        R"("price":"-12345678.90","fprice":"-0.0001","uid":"123e4567-e89b-12d3-a456-426614174000",)"
        R"("day":"2024-02-29","tms":45296789,"tus":45296789012,)"
        R"("ts_ms":"1969-12-31T23:59:59.999Z","ts_us":"2023-11-14T22:13:20.000001Z",)"
        R"("lts":"2000-01-01T00:00:00Z","level":"HIGH","blob":"AP8Q","hash":"3q2+7w==",)"
        R"("nested":{"a":[{"p":{"x":2,"y":3},"q":null},{}]}})";  // a nullable union: the value
    EXPECT_EQ(*j, want);
    // Re-encoding the decoded record gives the same bytes.
    record r;
    ASSERT_TRUE(c->decode(*b, a, r));
    std::string again;
    ASSERT_TRUE(c->encode(r, a, again));
    EXPECT_EQ(hex(again), hex(*b));
}

TEST(avro_codec, logical_types_decode_to_typed_values) {
    auto c = avro(slurp(data_dir() / "avro" / "event.avsc"));
    arena a;
    auto b = encode_json(
        *c,
        R"({"id":1,"name":"n","ok":false,"score":0,"ratio":0,"count":0,"note":"x","choice":7,)"
        R"("tags":[],"attrs":{},"price":"1.5","fprice":"2","uid":"00000000-0000-0000-0000-000000000001",)"
        R"("day":"1970-01-02","tms":0,"tus":0,"ts_ms":"1970-01-01T00:00:01Z","ts_us":"1970-01-01T00:00:00.5Z",)"
        R"("lts":"1970-01-01T00:00:00Z","level":"LOW","blob":"","hash":"AAAAAA==","nested":{"a":[]}})",
        a);
    ASSERT_TRUE(b) << b.error().to_string();
    record r;
    ASSERT_TRUE(c->decode(*b, a, r));
    const value& v = typed_of(r);
    ASSERT_EQ(v.type, value_type::record);
    auto field = [&](std::string_view n) -> const value& {
        for (std::uint32_t k = 0; k < v.n; ++k)
            if (v.entries[k].key.str() == n)
                return v.entries[k].val;
        ADD_FAILURE() << "no field " << n;
        return v;
    };
    EXPECT_EQ(field("price").type, value_type::decimal);
    EXPECT_EQ(field("price").str(), "1.50");
    EXPECT_EQ(field("fprice").str(), "2.0000");
    EXPECT_EQ(field("uid").type, value_type::uuid);
    EXPECT_EQ(field("day").type, value_type::date);
    EXPECT_EQ(field("day").i, 1);
    EXPECT_EQ(field("ts_us").type, value_type::timestamp);
    EXPECT_EQ(field("ts_us").n, 500000000u);
    EXPECT_EQ(field("ts_ms").i, 1);
    EXPECT_EQ(field("note").type, value_type::string);    // a nullable union is its value
    EXPECT_EQ(field("choice").type, value_type::record);  // other unions keep the branch
    EXPECT_EQ(field("choice").entries[0].key.str(), "int");
    EXPECT_EQ(field("level").str(), "LOW");
    EXPECT_EQ(field("hash").type, value_type::bytes);
    EXPECT_EQ(field("attrs").type, value_type::map);
}

TEST(avro_codec, decimals_are_twos_complement_big_endian) {
    auto c = avro(R"({"type":"bytes","logicalType":"decimal","precision":6,"scale":2})");
    arena a;
    struct {
        const char* in;
        const char* bytes;
        const char* out;
    } cases[] = {
        {"\"-1.50\"", "04ff6a", "\"-1.50\""},  // -150
        {"\"1.28\"", "040080", "\"1.28\""},    // 128 needs a sign byte
        {"\"0\"", "0200", "\"0.00\""},        {"\"-1.28\"", "0280", "\"-1.28\""},
        {"3", "04012c", "\"3.00\""},          {"\"9999.99\"", "060f423f", "\"9999.99\""},
    };
    for (const auto& t : cases) {
        auto b = encode_json(*c, t.in, a);
        ASSERT_TRUE(b) << t.in << ": " << b.error().to_string();
        EXPECT_EQ(hex(*b), t.bytes) << t.in;
        auto j = decode_to_json(*c, *b, a);
        ASSERT_TRUE(j);
        EXPECT_EQ(*j, t.out);
    }
    auto over = encode_json(*c, "\"10000.00\"", a);
    ASSERT_FALSE(over);
    EXPECT_NE(over.error().message().find("precision"), std::string::npos);
    auto scale = encode_json(*c, "\"1.005\"", a);
    ASSERT_FALSE(scale);
    EXPECT_NE(scale.error().message().find("scale"), std::string::npos);
}

TEST(avro_codec, encode_errors_name_the_field) {
    auto c = avro(slurp(data_dir() / "avro" / "event.avsc"));
    arena a;
    auto wrong = encode_json(*c, R"({"id":"seven"})", a);
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().message().find("field id: expected long, got string"),
              std::string::npos)
        << wrong.error().message();
    auto u = avro(user_schema);
    auto missing = encode_json(*u, R"({"name":"x"})", a);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("field age: missing"), std::string::npos)
        << missing.error().message();
    auto range = encode_json(*u, R"({"name":"x","age":3000000000})", a);
    ASSERT_FALSE(range);
    EXPECT_NE(range.error().message().find("field age"), std::string::npos);
    auto nested =
        avro(R"({"type":"record","name":"R","fields":[{"name":"xs","type":{"type":"array","items":)"
             R"({"type":"record","name":"I","fields":[{"name":"v","type":"int"}]}}}]})");
    auto deep = encode_json(*nested, R"({"xs":[{"v":1},{"v":"two"}]})", a);
    ASSERT_FALSE(deep);
    EXPECT_NE(deep.error().message().find("field xs[1].v"), std::string::npos)
        << deep.error().message();
    auto sym = encode_json(*avro(R"({"type":"enum","name":"E","symbols":["A","B"]})"), "\"C\"", a);
    ASSERT_FALSE(sym);
    EXPECT_NE(sym.error().message().find("not a symbol"), std::string::npos);
}

TEST(avro_codec, a_missing_field_takes_its_default) {
    auto c = avro(
        R"({"type":"record","name":"R","fields":[{"name":"a","type":"int","default":7},)"
        R"({"name":"b","type":["null","string"]},{"name":"c","type":"string","default":"d"}]})");
    arena a;
    auto b = encode_json(*c, "{}", a);
    ASSERT_TRUE(b) << b.error().to_string();
    auto j = decode_to_json(*c, *b, a);
    ASSERT_TRUE(j);
    EXPECT_EQ(*j, R"({"a":7,"b":null,"c":"d"})");
}

TEST(avro_codec, bad_payloads_are_refused) {
    auto c = avro(user_schema);
    arena a;
    auto good = encode_json(*c, R"({"name":"Alice","age":30})", a);
    ASSERT_TRUE(good);
    std::string trailing = *good + "x";
    auto t = decode_to_json(*c, trailing, a);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code(), errc::invalid_argument);
    EXPECT_NE(t.error().message().find("after the datum"), std::string::npos);
    for (std::size_t n = 0; n < good->size(); ++n)
        EXPECT_FALSE(decode_to_json(*c, good->substr(0, n), a)) << n;
    // Invalid UTF-8 in a string, a bad boolean, an enum index out of range, a bad union branch.
    EXPECT_FALSE(decode_to_json(*c, std::string("\x02\xff\x3c", 3), a));
    EXPECT_FALSE(decode_to_json(*avro("\"boolean\""), "\x02", a));
    EXPECT_FALSE(decode_to_json(*avro(R"({"type":"enum","name":"E","symbols":["A"]})"), "\x02", a));
    EXPECT_FALSE(decode_to_json(*avro(R"(["null","int"])"), "\x04", a));
    EXPECT_FALSE(decode_to_json(*avro(R"({"type":"string","logicalType":"uuid"})"), "\x02x", a));
}

TEST(avro_codec, hostile_lengths_and_counts_are_refused_before_allocating) {
    arena a;
    // 5 bytes claiming a 2 GiB string: zigzag(2^31) = 2^32 as a varint.
    const std::string huge_len("\x80\x80\x80\x80\x10", 5);
    auto s = decode_to_json(*avro("\"string\""), huge_len, a);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message().find("runs past the end"), std::string::npos)
        << s.error().message();
    EXPECT_FALSE(decode_to_json(*avro("\"bytes\""), huge_len, a));
    // A block of 1e9 items: zigzag(1e9) = 2e9.
    std::string count;
    std::uint64_t u = 2000000000;
    while (u >= 0x80) {
        count.push_back(static_cast<char>((u & 0x7f) | 0x80));
        u >>= 7;
    }
    count.push_back(static_cast<char>(u));
    for (const char* schema :
         {R"({"type":"array","items":"int"})", R"({"type":"array","items":"null"})",
          R"({"type":"map","values":"null"})",
          R"({"type":"array","items":{"type":"record","name":"E","fields":[]}})"}) {
        auto r = decode_to_json(*avro(schema), count + std::string(1, '\0'), a);
        ASSERT_FALSE(r) << schema;
        EXPECT_NE(r.error().message().find("a block of 1000000000"), std::string::npos)
            << r.error().message();
    }
    // A negative length and a varint longer than 10 bytes.
    EXPECT_FALSE(decode_to_json(*avro("\"string\""), "\x01", a));
    EXPECT_FALSE(decode_to_json(*avro("\"long\""), std::string(11, '\xff'), a));
    // Arrays of nulls within the budget still decode.
    auto nulls =
        decode_to_json(*avro(R"({"type":"array","items":"null"})"), std::string("\x06\x00", 2), a);
    ASSERT_TRUE(nulls) << nulls.error().to_string();
    EXPECT_EQ(*nulls, "[null,null,null]");
}

TEST(avro_codec, recursion_is_limited_by_max_depth) {
    const char* list = R"({"type":"record","name":"Node","fields":[{"name":"v","type":"int"},)"
                       R"({"name":"next","type":["null","Node"]}]})";
    auto c = avro(list, "max_depth = 64");
    arena a;
    auto chain = [](int n) {
        std::string s;
        for (int k = 0; k < n; ++k)
            s += std::string("\x02\x02", 2);  // v = 1, branch Node
        s.back() = '\0';                      // ... the last one: branch null
        return s;
    };
    // Each link is a record and a union: two levels.
    auto ok30 = decode_to_json(*c, chain(30), a);
    EXPECT_TRUE(ok30) << (ok30 ? "" : ok30.error().to_string());
    auto deep = decode_to_json(*c, chain(5000), a);
    ASSERT_FALSE(deep);
    EXPECT_NE(deep.error().message().find("max_depth"), std::string::npos);
}

TEST(avro_codec, single_object_encoding_checks_the_fingerprint) {
    auto c = avro(user_schema, "framing = \"single_object\"");
    arena a;
    auto b = encode_json(*c, R"({"name":"Alice","age":30})", a);
    ASSERT_TRUE(b);
    auto id = avro_schema_fingerprint(user_schema);
    ASSERT_TRUE(id);
    EXPECT_EQ(id->canonical,
              R"({"name":"User","type":"record","fields":[{"name":"name","type":"string"},)"
              R"({"name":"age","type":"int"}]})");
    std::string fp;
    for (int k = 0; k < 8; ++k)
        fp.push_back(static_cast<char>((id->fingerprint >> (8 * k)) & 0xff));
    EXPECT_EQ(hex(*b), "c301" + hex(fp) + "0a416c6963653c");
    auto j = decode_to_json(*c, *b, a);
    ASSERT_TRUE(j);
    EXPECT_EQ(*j, R"({"name":"Alice","age":30})");
    std::string other = *b;
    other[5] ^= 1;
    auto r = decode_to_json(*c, other, a);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("fingerprint"), std::string::npos);
    EXPECT_FALSE(decode_to_json(*c, std::string("\xc3\x02", 2) + other.substr(2), a));
}

TEST(avro_codec, the_reader_schema_resolves_the_writer_schema) {
    const std::string w = slurp(data_dir() / "avro" / "event.avsc");
    const std::string r = slurp(data_dir() / "avro" / "event_reader.avsc");
    auto writer = avro(w);
    auto c = make_avro_codec_for_schema(w, r);
    ASSERT_TRUE(c) << c.error().to_string();
    arena a;
    auto b = encode_json(
        *writer,
        R"({"id":5,"name":"n","ok":false,"score":0,"ratio":0.5,"count":-3,"note":null,"choice":null,)"
        R"("tags":["t"],"attrs":{},"price":"1","fprice":"2","uid":"00000000-0000-0000-0000-000000000001",)"
        R"("day":0,"tms":0,"tus":0,"ts_ms":0,"ts_us":0,"lts":0,"level":"MID","blob":"","hash":"AAAAAA==",)"
        R"("nested":{"a":[]}})",
        a);
    ASSERT_TRUE(b) << b.error().to_string();
    auto j = decode_to_json(**c, *b, a);
    ASSERT_TRUE(j) << j.error().to_string();
    EXPECT_EQ(
        *j, R"({"name":"n","id":5,"count":-3,"ratio":0.5,"note":null,"tags":["t"],"level":"MID"})");
    // long -> double is resolved; string -> bytes is not (Avro C 1.11 refuses it).
    auto promoted = make_avro_codec_for_schema(
        R"({"type":"record","name":"P","fields":[{"name":"a","type":"long"}]})",
        R"({"type":"record","name":"P","fields":[{"name":"a","type":"double"}]})");
    ASSERT_TRUE(promoted) << promoted.error().to_string();
    auto pj = decode_to_json(**promoted, "\x06", a);
    ASSERT_TRUE(pj) << pj.error().to_string();
    EXPECT_EQ(*pj, R"({"a":3.0})");
    EXPECT_FALSE(make_avro_codec_for_schema(R"("string")", R"("bytes")"));
    // A reader field the writer lacks, with a default: Avro C 1.11 does not fill defaults.
    auto added = make_avro_codec_for_schema(
        user_schema,
        R"({"type":"record","name":"User","fields":[{"name":"name","type":"string"},)"
        R"({"name":"age","type":"int"},{"name":"city","type":"string","default":"x"}]})");
    if (added) {
        auto aj = decode_to_json(**added,
                                 std::string("\x0a"
                                             "Alice\x3c",
                                             7),
                                 a);
        ADD_FAILURE() << "Avro C resolved an added field: " << (aj ? *aj : aj.error().to_string());
    }
    // A reader that cannot read the writer: refused when the codec is made.
    auto bad =
        make_avro_codec_for_schema(user_schema, R"({"type":"record","name":"User",)"
                                                R"("fields":[{"name":"age","type":"string"}]})");
    EXPECT_FALSE(bad);
    // The same record branch met twice (two unions): refused both times, not passed the second
    // time as if it were a recursion (found by fuzz_codecs_avro; Avro C then read freed memory).
    const char* point_y = R"({"type":"record","name":"P","fields":[{"name":"y","type":"int"}]})";
    const char* point_big_y =
        R"({"type":"record","name":"P","fields":[{"name":"Y","type":"int"}]})";
    auto two_unions = [](const char* point) {
        return std::string(R"({"type":"record","name":"R","fields":[{"name":"c","type":["null",)") +
               point + R"(]},{"name":"d","type":["null","P"]}]})";
    };
    auto twice = make_avro_codec_for_schema(two_unions(point_big_y), two_unions(point_y));
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error().message().find("field c: no branch of the reader's union"),
              std::string::npos)
        << twice.error().message();
    EXPECT_TRUE(make_avro_codec_for_schema(two_unions(point_y), two_unions(point_y)));
}

TEST(avro_codec, container_files_round_trip_with_every_codec) {
    for (const char* cc : {"null", "deflate", "snappy", "zstandard"}) {
        auto c = avro(user_schema,
                      std::string("framing = \"container\"\ncontainer_codec = \"") + cc + "\"");
        arena a;
        std::string many = "[";
        for (int k = 0; k < 500; ++k)
            many += std::string(k ? "," : "") + R"({"name":"user )" + std::to_string(k) +
                    R"(","age":)" + std::to_string(k) + "}";
        many += "]";
        auto b = encode_json(*c, many, a);
        ASSERT_TRUE(b) << cc << ": " << b.error().to_string();
        EXPECT_EQ(b->substr(0, 4), std::string("Obj\x01", 4));
        EXPECT_NE(b->find(cc), std::string::npos) << cc;
        auto j = decode_to_json(*c, *b, a);
        ASSERT_TRUE(j) << cc << ": " << j.error().to_string();
        std::string compact;
        for (char ch : many)
            if (ch != ' ' || true)
                compact.push_back(ch);
        EXPECT_EQ(*j, compact) << cc;
        // A flipped byte in the last sync marker, and a truncated file, are refused.
        std::string broken = *b;
        broken[broken.size() - 3] ^= 0x40;
        EXPECT_FALSE(decode_to_json(*c, broken, a)) << cc;
        EXPECT_FALSE(decode_to_json(*c, b->substr(0, b->size() - 20), a)) << cc;
    }
}

TEST(avro_codec, extract_as_json_false_passes_bytes_through) {
    auto r = make_avro_codec(test::spec_values(avro_codec_spec(), "extract_as_json = false"));
    ASSERT_TRUE(r) << r.error().to_string();
    arena a;
    record rec;
    ASSERT_TRUE((*r)->decode("\x01\x02", a, rec));
    EXPECT_EQ(rec.kind, record_kind::raw);
    EXPECT_EQ(rec.bytes, "\x01\x02");
}

TEST(avro_codec, bad_schemas_fail_when_the_codec_is_made) {
    for (const char* s : {"{", R"({"type":"record","name":"R"})", R"("nope")",
                          R"({"type":"enum","name":"E","symbols":[]})", "[]"}) {
        auto r = make_avro_codec_for_schema(s, "");
        EXPECT_FALSE(r) << s;
    }
    EXPECT_FALSE(test::spec_problems(avro_codec_spec(), "").empty());
    EXPECT_FALSE(
        test::spec_problems(avro_codec_spec(), "schema_json = '\"int\"'\nschema_path = \"x.avsc\"")
            .empty());
}

TEST(avro_codec, field_mappings_rename_top_level_fields) {
    auto c = avro(user_schema, "field_mappings = { name = \"full_name\" }");
    arena a;
    auto b = encode_json(*c, R"({"full_name":"Bo","age":1})", a);
    ASSERT_TRUE(b) << b.error().to_string();
    auto j = decode_to_json(*c, *b, a);
    ASSERT_TRUE(j);
    EXPECT_EQ(*j, R"({"full_name":"Bo","age":1})");
}

// --- avro_convert ----------------------------------------------------------------------------

std::unique_ptr<transforms::transform> convert(std::string_view toml) {
    auto t =
        transforms::make_avro_convert(test::spec_values(transforms::avro_convert_spec(), toml));
    EXPECT_TRUE(t) << (t ? "" : t.error().to_string());
    return t ? std::move(t).value() : nullptr;
}

TEST(avro_convert, converts_both_ways_with_iggy_keys) {
    const std::string schema = "schema_json = " + toml_string(user_schema) + "\n";
    auto to = convert("source_format = \"json\"\ntarget_format = \"avro\"\n" + schema +
                      "field_mappings = { old_name = \"name\", name = \"archived\" }");
    auto from = convert("source_format = \"avro\"\ntarget_format = \"json\"\n" + schema);
    arena a;
    record rec;
    ASSERT_TRUE(json_codec()->decode(R"({"old_name":"Alice","age":30})", a, rec));
    transforms::transform_context ctx{"s", "t", nullptr};
    auto v = to->apply(rec, a, ctx);
    ASSERT_TRUE(v) << v.error().to_string();
    EXPECT_EQ(rec.kind, record_kind::raw);
    EXPECT_EQ(hex(rec.bytes), "0a416c6963653c");  // Iggy's test: each mapping applied once
    auto w = from->apply(rec, a, ctx);
    ASSERT_TRUE(w) << w.error().to_string();
    EXPECT_EQ(to_json_text(rec, a), R"({"name":"Alice","age":30})");
    // Garbage goes to the error policy.
    record junk{record_kind::raw, "\xff\xff", nullptr, false};
    EXPECT_FALSE(from->apply(junk, a, ctx));
    // One side must be avro; a schema is needed to convert.
    EXPECT_FALSE(
        test::spec_problems(transforms::avro_convert_spec(),
                            "source_format = \"json\"\ntarget_format = \"text\"\n" + schema)
            .empty());
    EXPECT_FALSE(
        test::spec_problems(transforms::avro_convert_spec(), "source_format = \"avro\"").empty());
}

// --- conversions through the typed model -----------------------------------------------------

TEST(avro_codec, converts_to_and_from_every_other_format) {
    const char* flat_schema =
        R"({"type":"record","name":"Flat","fields":[{"name":"id","type":"string"},)"
        R"({"name":"n","type":"long"},{"name":"price","type":{"type":"bytes","logicalType":"decimal",)"
        R"("precision":30,"scale":4}},{"name":"at","type":{"type":"long","logicalType":"timestamp-micros"}},)"
        R"({"name":"raw","type":"bytes"},{"name":"name","type":"string"},{"name":"v","type":"double"},)"
        R"({"name":"ok","type":"boolean"}]})";
    std::vector<std::pair<std::string, std::unique_ptr<codec>>> fs;
    fs.emplace_back("avro", avro(flat_schema));
    fs.emplace_back("json", json_codec());
    fs.emplace_back("msgpack", std::move(make_msgpack_codec({})).value());
    auto csv = make_csv_codec(test::spec_values(
        csv_codec_spec(), R"(types = { n = "int", price = "decimal", at = "timestamp", )"
                          R"(raw = "bytes", v = "float", ok = "bool" })"));
    ASSERT_TRUE(csv);
    fs.emplace_back("csv", std::move(csv).value());
    const auto proto_dir = data_dir() / "proto";
    auto pb = make_proto_codec(test::spec_values(
        proto_codec_spec(), "schema_path = \"" + (proto_dir / "corpus.proto").string() +
                                "\"\ninclude_paths = [\"" + (proto_dir / "include").string() +
                                "\"]\nmessage_type = \"trib.test.Flat\""));
    ASSERT_TRUE(pb) << (pb ? "" : pb.error().to_string());
    fs.emplace_back("proto", std::move(pb).value());
    arena a;
    const std::string start_json =
        R"({"id":"é😀 \"quoted\", comma\r\nnew line","n":-9007199254740993,"price":"-12.3400",)"
        R"("at":"2023-11-14T22:13:20.123456Z","raw":"AP8Q","name":"Zoë","v":0.1,"ok":true})";
    auto avro_bytes = encode_json(*fs[0].second, start_json, a);
    ASSERT_TRUE(avro_bytes) << avro_bytes.error().to_string();
    record start;
    ASSERT_TRUE(fs[0].second->decode(*avro_bytes, a, start));
    const std::string want = to_json_text(start, a);
    int pairs = 0;
    for (const auto& [na, ca] : fs) {
        std::string bytes_a;
        status s = ca->encode(start, a, bytes_a);
        ASSERT_TRUE(s) << na << ": " << s.error().to_string();
        record rec_a;
        s = ca->decode(bytes_a, a, rec_a);
        ASSERT_TRUE(s) << na << ": " << s.error().to_string();
        std::string back;
        s = fs[0].second->encode(rec_a, a, back);
        ASSERT_TRUE(s) << na << " -> avro: " << s.error().to_string();
        auto j = decode_to_json(*fs[0].second, back, a);
        ASSERT_TRUE(j);
        EXPECT_EQ(*j, want) << na << " -> avro";
        EXPECT_EQ(hex(back), hex(*avro_bytes)) << na << " -> avro";
        ++pairs;
    }
    EXPECT_EQ(pairs, 5);
}

}  // namespace
}  // namespace trib::codecs
