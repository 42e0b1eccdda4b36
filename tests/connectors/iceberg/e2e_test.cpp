// The Iceberg sink through `tributary run` against a `tributary serve` Iggy server and Iceberg's
// REST catalog server, killed with SIGKILL several times while it commits: the table must hold
// every message exactly once (read back with pyiceberg). Iggy's example connector file is used
// with only the catalog URI changed (and the table's columns added, since Iggy's sink writes to
// an existing table). Scale: TRIB_ICEBERG_E2E_MESSAGES per topic (default 5000) and
// TRIB_ICEBERG_E2E_KILLS (default 3); the README reports the run with 200,000 and 10. A
// connector file with a bad option makes `tributary run` exit 2 naming the file and the key.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "connectors/iceberg/catalog.h"
#include "connectors/s3/e2e_support.h"
#include "core/net/http_client.h"
#include "harness/kill_rounds.h"
#include "harness/peer.h"
#include "rest_fixture.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Iggy's iceberg_sink example ([sinks.iceberg] of iggy_iceberg_sink_config.toml) as a connector
/// file: the catalog URI ours, dynamic routing off (Iggy's example adds the route field with a
/// transform), the table's columns for its creation, the local warehouse.
std::string connector_file(const std::string& uri) {
    return R"(type = "sink"
key = "iceberg"
enabled = true
version = 0
name = "Iceberg sink"
path = "target/release/libiggy_connector_iceberg_sink"

[[streams]]
stream = "application_logs"
topics = ["api_requests", "errors"]
schema = "json"
batch_length = 1000
poll_interval = "5ms"
consumer_group = "iceberg_sink_connector"

[plugin_config]
tables = ["nyc.users"]
catalog_type = "rest"
warehouse = "warehouse"
uri = ")" + uri +
           R"("
dynamic_routing = false
dynamic_route_field = "db_table"
store_class = "fs"
schema = '[{"name": "n", "type": "long"}, {"name": "method", "type": "string"}]'
)";
}

/// Committed rows: total-records of the main snapshot, as the catalog reports it.
std::uint64_t committed_rows(const std::string& uri) {
    net::http_client c;
    auto r = c.get(uri + "/v1/namespaces/nyc/tables/users");
    if (!r || !r->ok())
        return 0;
    auto t = connectors::iceberg::parse_load_table(r->body);
    if (!t || !t->main)
        return 0;
    auto v = t->find(*t->main)->summary_value("total-records");
    return v ? std::strtoull(std::string(*v).c_str(), nullptr, 10) : 0;
}

fs::path python() {
    return fs::path(TRIB_TEST_SOURCE_DIR) / ".venv" / "bin" / "python";
}
fs::path checker() {
    return fs::path(TRIB_TEST_SOURCE_DIR) / "tests/connectors/iceberg/check.py";
}

TEST(iceberg_e2e, each_message_lands_in_the_table_once_across_kill9_rounds) {
    auto lib = iceberg_rest_lib(TRIB_TEST_SOURCE_DIR);
    if (lib.empty()) {
        if (in_ci())
            FAIL() << "no .deps/iceberg-rest/lib (CI=true): run scripts/setup_iceberg_rest.sh";
        GTEST_SKIP() << "no .deps/iceberg-rest/lib";
    }
    const std::uint64_t n = env_or("TRIB_ICEBERG_E2E_MESSAGES", 5000);
    const std::uint64_t kills = env_or("TRIB_ICEBERG_E2E_KILLS", 3);
    TRIB_START_PEER(catalog, iceberg_rest_spec(lib));
    TRIB_START_PEER(server, serve_spec());
    for (const char* topic : {"api_requests", "errors"})
        produce(server->port(), topic, n);
    const auto uri = iceberg_rest_uri(*catalog);
    TRIB_START_PEER(rt, tributary_run_spec(server->port(), "iceberg.toml", connector_file(uri)));
    const std::uint64_t total = 2 * n;
    auto stored = [&] { return committed_rows(uri); };
    std::mt19937_64 rng(env_or("TRIB_ICEBERG_E2E_SEED", std::random_device{}()));
    std::set<std::uint64_t> points;
    while (points.size() < kills)
        points.insert(total / 50 + rng() % (total * 90 / 100));
    std::uint64_t kills_done = 0;
    ASSERT_TRUE(kill_rounds(*rt,
                            {.points = {points.begin(), points.end()},
                             .progress = stored,
                             .total = total,
                             .deadline = 600s,
                             .what = "of " + std::to_string(total) + " rows committed"},
                            &kills_done));
    ASSERT_TRUE(wait_until([&] { return stored() >= total || !rt->alive(); }, 600s)) << rt->log();
    ASSERT_TRUE(rt->stop());
    EXPECT_EQ(stored(), total);
    // pyiceberg reads the table: every n of each topic exactly once (n repeats across the two
    // topics, so 2 * n rows with n distinct values, each value twice).
    std::string out;
    ASSERT_EQ(
        run_command(python().string() + " " + checker().string() + " " + uri + " nyc.users read n",
                    out),
        0)
        << out;
    EXPECT_NE(out.find("rows=" + std::to_string(total) + "\n"), std::string::npos) << out;
    EXPECT_NE(out.find("distinct_ids=" + std::to_string(n) + "\n"), std::string::npos) << out;
    EXPECT_NE(out.find("id_sum=" + std::to_string(n * (n - 1)) + "\n"), std::string::npos) << out;
    EXPECT_NE(out.find("max_per_id=2\n"), std::string::npos) << out;
    std::fprintf(stderr, "iceberg e2e: %llu rows, each once, after %llu kills\n",
                 static_cast<unsigned long long>(total),
                 static_cast<unsigned long long>(kills_done));
}

TEST(iceberg_e2e, a_bad_option_exits_2_naming_the_file_and_key) {
    temp_dir dir("iceberg-badcfg");
    fs::create_directories(dir.path() / "connectors");
    std::ofstream(dir.path() / "runtime.toml")
        << "[iggy]\naddress = \"127.0.0.1:1\"\nusername = \"iggy\"\npassword = \"iggy\"\n"
        << "[state]\npath = \"" << (dir.path() / "state").string() << "\"\n"
        << "[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
        << (dir.path() / "connectors").string() << "\"\n[http]\nenabled = false\n";
    auto body = connector_file("http://127.0.0.1:1");
    body.replace(body.find("catalog_type = \"rest\""), 21, "catalog_type = \"hive\"");
    std::ofstream(dir.path() / "connectors" / "iceberg.toml") << body;
    std::string out;
    const int rc = run_command(
        tributary_binary().string() + " run " + (dir.path() / "runtime.toml").string(), out);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("iceberg.toml"), std::string::npos) << out;
    EXPECT_NE(out.find("catalog_type"), std::string::npos) << out;
}

}  // namespace
}  // namespace trib::test
