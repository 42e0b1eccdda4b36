// End to end through `tributary run` (a separate process with its embedded Iggy server) and a
// real PostgreSQL 15: CDC of 100,000 inserts, updates and deletes from database A through Iggy
// into a replica table in database B (the tables are equal at the end); kill -9 of the runtime
// during CDC and during the sink, restarted, with nothing missing and no duplicates; a PostgreSQL
// restart in the middle of the stream.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "pg_fixture.h"

namespace trib::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path tributary_binary() {
    const char* bin = std::getenv("TRIB_BINARY_DIR");
    return fs::path(bin != nullptr ? bin : "build/dev") / "src" / "app" / "tributary";
}

void write_file(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

class e2e_test : public pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure() || IsSkipped())
            return;
        if (!fs::exists(tributary_binary())) {
            if (in_ci())
                FAIL() << "tributary binary missing: " << tributary_binary();
            GTEST_SKIP() << "tributary binary not built: " << tributary_binary();
        }
        // Database A is this test's db(); B is a second database on the same server.
        db_b_ = db() + "_b";
        ASSERT_EQ(pg_create_database(server(), db_b_), "");
        b_ = std::make_unique<pg_client>(pg_conninfo(server(), db_b_));
        ASSERT_TRUE(b_->ok()) << b_->error();
    }
    void TearDown() override {
        runtime_.reset();  // SIGTERM, then SIGKILL after the grace period
        b_.reset();
        if (!db_b_.empty() && server().alive()) {
            pg_client c(pg_conninfo(server()));
            (void)c.exec("DROP DATABASE IF EXISTS \"" + db_b_ + "\" WITH (FORCE)");
        }
        pg_test::TearDown();
    }

    // The runtime's config: embedded server on {port}, API on {port1}, state in the peer dir;
    // `connectors` are (file name, TOML) pairs.
    peer_spec runtime_spec(std::vector<std::pair<std::string, std::string>> connectors) {
        peer_spec s;
        s.name = "tributary";
        s.program = tributary_binary().string();
        s.args = {"run", "{dir}/config.toml"};
        s.extra_ports = 1;
        s.env = {{"TRIB_PG_A", conninfo()}, {"TRIB_PG_B", pg_conninfo(server(), db_b_)}};
        s.prepare = [connectors](const peer& p) {
            write_file(p.dir() / "config.toml",
                       "[state]\npath = \"" + (p.dir() / "state").string() +
                           "\"\n\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \"" +
                           (p.dir() / "connectors").string() +
                           "\"\n\n[http]\nenabled = true\naddress = \"127.0.0.1:" +
                           std::to_string(p.port(1)) +
                           "\"\n\n[logging]\nformat = \"text\"\nlevel = \"info\"\n\n"
                           "[server]\naddress = \"127.0.0.1:" +
                           std::to_string(p.port()) + "\"\ndata_dir = \"" +
                           (p.dir() / "state" / "server").string() + "\"\nfsync = \"interval\"\n");
            for (const auto& [name, toml] : connectors)
                write_file(p.dir() / "connectors" / name, toml);
        };
        s.ready = [](const peer& p) { return tcp_connectable(p.port(1)); };
        s.ready_timeout = 60s;
        s.attempts = 2;
        return s;
    }

    std::string table_digest(pg_client& c, const std::string& table) {
        return c.value(
            "SELECT count(*) || '/' || coalesce(md5(string_agg(id || ':' || v || ':' "
            "|| n, ',' ORDER BY id)), '') FROM " +
            table);
    }

    // Waits until table t has the same content in A and B.
    bool wait_equal(std::chrono::milliseconds deadline, std::string* last = nullptr) {
        return wait_until(
            [&] {
                std::string a = table_digest(sql(), "t");
                std::string b = table_digest(*b_, "t");
                if (last != nullptr)
                    *last = "A " + a + " B " + b;
                return a == b && a.find("ERROR") == std::string::npos;
            },
            deadline);
    }

    std::string cdc_source_toml(const std::string& slot) {
        return R"(type = "source"
key = "pg_cdc"
enabled = true
version = 0
name = "PostgreSQL CDC"
path = "target/release/libiggy_connector_postgres_source"

[[streams]]
stream = "db"
topic = "changes"
schema = "json"
batch_length = 1000
linger_time = "5ms"

[plugin_config]
connection_string = "${env:TRIB_PG_A}"
mode = "cdc"
tables = ["public.t"]
replication_slot = ")" +
               slot + R"("
batch_size = 1000
)";
    }

    std::string replica_sink_toml() {
        return R"(type = "sink"
key = "pg_replica"
enabled = true
version = 0
name = "PostgreSQL replica"
path = "target/release/libiggy_connector_postgres_sink"

[[streams]]
stream = "db"
topics = ["changes"]
schema = "json"
batch_length = 1000
poll_interval = "5ms"
consumer_group = "pg_replica"

[plugin_config]
connection_string = "${env:TRIB_PG_B}"
target_table = "t"
mode = "mapped"
envelope = "debezium"
)";
    }

    void create_tables() {
        const std::string ddl = "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, n numeric)";
        ASSERT_EQ(sql().exec(ddl + "; ALTER TABLE t REPLICA IDENTITY FULL"), "");
        ASSERT_EQ(b_->exec(ddl), "");
    }

    // 100,000 changes: 50,000 inserts, 30,000 updates, 20,000 deletes, in transactions of 1,000,
    // `from`..`to` (in thousands) of that sequence.
    void workload(int from, int to) {
        for (int k = from; k < to; ++k) {
            std::string stmt;
            if (k < 50) {
                stmt = "INSERT INTO t SELECT g, 'v' || g, g * 1.25 FROM generate_series(" +
                       std::to_string(k * 1000) + ", " + std::to_string(k * 1000 + 999) + ") g";
            } else if (k < 80) {
                int base = (k - 50) * 1000;
                stmt = "UPDATE t SET v = v || '+', n = n + 1 WHERE id BETWEEN " +
                       std::to_string(base) + " AND " + std::to_string(base + 999);
            } else {
                int base = 20000 + (k - 80) * 1000;
                stmt = "DELETE FROM t WHERE id BETWEEN " + std::to_string(base) + " AND " +
                       std::to_string(base + 999);
            }
            ASSERT_EQ(sql().exec(stmt), "") << stmt;
        }
    }

    bool slot_active(const std::string& slot) {
        return sql().value("SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot +
                           "'") == "t";
    }

    std::string db_b_;
    std::unique_ptr<pg_client> b_;
    std::unique_ptr<peer> runtime_;
};

