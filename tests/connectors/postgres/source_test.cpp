// The PostgreSQL source against a real PostgreSQL 15, connector level (open/poll/ack/nack
// called directly): polling with incrementing and timestamp tracking, delete-after-read and
// mark-as-processed after the ack only, restarts from the state; CDC over pgoutput and wal2json
// with before/after images, LSN confirmation only after the ack, replay after a restart, the
// initial snapshot, and a PostgreSQL restart in the middle.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <set>

#include "connectors/postgres/json.h"
#include "connectors/postgres/source.h"
#include "core/message_id.h"
#include "pg_fixture.h"

namespace trib::connectors::postgres {
namespace {

using namespace std::chrono_literals;

class source_test : public test::pg_test {
  protected:
    source_options polling(std::vector<std::string> tables) const {
        source_options o;
        o.conn.connection_string = conninfo();
        o.mode = source_mode::polling;
        o.tables = std::move(tables);
        o.poll_interval = 0ms;
        o.batch_size = 10;
        return o;
    }
    source_options cdc(std::vector<std::string> tables, cdc_plugin plugin) const {
        source_options o;
        o.conn.connection_string = conninfo();
        o.mode = source_mode::cdc;
        o.tables = std::move(tables);
        o.plugin = plugin;
        o.replication_slot = "slot_" + db();
        o.batch_size = 1000;
        o.status_interval = 500ms;
        return o;
    }
    // Polls until `n` messages arrived in total (acking each batch when `ack`), or the deadline.
    std::vector<std::string> collect(source& s, std::size_t n, bool ack = true,
                                     std::string* last_state = nullptr,
                                     std::chrono::milliseconds deadline = 20s) {
        std::vector<std::string> out;
        test::wait_until(
            [&] {
                auto r = s.poll(50ms);
                if (!r) {
                    // Reconnects are retryable; anything else fails the test.
                    EXPECT_TRUE(r.error().retryable()) << r.error().to_string();
                    return false;
                }
                if (!r->batch.empty()) {
                    ++seq_;
                    for (const auto& m : r->batch.messages)
                        out.emplace_back(m.payload);
                    if (last_state != nullptr && r->has_state)
                        *last_state = r->state;
                    if (ack)
                        s.ack(seq_);
                } else if (last_state != nullptr && r->has_state) {
                    *last_state = r->state;
                }
                return out.size() >= n;
            },
            deadline);
        return out;
    }
    void reset_seq() { seq_ = 0; }

    // A field of a JSON document as text ("" if absent): "after.id", "op", "source.table".
    static std::string field(const std::string& doc, const std::string& path) {
        json::document d;
        if (!d.parse(doc))
            return "<bad json>";
        const json::node* n = d.path(d.root(), path);
        if (n == nullptr)
            return "";
        if (n->k == json::kind::string)
            return std::string(n->text);
        std::string s;
        d.write(*n, s);
        return s;
    }

