// The PostgreSQL sink against a real PostgreSQL 15: append and mapped modes, COPY and INSERT,
// upserts, Debezium envelopes, poison rows, replays, reconnects, TLS and open-time errors.

#include "connectors/postgres/sink.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "connectors/postgres/errors.h"
#include "harness/hostile_json.h"
#include "pg_fixture.h"

namespace trib::connectors::postgres {
namespace {

using namespace std::chrono_literals;
using test::pg_client;

class sink_test : public test::pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        pg_ = &server();
    }
    sink_options base_options(const std::string& table) const {
        sink_options o;
        o.conn.connection_string = conninfo();
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
            m.id = {first_offset + i + 1, 0x1234};  // lo, hi: distinct per offset
            m.timestamp_us = 1700000000000000ULL + i;
            m.origin_timestamp_us = 1690000000000000ULL + i;
            b.messages.push_back(std::move(m));
        }
        return b;
    }
    static sink_batch view(const message_batch& b, std::uint32_t partition = 1) {
        sink_batch sb;
        sb.stream = "orders";
        sb.topic = "created";
        sb.partition = partition;
        sb.schema = "json";
        sb.messages = &b;
        return sb;
    }

    test::peer* pg_ = nullptr;
    connector_context ctx_;
    pg_client* client() { return &sql(); }
};

std::string json_row(int id, const std::string& name, int score) {
    std::string esc;
    for (char c : name) {
        if (c == '\\' || c == '"')
            esc += {'\\', c};
        else if (c == '\n')
            esc += "\\n";
        else if (c == '\t')
            esc += "\\t";
        else
            esc += c;
    }
    return "{\"id\":" + std::to_string(id) + ",\"name\":\"" + esc +
           "\",\"score\":" + std::to_string(score) + "}";
}

TEST_F(sink_test, append_mode_creates_iggy_table_and_writes_metadata_with_binary_copy) {
    auto o = base_options("events");
    o.auto_create_table = true;
    o.include_headers = true;
    o.payload = payload_format::json;
    postgres_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    EXPECT_TRUE(s.idempotent());  // id is the primary key

    std::vector<std::string> payloads;
    for (int i = 0; i < 500; ++i)
        payloads.push_back(json_row(i, "n\t" + std::to_string(i), i * 2));
    auto b = make_batch(payloads, 100);
    b.messages[3].headers.push_back({"source", value_kind::string, "web"});
    b.messages[3].headers.push_back({"n", value_kind::uint32, std::string("\x07\0\0\0", 4)});
    auto r = s.write(view(b));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_TRUE(r->rejected.empty())
        << r->rejected.size() << " rejected, first: " << r->rejected[0].err.to_string();
    EXPECT_EQ(client()->value("SELECT count(*) FROM events"), "500");
    EXPECT_EQ(client()->value("SELECT id::text FROM events WHERE iggy_offset = 103"),
              // id: hi = 0x1234, lo = 104 -> 0x1234 * 2^64 + 104
              "85961827383486510530664");
    EXPECT_EQ(client()->value("SELECT iggy_stream || '/' || iggy_topic || '/' || "
                              "iggy_partition_id FROM events WHERE iggy_offset = 100"),
              "orders/created/1");
    EXPECT_EQ(client()->value("SELECT payload->>'name' FROM events WHERE iggy_offset = 105"),
              "n\t5");
    EXPECT_EQ(client()->value("SELECT iggy_headers::text FROM events WHERE iggy_offset = 103"),
              "{\"n\": 7, \"source\": \"web\"}");
    EXPECT_EQ(client()->value("SELECT extract(epoch FROM iggy_timestamp)::numeric(20,6)::text FROM "
                              "events WHERE iggy_offset = 100"),
              "1700000000.000000");
    EXPECT_EQ(client()->value("SELECT count(*) FROM events WHERE iggy_checksum IS NULL"), "500");
    EXPECT_EQ(client()->value("SELECT extract(epoch FROM iggy_origin_timestamp)::numeric(20,6)::"
                              "text FROM events WHERE iggy_offset = 101"),
              "1690000000.000001");
    EXPECT_EQ(s.stats().rows_written.load(), 500u);
}

