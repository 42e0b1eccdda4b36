// The NATS connectors through `tributary run` with the embedded Iggy server, against a real
// nats-server 2.9 with JetStream: JetStream IN -> Iggy -> JetStream OUT with kill -9 of the
// runtime several times (nothing missing; duplicates counted: none expected, as the source's ids
// let Iggy's de-duplication drop redeliveries and the sink's Nats-Msg-Id lets JetStream drop
// replays), a restart of nats-server in the middle (its store in -sd survives), and a bad
// connector file exiting 2 naming the file and the key.
//
// TRIB_NATS_E2E_MESSAGES (default 20,000) and TRIB_NATS_E2E_KILLS (default 3) set the size of
// the kill test; the full run is 100,000 messages with 5 kills.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "harness/kill_rounds.h"
#include "nats_fixture.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

fs::path runtime_binary() {
    if (const char* dir = std::getenv("TRIB_BINARY_DIR"))
        return fs::path(dir) / "src/app/tributary";
    return fs::read_symlink("/proc/self/exe").parent_path() / "../../../src/app/tributary";
}

std::size_t env_count(const char* name, std::size_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? static_cast<std::size_t>(std::strtoull(v, nullptr, 10))
                                      : fallback;
}

/// The two connector files: JetStream stream IN -> Iggy e2e/nats -> JetStream subject out.<p>.
std::map<std::string, std::string> connector_files(std::uint16_t nats_port) {
    const std::string conn = "urls = [\"nats://127.0.0.1:" + std::to_string(nats_port) +
                             "\"]\nreconnect_wait = \"20ms\"\nreconnect_wait_max = \"300ms\"\n";
    std::map<std::string, std::string> files;
    files["nats_in.toml"] =
        "type = \"source\"\nkey = \"nats_in\"\nenabled = true\nversion = 0\nname = \"in\"\n"
        "plugin = \"nats\"\n\n[[streams]]\nstream = \"e2e\"\ntopic = \"nats\"\nschema = \"raw\"\n"
        "batch_length = 500\nlinger_time = \"5ms\"\n\n[plugin_config]\n" +
        conn + "stream = \"IN\"\nconsumer = \"tributary\"\nack_wait = \"5s\"\nbatch_size = 500\n";
    files["nats_out.toml"] =
        "type = \"sink\"\nkey = \"nats_out\"\nenabled = true\nversion = 0\nname = \"out\"\n"
        "plugin = \"nats\"\n\n[[streams]]\nstream = \"e2e\"\ntopics = [\"nats\"]\n"
        "schema = \"raw\"\nbatch_length = 500\npoll_interval = \"5ms\"\n"
        "consumer_group = \"nats_out\"\n\n[plugin_config]\n" +
        conn + "subject = \"out.{partition}\"\nstream = \"OUT\"\nack_timeout = \"5s\"\n";
    return files;
}

/// `tributary run` with its state, the embedded Iggy server (message de-duplication on) and the
/// connector files in the peer's folder.
peer_spec runtime_spec(std::map<std::string, std::string> files) {
    peer_spec s;
    s.name = "tributary";
    s.program = runtime_binary().string();
    s.args = {"run", "{dir}/config.toml"};
    s.env = {{"IGGY_SYSTEM_MESSAGE_DEDUPLICATION_ENABLED", "true"},
             {"IGGY_SYSTEM_MESSAGE_DEDUPLICATION_MAX_ENTRIES", "0"},
             {"IGGY_SYSTEM_MESSAGE_DEDUPLICATION_EXPIRY", "10 m"}};
    s.prepare = [files](const peer& p) {
        const fs::path d = p.dir();
        fs::create_directories(d / "connectors");
        std::ostringstream cfg;
        cfg << "[state]\npath = \"" << (d / "state").string() << "\"\n\n[connectors]\n"
            << "config_type = \"local\"\nconfig_dir = \"" << (d / "connectors").string()
            << "\"\n\n[http]\nenabled = false\n\n[logging]\nformat = \"text\"\nlevel = \"info\"\n"
            << "\n[server]\naddress = \"127.0.0.1:" << p.port() << "\"\ndata_dir = \""
            << (d / "state/server").string() << "\"\nfsync = \"interval\"\n";
        std::ofstream(d / "config.toml") << cfg.str();
        for (const auto& [name, text] : files)
            std::ofstream(d / "connectors" / name) << text;
    };
    s.ready_timeout = 60s;
    s.attempts = 2;
    return s;
}

/// What the OUT stream holds: distinct payloads and the count of copies beyond the first.
struct out_state {
    std::size_t distinct = 0;
    std::size_t duplicates = 0;
    std::size_t missing = 0;
};

out_state check_out(nats_test_client& c, std::size_t n) {
    out_state st;
    auto recs = c.read_stream("OUT");
    EXPECT_TRUE(recs) << (recs ? "" : recs.error().message());
    if (!recs)
        return st;
    std::map<std::string, int> seen;
    for (const auto& r : *recs)
        ++seen[r.payload];
    st.distinct = seen.size();
    st.duplicates = recs->size() - seen.size();
    for (std::size_t i = 0; i < n; ++i)
        st.missing += seen.contains("e-" + std::to_string(i)) ? 0 : 1;
    return st;
}

class nats_e2e : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists(runtime_binary())) {
            if (in_ci())
                FAIL() << "tributary binary missing: " << runtime_binary();
            GTEST_SKIP() << "tributary binary missing: " << runtime_binary();
        }
    }
};