    connector_context ctx_;
    std::uint64_t seq_ = 0;
};

// ---- polling ----------------------------------------------------------------------------------

TEST_F(source_test, polling_reads_in_order_resumes_from_state_and_converts_types) {
    ASSERT_EQ(sql().exec("CREATE TABLE t (id serial PRIMARY KEY, name text, ok boolean, n numeric, "
                         "f float8, j jsonb, b bytea, at timestamptz, tags int[], u uuid)"),
              "");
    ASSERT_EQ(
        sql().exec("INSERT INTO t (name, ok, n, f, j, b, at, tags, u) SELECT 'r' || g, g % 2 "
                   "= 0, g * 1.5, 'NaN', '{\"g\": 1}', '\\x6869', '2024-01-02 03:04:05.5+00', "
                   "ARRAY[g, g + 1], '11111111-2222-3333-4444-555555555555' FROM "
                   "generate_series(1, 25) g"),
        "");
    std::string state;
    {
        polling_source s(polling({"t"}));
        ASSERT_TRUE(s.open(ctx_, "").has_value());
        auto first = collect(s, 10, true, &state);
        ASSERT_EQ(first.size(), 10u);
        EXPECT_EQ(field(first[0], "table_name"), "t");
        EXPECT_EQ(field(first[0], "operation_type"), "SELECT");
        EXPECT_EQ(field(first[0], "data.id"), "1");
        EXPECT_EQ(field(first[1], "data.ok"), "true");
        EXPECT_EQ(field(first[2], "data.n"), "4.5");
        EXPECT_EQ(field(first[2], "data.f"), "NaN");
        EXPECT_EQ(field(first[2], "data.j"), "{\"g\":1}");
        EXPECT_EQ(field(first[2], "data.b"), "aGk=");
        EXPECT_EQ(field(first[2], "data.at"), "2024-01-02T03:04:05.5+00:00");
        EXPECT_EQ(field(first[2], "data.tags"), "[3,4]");
        EXPECT_EQ(field(first[2], "data.u"), "11111111-2222-3333-4444-555555555555");
        EXPECT_EQ(field(first[0], "old_data"), "null");
        s.close();
    }
    EXPECT_NE(state.find("\"t\":\"10\""), std::string::npos) << state;
    // A restart hands the persisted state back: the next rows follow without a gap or a repeat.
    polling_source s2(polling({"t"}));
    ASSERT_TRUE(s2.open(ctx_, state).has_value());
    reset_seq();
    auto rest = collect(s2, 15);
    ASSERT_EQ(rest.size(), 15u);
    for (std::size_t i = 0; i < rest.size(); ++i)
        EXPECT_EQ(field(rest[i], "data.id"), std::to_string(11 + i));
    // Nothing new: an empty poll.
    auto r = s2.poll(10ms);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->batch.empty());
}

// Polls until `n` ids arrived (acking each batch), or the deadline.
std::vector<std::string> collect_ids(source& s, std::size_t n, std::uint64_t& seq) {
    std::vector<std::string> out;
    test::wait_until(
        [&] {
            auto r = s.poll(50ms);
            if (!r)
                return false;
            for (const auto& m : r->batch.messages)
                out.push_back(to_hex(m.id));
            if (!r->batch.empty())
                s.ack(++seq);
            return out.size() >= n;
        },
        20s);
    return out;
}

TEST_F(source_test, polling_row_ids_are_stable_across_restarts_and_distinct) {
    ASSERT_EQ(sql().exec("CREATE TABLE a (id serial PRIMARY KEY, v text); CREATE TABLE b (id "
                         "serial PRIMARY KEY, v text); INSERT INTO a (v) SELECT 'x' FROM "
                         "generate_series(1, 30); INSERT INTO b (v) SELECT 'x' FROM "
                         "generate_series(1, 30)"),
              "");
    std::vector<std::string> first;
    {
        polling_source s(polling({"a", "b"}));
        ASSERT_TRUE(s.open(ctx_, "").has_value());
        first = collect_ids(s, 60, seq_);
        s.close();
    }
    ASSERT_EQ(first.size(), 60u);
    // Equal rows in two tables with equal keys: 60 different ids, none zero.
    EXPECT_EQ(std::set<std::string>(first.begin(), first.end()).size(), 60u);
    EXPECT_EQ(std::count(first.begin(), first.end(), std::string(32, '0')), 0);
    // A restart without the saved state (a crash before it was written) reads every row again
    // under the same ids.
    polling_source s2(polling({"a", "b"}));
    ASSERT_TRUE(s2.open(ctx_, "").has_value());
    reset_seq();
    auto again = collect_ids(s2, 60, seq_);
    EXPECT_EQ(std::set<std::string>(again.begin(), again.end()),
              std::set<std::string>(first.begin(), first.end()));
}

TEST_F(source_test, polling_delete_after_read_deletes_only_after_the_ack) {
    ASSERT_EQ(sql().exec("CREATE TABLE q (id bigserial PRIMARY KEY, payload bytea)"), "");
    ASSERT_EQ(sql().exec("INSERT INTO q (payload) SELECT convert_to('m' || g, 'UTF8') FROM "
                         "generate_series(1, 12) g"),
              "");
    auto o = polling({"public.q"});
    o.delete_after_read = true;
    o.payload_column = "payload";
    o.payload = source_payload::bytea;
    polling_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    auto b1 = s.poll(100ms);
    ASSERT_TRUE(b1.has_value());
    ASSERT_EQ(b1->batch.size(), 10u);
    EXPECT_EQ(b1->batch.messages[0].payload, "m1");
    // Not acknowledged yet: nothing is deleted, even by further polls.
    auto b2 = s.poll(100ms);
    ASSERT_TRUE(b2.has_value());
    ASSERT_EQ(b2->batch.size(), 2u);
    EXPECT_EQ(sql().value("SELECT count(*) FROM q"), "12");
    s.ack(1);
    auto b3 = s.poll(10ms);  // applies the acknowledged delete
    ASSERT_TRUE(b3.has_value());
    EXPECT_EQ(sql().value("SELECT count(*) FROM q"), "2");
    EXPECT_EQ(sql().value("SELECT min(id) FROM q"), "11");
    s.ack(2);
    s.close();  // close applies what was acknowledged
    EXPECT_EQ(sql().value("SELECT count(*) FROM q"), "0");
}

TEST_F(source_test, polling_marks_processed_rows_and_nack_redelivers) {
    ASSERT_EQ(sql().exec("CREATE TABLE m (id int PRIMARY KEY, v text, done boolean DEFAULT false)"),
              "");
    ASSERT_EQ(sql().exec("INSERT INTO m (id, v) SELECT g, 'v' || g FROM generate_series(1, 5) g"),
              "");
    auto o = polling({"m"});
    o.processed_column = "done";
    o.include_metadata = false;
    polling_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    auto b1 = s.poll(100ms);
    ASSERT_TRUE(b1.has_value());
    ASSERT_EQ(b1->batch.size(), 5u);
    EXPECT_EQ(std::string(b1->batch.messages[0].payload), "{\"id\":1,\"v\":\"v1\",\"done\":false}");
    s.nack(1);  // Iggy did not take it: the same rows come again
    auto b2 = s.poll(100ms);
    ASSERT_TRUE(b2.has_value());
    ASSERT_EQ(b2->batch.size(), 5u);
    EXPECT_EQ(sql().value("SELECT count(*) FROM m WHERE done"), "0");
    s.ack(2);
    ASSERT_TRUE(s.poll(10ms).has_value());
    EXPECT_EQ(sql().value("SELECT count(*) FROM m WHERE done"), "5");
}

TEST_F(source_test, polling_timestamp_tracking_breaks_ties_by_key_and_waits_for_the_delay) {
    ASSERT_EQ(sql().exec("CREATE TABLE ev (id int PRIMARY KEY, at timestamptz)"), "");
    // 25 rows sharing 3 timestamps: a plain "at > last" would lose rows at every page boundary.
    ASSERT_EQ(sql().exec("INSERT INTO ev SELECT g, '2024-01-01'::timestamptz + (g / 10) * "
                         "interval '1 s' FROM generate_series(1, 25) g"),
              "");
    auto o = polling({"ev"});
    o.tracking_column = "at";
    o.tracking = tracking_mode::timestamp;
    o.primary_key_column = "id";
    o.batch_size = 7;
    o.include_metadata = false;
    std::string state;
    polling_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    auto rows = collect(s, 25, true, &state);
    ASSERT_EQ(rows.size(), 25u);
    std::set<std::string> ids;
    for (const auto& r : rows)
        ids.insert(field(r, "id"));
    EXPECT_EQ(ids.size(), 25u);
    // With a delay, a row stamped now is held back until it is old enough.
    auto o2 = o;
    o2.timestamp_delay = 1500ms;
    polling_source s2(o2);
    ASSERT_TRUE(s2.open(ctx_, state).has_value());
    ASSERT_EQ(sql().exec("INSERT INTO ev VALUES (100, now())"), "");
    auto early = s2.poll(10ms);
    ASSERT_TRUE(early.has_value());
    EXPECT_TRUE(early->batch.empty());
    reset_seq();
    auto late = collect(s2, 1, true, nullptr, 10s);
    ASSERT_EQ(late.size(), 1u);
    EXPECT_EQ(field(late[0], "id"), "100");
}

TEST_F(source_test, polling_custom_query_and_json_direct_payload) {
    ASSERT_EQ(sql().exec("CREATE TABLE docs (id int PRIMARY KEY, body jsonb, kind text)"), "");
    ASSERT_EQ(sql().exec("INSERT INTO docs SELECT g, jsonb_build_object('n', g), CASE WHEN g % 2 "
                         "= 0 THEN 'even' ELSE 'odd' END FROM generate_series(1, 6) g"),
              "");
    auto o = polling({"docs"});
    o.custom_query =
        "SELECT id, body FROM $table WHERE kind = 'even' AND id > $offset ORDER BY "
        "id LIMIT $limit";
    o.initial_offset = "0";
    o.has_initial_offset = true;
    o.payload_column = "body";
    o.payload = source_payload::json_direct;
    polling_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    auto rows = collect(s, 3);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0], "{\"n\": 2}");
    EXPECT_EQ(rows[2], "{\"n\": 6}");
}

