// The Kafka source through `tributary run` with the embedded Iggy server, against a real Kafka
// broker: records go Kafka -> Iggy -> a file sink (JSON lines with ids and headers). kill -9 of
// the runtime while records keep coming (TRIB_KAFKA_KILL_ROUNDS rounds, default 2): nothing is
// missing, and a record delivered twice has the same Iggy message id both times. Two runtimes
// (two processes) in one consumer group split a 3-partition topic and lose nothing across the
// rebalance. Records Iggy cannot carry go to the dead letter. A bad connector file makes
// `tributary run` exit 2 naming the file and the key.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "kafka_fixture.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

fs::path tributary_binary() {
    if (const char* b = std::getenv("TRIB_BINARY_DIR"))
        return fs::path(b) / "src/app/tributary";
    return fs::read_symlink("/proc/self/exe").parent_path() / "../../../src/app/tributary";
}

int env_int(const char* name, int def) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != 0 ? std::atoi(v) : def;
}

std::string source_toml(const std::string& bootstrap, const std::string& topic,
                        const std::string& group) {
    return "type = \"source\"\nkey = \"from_kafka\"\nenabled = true\nversion = 0\n"
           "name = \"kafka e2e\"\nplugin = \"kafka\"\n\n[[streams]]\nstream = \"e2e\"\n"
           "topic = \"from_kafka\"\nschema = \"text\"\nbatch_length = 500\n"
           "linger_time = \"5ms\"\n\n[plugin_config]\nbootstrap_servers = [\"" +
           bootstrap + "\"]\ntopics = [\"" + topic + "\"]\ngroup_id = \"" + group +
           "\"\nsession_timeout = \"6s\"\nmax_batch_messages = 500\n";
}

std::string file_sink_toml(const std::string& path) {
    return "type = \"sink\"\nkey = \"to_file\"\nenabled = true\nversion = 0\nname = \"file\"\n"
           "plugin = \"file\"\n\n[[streams]]\nstream = \"e2e\"\ntopics = [\"from_kafka\"]\n"
           "schema = \"text\"\nbatch_length = 1000\npoll_interval = \"5ms\"\n"
           "consumer_group = \"to_file\"\n\n[plugin_config]\npath = \"" +
           path + "\"\ninclude_metadata = true\nfsync = false\n";
}

// A `tributary run` process with its config, state and embedded Iggy server in its folder.
peer_spec tributary_spec(const std::string& name, const std::string& bootstrap,
                         const std::string& topic, const std::string& group,
                         const std::string& source_extra = "",
                         std::vector<std::pair<std::string, std::string>> more = {}) {
    peer_spec s;
    s.name = name;
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/config.toml"};
    s.prepare = [=](const peer& p) {
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
        std::ofstream(dir / "connectors" / "kafka.toml")
            << source_toml(bootstrap, topic, group) << source_extra;
        for (const auto& [file, toml] : more)
            std::ofstream(dir / "connectors" / file) << toml;
        std::ofstream(dir / "connectors" / "file.toml")
            << file_sink_toml((dir / "out.jsonl").string());
    };
    s.ready_timeout = 60s;
    s.attempts = 2;
    return s;
}

// What the file sink wrote: payload -> the set of ids it was written with, and the line count.
struct output {
    std::map<std::string, std::set<std::string>> ids;
    std::size_t lines = 0;
};

std::string field(const std::string& line, const std::string& name) {
    const std::string key = "\"" + name + "\":\"";
    auto p = line.find(key);
    if (p == std::string::npos)
        return {};
    p += key.size();
    auto e = line.find('"', p);
    return e == std::string::npos ? std::string() : line.substr(p, e - p);
}

void read_output(const fs::path& file, output& out) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.back() != '}')
            continue;  // the tail of a line cut by kill -9
        const std::string id = field(line, "id");
        const std::string payload = field(line, "payload");
        if (id.empty() || payload.empty())
            continue;
        out.ids[payload].insert(id);
        ++out.lines;
    }
}

output read_outputs(const std::vector<const peer*>& runtimes) {
    output out;
    for (const auto* p : runtimes) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(p->dir(), ec)) {
            if (e.path().filename().string().rfind("out", 0) == 0)
                read_output(e.path(), out);
        }
    }
    return out;
}

std::vector<kafka_record> batch_of(const std::string& topic, int from, int n) {
    std::vector<kafka_record> out;
    for (int i = from; i < from + n; ++i) {
        kafka_record r;
        r.topic = topic;
        r.key = "k" + std::to_string(i % 17);
        r.value = "e-" + std::to_string(i);
        out.push_back(std::move(r));
    }
    return out;
}

