// The MySQL connector's pure parts without a server: connection URLs, identifiers, literals,
// the LOAD DATA field format, error classes and the sink's rows and statements.

#include <gtest/gtest.h>

#include "connectors/mysql/errors.h"
#include "connectors/mysql/sink_rows.h"
#include "connectors/mysql/sql_text.h"

namespace trib::connectors::mysql {
namespace {

TEST(mysql_url, given_iggy_url_should_split_user_password_host_port_and_database) {
    auto t = parse_url("mysql://us%40er:p%3Ass@db.example:3307/shop");
    ASSERT_TRUE(t.has_value()) << t.error().to_string();
    EXPECT_EQ(t->user, "us@er");
    EXPECT_EQ(t->password, "p:ss");
    EXPECT_EQ(t->host, "db.example");
    EXPECT_EQ(t->port, 3307);
    EXPECT_EQ(t->database, "shop");
    auto v6 = parse_url("mariadb://u@[::1]:3306/?socket=%2Ftmp%2Fm.sock");
    ASSERT_TRUE(v6.has_value());
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->password, "");
    EXPECT_EQ(v6->database, "");
    EXPECT_EQ(v6->unix_socket, "/tmp/m.sock");
    auto d = parse_url("mysql://h");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->port, 3306);
}

TEST(mysql_url, given_bad_url_should_fail_without_echoing_the_password) {
    for (const char* bad :
         {"postgres://u:secret@h/db", "mysql://u:secret@h:0/db", "mysql://u:secret@h:99999/db",
          "mysql://u:secret@h:x/db", "mysql://u:%zzsecret@h/db", "mysql://u:secret@[::1/db"}) {
        auto t = parse_url(bad);
        ASSERT_FALSE(t.has_value()) << bad;
        EXPECT_EQ(t.error().message().find("secret"), std::string::npos) << bad;
    }
}

TEST(mysql_sql, given_identifiers_should_quote_and_check_them) {
    EXPECT_EQ(quote_ident("a`b"), "`a``b`");
    auto t = parse_table_name("`my.db`.`t``x`");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->schema, "my.db");
    EXPECT_EQ(t->name, "t`x");
    EXPECT_EQ(t->sql(), "`my.db`.`t``x`");
    auto plain = parse_table_name("events");
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(plain->sql(), "`events`");
    const std::string long_name(65, 'x');
    for (std::string_view bad :
         {std::string_view(""), std::string_view("a.b.c"), std::string_view("`open"),
          std::string_view("a."), std::string_view(long_name)})
        EXPECT_FALSE(parse_table_name(bad).has_value()) << bad;
    EXPECT_FALSE(parse_table_name(std::string_view("a\0b", 3)).has_value());
}

TEST(mysql_sql, given_any_bytes_should_write_a_literal_without_raw_quotes_or_controls) {
    std::string out;
    append_literal(out, std::string_view("a'b\\c\0d\n\r\x1a", 10));
    EXPECT_EQ(out, "'a\\'b\\\\c\\0d\\n\\r\\Z'");
    out.clear();
    append_literal(out, "\xff", true);
    EXPECT_EQ(out, "_binary'\xff'");
    out.clear();
    append_tsv_field(out, std::string_view("t\tn\n\\\0", 6));
    EXPECT_EQ(out, "t\\tn\\n\\\\\\0");
    EXPECT_EQ(datetime_text(1700000000000006ULL), "2023-11-14 22:13:20.000006");
}

TEST(mysql_errors, given_error_numbers_should_classify_retry_and_row_errors) {
    EXPECT_EQ(classify(2013, "lost").retry(), retry_class::retryable);
    EXPECT_EQ(classify(1213, "deadlock").retry(), retry_class::retryable);
    EXPECT_EQ(classify(1040, "too many").retry(), retry_class::throttled);
    EXPECT_EQ(classify(1045, "denied").code(), errc::unauthenticated);
    EXPECT_EQ(classify(1146, "no table").code(), errc::not_found);
    EXPECT_TRUE(is_row_error(classify(1406, "too long")));
    EXPECT_TRUE(is_row_error(classify(4025, "check")));
    EXPECT_FALSE(is_row_error(classify(1213, "deadlock")));
    EXPECT_TRUE(is_connection_error(classify(2006, "gone")));
    EXPECT_FALSE(is_connection_error(classify(1062, "dup")));
}

table_desc users_table() {
    table_desc t;
    t.table = {"", "users"};
    t.add_column({"id", "int", false});
    t.add_column({"name", "varchar", false});
    t.add_column({"blob", "blob", true});
    t.key_cols = {0};
    return t;
}

message_batch batch_of(const std::vector<std::string>& payloads) {
    message_batch b;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        message m;
        m.payload = b.own(payloads[i]);
        m.offset = i;
        m.id = {i + 1, 0};
        b.messages.push_back(std::move(m));
    }
    return b;
}

TEST(mysql_rows, given_json_rows_should_build_upserts_with_values_of_non_key_columns) {
    sink_options o;
    o.mode = sink_mode::mapped;
    o.upsert = upsert_mode::key;
    table_desc t = users_table();
    row_encoder enc(o, t);
    auto b = batch_of({R"({"name":"x'y","id":1,"blob":"\u0000b","extra":1})", "[1]", "{}"});
    sink_batch sb;
    sb.messages = &b;
    row_plan plan;
    enc.encode(sb, plan);
    ASSERT_EQ(plan.rows.size(), 1u);
    ASSERT_EQ(plan.rejected.size(), 2u);
    EXPECT_EQ(plan.rejected[0].index, 1u);
    EXPECT_EQ(plan.rejected[1].index, 2u);
    EXPECT_EQ(plan.rows[0].tuple, "(1,'x\\'y',_binary'\\0b')");
    std::vector<const sql_row*> rows = {&plan.rows[0]};
    EXPECT_EQ(insert_sql(t, plan.rows[0].cols, rows, conflict_clause(o, t, plan.rows[0].cols)),
              "INSERT INTO `users` (`id`,`name`,`blob`) VALUES (1,'x\\'y',_binary'\\0b') ON "
              "DUPLICATE KEY UPDATE `name` = VALUES(`name`), `blob` = VALUES(`blob`)");
    o.strict_fields = true;
    row_plan strict;
    enc.encode(sb, strict);
    EXPECT_EQ(strict.rows.size(), 0u);
    EXPECT_EQ(strict.rejected.size(), 3u);
}

TEST(mysql_rows, given_debezium_deletes_should_build_a_delete_by_primary_key) {
    sink_options o;
    o.mode = sink_mode::mapped;
    o.envelope = envelope_kind::debezium;
    table_desc t = users_table();
    row_encoder enc(o, t);
    auto b =
        batch_of({R"({"op":"d","before":{"id":4,"name":"z"}})", R"({"op":"d","before":{"id":5}})"});
    sink_batch sb;
    sb.messages = &b;
    row_plan plan;
    enc.encode(sb, plan);
    ASSERT_EQ(plan.rows.size(), 2u);
    std::vector<const sql_row*> rows = {&plan.rows[0], &plan.rows[1]};
    EXPECT_EQ(delete_sql(t, plan.rows[0].cols, rows),
              "DELETE FROM `users` WHERE (`id`) IN ((4),(5))");
}

}  // namespace
}  // namespace trib::connectors::mysql