TEST_F(source_test, polling_open_rejects_a_missing_tracking_column) {
    ASSERT_EQ(sql().exec("CREATE TABLE x (a int)"), "");
    polling_source s(polling({"x"}));
    auto st = s.open(ctx_, "");
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), errc::failed_precondition);
    EXPECT_NE(st.error().message().find("tracking_column"), std::string::npos);
}

// ---- CDC --------------------------------------------------------------------------------------

class cdc_test : public source_test, public ::testing::WithParamInterface<cdc_plugin> {
  protected:
    std::string confirmed_flush() {
        return sql().value(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE "
            "slot_name = 'slot_" +
            db() + "'");
    }
    std::string current_lsn() { return sql().value("SELECT pg_current_wal_lsn()::text"); }
    bool lsn_at_least(const std::string& a, const std::string& b) {
        return sql().value("SELECT '" + a + "'::pg_lsn >= '" + b + "'::pg_lsn") == "t";
    }
};

TEST_P(cdc_test, streams_inserts_updates_deletes_with_before_and_after_images) {
    ASSERT_EQ(sql().exec("CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric, "
                         "meta jsonb); ALTER TABLE acct REPLICA IDENTITY FULL"),
              "");
    auto o = cdc({"acct"}, GetParam());
    o.capture_operations = {"INSERT", "UPDATE", "DELETE", "TRUNCATE"};
    o.server_name = "shop";
    cdc_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value()) << "open";
    ASSERT_EQ(sql().exec("INSERT INTO acct VALUES (1, 'ann', 10.50, '{\"vip\": true}'), (2, "
                         "'bob', 0, NULL)"),
              "");
    ASSERT_EQ(sql().exec("UPDATE acct SET balance = balance + 1 WHERE id = 1"), "");
    ASSERT_EQ(sql().exec("DELETE FROM acct WHERE id = 2"), "");
    ASSERT_EQ(sql().exec("TRUNCATE acct"), "");
    auto ev = collect(s, 5);
    ASSERT_EQ(ev.size(), 5u);
    EXPECT_EQ(field(ev[0], "op"), "c");
    EXPECT_EQ(field(ev[0], "before"), "null");
    EXPECT_EQ(field(ev[0], "after.id"), "1");
    EXPECT_EQ(field(ev[0], "after.balance"), "10.50");
    EXPECT_EQ(field(ev[0], "after.meta"), "{\"vip\":true}");
    EXPECT_EQ(field(ev[0], "source.connector"), "postgresql");
    EXPECT_EQ(field(ev[0], "source.name"), "shop");
    EXPECT_EQ(field(ev[0], "source.db"), db());
    EXPECT_EQ(field(ev[0], "source.schema"), "public");
    EXPECT_EQ(field(ev[0], "source.table"), "acct");
    EXPECT_NE(field(ev[0], "source.lsn"), "");
    EXPECT_NE(field(ev[0], "source.txId"), "");
    EXPECT_NE(field(ev[0], "ts_ms"), "");
    EXPECT_EQ(field(ev[1], "after.meta"), "null");
    EXPECT_EQ(field(ev[2], "op"), "u");
    EXPECT_EQ(field(ev[2], "before.balance"), "10.50");
    EXPECT_EQ(field(ev[2], "after.balance"), "11.50");
    EXPECT_EQ(field(ev[2], "before.owner"), "ann");  // REPLICA IDENTITY FULL: the whole row
    EXPECT_EQ(field(ev[3], "op"), "d");
    EXPECT_EQ(field(ev[3], "before.id"), "2");
    EXPECT_EQ(field(ev[3], "after"), "null");
    EXPECT_EQ(field(ev[4], "op"), "t");
    s.close();
}