TEST_F(sink_test, append_replay_after_a_crash_leaves_no_duplicates) {
    auto o = base_options("events");
    o.auto_create_table = true;
    postgres_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    std::vector<std::string> p1, p2;
    for (int i = 0; i < 100; ++i)
        p1.push_back("a" + std::to_string(i));
    for (int i = 0; i < 150; ++i)
        p2.push_back("a" + std::to_string(i));
    auto b1 = make_batch(p1);
    ASSERT_TRUE(s.write(view(b1)).has_value());
    // The runtime died before committing offsets: the same messages come again, plus new ones.
    auto b2 = make_batch(p2);
    auto r = s.write(view(b2));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_TRUE(r->rejected.empty());
    EXPECT_EQ(client()->value("SELECT count(*) FROM events"), "150");
    EXPECT_EQ(client()->value("SELECT count(DISTINCT id) FROM events"), "150");
    EXPECT_EQ(client()->value("SELECT encode(payload, 'escape') FROM events WHERE iggy_offset=149"),
              "a149");
}

struct method_case {
    write_method method;
    copy_format format;
};

class append_methods : public sink_test, public ::testing::WithParamInterface<method_case> {};

TEST_P(append_methods, every_method_writes_the_same_rows_and_isolates_a_poison_row) {
    auto o = base_options("s1.events");  // schema-qualified, schema created too
    o.auto_create_table = true;
    o.payload = payload_format::json;
    o.method = GetParam().method;
    o.copy = GetParam().format;
    o.batch_size = 64;  // several INSERT statements per batch
    postgres_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    std::vector<std::string> payloads;
    for (int i = 0; i < 300; ++i)
        payloads.push_back(i == 137 ? std::string("{not json") : json_row(i, "x\\y\n", i));
    auto b = make_batch(payloads);
    auto r = s.write(view(b));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_EQ(r->rejected.size(), 1u);
    EXPECT_EQ(r->rejected[0].index, 137u);
    EXPECT_EQ(r->rejected[0].err.retry(), retry_class::fatal);
    EXPECT_EQ(sqlstate_text(r->rejected[0].err.vendor_code()), "22P02")
        << r->rejected[0].err.to_string();
    EXPECT_EQ(client()->value("SELECT count(*) FROM s1.events"), "299");
    EXPECT_EQ(client()->value("SELECT payload->>'name' FROM s1.events WHERE iggy_offset = 7"),
              "x\\y\n");
    EXPECT_EQ(client()->value("SELECT sum((payload->>'score')::int) FROM s1.events"),
              std::to_string(299 * 300 / 2 - 137));
    EXPECT_EQ(s.stats().isolations.load(), 1u);
}

INSTANTIATE_TEST_SUITE_P(all, append_methods,
                         ::testing::Values(method_case{write_method::copy, copy_format::binary},
                                           method_case{write_method::copy, copy_format::text},
                                           method_case{write_method::insert, copy_format::binary}));

TEST_F(sink_test, mapped_upsert_by_key_keeps_the_last_change_and_replays_idempotently) {
    ASSERT_EQ(client()->exec("CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, "
                             "score numeric(20,4), tags text[], doc jsonb, raw bytea, "
                             "active boolean, CHECK (score >= 0))"),
              "");
    for (auto method : {write_method::copy, write_method::insert}) {
        ASSERT_EQ(client()->exec("TRUNCATE users"), "");
        auto o = base_options("users");
        o.mode = sink_mode::mapped;
        o.upsert = upsert_mode::key;
        o.method = method;
        postgres_sink s(o);
        ASSERT_TRUE(s.open(ctx_).has_value());
        EXPECT_TRUE(s.idempotent());
        std::vector<std::string> payloads = {
            R"({"id":1,"name":"ann","score":12345678901234.5678,"tags":["a","b c"],"doc":{"k":[1,2]},"raw":"aGk=","active":true,"unknown":5})",
            R"({"id":2,"name":"bob","score":1})",
            R"({"id":1,"name":"ann2","score":2})",      // same key again: the last one wins
            R"({"id":3,"name":"cy","score":-1})",       // CHECK violation: rejected alone
            R"({"id":4,"name":null,"score":1})",        // NOT NULL violation: rejected alone
            R"({"id":5,"name":"dee","tags":"{x,y}"})",  // array literal as a string
            R"([1,2])",                                 // not an object
        };
        auto b = make_batch(payloads);
        auto r = s.write(view(b));
        ASSERT_TRUE(r.has_value()) << r.error().to_string();
        std::vector<std::size_t> rejected;
        for (const auto& e : r->rejected)
            rejected.push_back(e.index);
        EXPECT_EQ(rejected, (std::vector<std::size_t>{3, 4, 6}));
        EXPECT_EQ(client()->rows("SELECT id, name, score, tags, doc, raw, active FROM users "
                                 "ORDER BY id"),
                  (std::vector<std::string>{"1\tann2\t2.0000\t\\N\t\\N\t\\N\t\\N",
                                            "2\tbob\t1.0000\t\\N\t\\N\t\\N\t\\N",
                                            "5\tdee\t\\N\t{x,y}\t\\N\t\\N\t\\N"}));
        // First version of row 1 alone: all typed columns arrive intact.
        auto one = make_batch({payloads[0]});
        ASSERT_TRUE(s.write(view(one)).has_value());
        EXPECT_EQ(
            client()->rows("SELECT score, tags, doc, encode(raw, 'escape'), active FROM "
                           "users WHERE id = 1"),
            (std::vector<std::string>{"12345678901234.5678\t{a,\"b c\"}\t{\"k\": [1, 2]}\thi\tt"}));
        // Replaying the first batch converges to the same state.
        ASSERT_TRUE(s.write(view(b)).has_value());
        EXPECT_EQ(client()->value("SELECT count(*) FROM users"), "3");
        EXPECT_EQ(client()->value("SELECT name FROM users WHERE id = 1"), "ann2");
    }
}

