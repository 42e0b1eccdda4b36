#include "core/json_parse.h"

#include <gtest/gtest.h>

#include <string>

#include "harness/hostile_json.h"

namespace trib {
namespace {

using testing::deep_arrays;
using testing::deep_objects;
using testing::repeat;

std::string message_of(const status& s) {
    return s ? std::string("ok") : s.error().message();
}

TEST(json_parse, accepts_plain_values_with_whitespace_around) {
    for (const char* t : {"{}", "[]", " {\"a\":[1,2.5,-3e2,true,false,null,\"x\"]} \n", "1",
                          "\"s\"", "\t[ ]\r\n", "\"\\ud83d\\ude00\"", "\"\xc3\xa9\xe2\x82\xac\""}) {
        EXPECT_TRUE(check_json(t)) << t << ": " << message_of(check_json(t));
    }
}

TEST(json_parse, depth_127_and_128_pass_129_is_refused_with_the_byte) {
    EXPECT_TRUE(check_json(deep_arrays(127)));
    EXPECT_TRUE(check_json(deep_arrays(128)));
    EXPECT_TRUE(check_json(deep_objects(128)));
    auto s = check_json(deep_arrays(129));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message(), "JSON nested deeper than 128 levels at byte 128");
    EXPECT_EQ(s.error().code(), errc::invalid_argument);
    EXPECT_EQ(s.error().retry(), retry_class::fatal);
    auto o = check_json(deep_objects(129));
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().message(), "JSON nested deeper than 128 levels at byte 640");
}

TEST(json_parse, the_limit_is_the_callers) {
    json_limits l;
    l.max_depth = 2;
    EXPECT_TRUE(check_json("[[1]]", l));
    EXPECT_FALSE(check_json("[[[1]]]", l));
}

TEST(json_parse, two_hundred_thousand_levels_are_a_clean_error) {
    for (const std::string& in :
         {deep_arrays(), deep_objects(), repeat("[", 200'000), repeat("{\"a\":", 200'000)}) {
        auto s = check_json(in);
        ASSERT_FALSE(s);
        EXPECT_NE(s.error().message().find("nested deeper than 128 levels"), std::string::npos)
            << s.error().message();
    }
}

TEST(json_parse, a_deep_document_is_refused_and_left_null) {
    rapidjson::Document d;
    d.Parse("{\"old\":1}");
    auto s = parse_json_document(deep_objects(), d);
    ASSERT_FALSE(s);
    EXPECT_TRUE(d.IsNull());
    ASSERT_TRUE(parse_json_document(deep_objects(128), d));
    const rapidjson::Value* v = &d;
    std::size_t depth = 0;
    while (v->IsObject()) {
        v = &(*v)["a"];
        ++depth;
    }
    EXPECT_EQ(depth, 128u);
    EXPECT_EQ(v->GetInt(), 1);
}

TEST(json_parse, anything_after_the_value_is_refused_nul_included) {
    using namespace std::string_literals;
    auto s = check_json("{\"k\":1}\0garbage"s);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message(), "data after the JSON value at byte 7 (byte 0x00)");
    EXPECT_FALSE(check_json("{\"k\":1}\0"s));
    EXPECT_FALSE(check_json("{\"k\":1} x"));
    EXPECT_FALSE(check_json("1 2"));
    EXPECT_FALSE(check_json("{}{}"));
    EXPECT_FALSE(check_json("\0{}"s));
    EXPECT_FALSE(check_json("[\"a\0b\"]"s));
    EXPECT_TRUE(check_json("{\"k\":1} \n\r\t"));
    // A DOM parse too.
    rapidjson::Document d;
    EXPECT_FALSE(parse_json_document("{\"k\":1}\0garbage"s, d));
    EXPECT_TRUE(d.IsNull());
}

TEST(json_parse, invalid_utf8_is_refused_in_strings_and_keys) {
    for (const char* t : {"[\"\xff\"]", "{\"\xc3\":1}", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]",
                          "[\"\xf4\x90\x80\x80\"]", "[\"\xe2\x82\"]", "[\"\\udc00\"]"}) {
        auto s = check_json(t);
        ASSERT_FALSE(s) << t;
        EXPECT_NE(s.error().message().find("UTF-8"), std::string::npos) << s.error().message();
    }
    // A lone high surrogate escape is RapidJSON's own syntax error.
    EXPECT_FALSE(check_json("[\"\\ud800x\"]"));
    // Outside strings, a non-ASCII byte is a syntax error.
    EXPECT_FALSE(check_json("[1,\xff]"));
}