TEST_P(cdc_test, confirms_the_lsn_only_after_the_ack_and_replays_after_a_restart) {
    ASSERT_EQ(sql().exec("CREATE TABLE k (id int PRIMARY KEY, v int)"), "");
    auto o = cdc({"k"}, GetParam());
    std::string start_flush;
    std::vector<std::string> first;
    {
        cdc_source s(o);
        ASSERT_TRUE(s.open(ctx_, "").has_value());
        start_flush = confirmed_flush();
        ASSERT_EQ(sql().exec("INSERT INTO k SELECT g, g FROM generate_series(1, 100) g"), "");
        std::string after_insert = current_lsn();
        first = collect(s, 100, /*ack=*/false);
        ASSERT_EQ(first.size(), 100u);
        // Polling on without an ack: the slot must not move past the changes.
        for (int i = 0; i < 5; ++i)
            ASSERT_TRUE(s.poll(50ms).has_value());
        EXPECT_FALSE(lsn_at_least(confirmed_flush(), after_insert))
            << confirmed_flush() << " vs " << after_insert;
        s.close();  // a crash: never acknowledged
    }
    // A new instance without state: the unacknowledged changes come again (never lost).
    reset_seq();
    std::string state;
    {
        cdc_source s(o);
        ASSERT_TRUE(s.open(ctx_, "").has_value());
        auto again = collect(s, 100, true, &state);
        ASSERT_EQ(again.size(), 100u);
        EXPECT_EQ(field(again[99], "after.id"), "100");
        std::string after_all = current_lsn();
        // Acknowledged: the confirmation reaches the server with the next polls.
        EXPECT_TRUE(test::wait_until(
            [&] {
                (void)s.poll(20ms);
                return lsn_at_least(confirmed_flush(), after_all);
            },
            10s))
            << confirmed_flush() << " vs " << after_all;
        s.close();
    }
    // Restarting with the persisted state: nothing old is delivered again, new changes are.
    reset_seq();
    cdc_source s(o);
    ASSERT_TRUE(s.open(ctx_, state).has_value());
    ASSERT_EQ(sql().exec("UPDATE k SET v = -1 WHERE id = 7"), "");
    auto next = collect(s, 1);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(field(next[0], "op"), "u");
    EXPECT_EQ(field(next[0], "after.id"), "7");
    auto more = s.poll(200ms);
    ASSERT_TRUE(more.has_value());
    EXPECT_TRUE(more->batch.empty());
}

