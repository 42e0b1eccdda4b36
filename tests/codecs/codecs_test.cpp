// Codecs: round trips, bad payloads (invalid JSON, invalid UTF-8, hostile nesting), arena reuse.

#include <gtest/gtest.h>

#include "codecs/codec.h"
#include "codecs/json_dom.h"
#include "core/json_parse.h"
#include "harness/hostile_json.h"

namespace trib::codecs {
namespace {

std::unique_ptr<codec> make(std::string_view name) {
    auto r = name == "json"  ? make_json_codec({})
             : name == "raw" ? make_raw_codec({})
                             : make_text_codec({});
    EXPECT_TRUE(r);
    return std::move(r).value();
}

std::string round_trip(const codec& c, std::string_view payload) {
    arena a;
    record r;
    status s = c.decode(payload, a, r);
    EXPECT_TRUE(s) << s.error().to_string();
    std::string out;
    EXPECT_TRUE(c.encode(r, a, out));
    return out;
}

TEST(json_codec, round_trips_values_exactly) {
    auto c = make("json");
    for (std::string_view doc : {
             R"({"a":1,"b":[true,false,null],"c":{"d":"e"}})", R"([1,2,3])", R"("just a string")",
             R"(42)",
             R"({"big":9223372036854775807,"neg":-9223372036854775808,"u":18446744073709551615})",
             R"({"pi":3.141592653589793,"tiny":5e-324,"third":0.3333333333333333})",
             R"({"esc":"quote \" backslash \\ newline \n tab \t unicode é 😀"})",
             R"({"z":1,"a":2,"m":3})",  // member order is kept
         }) {
        EXPECT_EQ(round_trip(*c, doc), doc);
    }
    // Numbers parse exactly (RapidJSON 1.1's full-precision mode got "0.0e100" wrong); integers
    // beyond 64 bits become doubles instead of being refused.
    EXPECT_EQ(round_trip(*c, "[0.0e100,1e-7,123456789.125]"), "[0.0,1e-7,123456789.125]");
    EXPECT_EQ(round_trip(*c, R"({"big":18446744073709551615744})"),
              R"({"big":1.8446744073709552e22})");
    // Whitespace is not kept (the encoding is compact), the content is.
    EXPECT_EQ(round_trip(*c, " { \"a\" : [ 1 , 2 ] } \n"), R"({"a":[1,2]})");
}

// The codec walks simdjson's tape into RapidJSON values itself (src/codecs/simd.cpp): the DOM
// must be the one RapidJSON's own reader builds (core's read_json), member order included.
TEST(json_codec, builds_the_dom_rapidjson_reads) {
    std::string wide = "{";
    for (int k = 0; k < 40; ++k)
        wide += (k ? ",\"" : "\"") + std::string("key_with_a_long_name_") + std::to_string(k) +
                "\":[" + std::to_string(k) + ",\"value number " + std::to_string(k) + "\"]";
    wide += "}";
    // 128 levels: 125 arrays, then an object, an array and an object.
    std::string nested = std::string(125, '[') + R"({"x":[1,{"y":null}]})" + std::string(125, ']');
    const std::vector<std::string> docs = {
        R"({"a":1,"b":[true,false,null],"c":{"d":"e"},"e":[],"f":{},"g":[[],{}]})",
        R"([-0.0,1e308,-1e-308,9223372036854775807,-9223372036854775808,18446744073709551615])",
        R"({"k\"ey\u00e9":"v\\al\n","":"","😀":"\ud83d\ude00","dup":1,"dup":2})",
        R"("a root string with \"escapes\" and more than sixteen bytes")",
        "true",
        "null",
        "-12",
        "0.5",
        R"("")",
        "[]",
        "{}",
        wide,
        nested,
        // Where the last string is (the used part of simdjson's string buffer ends with it):
        // the root's last word, inside an earlier container, behind a number whose bits look
        // like a string word (2449958197289549824 = '"' << 56), or nowhere.
        R"({"a":"x","n":2449958197289549824})",
        R"([{"a":"b"},[1,2],{},3.5])",
        R"({"a":[{"b":"c"},3],"d":[true,[]]})",
        R"([["s"],2449958197289549824])",
        R"({"k":{"deeper":{"deepest":"end"}},"n":null})",
        "[1,2.5,-3,[],{}]",
    };
    auto c = make("json");
    arena a;
    for (const auto& doc : docs) {
        record r;
        status s = c->decode(doc, a, r);
        ASSERT_TRUE(s) << doc << ": " << s.error().to_string();
        json_document ref;
        ASSERT_TRUE(parse_json_document(doc, ref)) << doc;
        // (RapidJSON's == matches duplicate keys to the first one: the text says more.)
        if (doc.find("dup") == std::string::npos) {
            EXPECT_TRUE(json_of(r) == ref) << doc;
        }
        std::string ours;
        std::string theirs;
        ASSERT_TRUE(write_json(json_of(r), a, ours));
        ASSERT_TRUE(write_json(ref, a, theirs));
        EXPECT_EQ(ours, theirs);
    }
}