void expect_complete(const output& out, int n) {
    for (int i = 0; i < n; ++i) {
        auto it = out.ids.find("e-" + std::to_string(i));
        if (it == out.ids.end()) {
            ADD_FAILURE() << "record e-" << i << " is missing";
            continue;
        }
        EXPECT_EQ(it->second.size(), 1u) << "e-" << i << " was written with different ids";
    }
    std::set<std::string> all_ids;
    for (const auto& [payload, ids] : out.ids)
        all_ids.insert(ids.begin(), ids.end());
    EXPECT_EQ(all_ids.size(), out.ids.size()) << "two records share an id";
}

class kafka_e2e : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists(tributary_binary())) {
            if (in_ci())
                FAIL() << "tributary binary not built (CI=true): " << tributary_binary();
            GTEST_SKIP() << "tributary binary not built: " << tributary_binary();
        }
        auto r = shared_kafka();
        if (!r) {
            if (in_ci())
                FAIL() << "Kafka could not start (CI=true): " << r.error().message();
            GTEST_SKIP() << "Kafka not available: " << r.error().message();
        }
        bs_ = kafka_bootstrap(**r);
    }
    std::string bs_;
};

TEST_F(kafka_e2e, given_kill_9_of_the_runtime_should_lose_nothing_and_repeat_ids_only) {
    const int rounds = env_int("TRIB_KAFKA_KILL_ROUNDS", 2);
    const int per_round = env_int("TRIB_KAFKA_KILL_RECORDS", 2000);
    const int total = per_round * (rounds + 1);
    ASSERT_TRUE(create_topic(bs_, "e2e-kill", 3));
    TRIB_START_PEER(rt, tributary_spec("tributary-kafka", bs_, "e2e-kill", "e2e-kill"));
    int produced = 0;
    for (int round = 0; round <= rounds; ++round) {
        ASSERT_TRUE(produce_records(bs_, batch_of("e2e-kill", produced, per_round)));
        produced += per_round;
        if (round == rounds)
            break;
        // Kill while the runtime is busy: some of this round's records are through, some not.
        const std::size_t before = read_outputs({rt.get()}).ids.size();
        ASSERT_TRUE(wait_until([&] { return read_outputs({rt.get()}).ids.size() > before; }, 60s))
            << rt->log();
        ASSERT_TRUE(rt->kill9());
        ASSERT_TRUE(rt->restart()) << rt->log();
    }
    ASSERT_TRUE(wait_until(
        [&] { return read_outputs({rt.get()}).ids.size() >= static_cast<std::size_t>(total); },
        120s))
        << "only " << read_outputs({rt.get()}).ids.size() << " of " << total << "\n"
        << rt->log();
    auto out = read_outputs({rt.get()});
    expect_complete(out, total);
    std::printf("kill -9 x%d: %d records, %zu lines written (%zu duplicates)\n", rounds, total,
                out.lines, out.lines - out.ids.size());
    ASSERT_TRUE(rt->stop());
}

TEST_F(kafka_e2e, given_two_runtimes_in_one_group_should_split_the_partitions_and_lose_nothing) {
    ASSERT_TRUE(create_topic(bs_, "e2e-group", 3));
    TRIB_START_PEER(a, tributary_spec("tributary-a", bs_, "e2e-group", "e2e-group"));
    ASSERT_TRUE(produce_records(bs_, batch_of("e2e-group", 0, 1500)));
    ASSERT_TRUE(wait_until([&] { return read_outputs({a.get()}).ids.size() > 0; }, 60s))
        << a->log();
    TRIB_START_PEER(b, tributary_spec("tributary-b", bs_, "e2e-group", "e2e-group"));
    // Keep producing until the second process got partitions of its own.
    int produced = 1500;
    ASSERT_TRUE(wait_until(
        [&] {
            if (!produce_records(bs_, batch_of("e2e-group", produced, 100)))
                return false;
            produced += 100;
            return read_outputs({b.get()}).ids.size() > 0;
        },
        90s))
        << b->log();
    ASSERT_TRUE(produce_records(bs_, batch_of("e2e-group", produced, 1500)));
    produced += 1500;
    ASSERT_TRUE(wait_until(
        [&] {
            return read_outputs({a.get(), b.get()}).ids.size() >=
                   static_cast<std::size_t>(produced);
        },
        120s))
        << "only " << read_outputs({a.get(), b.get()}).ids.size() << " of " << produced;
    expect_complete(read_outputs({a.get(), b.get()}), produced);
    const auto in_a = read_outputs({a.get()}).ids.size();
    const auto in_b = read_outputs({b.get()}).ids.size();
    const auto all = read_outputs({a.get(), b.get()});
    std::printf("two runtimes: %d records, %zu through a, %zu through b (%zu duplicates)\n",
                produced, in_a, in_b, all.lines - all.ids.size());
    EXPECT_GT(in_b, 0u);
    ASSERT_TRUE(a->stop());
    ASSERT_TRUE(b->stop());
}

