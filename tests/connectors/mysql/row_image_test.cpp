// The binlog row-image decoder without a server: each column type from hand-made bytes (the
// layouts of MariaDB's and MySQL's log_event documentation), table-map metadata, and every
// truncation of a valid image refused with an error, never read past.

#include "connectors/mysql/row_image.h"

#include <gtest/gtest.h>

#include "core/hex.h"

namespace trib::connectors::mysql {
namespace {

std::string bytes(std::string_view hex) {
    auto b = hex_decode(hex);
    EXPECT_TRUE(b.has_value()) << hex;
    return b.value_or("");
}

std::string value_of(std::uint8_t type, std::uint16_t meta, std::string_view hex,
                     bool is_unsigned = false) {
    std::string d = bytes(hex);
    std::size_t pos = 0;
    auto v = decode_value(type, meta, is_unsigned, d, pos);
    if (!v)
        return "ERROR: " + v.error().message();
    EXPECT_EQ(pos, d.size()) << "type " << int(type) << " left bytes";
    return *v;
}

TEST(mysql_row_image, given_numbers_should_decode_signed_unsigned_and_decimal) {
    EXPECT_EQ(value_of(1, 0, "ff"), "-1");
    EXPECT_EQ(value_of(1, 0, "ff", true), "255");
    EXPECT_EQ(value_of(9, 0, "feffff"), "-2");  // INT24
    EXPECT_EQ(value_of(3, 0, "d2040000"), "1234");
    EXPECT_EQ(value_of(8, 0, "ffffffffffffffff", true), "18446744073709551615");
    EXPECT_EQ(value_of(8, 0, "0000000000000080"), "-9223372036854775808");
    EXPECT_EQ(value_of(5, 8, "000000000000f83f"), "1.5");
    EXPECT_EQ(value_of(5, 8, "000000000000f07f"), "null");  // +inf has no JSON
    EXPECT_EQ(value_of(4, 4, "0000c03f"), "1.5");
    // DECIMAL(10,2): 1234.56 and -1234.56 (sign bit flipped, negatives inverted).
    EXPECT_EQ(value_of(246, (10 << 8) | 2, "800004d238"), "1234.56");
    EXPECT_EQ(value_of(246, (10 << 8) | 2, "7ffffb2dc7"), "-1234.56");
    EXPECT_EQ(value_of(246, (4 << 8) | 0, "8000"), "0");
    EXPECT_EQ(value_of(13, 0, "7c"), "2024");              // YEAR
    EXPECT_EQ(value_of(16, (1 << 8) | 4, "0205"), "517");  // BIT(12)
}

TEST(mysql_row_image, given_temporal_values_should_decode_as_text) {
    EXPECT_EQ(value_of(18, 0, "99b2443105"), "\"2024-01-02 03:04:05\"");
    EXPECT_EQ(value_of(18, 6, "99b24431050a2c2a"), "\"2024-01-02 03:04:05.666666\"");
    EXPECT_EQ(value_of(17, 0, "6553f100"), "\"2023-11-14 22:13:20\"");
    EXPECT_EQ(value_of(17, 3, "6553f1001ed2"), "\"2023-11-14 22:13:20.789\"");
    EXPECT_EQ(value_of(10, 0, "22d00f"), "\"2024-01-02\"");
    EXPECT_EQ(value_of(19, 3, "80c8b81ed2"), "\"12:34:56.789\"");
}

TEST(mysql_row_image, given_strings_should_decode_text_and_base64_binary) {
    EXPECT_EQ(value_of(15, 10, "03612262"), "\"a\\\"b\"");
    EXPECT_EQ(value_of(15, 300, "0200c3a9"), "\"\xc3\xa9\"");       // 2-byte length over 255
    EXPECT_EQ(value_of(252, 2, "020000ff"), "\"AP8=\"");            // not UTF-8: base64
    EXPECT_EQ(value_of(254, (254 << 8) | 20, "026869"), "\"hi\"");  // CHAR(20)
    EXPECT_EQ(value_of(254, (247 << 8) | 1, "02"), "2");            // ENUM index
    EXPECT_EQ(value_of(254, (248 << 8) | 1, "05"), "5");            // SET mask
}

TEST(mysql_row_image, given_a_table_map_should_split_metadata_and_decode_a_row) {
    table_map t;
    // INT, VARCHAR(20), DECIMAL(10,2), DATETIME2(0), BLOB
    t.types = {3, 15, 246, 18, 252};
    ASSERT_TRUE(parse_column_meta(t, bytes("1400"
                                           "0a02"
                                           "00"
                                           "02"))
                    .has_value());
    EXPECT_EQ(t.meta, (std::vector<std::uint16_t>{0, 20, (10 << 8) | 2, 0, 2}));
    // SIGNEDNESS (INT unsigned, DECIMAL signed), COLUMN_NAME, SIMPLE_PRIMARY_KEY (column 0)
    ASSERT_TRUE(parse_optional_meta(t, bytes("0101"
                                             "80"
                                             "040c"
                                             "026964"
                                             "0176"
                                             "0164"
                                             "027473"
                                             "0162"
                                             "080100"))
                    .has_value());
    EXPECT_TRUE(t.is_unsigned[0]);
    EXPECT_FALSE(t.is_unsigned[2]);
    EXPECT_EQ(t.names, (std::vector<std::string>{"id", "v", "d", "ts", "b"}));
    EXPECT_EQ(t.primary_key, (std::vector<std::size_t>{0}));
    // All five present; the blob is NULL (null bit 4).
    std::string row = bytes(
        "10"
        "ffffffff"
        "026869"
        "800004d238"
        "99b2443105");
    std::string present = bytes("1f");
    std::size_t pos = 0;
    auto img = decode_row_image(t, row, pos, present);
    ASSERT_TRUE(img.has_value()) << img.error().message();
    EXPECT_EQ(pos, row.size());
    EXPECT_EQ(*(*img)[0], "4294967295");
    EXPECT_EQ(*(*img)[1], "\"hi\"");
    EXPECT_EQ(*(*img)[2], "1234.56");
    EXPECT_EQ(*(*img)[3], "\"2024-01-02 03:04:05\"");
    EXPECT_EQ(*(*img)[4], "null");
    // A minimal image (only column 0 present): the others are absent, not null.
    std::string key_only = bytes(
        "00"
        "01000000");
    pos = 0;
    auto k = decode_row_image(t, key_only, pos, bytes("01"));
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(*(*k)[0], "1");
    EXPECT_FALSE((*k)[1].has_value());
    // Every truncation fails cleanly.
    for (std::size_t cut = 0; cut < row.size(); ++cut) {
        std::size_t p = 0;
        EXPECT_FALSE(decode_row_image(t, std::string_view(row).substr(0, cut), p, present)) << cut;
    }
}

TEST(mysql_row_image, given_hostile_metadata_should_fail_with_protocol_errors) {
    table_map t;
    t.types = {15, 246};
    EXPECT_FALSE(parse_column_meta(t, bytes("14")).has_value());  // short
    EXPECT_FALSE(parse_column_meta(t, bytes("1400"
                                            "0a02"
                                            "ff"))
                     .has_value());                                   // left over
    EXPECT_FALSE(parse_optional_meta(t, bytes("04ff")).has_value());  // bad packed length
    EXPECT_FALSE(parse_optional_meta(t, bytes("0805"
                                              "01"))
                     .has_value());                                     // length past end
    EXPECT_FALSE(parse_optional_meta(t, bytes("080109")).has_value());  // key out of range
    std::size_t pos = 0;
    std::string d = bytes("ff");
    auto v = decode_value(246, (70 << 8) | 2, false, d, pos);  // DECIMAL(70,2)
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().code(), errc::protocol_error);
    pos = 0;
    EXPECT_FALSE(decode_value(252, 7, false, d, pos).has_value());  // BLOB length size 7
    pos = 0;
    EXPECT_FALSE(decode_value(200, 0, false, d, pos).has_value());  // unknown type
    pos = 0;
    std::string huge = bytes("ffffffff");
    EXPECT_FALSE(decode_value(252, 4, false, huge, pos).has_value());  // 4 GiB claimed
}

}  // namespace
}  // namespace trib::connectors::mysql