// Strings refer to the arena, not to the parser's buffers, which the next payload overwrites:
// every record of a batch keeps its text until the arena is reset, also when the thread decodes
// into another arena in between.
TEST(json_codec, decoded_strings_stay_valid_for_the_whole_batch) {
    auto c = make("json");
    arena batch;
    arena other;
    auto doc = [](int i) {
        return "{\"name\":\"record number " + std::to_string(i) + " with a long text\",\"k" +
               std::to_string(i) + "\":[\"" + std::string(static_cast<std::size_t>(i % 50), 'x') +
               "\"]}";
    };
    std::vector<record> kept(300);
    for (int i = 0; i < 300; ++i) {
        ASSERT_TRUE(c->decode(doc(i), batch, kept[static_cast<std::size_t>(i)]));
        record scratch;
        ASSERT_TRUE(c->decode(doc(1000 + i), other, scratch));
        if (i % 7 == 0)
            other.reset();
    }
    for (int i = 0; i < 300; ++i) {
        std::string out;
        ASSERT_TRUE(write_json(json_of(kept[static_cast<std::size_t>(i)]), batch, out));
        EXPECT_EQ(out, doc(i));
    }
}

TEST(json_codec, bad_payloads_are_fatal_invalid_argument) {
    auto c = make("json");
    arena a;
    record r;
    for (std::string_view bad :
         {"", "{", "{\"a\":}", "[1,2", "nul", "{\"a\":1} trailing", "'x'", "{\"a\":NaN}"}) {
        status s = c->decode(bad, a, r);
        ASSERT_FALSE(s) << bad;
        EXPECT_EQ(s.error().code(), errc::invalid_argument);
        EXPECT_EQ(s.error().retry(), retry_class::fatal);
        EXPECT_NE(s.error().message().find("json: "), std::string::npos);
    }
    status utf = c->decode("{\"a\":\"\xff\xfe\"}", a, r);
    ASSERT_FALSE(utf);
    EXPECT_NE(utf.error().message().find("UTF-8"), std::string::npos);
    // RapidJSON 1.1 would accept a lone low surrogate and write invalid UTF-8 back (found by
    // fuzz_codecs_json); a proper pair is fine.
    status lone = c->decode(R"("ab\ude00")", a, r);
    ASSERT_FALSE(lone);
    EXPECT_EQ(lone.error().code(), errc::invalid_argument);
    EXPECT_FALSE(c->decode(R"("\ud83d")", a, r)) << "a high surrogate alone";
    EXPECT_EQ(round_trip(*c, R"("\ud83d\ude00")"), "\"\xf0\x9f\x98\x80\"");
    // Beyond 64 bits with a large exponent: RapidJSON's fallback reads infinity, which JSON
    // cannot write back (found by fuzz_codecs_json in CI).
    status huge = c->decode("[18446744073709551615744e300]", a, r);
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().message().find("range"), std::string::npos) << huge.error().message();
    std::string deep = std::string(100000, '[') + std::string(100000, ']');
    status nest = c->decode(deep, a, r);
    ASSERT_FALSE(nest);
    EXPECT_NE(nest.error().message().find("nested deeper than 128 levels at byte 128"),
              std::string::npos)
        << nest.error().message();
    std::string ok_deep = std::string(128, '[') + std::string(128, ']');
    EXPECT_TRUE(c->decode(ok_deep, a, r));
    std::string too_deep = std::string(129, '[') + std::string(129, ']');
    EXPECT_FALSE(c->decode(too_deep, a, r));
    // The RapidJSON fallback (a 65-bit integer inside) has the same limit.
    std::string big = "18446744073709551616";
    status big_ok = c->decode(std::string(128, '[') + big + std::string(128, ']'), a, r);
    EXPECT_TRUE(big_ok) << big_ok.error().message();
    status big_deep = c->decode(std::string(129, '[') + big + std::string(129, ']'), a, r);
    ASSERT_FALSE(big_deep);
    EXPECT_NE(big_deep.error().message().find("nested deeper than 128 levels"), std::string::npos)
        << big_deep.error().message();
}

