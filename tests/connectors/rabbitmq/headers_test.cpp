// The header-table mapping without a broker (connectors/rabbitmq/headers.h): Iggy headers to an
// AMQP table and back keep names, kinds and values; hostile tables (long names and values, void
// entries, deep nesting, huge arrays) are refused or skipped with a reason, never a crash.

#include "connectors/rabbitmq/headers.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>

namespace trib::connectors::rabbitmq {
namespace {

template <class T>
header num(std::string k, value_kind kind, T v) {
    std::string b(sizeof(T), '\0');
    std::memcpy(b.data(), &v, sizeof(T));
    return header{std::move(k), kind, std::move(b)};
}

amqp_bytes_t bytes(const std::string& s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

TEST(rabbitmq_headers, given_every_kind_should_round_trip_through_a_table) {
    std::vector<header> in = {
        header{"s", value_kind::string, "text"},
        header{"r", value_kind::raw, std::string("\x00\xff", 2)},
        header{"b", value_kind::boolean, std::string(1, '\1')},
        num("i8", value_kind::int8, std::int8_t{-5}),
        num("u8", value_kind::uint8, std::uint8_t{250}),
        num("i16", value_kind::int16, std::int16_t{-300}),
        num("u16", value_kind::uint16, std::uint16_t{60000}),
        num("i32", value_kind::int32, std::int32_t{-70000}),
        num("u32", value_kind::uint32, std::uint32_t{4000000000u}),
        num("i64", value_kind::int64, std::int64_t{-1} << 40),
        num("u64", value_kind::uint64, std::uint64_t{1} << 63),
        num("f32", value_kind::float32, 1.5f),
        num("f64", value_kind::float64, -2.25),
    };
    table_storage st;
    table_of(in, {}, st);
    ASSERT_EQ(st.entries.size(), in.size());
    auto out = headers_from_table(st.table(), unfit_policy::reject, "");
    EXPECT_TRUE(out.problem.empty()) << out.problem;
    EXPECT_EQ(out.headers, in);
}

TEST(rabbitmq_headers, given_128_bit_and_short_numbers_should_send_text_and_bytes) {
    std::string v16(16, '\0');
    v16[0] = 1;
    std::vector<header> in = {header{"u128", value_kind::uint128, v16},
                              header{"bad_i32", value_kind::int32, "ab"}};
    table_storage st;
    table_of(in, {header{"extra", value_kind::string, "x"}}, st);
    ASSERT_EQ(st.entries.size(), 3u);
    EXPECT_EQ(st.entries[0].value.kind, AMQP_FIELD_KIND_UTF8);
    EXPECT_EQ(std::string(static_cast<char*>(st.entries[0].value.value.bytes.bytes),
                          st.entries[0].value.value.bytes.len),
              "01000000000000000000000000000000");
    EXPECT_EQ(st.entries[1].value.kind, AMQP_FIELD_KIND_BYTES);
    EXPECT_EQ(st.entries[2].value.kind, AMQP_FIELD_KIND_UTF8);
}

TEST(rabbitmq_headers, given_nested_tables_and_decimals_should_give_json_and_text) {
    std::string k1 = "inner", k2 = "list", s = "a\"b";
    amqp_field_value_t arr_items[2]{};
    arr_items[0].kind = AMQP_FIELD_KIND_I32;
    arr_items[0].value.i32 = 7;
    arr_items[1].kind = AMQP_FIELD_KIND_UTF8;
    arr_items[1].value.bytes = bytes(s);
    amqp_table_entry_t inner[1]{};
    inner[0].key = bytes(k2);
    inner[0].value.kind = AMQP_FIELD_KIND_ARRAY;
    inner[0].value.value.array = amqp_array_t{2, arr_items};
    amqp_table_entry_t top[2]{};
    top[0].key = bytes(k1);
    top[0].value.kind = AMQP_FIELD_KIND_TABLE;
    top[0].value.value.table = amqp_table_t{1, inner};
    std::string kd = "price";
    top[1].key = bytes(kd);
    top[1].value.kind = AMQP_FIELD_KIND_DECIMAL;
    top[1].value.value.decimal = amqp_decimal_t{2, 1234};
    auto out = headers_from_table(amqp_table_t{2, top}, unfit_policy::reject, "");
    ASSERT_TRUE(out.problem.empty()) << out.problem;
    ASSERT_EQ(out.headers.size(), 2u);
    EXPECT_EQ(out.headers[0].value, R"({"list":[7,"a\"b"]})");
    EXPECT_EQ(out.headers[1].value, "12.34");
}

TEST(rabbitmq_headers, given_unfit_entries_should_reject_or_skip_with_a_reason) {
    const std::string long_name(256, 'n'), long_value(256, 'v'), ok_name = "ok", name = "k", empty,
                                                                 reserved = "amqp_exchange";
    amqp_table_entry_t e[5]{};
    e[0].key = bytes(long_name);
    e[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    e[1].key = bytes(name);
    e[1].value.kind = AMQP_FIELD_KIND_UTF8;
    e[1].value.value.bytes = bytes(long_value);
    e[2].key = bytes(ok_name);
    e[2].value.kind = AMQP_FIELD_KIND_VOID;
    e[3].key = bytes(reserved);
    e[3].value.kind = AMQP_FIELD_KIND_UTF8;
    e[3].value.value.bytes = bytes(ok_name);
    e[4].key = bytes(empty);
    e[4].value.kind = AMQP_FIELD_KIND_I8;
    const amqp_table_t t{5, e};
    auto rejected = headers_from_table(t, unfit_policy::reject, "amqp_");
    EXPECT_NE(rejected.problem.find("256 bytes"), std::string::npos) << rejected.problem;
    auto skipped = headers_from_table(t, unfit_policy::skip, "amqp_");
    EXPECT_TRUE(skipped.problem.empty());
    EXPECT_EQ(skipped.skipped, 5u);
    EXPECT_TRUE(skipped.headers.empty());
}

TEST(rabbitmq_headers, given_deep_nesting_or_huge_arrays_should_refuse_without_recursing_far) {
    // 10,000 nested tables: the JSON renderer stops at 16 levels.
    const std::string key = "k";
    std::deque<amqp_table_entry_t> chain(10'000);
    for (std::size_t i = 0; i < chain.size(); ++i) {
        chain[i].key = bytes(key);
        chain[i].value.kind = AMQP_FIELD_KIND_TABLE;
        chain[i].value.value.table =
            i + 1 < chain.size() ? amqp_table_t{1, &chain[i + 1]} : amqp_table_t{0, nullptr};
    }
    auto deep = headers_from_table(amqp_table_t{1, &chain[0]}, unfit_policy::reject, "");
    EXPECT_NE(deep.problem.find("nested deeper"), std::string::npos) << deep.problem;
    // A 100,000-entry array: refused once its JSON passes 255 bytes.
    std::vector<amqp_field_value_t> items(100'000);
    for (auto& it : items) {
        it.kind = AMQP_FIELD_KIND_U64;
        it.value.u64 = 18446744073709551615ull;
    }
    amqp_table_entry_t e{};
    e.key = bytes(key);
    e.value.kind = AMQP_FIELD_KIND_ARRAY;
    e.value.value.array = amqp_array_t{static_cast<int>(items.size()), items.data()};
    auto huge = headers_from_table(amqp_table_t{1, &e}, unfit_policy::skip, "");
    EXPECT_EQ(huge.skipped, 1u);
    EXPECT_TRUE(huge.headers.empty());
}

TEST(rabbitmq_headers, given_repeated_names_should_keep_the_first) {
    const std::string k = "dup", a = "first", b = "second";
    amqp_table_entry_t e[2]{};
    e[0].key = bytes(k);
    e[0].value.kind = AMQP_FIELD_KIND_UTF8;
    e[0].value.value.bytes = bytes(a);
    e[1].key = bytes(k);
    e[1].value.kind = AMQP_FIELD_KIND_UTF8;
    e[1].value.value.bytes = bytes(b);
    auto out = headers_from_table(amqp_table_t{2, e}, unfit_policy::reject, "");
    ASSERT_EQ(out.headers.size(), 1u);
    EXPECT_EQ(out.headers[0].value, "first");
}

TEST(rabbitmq_headers, given_a_decimal_with_255_places_should_refuse_its_long_text) {
    // Found by fuzz_rabbitmq_headers: 255 decimal places make a 257-character text.
    const std::string k = "d";
    amqp_table_entry_t e{};
    e.key = bytes(k);
    e.value.kind = AMQP_FIELD_KIND_DECIMAL;
    e.value.value.decimal = amqp_decimal_t{255, 7};
    auto out = headers_from_table(amqp_table_t{1, &e}, unfit_policy::reject, "");
    EXPECT_NE(out.problem.find("decimal of 257 characters"), std::string::npos) << out.problem;
    EXPECT_TRUE(out.headers.empty());
}

}  // namespace
}  // namespace trib::connectors::rabbitmq
