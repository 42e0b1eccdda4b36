// The SQLite sink's pure parts: quoting, statements, append cells and JSON-to-column mapping.

#include "connectors/sqlite/rows.h"

#include <gtest/gtest.h>

namespace trib::connectors::sqlite {
namespace {

TEST(sqlite_rows, given_quotes_in_a_name_should_double_them) {
    EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
    EXPECT_EQ(quote_ident(""), "\"\"");
}

TEST(sqlite_rows, given_an_id_should_render_it_as_a_decimal_number) {
    EXPECT_EQ(id_text(message_id{1, 0}), "1");
    EXPECT_EQ(id_text(message_id{0, 1}), "18446744073709551616");
    EXPECT_EQ(id_text(message_id{~0ULL, ~0ULL}), "340282366920938463463374607431768211455");
}

TEST(sqlite_rows, given_key_upsert_should_update_every_other_column) {
    EXPECT_EQ(mapped_insert_sql("t", {"k", "v"}, upsert_mode::key, {"k"}),
              "INSERT INTO \"t\" (\"k\", \"v\") VALUES (?, ?) ON CONFLICT (\"k\") DO UPDATE SET "
              "\"v\" = excluded.\"v\"");
    // Only key columns present: nothing to update.
    EXPECT_EQ(mapped_insert_sql("t", {"k"}, upsert_mode::key, {"k"}),
              "INSERT INTO \"t\" (\"k\") VALUES (?) ON CONFLICT (\"k\") DO NOTHING");
    EXPECT_EQ(mapped_insert_sql("t", {"a"}, upsert_mode::none, {}),
              "INSERT INTO \"t\" (\"a\") VALUES (?)");
}

TEST(sqlite_rows, given_json_payload_format_should_refuse_what_is_not_json) {
    const auto cols = append_columns(true, true, false, payload_format::json);
    message m;
    m.payload = "{\"a\":1} x";
    auto c = append_cells(cols, m, "s", "t", 1, payload_format::json);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code(), errc::invalid_argument);
    EXPECT_EQ(c.error().retry(), retry_class::fatal);
    m.payload = "{\"a\":1}";
    ASSERT_TRUE(append_cells(cols, m, "s", "t", 1, payload_format::json));
    m.payload = "\xff";
    EXPECT_FALSE(append_cells(cols, m, "s", "t", 1, payload_format::text));
    EXPECT_TRUE(append_cells(cols, m, "s", "t", 1, payload_format::blob));
}

TEST(sqlite_rows, given_a_payload_should_map_fields_in_table_order_with_sqlite_types) {
    mapping mp;
    mp.table_columns = {"id", "name", "big", "flag", "tags", "score"};
    auto r = map_json(mp,
                      R"({"score":1.5,"tags":[1,{"x":2}],"flag":true,"big":18446744073709551615,)"
                      R"("name":"n","name":"last","other":3})",
                      message_id{});
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->cols, (std::vector<std::size_t>{1, 2, 3, 4, 5}));
    EXPECT_EQ(r->cells[0].data(), "last");  // a repeated member: the last one
    EXPECT_EQ(r->cells[1].k, cell::kind::text);
    EXPECT_EQ(r->cells[1].data(), "18446744073709551615");
    EXPECT_EQ(r->cells[2].k, cell::kind::integer);
    EXPECT_EQ(r->cells[2].i, 1);
    EXPECT_EQ(r->cells[3].data(), "[1,{\"x\":2}]");
    EXPECT_EQ(r->cells[4].k, cell::kind::real);
    EXPECT_DOUBLE_EQ(r->cells[4].d, 1.5);
}

TEST(sqlite_rows, given_strict_fields_should_refuse_an_unknown_field) {
    mapping mp;
    mp.table_columns = {"a"};
    mp.strict_fields = true;
    EXPECT_TRUE(map_json(mp, R"({"a":1})", message_id{}));
    auto r = map_json(mp, R"({"a":1,"b":2})", message_id{});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("'b'"), std::string::npos);
}

TEST(sqlite_rows, given_a_field_mapping_should_read_dotted_paths) {
    mapping mp;
    mp.table_columns = {"dev", "temp", "unused"};
    mp.field_mapping = {{"dev", "device.id"}, {"temp", "m.t"}};
    auto r = map_json(mp, R"({"device":{"id":"d1"},"m":{"t":-3}})", message_id{});
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->cols, (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(r->cells[0].data(), "d1");
    EXPECT_EQ(r->cells[1].i, -3);
}

TEST(sqlite_rows, given_a_message_id_column_should_fill_it_from_the_id_not_the_payload) {
    mapping mp;
    mp.table_columns = {"a", "mid", "z"};
    mp.message_id_column = 1;
    auto r = map_json(mp, R"({"z":1,"mid":"forged","a":2})", message_id{5, 0});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->cols, (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_EQ(r->cells[1].data(), "5");
    r = map_json(mp, R"({"z":1})", message_id{6, 0});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->cols, (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(r->cells[0].data(), "6");
}

TEST(sqlite_rows, given_no_object_or_no_column_should_refuse_the_message) {
    mapping mp;
    mp.table_columns = {"a"};
    for (const char* p : {"[1]", "1", "\"a\"", "{\"b\":1}", "{", ""})
        EXPECT_FALSE(map_json(mp, p, message_id{})) << p;
}

}  // namespace
}  // namespace trib::connectors::sqlite