TEST_P(cdc_test, nack_redelivers_from_the_last_acknowledged_change) {
    ASSERT_EQ(sql().exec("CREATE TABLE n (id int PRIMARY KEY)"), "");
    cdc_source s(cdc({"n"}, GetParam()));
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    ASSERT_EQ(sql().exec("INSERT INTO n VALUES (1)"), "");
    auto a = collect(s, 1);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(sql().exec("INSERT INTO n VALUES (2)"), "");
    auto b = collect(s, 1, false);
    ASSERT_EQ(b.size(), 1u);
    s.nack(seq_);
    auto c = collect(s, 1);
    ASSERT_EQ(c.size(), 1u) << c[0] << "\n" << c.back();
    EXPECT_EQ(field(c[0], "after.id"), "2");
}

TEST_P(cdc_test, initial_snapshot_then_streaming) {
    ASSERT_EQ(sql().exec("CREATE TABLE s (id int PRIMARY KEY, v text)"), "");
    ASSERT_EQ(sql().exec("INSERT INTO s SELECT g, 'old' FROM generate_series(1, 2500) g"), "");
    auto o = cdc({"s"}, GetParam());
    o.snapshot = snapshot_mode::initial;
    cdc_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    ASSERT_EQ(sql().exec("INSERT INTO s VALUES (9999, 'new')"), "");
    std::string state;
    auto ev = collect(s, 2501, true, &state);
    ASSERT_EQ(ev.size(), 2501u);
    std::size_t reads = 0;
    for (std::size_t i = 0; i < 2500; ++i) {
        if (field(ev[i], "op") == "r")
            ++reads;
    }
    EXPECT_EQ(reads, 2500u);
    EXPECT_EQ(field(ev[0], "source.snapshot"), "true");
    EXPECT_EQ(field(ev[2500], "op"), "c");
    EXPECT_EQ(field(ev[2500], "after.id"), "9999");
    EXPECT_NE(state.find("\"snapshot_done\":true"), std::string::npos) << state;
}

