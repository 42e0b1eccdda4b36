#include "core/parse_number.h"

#include <gtest/gtest.h>

namespace trib {
namespace {

TEST(parse_number, unsigned_accepts_whole_decimal_strings_only) {
    EXPECT_EQ(parse_u64("0"), 0u);
    EXPECT_EQ(parse_u64("18446744073709551615"), 18446744073709551615ull);
    EXPECT_EQ(parse_u64("007"), 7u);
    for (const char* bad : {"", " 1", "1 ", "+1", "-1", "1a", "abc", "0x10", "1.0", "1e3",
                            "18446744073709551616", "99999999999999999999999"}) {
        EXPECT_FALSE(parse_u64(bad)) << bad;
    }
}

TEST(parse_number, hex_and_narrow_types) {
    EXPECT_EQ(parse_u64("ffffffffffffffff", 16), 0xffffffffffffffffull);
    EXPECT_EQ(parse_u64("DEADbeef", 16), 0xdeadbeefull);
    EXPECT_FALSE(parse_u64("1ffffffffffffffff", 16));
    EXPECT_FALSE(parse_u64("0xff", 16));
    EXPECT_FALSE(parse_u64("fg", 16));
    EXPECT_EQ(parse_u32("4294967295"), 4294967295u);
    EXPECT_FALSE(parse_u32("4294967296"));
    EXPECT_EQ(parse_u16("65535"), 65535u);
    EXPECT_FALSE(parse_u16("65536"));
    EXPECT_FALSE(parse_u16("99999"));
}

TEST(parse_number, signed_accepts_a_minus_sign) {
    EXPECT_EQ(parse_i64("-9223372036854775808"), INT64_MIN);
    EXPECT_EQ(parse_i64("9223372036854775807"), INT64_MAX);
    EXPECT_FALSE(parse_i64("9223372036854775808"));
    EXPECT_FALSE(parse_i64("-"));
    EXPECT_FALSE(parse_i64("--1"));
    EXPECT_FALSE(parse_i64("+1"));
}

TEST(parse_number, double_is_finite_decimal) {
    EXPECT_EQ(parse_double("1"), 1.0);
    EXPECT_EQ(parse_double("-2.5"), -2.5);
    EXPECT_EQ(parse_double("1e-3"), 1e-3);
    EXPECT_EQ(parse_double(".5"), 0.5);
    for (const char* bad :
         {"", "inf", "-inf", "nan", "NaN", "infinity", "1e999", "1.0x", " 1", "0x1p3", "-", "."}) {
        EXPECT_FALSE(parse_double(bad)) << bad;
    }
}

}  // namespace
}  // namespace trib