TEST(json_parse, valid_utf8_edges) {
    EXPECT_TRUE(valid_utf8(""));
    EXPECT_TRUE(valid_utf8("plain ascii longer than eight bytes"));
    EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xee\x80\x80 \xc2\x80"));
    EXPECT_FALSE(valid_utf8("\x80"));
    EXPECT_FALSE(valid_utf8("abcdefgh\xc1\xbf"));
    EXPECT_FALSE(valid_utf8("\xe0\x80\x80"));
    EXPECT_FALSE(valid_utf8("\xf0\x80\x80\x80"));
    EXPECT_FALSE(valid_utf8("\xf5\x80\x80\x80"));
    EXPECT_FALSE(valid_utf8("\xf0\x9f\x98"));
}

TEST(json_parse, huge_numbers_are_either_read_or_refused_cleanly) {
    // Beyond 64 bits: a double by default, the text with kParseNumbersAsStringsFlag.
    rapidjson::Document d;
    ASSERT_TRUE(parse_json_document("123456789012345678901234567890", d));
    EXPECT_TRUE(d.IsDouble());
    EXPECT_FALSE(check_json("1e400"));
    EXPECT_FALSE(check_json("-1e400"));
    EXPECT_TRUE(check_json("1e-400"));
    // A long mantissa with a large exponent: RapidJSON makes it an infinity rather than "Number
    // too big"; refused alike, with the byte (found by fuzz_core_json: no writer can write it).
    for (const char* inf : {"18446744073709551615744e300", "[5,-30008244021822373730021822e298]"}) {
        auto st = check_json(inf);
        ASSERT_FALSE(st) << inf;
        EXPECT_NE(st.error().message().find("beyond a double's range"), std::string::npos)
            << st.error().message();
        rapidjson::Document dd;
        EXPECT_FALSE(parse_json_document(inf, dd)) << inf;
    }
    // 1 MiB of digits overflows a double: refused in both modes (RapidJSON computes the double
    // even when it hands over the text), not slow.
    std::string digits = repeat("9", 1 << 20);
    EXPECT_FALSE(check_json(digits));
    struct raw : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, raw> {
        std::size_t len = 0;
        bool RawNumber(const char*, rapidjson::SizeType n, bool) {
            len = n;
            return true;
        }
    } h;
    EXPECT_FALSE(read_json<rapidjson::kParseNumbersAsStringsFlag>(digits, h));
    ASSERT_TRUE(
        read_json<rapidjson::kParseNumbersAsStringsFlag>("123456789012345678901234567890", h));
    EXPECT_EQ(h.len, 30u);
    EXPECT_TRUE(check_json("[" + repeat("1,", 100'000) + "1]"));
}

TEST(json_parse, empty_input_is_refused) {
    auto s = check_json("");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message(), "JSON input is empty");
    EXPECT_FALSE(check_json(" \n"));
}

TEST(json_parse, syntax_errors_name_the_byte) {
    auto s = check_json("{\"a\":tru}");
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message().find("invalid JSON at byte 8: Invalid value"), std::string::npos)
        << s.error().message();
}

TEST(json_parse, a_handler_may_stop_the_parse) {
    struct stop_at_string : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, stop_at_string> {
        bool String(const char*, rapidjson::SizeType, bool) { return false; }
    } h;
    EXPECT_TRUE(read_json("[1,2]", h));
    auto s = read_json("[1,\"x\"]", h);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message().find("not accepted"), std::string::npos);
}

TEST(json_parse, insitu_stream_refuses_trailing_bytes_after_an_embedded_nul) {
    using namespace std::string_literals;
    std::string text = "{\"k\":\"v\\n\"}\0x"s;
    std::string buf = text;
    buf.push_back('\0');
    rapidjson::InsituStringStream ss(buf.data());
    rapidjson::BaseReaderHandler<> h;
    EXPECT_FALSE(read_json_stream<rapidjson::kParseInsituFlag>(ss, text.size(), h));
    std::string good = "{\"k\":\"v\\n\"} ";
    buf = good;
    buf.push_back('\0');
    rapidjson::InsituStringStream ss2(buf.data());
    EXPECT_TRUE(read_json_stream<rapidjson::kParseInsituFlag>(ss2, good.size(), h));
}

TEST(json_parse, every_file_of_the_hostile_corpus_is_refused) {
    auto inputs = testing::hostile_json_inputs();
    ASSERT_GE(inputs.size(), 20u);
    for (const auto& [name, bytes] : inputs) {
        auto s = check_json(bytes);
        EXPECT_FALSE(s) << name;
        if (!s) {
            EXPECT_FALSE(s.error().message().empty()) << name;
        }
        rapidjson::Document d;
        EXPECT_FALSE(parse_json_document(bytes, d)) << name;
    }
}

}  // namespace
}  // namespace trib
