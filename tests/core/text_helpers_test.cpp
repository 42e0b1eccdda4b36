// The one-of-each text helpers: header JSON, hex and percent decoding, errno text.
#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/base64.h"
#include "core/byte_reader.h"
#include "core/errno_text.h"
#include "core/error.h"
#include "core/header_json.h"
#include "core/hex.h"
#include "core/json_parse.h"
#include "core/text.h"
#include "core/url_encode.h"

namespace trib {
namespace {

template <class T>
std::string le(T x) {
    std::string s(sizeof(T), '\0');
    std::memcpy(s.data(), &x, sizeof(T));
    return s;
}

std::string render(value_kind k, std::string v) {
    std::string out;
    append_header_json_value(out, header{"k", k, std::move(v)});
    return out;
}

TEST(header_json, every_kind_renders_as_valid_json) {
    std::vector<header> hs = {
        {"s", value_kind::string, "a\"b\n"},
        {"t", value_kind::boolean, std::string(1, '\1')},
        {"f", value_kind::boolean, std::string(1, '\0')},
        {"i8", value_kind::int8, le<std::int8_t>(-5)},
        {"i16", value_kind::int16, le<std::int16_t>(-300)},
        {"i32", value_kind::int32, le<std::int32_t>(-70000)},
        {"i64", value_kind::int64, le<std::int64_t>(std::numeric_limits<std::int64_t>::min())},
        {"u8", value_kind::uint8, le<std::uint8_t>(250)},
        {"u16", value_kind::uint16, le<std::uint16_t>(65000)},
        {"u32", value_kind::uint32, le<std::uint32_t>(4000000000u)},
        {"u64", value_kind::uint64, le<std::uint64_t>(std::numeric_limits<std::uint64_t>::max())},
        {"f32", value_kind::float32, le<float>(1.5f)},
        {"f64", value_kind::float64, le<double>(0.1)},
        {"nan", value_kind::float64, le<double>(std::nan(""))},
        {"inf", value_kind::float32, le<float>(std::numeric_limits<float>::infinity())},
        {"ninf", value_kind::float64, le<double>(-std::numeric_limits<double>::infinity())},
        {"u128", value_kind::uint128, std::string("\x01\x02", 2) + std::string(14, '\xff')},
        {"raw", value_kind::raw, std::string("\xfb\xff", 2)},
    };
    std::string out;
    append_headers_json(out, hs);
    EXPECT_EQ(out,
              "{\"s\":\"a\\\"b\\n\",\"t\":true,\"f\":false,\"i8\":-5,\"i16\":-300,\"i32\":-70000,"
              "\"i64\":-9223372036854775808,\"u8\":250,\"u16\":65000,\"u32\":4000000000,"
              "\"u64\":18446744073709551615,\"f32\":1.5,\"f64\":0.1,\"nan\":null,\"inf\":null,"
              "\"ninf\":null,\"u128\":\"0102ffffffffffffffffffffffffffff\",\"raw\":\"+/8=\"}");
    // The output is JSON a strict parser accepts (NaN as `nan` would not be).
    auto st = check_json(out);
    EXPECT_TRUE(st.has_value()) << st.error().to_string();
    std::string bad = R"({"nan":nan})";
    EXPECT_FALSE(check_json(bad).has_value());
}

TEST(header_json, short_numeric_values_render_as_zero_and_empty_object) {
    EXPECT_EQ(render(value_kind::uint32, "\x07"), "0");
    EXPECT_EQ(render(value_kind::float64, ""), "0");
    std::string out;
    append_headers_json(out, {});
    EXPECT_EQ(out, "{}");
}

TEST(hex, encode_decode_and_digit_values) {
    EXPECT_EQ(hex_encode(std::string("\x00\xffz", 3)), "00ff7a");
    EXPECT_EQ(hex_decode("00FF7a"), std::string("\x00\xffz", 3));
    EXPECT_FALSE(hex_decode("abc"));
    EXPECT_FALSE(hex_decode("zz"));
    EXPECT_EQ(hex_decode(""), std::string());
    EXPECT_EQ(hex_digit_value('F'), 15);
    EXPECT_EQ(hex_digit_value('g'), -1);
    EXPECT_EQ(hex_digit_value('/'), -1);
}

TEST(percent, strict_and_lenient_decoding) {
    EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
    EXPECT_EQ(percent_decode("a+b", true), "a b");
    EXPECT_EQ(percent_decode("a+b"), "a+b");
    EXPECT_EQ(percent_decode("%41"), "A");
    EXPECT_FALSE(percent_decode("%zz"));
    EXPECT_FALSE(percent_decode("%2"));
    EXPECT_FALSE(percent_decode("a%4"));
    EXPECT_FALSE(percent_decode("%"));
    EXPECT_EQ(percent_decode_lenient("a%20b%zz%2"), "a b%zz%2");
    EXPECT_EQ(percent_decode_lenient("%"), "%");
    EXPECT_EQ(percent_decode_lenient("x%41"), "xA");
    EXPECT_EQ(percent_encode("a-Z_0.~"), "a-Z_0.~");
    EXPECT_EQ(percent_encode("a b/\x1f\xff%"), "a%20b%2F%1F%FF%25");
    EXPECT_EQ(percent_decode(percent_encode(std::string("\0x\x80", 3))), std::string("\0x\x80", 3));
}

TEST(base64, round_trip_and_alphabets) {
    EXPECT_EQ(base64_encode("hello!?"), "aGVsbG8hPw==");
    EXPECT_EQ(base64_decode("aGVsbG8hPw=="), "hello!?");
    EXPECT_EQ(base64_decode("aGVsbG8hPw"), "hello!?");
    EXPECT_EQ(base64_decode("-_8"), std::string("\xfb\xff", 2));
    EXPECT_FALSE(base64_decode("a"));
    EXPECT_FALSE(base64_decode("a$b="));
    EXPECT_FALSE(base64_decode("aG=s"));
}

TEST(byte_reader, reads_both_byte_orders_and_fails_once_at_the_first_overrun) {
    const std::string in(
        "\x01\x02\x03\x04\x05\x06\x07\x08\x09"
        "ab\0cd",
        14);
    byte_reader r(in);
    EXPECT_EQ(r.u8(), 1u);
    EXPECT_EQ(r.be16(), 0x0203u);
    EXPECT_EQ(r.le16(), 0x0504u);
    EXPECT_EQ(r.be32(), 0x06070809u);
    EXPECT_EQ(r.cstr(), "ab");
    EXPECT_EQ(r.left(), 2u);
    EXPECT_EQ(r.position(), 12u);
    EXPECT_EQ(r.be32(), 0u);  // 2 bytes left: an overrun
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.left(), 0u);
    EXPECT_EQ(r.take(1), "");  // everything after the first overrun is empty
    EXPECT_EQ(r.u8(), 0u);