TEST_P(cdc_test, reconnects_after_a_postgres_restart_and_loses_nothing) {
    ASSERT_EQ(sql().exec("CREATE TABLE r (id int PRIMARY KEY)"), "");
    cdc_source s(cdc({"r"}, GetParam()));
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    ASSERT_EQ(sql().exec("INSERT INTO r SELECT generate_series(1, 50)"), "");
    auto a = collect(s, 50);
    ASSERT_EQ(a.size(), 50u);
    drop_client();
    // A fast shutdown waits for the walsender to hear that everything sent was flushed: keep
    // polling (as the runtime does) while the server goes down, then start it again.
    ::kill(server().pid(), SIGINT);
    ASSERT_TRUE(test::wait_until(
        [&] {
            (void)s.poll(20ms);
            return !server().alive();
        },
        30s));
    ASSERT_TRUE(server().restart().has_value());
    reconnect_client();
    ASSERT_EQ(sql().exec("INSERT INTO r SELECT generate_series(51, 120)"), "");
    auto b = collect(s, 70, true, nullptr, 30s);
    std::set<std::string> ids;
    for (const auto& e : b)
        ids.insert(field(e, "after.id"));
    for (int i = 51; i <= 120; ++i)
        EXPECT_TRUE(ids.count(std::to_string(i))) << "missing " << i;
    EXPECT_GE(s.stats().reconnects.load(), 1u);
}

TEST_P(cdc_test, record_format_matches_iggy_database_record) {
    ASSERT_EQ(sql().exec("CREATE TABLE rec (id int PRIMARY KEY, v text); ALTER TABLE rec REPLICA "
                         "IDENTITY FULL"),
              "");
    auto o = cdc({"rec"}, GetParam());
    o.format = cdc_format::record;
    cdc_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    ASSERT_EQ(sql().exec("INSERT INTO rec VALUES (1, 'a')"), "");
    ASSERT_EQ(sql().exec("UPDATE rec SET v = 'b'"), "");
    auto ev = collect(s, 2);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(field(ev[0], "table_name"), "rec");
    EXPECT_EQ(field(ev[0], "operation_type"), "INSERT");
    EXPECT_EQ(field(ev[0], "data.v"), "a");
    EXPECT_EQ(field(ev[1], "operation_type"), "UPDATE");
    EXPECT_EQ(field(ev[1], "data.v"), "b");
    EXPECT_EQ(field(ev[1], "old_data.v"), "a");
}

INSTANTIATE_TEST_SUITE_P(plugins, cdc_test,
                         ::testing::Values(cdc_plugin::pgoutput, cdc_plugin::wal2json),
                         [](const ::testing::TestParamInfo<cdc_plugin>& p) {
                             return p.param == cdc_plugin::pgoutput ? std::string("pgoutput")
                                                                    : std::string("wal2json");
                         });

}  // namespace
}  // namespace trib::connectors::postgres
