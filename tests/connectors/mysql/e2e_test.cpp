// The MySQL sink end to end: `tributary run` (a child process) reads a 3-partition topic of
// `tributary serve` into a MariaDB table (append mode, the `id` primary key) and is killed with
// SIGKILL at random points, then restarted; at the end the table holds every message once, with
// both write methods. Size: TRIB_MYSQL_E2E_MESSAGES (default 20,000; 10 kill points, fewer
// kills when the sink passes several points between two looks at the table).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "harness/kill_rounds.h"
#include "iggy/client.h"
#include "mariadb_fixture.h"
#include "runtime/iggy_port.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int k_kills = 10;

std::uint32_t message_count() {
    const char* s = std::getenv("TRIB_MYSQL_E2E_MESSAGES");
    const long n = s != nullptr ? std::atol(s) : 0;
    return n > 0 ? static_cast<std::uint32_t>(n) : 20'000;
}

fs::path tributary_binary() {
    const char* b = std::getenv("TRIB_BINARY_DIR");
    return fs::path(b != nullptr ? b : ".") / "src" / "app" / "tributary";
}

void write_text(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

peer_spec serve_spec() {
    peer_spec s;
    s.name = "tributary-serve";
    s.program = tributary_binary().string();
    s.args = {"serve",     "--data-dir",       "{dir}/data",
              "--address", "127.0.0.1:{port}", "--with-default-root-credentials"};
    return s;
}

peer_spec run_spec(std::uint16_t iggy_port, std::string plugin_config) {
    peer_spec s;
    s.name = "tributary-run";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/runtime.toml"};
    s.prepare = [iggy_port, plugin_config](const peer& p) {
        const auto d = p.dir().string();
        write_text(p.dir() / "runtime.toml",
                   "[iggy]\naddress = \"127.0.0.1:" + std::to_string(iggy_port) +
                       "\"\nusername = \"iggy\"\npassword = \"iggy\"\n[state]\npath = \"" + d +
                       "/state\"\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \"" + d +
                       "/connectors\"\n[http]\nenabled = false\n[logging]\nlevel = \"warn\"\n");
        write_text(p.dir() / "connectors" / "db.toml",
                   "type = \"sink\"\nkey = \"db\"\nname = \"db\"\nplugin = \"mysql\"\n"
                   "[[streams]]\nstream = \"e2e\"\ntopics = [\"in\"]\nschema = \"json\"\n"
                   "batch_length = 500\npoll_interval = \"2ms\"\n[plugin_config]\n" +
                       plugin_config);
    };
    s.ready = [](const peer&) { return true; };
    s.attempts = 1;
    return s;
}

void produce(std::uint16_t port, std::uint32_t n) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    auto iggy = runtime::iggy_client_port::connect(o);
    ASSERT_TRUE(iggy) << iggy.error().to_string();
    ASSERT_TRUE((*iggy)->ensure_topic("e2e", "in", 3));
    auto p = (*iggy)->open_producer(runtime::producer_options{"e2e", "in", 1000, 1ms});
    ASSERT_TRUE(p);
    for (std::uint32_t first = 0; first < n; first += 5000) {
        auto b = std::make_shared<message_batch>();
        for (std::uint32_t i = first; i < std::min(n, first + 5000); ++i) {
            message m;
            m.payload = b->own("{\"n\":" + std::to_string(i) + "}");
            b->messages.push_back(std::move(m));
        }
        ASSERT_TRUE((*p)->send_sync(b));
    }
    (*p)->close();
}

class mysql_e2e_test : public mariadb_test {
  protected:
    void SetUp() override {
        mariadb_test::SetUp();
        if (HasFatalFailure() || IsSkipped())
            return;
        if (!fs::exists(tributary_binary())) {
            if (in_ci())
                FAIL() << "tributary binary missing: " << tributary_binary();
            GTEST_SKIP() << "tributary binary not built: " << tributary_binary();
        }
    }

    long number(const std::string& q) {
        const std::string v = sql().value(q);
        return v.empty() || v.rfind("ERROR", 0) == 0 ? 0L : std::atol(v.c_str());
    }

    void kill_run(const std::string& write_method) {
        const std::uint32_t n = message_count();
        TRIB_START_PEER(server, serve_spec());
        produce(server->port(), n);
        TRIB_START_PEER(
            rt, run_spec(server->port(), "connection_string = \"" + url() +
                                             "\"\ntarget_table = \"landing\"\nauto_create_table = "
                                             "true\npayload_format = \"json\"\nwrite_method = \"" +
                                             write_method + "\"\n"));
        const auto seed = std::random_device{}();
        std::uint64_t kills = 0;  // done (points passed between two polls are one kill)
        std::fprintf(stderr, "mysql e2e seed %u\n", seed);
        auto rows = [&] { return number("SELECT count(*) FROM landing"); };
        ASSERT_TRUE(kill_rounds(*rt,
                                {.points = kill_points(seed, k_kills, n / 50, n * 95 / 100 + 1),
                                 .progress = [&] { return std::uint64_t(rows()); },
                                 .total = n,
                                 .what = "rows"},
                                &kills));
        ASSERT_TRUE(wait_until([&] { return rows() >= long(n) || !rt->alive(); }, 300s))
            << rows() << " of " << n << "\n"
            << rt->log();
        ASSERT_TRUE(rt->stop());
        const std::string num = "JSON_VALUE(payload, '$.n')";
        EXPECT_GE(kills, 1u);
        EXPECT_EQ(rows(), long(n));
        EXPECT_EQ(number("SELECT count(DISTINCT " + num + ") FROM landing"), long(n));
        EXPECT_EQ(number("SELECT min(CAST(" + num + " AS UNSIGNED)) FROM landing"), 0);
        EXPECT_EQ(number("SELECT max(CAST(" + num + " AS UNSIGNED)) FROM landing"), long(n) - 1);
        std::fprintf(stderr, "mysql e2e (%s): %u messages, %llu kills, %ld rows\n",
                     write_method.c_str(), n, static_cast<unsigned long long>(kills), rows());
    }
};

TEST_F(mysql_e2e_test, insert_holds_every_message_once_after_kill_9_rounds) {
    kill_run("insert");
}

TEST_F(mysql_e2e_test, load_data_holds_every_message_once_after_kill_9_rounds) {
    kill_run("load_data");
}

}  // namespace
}  // namespace trib::test
