// The delta sink through `tributary run` against a `tributary serve` Iggy server, with Iggy's
// own example connector file (core/connectors/sinks/delta_sink/config.toml, only table_uri
// pointed at a temp dir), killed with SIGKILL several times while it writes: the deltalake
// reader must find every message exactly once. TRIB_DELTA_E2E_MESSAGES (default 20000) and
// TRIB_DELTA_E2E_KILLS (default 3) scale it (the issue's run: 200000 and 10). Also: a bad
// connector file stops `validate` and `run` with exit code 2 naming the file and the key.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "connectors/delta/table_dir.h"
#include "connectors/s3/e2e_support.h"
#include "harness/kill_rounds.h"
#include "harness/peer.h"
#include "harness/run_command.h"
#include "runtime/iggy_port.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Iggy's delta_sink config.toml, table_uri replaced.
std::string iggy_example(const std::string& table_uri) {
    return R"(type = "sink"
key = "delta"
enabled = true
version = 0
name = "Delta Lake sink"
path = "../../target/release/libiggy_connector_delta_sink"
verbose = true

[[streams]]
stream = "test_stream"
topics = ["test_topic"]
schema = "json"
batch_length = 100
poll_interval = "5ms"
consumer_group = "delta_sink_connector"

[plugin_config]
table_uri = ")" +
           table_uri +
           R"("
schema = [
    "id long",
    "name string",
    "count integer",
    "amount double",
    "active boolean",
    "timestamp long",
]
)";
}

/// Rows {"id": i, ...} for i in [0, n) into test_stream/test_topic (2 partitions).
void produce_rows(std::uint16_t port, std::uint64_t n) {
    auto iggy = runtime::iggy_client_port::connect(client_for(port));
    ASSERT_TRUE(iggy) << iggy.error().to_string();
    ASSERT_TRUE((*iggy)->ensure_topic("test_stream", "test_topic", 2));
    auto p = (*iggy)->open_producer(
        runtime::producer_options{"test_stream", "test_topic", 1000, std::chrono::milliseconds(1)});
    ASSERT_TRUE(p);
    for (std::uint64_t first = 0; first < n; first += 5000) {
        auto b = std::make_shared<message_batch>();
        for (std::uint64_t i = first; i < std::min(n, first + 5000); ++i) {
            message m;
            m.payload = b->own(fmt::format(
                R"({{"id":{},"name":"row {}","count":{},"amount":{}.5,"active":{},"timestamp":{}}})",
                i, i, i % 1000, i, i % 2 == 0 ? "true" : "false", 1700000000000 + i));
            b->messages.push_back(std::move(m));
        }
        ASSERT_TRUE((*p)->send_sync(b));
    }
    (*p)->close();
}

/// Rows in the table per its log (stats.numRecords of the add actions); 0 before it exists.
std::uint64_t rows_in(const fs::path& table) {
    connectors::delta::table_state st;
    if (!connectors::delta::table_dir(table).load(st))
        return 0;
    return st.records_added;
}

fs::path python() {
    return fs::path(TRIB_TEST_SOURCE_DIR) / ".venv" / "bin" / "python";
}

