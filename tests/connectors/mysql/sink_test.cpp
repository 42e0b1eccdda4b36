// The MySQL sink against a real MariaDB 10.11: append and mapped modes, INSERT and LOAD DATA,
// upserts by key and by message id, Debezium envelopes, bad rows bisected to the error policy,
// replays, and a server restart in the middle.

#include "connectors/mysql/sink.h"

#include <gtest/gtest.h>

#include "connectors/mysql/errors.h"
#include "core/message_id.h"
#include "mariadb_fixture.h"

namespace trib::connectors::mysql {
namespace {

using namespace std::chrono_literals;

class sink_test : public test::mariadb_test {
  protected:
    sink_options base_options(const std::string& table) const {
        sink_options o;
        o.conn.connection_string = url();
        o.conn.tls.mode = ssl_mode::disabled;
        o.target_table = table;
        return o;
    }
    static message_batch make_batch(const std::vector<std::string>& payloads,
                                    std::uint64_t first_offset = 0) {
        message_batch b;
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            message m;
            m.payload = b.own(payloads[i]);
            m.offset = first_offset + i;
            m.id = {first_offset + i + 1, 0x1234};
            m.timestamp_us = 1700000000000000ULL + i;
            m.origin_timestamp_us = 1690000000000000ULL + i;
            b.messages.push_back(std::move(m));
        }
        return b;
    }
    static sink_batch view(const message_batch& b) {
        sink_batch sb;
        sb.stream = "orders";
        sb.topic = "created";
        sb.partition = 1;
        sb.schema = "json";
        sb.messages = &b;
        return sb;
    }
    static std::vector<std::size_t> rejected_indices(const write_outcome& w) {
        std::vector<std::size_t> out;
        for (const auto& r : w.rejected)
            out.push_back(r.index);
        return out;
    }
    connector_context ctx_;
};

TEST_F(sink_test, append_mode_creates_the_table_and_keeps_payload_bytes_and_metadata) {
    auto o = base_options("events");
    o.auto_create_table = true;
    o.include_headers = true;
    mysql_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    std::string nasty("a'b\\c\0d\n\x1a\xff\"", 11);
    auto b = make_batch({"{\"k\":1}", nasty, ""});
    b.messages[0].headers.push_back({"h", value_kind::string, "v"});
    auto w = s.write(view(b));
    ASSERT_TRUE(w.has_value()) << w.error().to_string();
    EXPECT_TRUE(w->rejected.empty());
    EXPECT_EQ(sql().value("SELECT count(*) FROM events"), "3");
    EXPECT_EQ(sql().value("SELECT HEX(payload) FROM events WHERE iggy_offset = 1"),
              "6127625C6300640A1AFF22");
    EXPECT_EQ(sql().value("SELECT id FROM events WHERE iggy_offset = 0"),
              to_decimal(message_id{1, 0x1234}));
    EXPECT_EQ(
        sql().value("SELECT CONCAT_WS('|', iggy_stream, iggy_topic, iggy_partition_id, "
                    "iggy_timestamp, iggy_origin_timestamp) FROM events WHERE iggy_offset = 0"),
        "orders|created|1|2023-11-14 22:13:20.000000|2023-07-22 04:26:40.000000");
    EXPECT_EQ(sql().value("SELECT JSON_VALUE(iggy_headers, '$.h') FROM events WHERE "
                          "iggy_offset = 0"),
              "v");
    EXPECT_TRUE(s.idempotent());
}

TEST_F(sink_test, append_mode_replay_of_a_written_batch_adds_nothing) {
    for (auto method : {write_method::insert, write_method::load_data}) {
        std::string table = method == write_method::insert ? "ev_insert" : "ev_load";
        auto o = base_options(table);
        o.auto_create_table = true;
        o.method = method;
        mysql_sink s(o);
        ASSERT_TRUE(s.open(ctx_).has_value());
        std::vector<std::string> p;
        for (int i = 0; i < 500; ++i)
            p.push_back("payload-" + std::to_string(i));
        auto b1 = make_batch(p);
        ASSERT_TRUE(s.write(view(b1)).has_value());
        // A crash between COMMIT and the offset commit: the runtime hands the batch (and more)
        // again.
        std::vector<std::string> p2(p.begin() + 250, p.end());
        p2.push_back("new-1");
        p2.push_back("new-2");
        auto b2 = make_batch(p2, 250);
        auto w = s.write(view(b2));
        ASSERT_TRUE(w.has_value()) << w.error().to_string();
        EXPECT_TRUE(w->rejected.empty());
        EXPECT_EQ(sql().value("SELECT count(*) FROM " + table), "502") << table;
        EXPECT_EQ(sql().value("SELECT count(DISTINCT iggy_offset) FROM " + table), "502");
        if (method == write_method::load_data) {
            EXPECT_EQ(s.stats().load_fallbacks.load(), 1u);  // the replayed ids: INSERT way
        }
    }
}

TEST_F(sink_test, append_mode_json_column_rejects_only_the_invalid_payloads) {
    for (auto method : {write_method::insert, write_method::load_data}) {
        std::string table = method == write_method::insert ? "j_insert" : "j_load";
        auto o = base_options(table);
        o.auto_create_table = true;
        o.payload = payload_format::json;
        o.method = method;
        mysql_sink s(o);
        ASSERT_TRUE(s.open(ctx_).has_value());
        std::vector<std::string> p;
        for (int i = 0; i < 40; ++i)
            p.push_back(i == 7 || i == 31 ? "{not json" : "{\"i\":" + std::to_string(i) + "}");
        auto b = make_batch(p);
        auto w = s.write(view(b));
        ASSERT_TRUE(w.has_value()) << w.error().to_string();
        EXPECT_EQ(rejected_indices(*w), (std::vector<std::size_t>{7, 31})) << table;
        for (const auto& r : w->rejected) {
            EXPECT_FALSE(r.err.retryable());
            EXPECT_TRUE(is_row_error(r.err)) << r.err.to_string();
        }
        EXPECT_EQ(sql().value("SELECT count(*) FROM " + table), "38");
        EXPECT_EQ(sql().value("SELECT count(*) FROM " + table + " WHERE iggy_offset IN (7, 31)"),
                  "0");
    }
}

TEST_F(sink_test, mapped_mode_writes_fields_to_columns_and_bisects_bad_values) {
    ASSERT_EQ(sql().exec("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(8) NOT NULL, "
                         "score INT, tags JSON, raw VARBINARY(16)) ENGINE=InnoDB"),
              "");
    auto o = base_options("users");
    o.mode = sink_mode::mapped;
    o.field_mapping = {{"id", "user.id"},
                       {"name", "user.name"},
                       {"score", "score"},
                       {"tags", "tags"},
                       {"raw", "raw"}};
    mysql_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    std::vector<std::string> p;
    for (int i = 0; i < 100; ++i) {
        std::string name = "n" + std::to_string(i);
        std::string score = std::to_string(i * 10);
        if (i == 13)
            name = "much-too-long-name";  // VARCHAR(8)
        if (i == 42)
            score = "\"abc\"";  // not an integer
        if (i == 77)
            score = "99999999999";  // out of INT's range
        p.push_back("{\"user\":{\"id\":" + std::to_string(i) + ",\"name\":\"" + name +
                    "\"},\"score\":" + score + ",\"tags\":[\"a\",{\"b\":true}],\"raw\":\"x'y\"}");
    }
    p.push_back("not json at all");
    p.push_back("{\"user\":{\"id\":1000},\"score\":null}");  // name NOT NULL: missing -> error
    auto b = make_batch(p);
    auto w = s.write(view(b));
    ASSERT_TRUE(w.has_value()) << w.error().to_string();
    EXPECT_EQ(rejected_indices(*w), (std::vector<std::size_t>{13, 42, 77, 100, 101}));
    EXPECT_EQ(sql().value("SELECT count(*) FROM users"), "97");
    EXPECT_EQ(sql().value("SELECT CONCAT_WS('|', name, score, tags, raw) FROM users WHERE id = 5"),
              "n5|50|[\"a\",{\"b\":true}]|x'y");
    EXPECT_GE(s.stats().isolations.load(), 1u);
    EXPECT_FALSE(s.idempotent());  // a plain mapped insert
}

TEST_F(sink_test, mapped_upsert_by_key_updates_rows_and_by_message_id_skips_replays) {
    ASSERT_EQ(sql().exec("CREATE TABLE kv (k VARCHAR(20) PRIMARY KEY, v INT)"), "");
    auto o = base_options("kv");
    o.mode = sink_mode::mapped;
    o.upsert = upsert_mode::key;
    {
        mysql_sink s(o);
        ASSERT_TRUE(s.open(ctx_).has_value());
        auto b1 = make_batch({R"({"k":"a","v":1})", R"({"k":"b","v":2})", R"({"k":"a","v":3})"});
        ASSERT_TRUE(s.write(view(b1)).has_value());
        auto b2 = make_batch({R"({"k":"b","v":20})"}, 3);
        ASSERT_TRUE(s.write(view(b2)).has_value());
        EXPECT_TRUE(s.idempotent());
    }
    EXPECT_EQ(sql().rows("SELECT k, v FROM kv ORDER BY k"),
              (std::vector<std::string>{"a\t3", "b\t20"}));

    ASSERT_EQ(sql().exec("CREATE TABLE log (seq INT AUTO_INCREMENT PRIMARY KEY, v INT, "
                         "iggy_message_id DECIMAL(39,0) UNIQUE)"),
              "");
    auto o2 = base_options("log");
    o2.mode = sink_mode::mapped;
    o2.upsert = upsert_mode::message_id;
    mysql_sink s2(o2);
    ASSERT_TRUE(s2.open(ctx_).has_value());
    auto b = make_batch({R"({"v":1})", R"({"v":2})", R"({"v":3})"});
    ASSERT_TRUE(s2.write(view(b)).has_value());
    ASSERT_TRUE(s2.write(view(b)).has_value());  // the replay
    EXPECT_EQ(sql().value("SELECT count(*) FROM log"), "3");
    EXPECT_EQ(sql().value("SELECT iggy_message_id FROM log WHERE v = 2"),
              to_decimal(message_id{2, 0x1234}));
}

TEST_F(sink_test, mapped_mode_without_the_message_id_column_fails_at_open) {
    ASSERT_EQ(sql().exec("CREATE TABLE nolog (v INT)"), "");
    auto o = base_options("nolog");
    o.mode = sink_mode::mapped;
    o.upsert = upsert_mode::message_id;
    mysql_sink s(o);
    auto st = s.open(ctx_);
    ASSERT_FALSE(st.has_value());
    EXPECT_NE(st.error().message().find("iggy_message_id"), std::string::npos);
    auto o2 = base_options("missing_table");
    mysql_sink s2(o2);
    auto st2 = s2.open(ctx_);
    ASSERT_FALSE(st2.has_value());
    EXPECT_EQ(st2.error().code(), errc::not_found);
}

TEST_F(sink_test, debezium_envelopes_apply_inserts_updates_deletes_and_truncates) {
    ASSERT_EQ(sql().exec("CREATE TABLE replica (id INT PRIMARY KEY, name TEXT)"), "");
    auto o = base_options("replica");
    o.mode = sink_mode::mapped;
    o.envelope = envelope_kind::debezium;
    mysql_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    auto b = make_batch({
        R"({"op":"c","before":null,"after":{"id":1,"name":"one"}})",
        R"({"op":"c","before":null,"after":{"id":2,"name":"two"}})",
        R"({"op":"u","before":{"id":1},"after":{"id":1,"name":"uno"}})",
        R"({"schema":{},"payload":{"op":"r","after":{"id":3,"name":"three"}}})",
        R"({"op":"d","before":{"id":2,"name":"two"},"after":null})",
        R"({"op":"x"})",
        R"({"op":"d","before":{"name":"no key"}})",
    });
    auto w = s.write(view(b));
    ASSERT_TRUE(w.has_value()) << w.error().to_string();
    EXPECT_EQ(rejected_indices(*w), (std::vector<std::size_t>{5, 6}));
    EXPECT_EQ(sql().rows("SELECT id, name FROM replica ORDER BY id"),
              (std::vector<std::string>{"1\tuno", "3\tthree"}));
    auto t = make_batch({R"({"op":"t"})", R"({"op":"c","after":{"id":9,"name":"nine"}})"}, 7);
    ASSERT_TRUE(s.write(view(t)).has_value());
    EXPECT_EQ(sql().rows("SELECT id, name FROM replica ORDER BY id"),
              (std::vector<std::string>{"9\tnine"}));
}

TEST_F(sink_test, reconnects_after_a_server_restart_and_loses_nothing) {
    auto o = base_options("events");
    o.auto_create_table = true;
    mysql_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    auto b1 = make_batch({"one", "two"});
    ASSERT_TRUE(s.write(view(b1)).has_value());
    drop_client();
    ASSERT_TRUE(test::mariadb_restart(server()).has_value());
    auto b2 = make_batch({"three", "four"}, 2);
    // The connection died with the server: the runtime's retry (here a loop) reconnects.
    // Every failure on the way must be retryable.
    bool written = test::wait_until(
        [&] {
            auto r = s.write(view(b2));
            if (!r) {
                EXPECT_TRUE(r.error().retryable()) << r.error().to_string();
                return false;
            }
            return true;
        },
        30s);
    ASSERT_TRUE(written);
    reconnect_client();
    EXPECT_EQ(sql().value("SELECT count(*) FROM events"), "4");
}

TEST_F(sink_test, a_stopped_server_gives_retryable_errors_until_it_is_back) {
    auto o = base_options("events");
    o.auto_create_table = true;
    mysql_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    drop_client();
    ASSERT_TRUE(test::mariadb_stop(server()).has_value());
    auto b = make_batch({"a", "b", "c"});
    auto r = s.write(view(b));
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().retryable()) << r.error().to_string();
    s.close();
    EXPECT_FALSE(s.open(ctx_).has_value());
    ASSERT_TRUE(server().restart().has_value());
    bool written = test::wait_until([&] { return s.write(view(b)).has_value(); }, 30s);
    ASSERT_TRUE(written);
    reconnect_client();
    EXPECT_EQ(sql().value("SELECT count(*) FROM events"), "3");
}

TEST_F(sink_test, wrong_password_is_unauthenticated_and_fatal) {
    auto o = base_options("events");
    o.conn.connection_string =
        "mysql://test:wrong@127.0.0.1:" + std::to_string(server().port()) + "/" + db();
    mysql_sink s(o);
    auto st = s.open(ctx_);
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), errc::unauthenticated);
    EXPECT_FALSE(st.error().retryable());
    EXPECT_EQ(st.error().message().find("wrong"), std::string::npos);  // no password in errors
}

}  // namespace
}  // namespace trib::connectors::mysql