TEST_F(sink_test, hostile_json_is_rejected_alone_and_the_good_rows_are_written) {
    // Issue 12: 200,000 '[' crashed the recursive parse of the mapped modes.
    ASSERT_EQ(client()->exec("CREATE TABLE hostile (id int PRIMARY KEY, doc jsonb)"), "");
    auto o = base_options("hostile");
    o.mode = sink_mode::mapped;
    o.upsert = upsert_mode::key;
    postgres_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    auto inputs = testing::hostile_json_inputs();
    std::vector<std::string> payloads{R"({"id":1,"doc":{"a":[1]}})"};
    for (const auto& [name, bytes] : inputs)
        payloads.push_back(bytes);
    // The deepest accepted document reaches the jsonb column intact.
    payloads.push_back("{\"id\":2,\"doc\":" + testing::deep_arrays(127) + "}");
    auto b = make_batch(payloads);
    auto r = s.write(view(b));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_EQ(r->rejected.size(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_EQ(r->rejected[i].index, i + 1) << inputs[i].first;
        EXPECT_EQ(r->rejected[i].err.retry(), retry_class::fatal) << inputs[i].first;
    }
    EXPECT_EQ(client()->value("SELECT count(*) FROM hostile"), "2");
    EXPECT_EQ(client()->value("SELECT jsonb_typeof(doc) FROM hostile WHERE id = 2"), "array");
}

TEST_F(sink_test, mapped_debezium_envelope_applies_creates_updates_deletes_and_key_changes) {
    ASSERT_EQ(client()->exec("CREATE TABLE items (a int, b text, v text, PRIMARY KEY (a, b))"), "");
    auto o = base_options("public.items");
    o.mode = sink_mode::mapped;
    o.envelope = envelope_kind::debezium;
    postgres_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    EXPECT_TRUE(s.idempotent());
    auto env = [](const char* op, const std::string& before, const std::string& after) {
        return std::string("{\"before\":") + before + ",\"after\":" + after + ",\"op\":\"" + op +
               "\",\"source\":{\"table\":\"items\"},\"ts_ms\":1}";
    };
    std::vector<std::string> p = {
        env("r", "null", R"({"a":1,"b":"x","v":"snap"})"),
        env("c", "null", R"({"a":2,"b":"y","v":"new"})"),
        env("c", "null", R"({"a":3,"b":"z","v":"gone soon"})"),
        env("u", R"({"a":1,"b":"x","v":"snap"})", R"({"a":1,"b":"x","v":"upd"})"),
        env("d", R"({"a":3,"b":"z"})", "null"),
        env("u", R"({"a":2,"b":"y"})", R"({"a":20,"b":"y","v":"moved"})"),  // key change
        R"({"schema":{},"payload":{"before":null,"after":{"a":4,"b":"w","v":"wrapped"},"op":"c"}})",
        env("d", "null", "null"),  // a delete without before image: rejected
    };
    auto b = make_batch(p);
    auto r = s.write(view(b));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_EQ(r->rejected.size(), 1u);
    EXPECT_EQ(r->rejected[0].index, 7u);
    std::vector<std::string> want = {"1\tx\tupd", "4\tw\twrapped", "20\ty\tmoved"};
    EXPECT_EQ(client()->rows("SELECT a, b, v FROM items ORDER BY a"), want);
    // Replaying the whole batch (a crash before the offset commit) gives the same table.
    ASSERT_TRUE(s.write(view(b)).has_value());
    EXPECT_EQ(client()->rows("SELECT a, b, v FROM items ORDER BY a"), want);
    // A truncate drops everything before it; later changes apply.
    auto t = make_batch({env("c", "null", R"({"a":9,"b":"q","v":"before t"})"),
                         R"({"op":"t","before":null,"after":null})",
                         env("c", "null", R"({"a":10,"b":"q","v":"after t"})")});
    ASSERT_TRUE(s.write(view(t)).has_value());
    EXPECT_EQ(client()->rows("SELECT a, b, v FROM items ORDER BY a"),
              (std::vector<std::string>{"10\tq\tafter t"}));
}

TEST_F(sink_test, mapped_upsert_by_message_id_and_field_mapping) {
    ASSERT_EQ(client()->exec("CREATE TABLE ev (msg_id numeric(39,0) UNIQUE, user_id bigint, "
                             "city text, at timestamptz)"),
              "");
    auto o = base_options("ev");
    o.mode = sink_mode::mapped;
    o.upsert = upsert_mode::message_id;
    o.message_id_column = "msg_id";
    o.field_mapping = {{"user_id", "user.id"}, {"city", "user.address.city"}, {"at", "at"}};
    postgres_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    std::vector<std::string> p;
    for (int i = 0; i < 50; ++i) {
        p.push_back("{\"user\":{\"id\":" + std::to_string(1000 + i) + ",\"address\":{\"city\":\"c" +
                    std::to_string(i) + "\"}},\"at\":\"2024-01-02T03:04:05Z\"}");
    }
    auto b = make_batch(p);
    ASSERT_TRUE(s.write(view(b)).has_value());
    ASSERT_TRUE(s.write(view(b)).has_value());  // replay
    EXPECT_EQ(client()->value("SELECT count(*) FROM ev"), "50");
    EXPECT_EQ(client()->value("SELECT city FROM ev WHERE user_id = 1007"), "c7");
    EXPECT_EQ(client()->value("SELECT count(*) FROM ev WHERE at = '2024-01-02 03:04:05+00'"), "50");
}

TEST_F(sink_test, open_reports_configuration_problems_as_fatal_and_outages_as_retryable) {
    {
        auto o = base_options("missing_table");
        postgres_sink s(o);
        auto st = s.open(ctx_);
        ASSERT_FALSE(st.has_value());
        EXPECT_EQ(st.error().code(), errc::not_found) << st.error().to_string();
        EXPECT_EQ(st.error().retry(), retry_class::fatal);
    }
    {
        ASSERT_EQ(client()->exec("CREATE TABLE wrong (id int, payload text)"), "");
        auto o = base_options("wrong");
        postgres_sink s(o);
        auto st = s.open(ctx_);
        ASSERT_FALSE(st.has_value());
        EXPECT_EQ(st.error().code(), errc::failed_precondition);
        EXPECT_NE(st.error().message().find("iggy_offset"), std::string::npos)
            << st.error().message();
    }
    {
        auto o = base_options("x");
        o.conn.connection_string =
            "postgresql://postgres:wrong@127.0.0.1:" + std::to_string(pg_->port()) + "/" + db();
        postgres_sink s(o);
        auto st = s.open(ctx_);
        ASSERT_FALSE(st.has_value());
        EXPECT_EQ(st.error().code(), errc::unauthenticated) << st.error().to_string();
        EXPECT_EQ(st.error().retry(), retry_class::fatal);
    }
    {
        auto o = base_options("x");
        o.conn.connection_string = "host=127.0.0.1 port=" + std::to_string(test::free_port()) +
                                   " user=postgres password=postgres";
        postgres_sink s(o);
        auto st = s.open(ctx_);
        ASSERT_FALSE(st.has_value());
        EXPECT_EQ(st.error().code(), errc::unavailable) << st.error().to_string();
        EXPECT_EQ(st.error().retry(), retry_class::retryable);
    }
    {
        ASSERT_EQ(client()->exec("CREATE TABLE nokey (a int, b text)"), "");
        auto o = base_options("nokey");
        o.mode = sink_mode::mapped;
        o.upsert = upsert_mode::key;
        postgres_sink s(o);
        auto st = s.open(ctx_);
        ASSERT_FALSE(st.has_value());
        EXPECT_NE(st.error().message().find("primary key"), std::string::npos);
    }
}

TEST_F(sink_test, reconnects_after_a_postgres_restart) {
    auto o = base_options("events");
    o.auto_create_table = true;
    o.max_connections = 2;
    postgres_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    auto b1 = make_batch({"one", "two"});
    ASSERT_TRUE(s.write(view(b1)).has_value());
    drop_client();
    ASSERT_TRUE(test::pg_restart(*pg_).has_value());
    auto b2 = make_batch({"three", "four"}, 2);
    // The pooled connection died with the server: the runtime's retry (here a loop) lands on a
    // fresh connection. Every failure on the way must be retryable.
    bool written = test::wait_until(
        [&] {
            auto r = s.write(view(b2));
            if (!r) {
                EXPECT_TRUE(r.error().retryable()) << r.error().to_string();
                return false;
            }
            return true;
        },
        20s);
    ASSERT_TRUE(written);
    pg_client c(conninfo());
    EXPECT_EQ(c.value("SELECT count(*) FROM events"), "4");
}

TEST_F(sink_test, a_reopen_that_failed_while_postgres_was_down_is_retried_by_the_next_write) {
    // The runtime's reaction to a lost connection: close(), open(). When PostgreSQL is still
    // down, open() fails; the next write must report the outage (retryable) and reconnect once
    // the server is back, not fail for good with "not open".
    auto o = base_options("events");
    o.auto_create_table = true;
    postgres_sink s(o);
    ASSERT_TRUE(s.open(ctx_).has_value());
    auto b1 = make_batch({"one", "two"});
    ASSERT_TRUE(s.write(view(b1)).has_value());
    drop_client();
    ASSERT_TRUE(test::pg_stop_fast(*pg_).has_value());
    auto b2 = make_batch({"three", "four"}, 2);
    auto r = s.write(view(b2));
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().retryable()) << r.error().to_string();
    s.close();
    auto st = s.open(ctx_);
    ASSERT_FALSE(st.has_value());
    EXPECT_TRUE(st.error().retryable()) << st.error().to_string();
    r = s.write(view(b2));
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().retryable()) << r.error().to_string();
    ASSERT_TRUE(pg_->restart().has_value());
    bool written = test::wait_until(
        [&] {
            auto w = s.write(view(b2));
            if (!w) {
                EXPECT_TRUE(w.error().retryable()) << w.error().to_string();
                return false;
            }
            return true;
        },
        20s);
    ASSERT_TRUE(written);
    pg_client c(conninfo());
    EXPECT_EQ(c.value("SELECT string_agg(encode(payload, 'escape'), ',' ORDER BY iggy_offset) "
                      "FROM events"),
              "one,two,three,four");
}