TEST(delta_e2e, iggy_example_config_holds_every_row_once_across_kill9) {
    std::string out;
    if (run_command(python().string() + " -c 'import deltalake'", out) != 0) {
        if (std::getenv("CI") != nullptr)
            FAIL() << "deltalake missing in .venv (CI=true): " << out;
        GTEST_SKIP() << "deltalake missing in .venv: " << out;
    }
    const std::uint64_t total = env_or("TRIB_DELTA_E2E_MESSAGES", 20000);
    const std::uint64_t kills = env_or("TRIB_DELTA_E2E_KILLS", 3);
    TRIB_START_PEER(server, serve_spec());
    produce_rows(server->port(), total);
    const fs::path table = fs::path(server->dir()) / "table";
    TRIB_START_PEER(rt, tributary_run_spec(server->port(), "delta_sink.toml",
                                           iggy_example("file://" + table.string())));
    std::uint64_t kills_done = 0;
    std::mt19937_64 rng(env_or("TRIB_DELTA_E2E_SEED", std::random_device{}()));
    std::set<std::uint64_t> points;
    while (points.size() < kills)
        points.insert(total / 50 + rng() % (total * 90 / 100));
    auto progress = [&] { return rows_in(table); };
    ASSERT_TRUE(kill_rounds(*rt,
                            {.points = {points.begin(), points.end()},
                             .progress = progress,
                             .total = total,
                             .deadline = 600s,
                             .what = "of " + std::to_string(total) + " rows committed"},
                            &kills_done));
    ASSERT_TRUE(wait_until([&] { return progress() >= total || !rt->alive(); }, 600s)) << rt->log();
    ASSERT_TRUE(rt->stop());
    out.clear();
    const fs::path script =
        fs::path(TRIB_TEST_SOURCE_DIR) / "tests/connectors/delta/delta_check.py";
    ASSERT_EQ(
        run_command(
            python().string() + " " + script.string() + " summary " + table.string() + " id", out),
        0)
        << out;
    rapidjson::Document d;
    d.Parse(out.substr(out.find('{')).c_str());
    ASSERT_FALSE(d.HasParseError()) << out;
    EXPECT_EQ(d["rows"].GetUint64(), total) << out;
    EXPECT_EQ(d["distinct"].GetUint64(), total) << out;
    EXPECT_EQ(d["min"].GetUint64(), 0u) << out;
    EXPECT_EQ(d["max"].GetUint64(), total - 1) << out;
    EXPECT_EQ(d["pyarrow_rows"].GetUint64(), total) << out;
    EXPECT_EQ(d["duckdb_rows"].GetUint64(), total) << out;
    std::fprintf(stderr,
                 "delta e2e: %llu rows once each in %d files, table version %d, %llu kills\n",
                 static_cast<unsigned long long>(total), d["files"].GetInt(), d["version"].GetInt(),
                 static_cast<unsigned long long>(kills_done));
}

TEST(delta_e2e, bad_connector_file_exits_2_naming_the_file_and_key) {
    const fs::path dir = fs::temp_directory_path() / fmt::format("trib-delta-bad-{}", ::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir / "connectors");
    auto body = iggy_example("s3://bucket/table");
    body.replace(body.find("\"id long\""), 9, "\"id varchar\"");
    std::ofstream(dir / "connectors" / "delta_sink.toml") << body;
    std::ofstream(dir / "runtime.toml")
        << "[iggy]\naddress = \"127.0.0.1:1\"\nusername = \"iggy\"\npassword = \"iggy\"\n[state]\n"
           "path = \""
        << (dir / "state").string() << "\"\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
        << (dir / "connectors").string() << "\"\n[http]\nenabled = false\n";
    for (const std::string& target :
         {(dir / "connectors" / "delta_sink.toml").string(), (dir / "runtime.toml").string()}) {
        for (const char* cmd : {"validate", "run"}) {
            if (std::string(cmd) == "run" && target.ends_with("delta_sink.toml"))
                continue;  // run takes the runtime config
            std::string out;
            const int rc = run_command(tributary_binary().string() + " " + cmd + " " + target, out);
            EXPECT_EQ(rc, 2) << cmd << " " << target << ": " << out;
            EXPECT_NE(out.find("delta_sink.toml"), std::string::npos) << out;
            EXPECT_NE(out.find("plugin_config.table_uri"), std::string::npos) << out;
            EXPECT_NE(out.find("plugin_config.schema"), std::string::npos) << out;
            EXPECT_NE(out.find("varchar"), std::string::npos) << out;
        }
    }
    fs::remove_all(dir);
}

}  // namespace
}  // namespace trib::test