TEST_F(e2e_test, cdc_of_100000_changes_into_another_database_leaves_equal_tables) {
    create_tables();
    const std::string slot = "e2e_" + db();
    auto r = peer::start(runtime_spec(
        {{"pg_cdc.toml", cdc_source_toml(slot)}, {"pg_replica.toml", replica_sink_toml()}}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    runtime_ = std::move(r).value();
    ASSERT_TRUE(wait_until([&] { return slot_active(slot); }, 60s)) << runtime_->log();
    workload(0, 100);
    std::string last;
    EXPECT_TRUE(wait_equal(300s, &last)) << last << "\n" << runtime_->log().substr(0, 4000);
    EXPECT_EQ(b_->value("SELECT count(*) FROM t"), "30000");
    EXPECT_EQ(b_->value("SELECT v FROM t WHERE id = 5"), "v5+");
}

TEST_F(e2e_test, kill_9_of_the_runtime_during_cdc_loses_nothing) {
    create_tables();
    const std::string slot = "e2e_" + db();
    auto r = peer::start(runtime_spec(
        {{"pg_cdc.toml", cdc_source_toml(slot)}, {"pg_replica.toml", replica_sink_toml()}}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    runtime_ = std::move(r).value();
    ASSERT_TRUE(wait_until([&] { return slot_active(slot); }, 60s)) << runtime_->log();
    workload(0, 40);
    // Kill it while changes are on their way (some in B, not all).
    ASSERT_TRUE(
        wait_until([&] { return b_->value("SELECT count(*) > 1000 FROM t") == "t"; }, 120s));
    ASSERT_TRUE(runtime_->kill9().has_value());
    workload(40, 70);  // the database goes on while the runtime is down
    ASSERT_TRUE(runtime_->restart().has_value()) << runtime_->log();
    workload(70, 85);
    // And once more in the middle of the sink's work.
    ASSERT_TRUE(
        wait_until([&] { return b_->value("SELECT count(*) >= 50000 FROM t") == "t"; }, 120s));
    ASSERT_TRUE(runtime_->kill9().has_value());
    ASSERT_TRUE(runtime_->restart().has_value()) << runtime_->log();
    workload(85, 100);
    std::string last;
    EXPECT_TRUE(wait_equal(300s, &last)) << last;
}

TEST_F(e2e_test, kill_9_during_the_sinks_loses_no_row_and_the_upsert_sink_has_no_duplicates) {
    // Polling source -> Iggy -> two sinks on the same topic: append (Iggy's table, the message id
    // as primary key) and mapped with an upsert by the row's key. Killed twice with kill -9 while
    // rows flow. The source is at-least-once: after a kill it may read rows again and produce
    // them as new Iggy messages (new ids), so the append table may hold a row twice, but never
    // the same Iggy message twice, and it misses none; the upsert table holds every row once.
    ASSERT_EQ(sql().exec("CREATE TABLE src (id bigserial PRIMARY KEY, body text)"), "");
    ASSERT_EQ(sql().exec("INSERT INTO src (body) SELECT repeat('x', 50) || g FROM "
                         "generate_series(1, 60000) g"),
              "");
    ASSERT_EQ(b_->exec("CREATE TABLE replica (id bigint PRIMARY KEY, body text)"), "");
    std::string source = R"(type = "source"
key = "pg_poll"
enabled = true
version = 0
name = "Polling"
path = "target/release/libiggy_connector_postgres_source"

[[streams]]
stream = "poll"
topic = "rows"
schema = "json"
batch_length = 1000

[plugin_config]
connection_string = "${env:TRIB_PG_A}"
mode = "polling"
tables = ["src"]
tracking_column = "id"
poll_interval = "100ms"
batch_size = 2000
include_metadata = false
)";
    std::string append = R"(type = "sink"
key = "pg_append"
enabled = true
version = 0
name = "Append"
path = "target/release/libiggy_connector_postgres_sink"

[[streams]]
stream = "poll"
topics = ["rows"]
schema = "json"
batch_length = 500
poll_interval = "5ms"
consumer_group = "pg_append"

[plugin_config]
connection_string = "${env:TRIB_PG_B}"
target_table = "landing"
auto_create_table = true
payload_format = "json"
)";
    std::string upsert = R"(type = "sink"
key = "pg_upsert"
enabled = true
version = 0
name = "Upsert"
path = "target/release/libiggy_connector_postgres_sink"

[[streams]]
stream = "poll"
topics = ["rows"]
schema = "json"
batch_length = 700
poll_interval = "5ms"
consumer_group = "pg_upsert"

[plugin_config]
connection_string = "${env:TRIB_PG_B}"
target_table = "replica"
mode = "mapped"
upsert = "key"
)";
    auto r = peer::start(
        runtime_spec({{"poll.toml", source}, {"append.toml", append}, {"upsert.toml", upsert}}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    runtime_ = std::move(r).value();
    auto number = [&](const std::string& q) {
        std::string v = b_->value(q);
        return v.rfind("ERROR", 0) == 0 ? 0L : std::atol(v.c_str());
    };
    auto landed = [&] { return number("SELECT count(*) FROM landing"); };
    for (long at : {5000L, 25000L}) {
        ASSERT_TRUE(wait_until([&] { return landed() >= at; }, 120s)) << runtime_->log();
        ASSERT_TRUE(runtime_->kill9().has_value());
        ASSERT_TRUE(runtime_->restart().has_value()) << runtime_->log();
    }
    // Done when every source row is in both tables (rows, not messages: the append table may
    // hold the source's replays too).
    EXPECT_TRUE(wait_until(
        [&] {
            return number("SELECT count(DISTINCT (payload->>'id')::bigint) FROM landing") ==
                       60000 &&
                   number("SELECT count(*) FROM replica") >= 60000;
        },
        300s))
        << landed() << " / " << number("SELECT count(*) FROM replica");
    // What is missing and what came twice, with the Iggy offsets the rows came from.
    auto report = [&] {
        std::string s = "missing id ranges: ";
        for (const auto& row : b_->rows(
                 "SELECT min(g) || '-' || max(g) FROM (SELECT g, g - row_number() OVER (ORDER "
                 "BY g) AS grp FROM generate_series(1, 60000) g WHERE NOT EXISTS (SELECT 1 FROM "
                 "landing WHERE (payload->>'id')::bigint = g)) x GROUP BY grp ORDER BY 1"))
            s += row + " ";
        s += "\nrepeated id ranges (offsets): ";
        for (const auto& row : b_->rows(
                 "SELECT min(i) || '-' || max(i) || ' (' || min(o) || '..' || max(o) || ')' FROM "
                 "(SELECT i, o, i - dense_rank() OVER (ORDER BY i) AS grp FROM (SELECT "
                 "(payload->>'id')::bigint i, iggy_offset o FROM landing WHERE "
                 "(payload->>'id')::bigint IN (SELECT (payload->>'id')::bigint FROM landing "
                 "GROUP BY 1 HAVING count(*) > 1)) y) x GROUP BY grp ORDER BY 1"))
            s += row + " ";
        return s + "\n" + runtime_->log();
    };
    // Append: nothing missing, and no Iggy message (one partition: one offset) written twice.
    EXPECT_EQ(b_->value("SELECT count(DISTINCT (payload->>'id')::bigint) FROM landing"), "60000")
        << report();
    EXPECT_EQ(b_->value("SELECT min((payload->>'id')::bigint) || '-' || "
                        "max((payload->>'id')::bigint) FROM landing"),
              "1-60000");
    EXPECT_EQ(b_->value("SELECT count(*) = count(DISTINCT (iggy_partition_id, iggy_offset)) "
                        "FROM landing"),
              "t")
        << report();
    // Upsert: every row exactly once, equal to the source.
    EXPECT_EQ(b_->value("SELECT count(*) FROM replica"), "60000");
    const std::string digest =
        "SELECT count(*) || '/' || md5(string_agg(id || ':' || body, ',' ORDER BY id)) FROM ";
    EXPECT_EQ(b_->value(digest + "replica"), sql().value(digest + "src"));
    std::cout << "[ info ] append table: " << landed()
              << " rows for 60000 source rows (the source's replays after kill -9)\n";
}

TEST_F(e2e_test, postgres_restart_during_cdc_reconnects_and_continues) {
    create_tables();
    const std::string slot = "e2e_" + db();
    auto r = peer::start(runtime_spec(
        {{"pg_cdc.toml", cdc_source_toml(slot)}, {"pg_replica.toml", replica_sink_toml()}}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    runtime_ = std::move(r).value();
    ASSERT_TRUE(wait_until([&] { return slot_active(slot); }, 60s)) << runtime_->log();
    workload(0, 30);
    ASSERT_TRUE(wait_until([&] { return b_->value("SELECT count(*) > 0 FROM t") == "t"; }, 120s));
    drop_client();
    b_.reset();
    ASSERT_TRUE(pg_restart(server()).has_value());
    reconnect_client();
    b_ = std::make_unique<pg_client>(pg_conninfo(server(), db_b_));
    workload(30, 60);
    std::string last;
    EXPECT_TRUE(wait_equal(300s, &last)) << last << "\n" << runtime_->log().substr(0, 4000);
    EXPECT_TRUE(runtime_->alive());
}

}  // namespace
}  // namespace trib::test