TEST(json_codec, refuses_every_hostile_input_with_a_reason) {
    auto c = make("json");
    arena a;
    record r;
    for (const auto& [name, bytes] : testing::hostile_json_inputs()) {
        status s = c->decode(bytes, a, r);
        ASSERT_FALSE(s) << name;
        EXPECT_EQ(s.error().retry(), retry_class::fatal) << name;
        EXPECT_EQ(s.error().message().rfind("json: ", 0), 0u)
            << name << ": " << s.error().message();
        // The same with a 65-bit integer first, which takes the RapidJSON fallback.
        if (!bytes.empty() && bytes[0] == '[') {
            status f = c->decode("[18446744073709551616," + bytes.substr(1), a, r);
            EXPECT_FALSE(f) << name;
        }
        a.reset();
    }
}

TEST(raw_codec, passes_bytes_through_without_copy) {
    auto c = make("raw");
    std::string payload("\x00\x01\xff binary", 10);
    arena a;
    record r;
    ASSERT_TRUE(c->decode(payload, a, r));
    EXPECT_EQ(r.kind, record_kind::raw);
    EXPECT_EQ(r.bytes.data(), payload.data());  // a view, not a copy
    std::string out;
    ASSERT_TRUE(c->encode(r, a, out));
    EXPECT_EQ(out, payload);
}

TEST(text_codec, requires_utf8) {
    auto c = make("text");
    EXPECT_EQ(round_trip(*c, "héllo wörld ✓"), "héllo wörld ✓");
    arena a;
    record r;
    status s = c->decode("bad \xc3\x28 utf8", a, r);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument);
    EXPECT_EQ(s.error().retry(), retry_class::fatal);
    EXPECT_FALSE(c->decode("\xed\xa0\x80", a, r)) << "UTF-16 surrogates are not UTF-8";
    EXPECT_TRUE(c->decode("", a, r));
}

TEST(codecs, cross_kind_encoding) {
    auto json = make("json");
    auto text = make("text");
    arena a;
    record r;
    ASSERT_TRUE(text->decode("say \"hi\"", a, r));
    std::string out;
    ASSERT_TRUE(json->encode(r, a, out));
    EXPECT_EQ(out, R"("say \"hi\"")");
    record j;
    ASSERT_TRUE(json->decode(R"({"k":1})", a, j));
    out.clear();
    ASSERT_TRUE(text->encode(j, a, out));
    EXPECT_EQ(out, R"({"k":1})");
    record raw{record_kind::raw, "\xff", nullptr, false};
    out.clear();
    EXPECT_FALSE(json->encode(raw, a, out));
}

TEST(arena, grows_to_the_peak_batch_then_stops_allocating) {
    auto c = make("json");
    arena a;
    std::string doc =
        R"({"id":12345,"name":"some name here","tags":["a","b","c"],"nested":{"x":1.5}})";
    auto batch = [&] {
        for (int i = 0; i < 2000; ++i) {
            record r;
            ASSERT_TRUE(c->decode(doc, a, r));
        }
    };
    batch();
    std::size_t spilled = a.capacity();
    a.reset();
    std::size_t grown = a.capacity();
    EXPECT_GE(grown, spilled) << "the first block now holds a whole batch";
    batch();
    EXPECT_EQ(a.capacity(), grown) << "a same-size batch fits without new chunks";
    a.reset();
    EXPECT_EQ(a.capacity(), grown);
}

TEST(codecs, specs_exist_and_are_sound) {
    for (const auto& s : {json_codec_spec(), raw_codec_spec(), text_codec_spec()}) {
        EXPECT_FALSE(s.name.empty());
        EXPECT_EQ(s.kind, config::spec_kind::codec);
        EXPECT_FALSE(s.summary.empty());
    }
}

}  // namespace
}  // namespace trib::codecs