// Records Iggy cannot carry (a tombstone, a header value over 255 bytes) go to the dead letter
// with the reason; the records around them flow on.
TEST_F(kafka_e2e, given_records_iggy_cannot_carry_should_dead_letter_them_and_go_on) {
    ASSERT_TRUE(create_topic(bs_, "e2e-hostile", 1));
    const std::string dlq_sink =
        "type = \"sink\"\nkey = \"dlq_file\"\nenabled = true\nversion = 0\nname = \"dlq\"\n"
        "plugin = \"file\"\n\n[[streams]]\nstream = \"dlq\"\ntopics = [\"kafka_rejects\"]\n"
        "schema = \"text\"\nbatch_length = 100\npoll_interval = \"5ms\"\n"
        "consumer_group = \"dlq_file\"\n\n[plugin_config]\npath = \"{DLQ}\"\n"
        "include_metadata = true\nfsync = false\n";
    peer_spec spec =
        tributary_spec("tributary-hostile", bs_, "e2e-hostile", "e2e-hostile",
                       "\n[error_policy]\nmode = \"dead_letter\"\ndead_letter_stream = \"dlq\"\n"
                       "dead_letter_topic = \"kafka_rejects\"\n");
    auto prepare = spec.prepare;
    spec.prepare = [prepare, dlq_sink](const peer& p) {
        prepare(p);
        std::string toml = dlq_sink;
        toml.replace(toml.find("{DLQ}"), 5, (p.dir() / "dlq.jsonl").string());
        std::ofstream(p.dir() / "connectors" / "dlq.toml") << toml;
    };
    TRIB_START_PEER(rt, spec);
    auto in = batch_of("e2e-hostile", 0, 5);
    kafka_record tombstone;
    tombstone.topic = "e2e-hostile";
    tombstone.key = "deleted-key";
    in.push_back(tombstone);
    kafka_record big_header;
    big_header.topic = "e2e-hostile";
    big_header.value = "has-a-big-header";
    big_header.headers = {{"trace", std::string(300, 'x')}};
    in.push_back(big_header);
    for (auto& r : batch_of("e2e-hostile", 5, 5))
        in.push_back(r);
    ASSERT_TRUE(produce_records(bs_, in));
    ASSERT_TRUE(wait_until([&] { return read_outputs({rt.get()}).ids.size() >= 10; }, 60s))
        << rt->log();
    auto dlq_lines = [&] {
        std::ifstream f(rt->dir() / "dlq.jsonl");
        std::vector<std::string> lines;
        std::string line;
        while (std::getline(f, line))
            if (!line.empty() && line.back() == '}')
                lines.push_back(line);
        return lines;
    };
    ASSERT_TRUE(wait_until([&] { return dlq_lines().size() >= 2; }, 60s)) << rt->log();
    auto out = read_outputs({rt.get()});
    expect_complete(out, 10);
    EXPECT_EQ(out.ids.count("has-a-big-header"), 0u);
    const auto dlq = dlq_lines();
    ASSERT_EQ(dlq.size(), 2u);
    EXPECT_NE(dlq[0].find("tombstone"), std::string::npos) << dlq[0];
    EXPECT_NE(dlq[1].find("300 bytes"), std::string::npos) << dlq[1];
    ASSERT_TRUE(rt->stop());
}

TEST_F(kafka_e2e, given_a_bad_connector_file_should_exit_2_naming_the_file_and_key) {
    temp_dir dir("trib-kafka-bad");
    fs::create_directories(dir.path() / "connectors");
    std::ofstream(dir.path() / "config.toml")
        << "[state]\npath = \"" << (dir.path() / "state").string()
        << "\"\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
        << (dir.path() / "connectors").string() << "\"\n[http]\nenabled = false\n";
    std::ofstream(dir.path() / "connectors" / "kafka.toml")
        << "type = \"source\"\nkey = \"bad\"\nenabled = true\nversion = 0\nname = \"bad\"\n"
           "plugin = \"kafka\"\n[[streams]]\nstream = \"s\"\ntopic = \"t\"\n[plugin_config]\n"
           "bootstrap_servers = [\"127.0.0.1:1\"]\ntopics = [\"a\"]\n"
           "[plugin_config.properties]\n\"fetch.wait.max.mss\" = \"5\"\n";
    const std::string cmd = tributary_binary().string() + " run " +
                            (dir.path() / "config.toml").string() + " > " +
                            (dir.path() / "out.txt").string() + " 2>&1";
    const int st = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 2);
    std::stringstream ss;
    ss << std::ifstream(dir.path() / "out.txt").rdbuf();
    EXPECT_NE(ss.str().find("kafka.toml"), std::string::npos) << ss.str();
    EXPECT_NE(ss.str().find("fetch.wait.max.mss"), std::string::npos) << ss.str();
}

}  // namespace
}  // namespace trib::test