    const std::string le_in("\x01\0\0\0\0\0\0\x80", 8);  // the reader keeps a view
    byte_reader le(le_in);
    EXPECT_EQ(le.le64(), 0x8000000000000001ull);
    EXPECT_TRUE(le.at_end());

    // A length read from the input is checked against what is left before anything is taken.
    const std::string len_in("\xff\xff\xff\xffxyz", 7);
    byte_reader len(len_in);
    auto n = len.be32();
    EXPECT_TRUE(len.ok());
    EXPECT_EQ(len.take(n), "");
    EXPECT_FALSE(len.ok());
    byte_reader nul(std::string_view("abc"));
    EXPECT_EQ(nul.cstr(), "");
    EXPECT_FALSE(nul.ok());
    byte_reader empty{std::string_view()};
    EXPECT_TRUE(empty.at_end());
    EXPECT_EQ(empty.rest(), "");
    EXPECT_TRUE(empty.ok());
}

TEST(byte_reader, little_endian_widths_agree_with_memory_order) {
    const std::string in = le<std::uint32_t>(0xA1B2C3D4u) +
                           le<std::uint64_t>(0x0102030405060708ull) + le<std::uint16_t>(0xBEEF) +
                           "\x7f";
    byte_reader r(in);
    EXPECT_EQ(r.le32(), 0xA1B2C3D4u);
    EXPECT_EQ(r.le64(), 0x0102030405060708ull);
    EXPECT_EQ(r.le16(), 0xBEEFu);
    EXPECT_EQ(r.le32(), 0u);  // one byte left
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.position(), 14u);  // a failed read takes nothing
}

TEST(text, trim_and_case_insensitive_compare) {
    EXPECT_EQ(trim(" \tBearer x \t"), "Bearer x");
    EXPECT_EQ(trim("\r\n a \r\n"), "\r\n a \r\n");  // only spaces and tabs by default
    EXPECT_EQ(trim("\r\n a \r\n", line_ws_chars), "a");
    EXPECT_EQ(trim(" \t "), "");
    EXPECT_EQ(trim(""), "");
    EXPECT_TRUE(iequals("100-Continue", "100-continue"));
    EXPECT_FALSE(iequals("100-continue", "100-continu"));
    EXPECT_FALSE(iequals("a", "b"));
    EXPECT_EQ(ascii_lower('Z'), 'z');
    EXPECT_EQ(ascii_lower('\xC4'), '\xC4');  // no locale: bytes above ASCII stay
}

TEST(text, query_strings_split_into_undecoded_parameters) {
    std::vector<std::pair<std::string, std::string>> got;
    for_each_query_param("a=1&&flag&b=x%20y&=v&c=&d=e=f",
                         [&](std::string_view k, std::string_view v) { got.emplace_back(k, v); });
    const std::vector<std::pair<std::string, std::string>> want = {
        {"a", "1"}, {"flag", ""}, {"b", "x%20y"}, {"", "v"}, {"c", ""}, {"d", "e=f"}};
    EXPECT_EQ(got, want);
    int calls = 0;
    for_each_query_param("", [&](std::string_view, std::string_view) { ++calls; });
    for_each_query_param("&&", [&](std::string_view, std::string_view) { ++calls; });
    EXPECT_EQ(calls, 0);
}

TEST(errno_text, names_the_error_and_survives_unknown_values) {
    EXPECT_EQ(errno_text(ENOENT), std::strerror(ENOENT));
    EXPECT_FALSE(errno_text(123456).empty());
}

}  // namespace
}  // namespace trib