TEST_F(nats_e2e, kill_9_of_the_runtime_in_rounds_loses_nothing_and_stores_nothing_twice) {
    TRIB_START_PEER(server, nats_spec());
    auto c = nats_test_client::connect(server->port());
    ASSERT_TRUE(c) << c.error().message();
    auto& client = **c;
    ASSERT_TRUE(client.add_stream("IN", {"in.>"}));
    ASSERT_TRUE(client.add_stream("OUT", {"out.>"}, 10min));
    const std::size_t n = env_count("TRIB_NATS_E2E_MESSAGES", 20'000);
    const std::size_t kills = env_count("TRIB_NATS_E2E_KILLS", 3);
    ASSERT_TRUE(client.publish_many("in", "e-", 0, n, 8));
    TRIB_START_PEER(rt, runtime_spec(connector_files(server->port())));
    kill_rounds_options o;
    o.points = kill_points(22, kills, n / 10, n * 9 / 10);
    o.progress = [&] { return client.stream_messages("OUT"); };
    o.total = n;
    o.what = "messages in OUT";
    std::uint64_t done = 0;
    ASSERT_TRUE(kill_rounds(*rt, o, &done));
    ASSERT_TRUE(wait_until([&] { return client.stream_messages("OUT") >= n; }, 600s))
        << client.stream_messages("OUT") << " of " << n << "\n"
        << rt->log().substr(0, 6000);
    // Everything acknowledged to the source stream's consumer.
    EXPECT_TRUE(wait_until(
        [&] {
            return client.consumer_backlog("IN", "tributary") ==
                   std::pair<std::uint64_t, std::uint64_t>{0, 0};
        },
        60s));
    const auto st = check_out(client, n);
    std::printf(
        "[ info ] %zu messages IN -> Iggy -> OUT with %llu kill -9: %zu distinct, %zu "
        "missing, %zu duplicates\n",
        n, static_cast<unsigned long long>(done), st.distinct, st.missing, st.duplicates);
    EXPECT_EQ(done, kills);
    EXPECT_EQ(st.missing, 0u);
    EXPECT_EQ(st.duplicates, 0u);
    ASSERT_TRUE(rt->stop());
}

TEST_F(nats_e2e, a_nats_server_restart_mid_stream_loses_nothing) {
    TRIB_START_PEER(server, nats_spec());
    std::unique_ptr<nats_test_client> client;
    {
        auto c = nats_test_client::connect(server->port());
        ASSERT_TRUE(c) << c.error().message();
        client = std::move(*c);
    }
    ASSERT_TRUE(client->add_stream("IN", {"in.>"}));
    ASSERT_TRUE(client->add_stream("OUT", {"out.>"}, 10min));
    constexpr std::size_t n = 10'000;
    ASSERT_TRUE(client->publish_many("in", "e-", 0, n / 2, 4));
    TRIB_START_PEER(rt, runtime_spec(connector_files(server->port())));
    ASSERT_TRUE(wait_until([&] { return client->stream_messages("OUT") >= n / 4; }, 120s))
        << rt->log();
    client.reset();
    ASSERT_TRUE(server->restart()) << server->log();
    {
        auto c = nats_test_client::connect(server->port());
        ASSERT_TRUE(c) << c.error().message();
        client = std::move(*c);
    }
    ASSERT_TRUE(client->publish_many("in", "e-", n / 2, n / 2, 4));
    ASSERT_TRUE(wait_until([&] { return client->stream_messages("OUT") >= n; }, 300s))
        << client->stream_messages("OUT") << " of " << n << "\n"
        << rt->log().substr(0, 6000);
    EXPECT_TRUE(rt->alive());
    const auto st = check_out(*client, n);
    std::printf(
        "[ info ] nats-server restarted mid-stream: %zu distinct, %zu missing, %zu "
        "duplicates\n",
        st.distinct, st.missing, st.duplicates);
    EXPECT_EQ(st.missing, 0u);
    EXPECT_EQ(st.duplicates, 0u);
}

TEST_F(nats_e2e, given_a_bad_connector_file_should_exit_2_naming_the_file_and_key) {
    temp_dir dir("trib-nats-bad");
    fs::create_directories(dir.path() / "connectors");
    std::ofstream(dir.path() / "config.toml")
        << "[state]\npath = \"" << (dir.path() / "state").string()
        << "\"\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
        << (dir.path() / "connectors").string() << "\"\n[http]\nenabled = false\n";
    std::ofstream(dir.path() / "connectors" / "bad_nats.toml")
        << "type = \"sink\"\nkey = \"bad\"\nenabled = true\nversion = 0\nname = \"bad\"\n"
           "plugin = \"nats\"\n[[streams]]\nstream = \"s\"\ntopics = [\"t\"]\n"
           "consumer_group = \"g\"\n[plugin_config]\nsubject = \"out.{stream\"\n"
           "create_stream = true\n";
    const std::string cmd = runtime_binary().string() + " run " +
                            (dir.path() / "config.toml").string() + " > " +
                            (dir.path() / "out.txt").string() + " 2>&1";
    const int st = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 2);
    std::stringstream text;
    text << std::ifstream(dir.path() / "out.txt").rdbuf();
    EXPECT_NE(text.str().find("bad_nats.toml"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("subject"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("unclosed '{'"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("create_stream"), std::string::npos) << text.str();
}

}  // namespace
}  // namespace trib::test