TEST_F(sink_test, connects_with_tls_verify_full) {
    // A self-signed certificate for 127.0.0.1; the server gets it through ALTER SYSTEM + reload.
    auto dir = pg_->dir();
    std::string cmd = "cd " + dir.string() +
                      " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
                      "'/CN=127.0.0.1' -addext 'subjectAltName=IP:127.0.0.1' -keyout server.key "
                      "-out server.crt > openssl.log 2>&1 && chown postgres server.key "
                      "server.crt 2>/dev/null; chmod 600 server.key";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl failed";
    ASSERT_EQ(
        client()->exec("ALTER SYSTEM SET ssl_cert_file = '" + (dir / "server.crt").string() + "'"),
        "");
    ASSERT_EQ(
        client()->exec("ALTER SYSTEM SET ssl_key_file = '" + (dir / "server.key").string() + "'"),
        "");
    ASSERT_EQ(client()->exec("ALTER SYSTEM SET ssl = on"), "");
    ASSERT_EQ(client()->value("SELECT pg_reload_conf()"), "t");
    ASSERT_TRUE(test::wait_until([&] { return client()->value("SHOW ssl") == "on"; }, 10s));

    auto o = base_options("events");
    o.auto_create_table = true;
    o.conn.tls.sslmode = "verify-full";
    o.conn.tls.sslrootcert = (dir / "server.crt").string();
    postgres_sink s(o);
    auto st = s.open(ctx_);
    ASSERT_TRUE(st.has_value()) << st.error().to_string();
    auto b = make_batch({"secret"});
    ASSERT_TRUE(s.write(view(b)).has_value());
    EXPECT_EQ(client()->value("SELECT count(*) FROM pg_stat_ssl WHERE ssl AND pid <> "
                              "pg_backend_pid()"),
              "1");
    s.close();

    // A CA that did not sign the server certificate is refused, and that is not retried.
    std::string other = "cd " + dir.string() +
                        " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=other' "
                        "-keyout other.key -out other.crt > /dev/null 2>&1";
    ASSERT_EQ(std::system(other.c_str()), 0);
    o.conn.tls.sslrootcert = (dir / "other.crt").string();
    postgres_sink bad(o);
    auto st2 = bad.open(ctx_);
    ASSERT_FALSE(st2.has_value());
    EXPECT_EQ(st2.error().retry(), retry_class::fatal) << st2.error().to_string();
    ASSERT_EQ(client()->exec("ALTER SYSTEM RESET ssl"), "");
    ASSERT_EQ(client()->value("SELECT pg_reload_conf()"), "t");
}

