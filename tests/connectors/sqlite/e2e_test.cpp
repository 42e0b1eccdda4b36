// The SQLite sink end to end: `tributary run` (a child process) reads a topic of `tributary
// serve` into a database file and is killed with SIGKILL at random points, then restarted; at
// the end the table holds every message exactly once (append mode's id key) and, in mapped mode
// with upsert = "message_id", every message once as well.
// Size: TRIB_SQLITE_E2E_MESSAGES (default 20,000; the run is 200,000 with 10 kills).

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "harness/kill_rounds.h"
#include "harness/peer.h"
#include "iggy/client.h"
#include "runtime/iggy_port.h"

namespace trib::runtime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::wait_until;

constexpr int k_kills = 10;

std::uint32_t message_count() {
    const char* s = std::getenv("TRIB_SQLITE_E2E_MESSAGES");
    const long n = s != nullptr ? std::atol(s) : 0;
    return n > 0 ? static_cast<std::uint32_t>(n) : 20'000;
}

fs::path tributary_binary() {
    const char* b = std::getenv("TRIB_BINARY_DIR");
    return fs::path(b != nullptr ? b : ".") / "src" / "app" / "tributary";
}

test::peer_spec serve_spec() {
    test::peer_spec s;
    s.name = "tributary-serve";
    s.program = tributary_binary().string();
    s.args = {"serve",     "--data-dir",       "{dir}/data",
              "--address", "127.0.0.1:{port}", "--with-default-root-credentials"};
    return s;
}

void write_text(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

/// `tributary run` against the server on `iggy_port` with one sqlite sink (`plugin_config`).
test::peer_spec run_spec(std::uint16_t iggy_port, std::string plugin_config) {
    test::peer_spec s;
    s.name = "tributary-run";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/runtime.toml"};
    s.prepare = [iggy_port, plugin_config](const test::peer& p) {
        const auto d = p.dir().string();
        write_text(p.dir() / "runtime.toml",
                   "[iggy]\naddress = \"127.0.0.1:" + std::to_string(iggy_port) +
                       "\"\nusername = \"iggy\"\npassword = \"iggy\"\n[state]\npath = \"" + d +
                       "/state\"\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \"" + d +
                       "/connectors\"\n[http]\nenabled = false\n[logging]\nlevel = \"warn\"\n");
        write_text(p.dir() / "connectors" / "edge.toml",
                   "type = \"sink\"\nkey = \"edge\"\nname = \"edge\"\nplugin = \"sqlite\"\n"
                   "[[streams]]\nstream = \"edge\"\ntopics = [\"in\"]\nschema = \"json\"\n"
                   "batch_length = 500\npoll_interval = \"2ms\"\n[plugin_config]\n" +
                       plugin_config);
    };
    s.ready = [](const test::peer&) { return true; };
    s.attempts = 1;
    return s;
}

void produce(std::uint16_t port, std::uint32_t n) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    auto iggy = iggy_client_port::connect(o);
    ASSERT_TRUE(iggy) << iggy.error().to_string();
    ASSERT_TRUE((*iggy)->ensure_topic("edge", "in", 3));
    auto p = (*iggy)->open_producer(producer_options{"edge", "in", 1000, 1ms});
    ASSERT_TRUE(p);
    for (std::uint32_t first = 0; first < n; first += 5000) {
        auto b = std::make_shared<message_batch>();
        for (std::uint32_t i = first; i < std::min(n, first + 5000); ++i) {
            message m;
            m.payload = b->own("{\"dev\":\"d" + std::to_string(i % 7) +
                               "\",\"n\":" + std::to_string(i) + "}");
            b->messages.push_back(std::move(m));
        }
        ASSERT_TRUE((*p)->send_sync(b));
    }
    (*p)->close();
}

/// The first column of the first row of `sql` on the database file, read-only; -1 when the
/// file or the table is not there yet.
long query(const fs::path& db, const std::string& sql) {
    if (!fs::exists(db))
        return -1;
    sqlite3* c = nullptr;
    long v = -1;
    if (sqlite3_open_v2(db.c_str(), &c, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(c, 5000);
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(c, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = static_cast<long>(sqlite3_column_int64(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close_v2(c);
    return v;
}

class sqlite_e2e_test : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists(tributary_binary())) {
            if (test::in_ci())
                FAIL() << "tributary binary missing: " << tributary_binary();
            GTEST_SKIP() << "tributary binary not built: " << tributary_binary();
        }
    }

    /// Runs the sink over the messages with k_kills kills, then checks each is in `table` once.
    /// `number`: the SQL expression of a row's message number.
    void kill_run(const std::string& plugin_config, const fs::path& db, const std::string& table,
                  const std::string& number) {
        const std::uint32_t n = message_count();
        TRIB_START_PEER(server, serve_spec());
        produce(server->port(), n);
        TRIB_START_PEER(rt, run_spec(server->port(), plugin_config));
        const auto seed = std::random_device{}();
        std::uint64_t kills = 0;  // done (points passed between two polls are one kill)
        const auto points = test::kill_points(seed, k_kills, n / 50, n * 95 / 100 + 1);
        std::fprintf(stderr, "sqlite e2e seed %u\n", seed);
        auto rows = [&] { return query(db, "SELECT count(*) FROM " + table); };
        ASSERT_TRUE(test::kill_rounds(*rt,
                                      {.points = points,
                                       .progress =
                                           [&] {
                                               const long r = rows();
                                               return r < 0 ? 0 : std::uint64_t(r);
                                           },
                                       .total = n,
                                       .what = "rows"},
                                      &kills));
        ASSERT_TRUE(wait_until([&] { return rows() >= long(n) || !rt->alive(); }, 300s))
            << rows() << " of " << n << "\n"
            << rt->log();
        ASSERT_TRUE(rt->stop());
        EXPECT_GE(kills, 1u);
        EXPECT_EQ(rows(), long(n));
        EXPECT_EQ(query(db, "SELECT count(DISTINCT " + number + ") FROM " + table), long(n));
        EXPECT_EQ(query(db, "SELECT min(" + number + ") FROM " + table), 0);
        EXPECT_EQ(query(db, "SELECT max(" + number + ") FROM " + table), long(n) - 1);
        std::fprintf(stderr, "sqlite e2e (%s): %u messages, %llu kills, %ld rows\n", table.c_str(),
                     n, static_cast<unsigned long long>(kills), rows());
    }

    test::temp_dir dir_{"sqlite-e2e"};
};

TEST_F(sqlite_e2e_test, append_mode_holds_every_message_once_after_kill_9_rounds) {
    const fs::path db = dir_.path() / "edge.db";
    kill_run("path = \"" + db.string() +
                 "\"\ntarget_table = \"landing\"\nauto_create_table = true\npayload_format = "
                 "\"json\"\n",
             db, "landing", "json_extract(payload, '$.n')");
}

TEST_F(sqlite_e2e_test, mapped_message_id_upsert_holds_every_message_once_after_kill_9_rounds) {
    const fs::path db = dir_.path() / "mapped.db";
    {
        sqlite3* c = nullptr;
        ASSERT_EQ(sqlite3_open(db.c_str(), &c), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(c,
                               "CREATE TABLE readings (dev TEXT NOT NULL, n INTEGER, "
                               "iggy_message_id TEXT UNIQUE)",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(c);
    }
    kill_run("path = \"" + db.string() +
                 "\"\ntarget_table = \"readings\"\nmode = \"mapped\"\nupsert = "
                 "\"message_id\"\n",
             db, "readings", "n");
}

}  // namespace
}  // namespace trib::runtime
