// The Redis connectors through `tributary run` with the embedded Iggy server, against a real
// redis-server 7.0 with an append-only file: a stream (consumer group) -> Iggy -> Redis (a set,
// which holds each record once, and a stream with offset ids, which holds each Iggy message
// once) while the runtime is killed with kill -9 several times; the same with a restart of
// redis-server in the middle; a bad connector file exits 2 naming the file and the key.
// Size: TRIB_REDIS_E2E_ENTRIES (default 20,000) and TRIB_REDIS_E2E_KILLS (default 3); the issue's
// 100,000 x 5 is `TRIB_REDIS_E2E_ENTRIES=100000 TRIB_REDIS_E2E_KILLS=5`.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "harness/kill_rounds.h"
#include "redis_fixture.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

fs::path tributary_binary() {
    if (const char* b = std::getenv("TRIB_BINARY_DIR"))
        return fs::path(b) / "src/app/tributary";
    return fs::read_symlink("/proc/self/exe").parent_path() / "../../../src/app/tributary";
}

std::uint64_t env_count(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && std::atoll(v) > 0 ? static_cast<std::uint64_t>(std::atoll(v)) : fallback;
}

std::string connectors_header(const std::string& type, const std::string& key) {
    return "type = \"" + type + "\"\nkey = \"" + key +
           "\"\nenabled = true\nversion = 0\nname = \"" + key + "\"\nplugin = \"redis\"\n\n";
}

peer_spec tributary_spec(std::uint16_t redis_port) {
    peer_spec s;
    s.name = "tributary-redis";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/config.toml"};
    s.prepare = [redis_port](const peer& p) {
        const fs::path dir = p.dir();
        fs::create_directories(dir / "connectors");
        std::ofstream(dir / "config.toml")
            << "[state]\npath = \"" << (dir / "state").string()
            << "\"\n\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
            << (dir / "connectors").string()
            << "\"\n\n[http]\nenabled = false\n\n[logging]\nformat = \"text\"\nlevel = \"info\"\n\n"
               "[server]\naddress = \"127.0.0.1:"
            << p.port() << "\"\ndata_dir = \"" << (dir / "state/server").string()
            << "\"\nfsync = \"interval\"\n";
        const std::string url =
            "connection_url = \"redis://127.0.0.1:" + std::to_string(redis_port) + "\"\n";
        std::ofstream(dir / "connectors" / "source.toml")
            << connectors_header("source", "redis_in")
            << "[[streams]]\nstream = \"e2e\"\ntopic = \"from_redis\"\nschema = \"raw\"\n"
               "batch_length = 1000\nlinger_time = \"5ms\"\n\n[plugin_config]\n"
            << url
            << "keys = [\"in\"]\ngroup = \"g\"\nconsumer = \"c\"\ncount = 1000\n"
               "connect_timeout = \"1s\"\n";
        for (const auto& [key, mode] : std::vector<std::pair<std::string, std::string>>{
                 {"redis_set", "set"}, {"redis_stream", "stream"}}) {
            std::ofstream(dir / "connectors" / (key + ".toml"))
                << connectors_header("sink", key)
                << "[[streams]]\nstream = \"e2e\"\ntopics = [\"from_redis\"]\nschema = \"raw\"\n"
                   "batch_length = 1000\npoll_interval = \"5ms\"\nconsumer_group = \""
                << key << "\"\n\n[plugin_config]\n"
                << url << "mode = \"" << mode << "\"\nconnect_timeout = \"1s\"\n"
                << (mode == "set" ? "key = \"out:set\"\n"
                                  : "key = \"out:{stream}:{topic}:{partition}\"\n"
                                    "entry_id = \"offset\"\ninclude_headers = false\n");
        }
    };
    s.ready_timeout = 60s;
    s.attempts = 2;
    return s;
}

class redis_e2e : public ::testing::Test {
  protected:
    void add_entries(redis_client& c, std::uint64_t from, std::uint64_t to) {
        std::vector<std::vector<std::string>> cmds;
        for (std::uint64_t i = from; i < to; ++i) {
            cmds.push_back({"XADD", "in", "*", "payload", "r" + std::to_string(i)});
            if (cmds.size() == 1000 || i + 1 == to) {
                ASSERT_EQ(c.pipeline(cmds), 0u);
                cmds.clear();
            }
        }
    }
    // What the offset-id sink streams hold: distinct payloads, entries, and offsets seen twice in
    // one partition's stream (each Iggy message must be there once).
    struct stream_census {
        std::size_t payloads = 0;
        std::size_t entries = 0;
        std::size_t repeated_offsets = 0;
    };
    stream_census census(redis_client& c) {
        stream_census out;
        std::set<std::string> payloads;
        for (const auto& key : c.strings({"KEYS", "out:e2e:from_redis:*"})) {
            std::set<std::string> offsets;
            std::string from = "-";
            for (;;) {
                auto r = c.cmd({"XRANGE", key, from, "+", "COUNT", "5000"});
                if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
                    break;
                for (std::size_t i = 0; i < r->elements; ++i) {
                    const redisReply* f = r->element[i]->element[1];
                    for (std::size_t j = 0; j + 1 < f->elements; j += 2) {
                        std::string name(f->element[j]->str, f->element[j]->len);
                        std::string value(f->element[j + 1]->str, f->element[j + 1]->len);
                        if (name == "payload") {
                            payloads.insert(value);
                        } else if (name == "iggy_offset" && !offsets.insert(value).second) {
                            ++out.repeated_offsets;
                        }
                    }
                    ++out.entries;
                }
                from = "(" + std::string(r->element[r->elements - 1]->element[0]->str);
            }
        }
        out.payloads = payloads.size();
        return out;
    }