TEST(postgres_errors, sqlstate_classes_map_to_retry_classes) {
    EXPECT_EQ(classify("08006", "x").retry(), retry_class::retryable);
    EXPECT_EQ(classify("08006", "x").code(), errc::unavailable);
    EXPECT_EQ(classify("40001", "x").retry(), retry_class::retryable);
    EXPECT_EQ(classify("40P01", "x").retry(), retry_class::retryable);
    EXPECT_EQ(classify("53100", "x").retry(), retry_class::throttled);
    EXPECT_EQ(classify("53300", "x").retry(), retry_class::throttled);
    EXPECT_EQ(classify("22P02", "x").retry(), retry_class::fatal);
    EXPECT_EQ(classify("23505", "x").retry(), retry_class::fatal);
    EXPECT_TRUE(is_row_error(classify("23505", "x")));
    EXPECT_TRUE(is_row_error(classify("22021", "x")));
    EXPECT_FALSE(is_row_error(classify("42P01", "x")));
    EXPECT_EQ(classify("42P01", "x").code(), errc::not_found);
    EXPECT_EQ(classify("42501", "x").code(), errc::permission_denied);
    EXPECT_EQ(classify("28P01", "x").code(), errc::unauthenticated);
    EXPECT_EQ(classify("57P01", "x").retry(), retry_class::retryable);
    EXPECT_EQ(sqlstate_text(sqlstate_code("23505")), "23505");
    EXPECT_EQ(sqlstate_text(classify("40P01", "x").vendor_code()), "40P01");
}

}  // namespace
}  // namespace trib::connectors::postgres

namespace trib::connectors::postgres {
namespace {

// Issue 12: libpq's error texts never carry the password of the connection string, whether the
// server refuses it or libpq cannot parse the string (it quotes pieces of it then).
class pg_secrets_test : public test::pg_test {};

TEST_F(pg_secrets_test, connect_errors_never_show_the_password) {
    std::string wrong = conninfo();
    wrong.replace(wrong.find("password=postgres"), 17, "password=WrongPgSecret42");
    struct variant {
        std::string conninfo;
        errc code;
    };
    for (const auto& v : std::vector<variant>{
             {wrong, errc::unauthenticated},
             {std::string("postgresql://postgres:UriPgSecret42@127.0.0.1:") +
                  std::to_string(server().port()) + "/postgres?connect_timeout=5",
              errc::unauthenticated},
             // A space inside an unquoted password: libpq quotes "SecretTail" in its error.
             {conninfo().replace(conninfo().find("password=postgres"), 17,
                                 "password=PgSecret77 SecretTail77"),
              errc::invalid_argument},
             // A bad percent escape in a URI password: libpq quotes the token.
             {"postgresql://postgres:Bad%zzPgSecret99@127.0.0.1:1/postgres",
              errc::invalid_argument},
         }) {
        conn_settings s;
        s.connection_string = v.conninfo;
        s.connect_timeout = std::chrono::seconds(5);
        auto c = db_conn::connect(s);
        ASSERT_FALSE(c) << v.conninfo;
        const std::string text = c.error().to_string();
        EXPECT_EQ(c.error().code(), v.code) << text;
        for (const char* secret :
             {"WrongPgSecret42", "UriPgSecret42", "PgSecret77", "SecretTail77", "PgSecret99"}) {
            EXPECT_EQ(text.find(secret), std::string::npos) << text;
        }
    }
}

}  // namespace
}  // namespace trib::connectors::postgres