    void run(bool restart_redis) {
        const std::uint64_t n = env_count("TRIB_REDIS_E2E_ENTRIES", 20000);
        const std::uint64_t kills = env_count("TRIB_REDIS_E2E_KILLS", 3);
        redis_options ro;
        ro.appendonly = true;
        TRIB_START_PEER(redis, redis_spec(ro));
        auto client = std::make_unique<redis_client>(redis->port());
        // Half the entries before the runtime starts, the rest while it runs and is killed.
        add_entries(*client, 0, n / 2);
        TRIB_START_PEER(rt, tributary_spec(redis->port()));
        add_entries(*client, n / 2, n);
        kill_rounds_options o;
        o.points = kill_points(restart_redis ? 7 : 11, kills, n / 10, n * 8 / 10);
        o.total = n;
        o.what = "records in the Redis set";
        o.deadline = 180s;
        o.progress = [&] {
            auto c = redis_client(redis->port());
            return static_cast<std::uint64_t>(c.integer({"SCARD", "out:set"}));
        };
        if (restart_redis) {
            // redis-server stopped and started in the middle (append-only file, fsync always).
            ASSERT_TRUE(wait_until([&] { return o.progress() >= n / 3; }, 180s)) << rt->log();
            client.reset();
            ASSERT_TRUE(redis->stop());
            ASSERT_TRUE(redis->restart()) << redis->log();
            client = std::make_unique<redis_client>(redis->port());
        }
        std::uint64_t done = 0;
        ASSERT_TRUE(kill_rounds(*rt, o, &done));
        EXPECT_EQ(done, kills);
        ASSERT_TRUE(wait_until([&] { return o.progress() >= n; }, 180s))
            << "only " << o.progress() << " of " << n << "\n"
            << rt->log();
        EXPECT_EQ(client->integer({"SCARD", "out:set"}), static_cast<long long>(n));
        EXPECT_EQ(client->integer({"SISMEMBER", "out:set", "r0"}), 1);
        EXPECT_EQ(client->integer({"SISMEMBER", "out:set", "r" + std::to_string(n - 1)}), 1);
        // Every entry acknowledged in the end (the pending ones of killed runs were re-read).
        ASSERT_TRUE(wait_until(
            [&] {
                auto r = client->cmd({"XPENDING", "in", "g"});
                return r && r->type == REDIS_REPLY_ARRAY && r->element[0]->integer == 0;
            },
            60s));
        // The stream sink (its own consumer group) may still be catching up.
        stream_census sc;
        EXPECT_TRUE(wait_until(
            [&] {
                sc = census(*client);
                return sc.payloads >= n;
            },
            120s))
            << sc.payloads << " of " << n;
        EXPECT_EQ(sc.payloads, n);
        EXPECT_GE(sc.entries, n);
        EXPECT_EQ(sc.repeated_offsets, 0u);
        ASSERT_TRUE(rt->stop());
    }
};

TEST_F(redis_e2e, stream_to_set_and_offset_stream_survives_kill9_rounds) {
    run(false);
}

TEST_F(redis_e2e, redis_restart_in_the_middle_loses_nothing) {
    run(true);
}

TEST_F(redis_e2e, given_a_bad_connector_file_should_exit_2_naming_the_file_and_key) {
    temp_dir dir("trib-redis-bad");
    fs::create_directories(dir.path() / "connectors");
    std::ofstream(dir.path() / "config.toml")
        << "[state]\npath = \"" << (dir.path() / "state").string()
        << "\"\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
        << (dir.path() / "connectors").string() << "\"\n[http]\nenabled = false\n";
    std::ofstream(dir.path() / "connectors" / "redis_bad.toml")
        << connectors_header("sink", "bad")
        << "[[streams]]\nstream = \"s\"\ntopics = [\"t\"]\n[plugin_config]\n"
           "mode = \"stream\"\nentry_id = \"offset\"\nkey = \"flat\"\n";
    const std::string cmd = tributary_binary().string() + " run " +
                            (dir.path() / "config.toml").string() + " > " +
                            (dir.path() / "out.txt").string() + " 2>&1";
    const int st = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 2);
    std::stringstream ss;
    ss << std::ifstream(dir.path() / "out.txt").rdbuf();
    EXPECT_NE(ss.str().find("redis_bad.toml"), std::string::npos) << ss.str();
    EXPECT_NE(ss.str().find("plugin_config.key"), std::string::npos) << ss.str();
}

}  // namespace
}  // namespace trib::test
