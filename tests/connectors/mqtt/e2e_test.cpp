// The MQTT connectors through `tributary run` with the embedded Iggy server, against Mosquitto:
// MQTT -> Iggy -> MQTT for 100,000 QoS 1 messages in order per topic; kill -9 of the runtime
// while publishing goes on; a broker restart mid-stream; two runtimes on one shared
// subscription; a clear error for wrong credentials.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "connectors/mqtt/client.h"
#include "mosquitto_fixture.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

fs::path tributary_binary() {
    if (const char* b = std::getenv("TRIB_BINARY_DIR"))
        return fs::path(b) / "src/app/tributary";
    // Run by hand: the test binary is <build>/tests/connectors/mqtt/mqtt_e2e_test.
    return fs::read_symlink("/proc/self/exe").parent_path() / "../../../src/app/tributary";
}

std::string url(std::uint16_t port) {
    return "mqtt://127.0.0.1:" + std::to_string(port);
}

std::string source_toml(std::uint16_t mqtt_port, const std::string& key,
                        const std::string& client_id, const std::string& extra = "") {
    return "type = \"source\"\nkey = \"" + key + "\"\nenabled = true\nversion = 0\nname = \"" +
           key +
           "\"\nplugin = \"mqtt\"\n\n[[streams]]\nstream = \"e2e\"\ntopic = \"from_mqtt\"\n"
           "schema = \"raw\"\nbatch_length = 1000\nlinger_time = \"5ms\"\n\n[plugin_config]\n"
           "urls = [\"" +
           url(mqtt_port) + "\"]\nclient_id = \"" + client_id +
           "\"\ntopics = [\"in/#\"]\nqos = 1\nreconnect_backoff_min = \"50ms\"\n"
           "reconnect_backoff_max = \"500ms\"\n" +
           extra;
}

std::string sink_toml(std::uint16_t mqtt_port, const std::string& key, const std::string& client_id,
                      const std::string& topic) {
    return "type = \"sink\"\nkey = \"" + key + "\"\nenabled = true\nversion = 0\nname = \"" + key +
           "\"\nplugin = \"mqtt\"\n\n[[streams]]\nstream = \"e2e\"\ntopics = [\"from_mqtt\"]\n"
           "schema = \"raw\"\nbatch_length = 1000\npoll_interval = \"5ms\"\n"
           "consumer_group = \"" +
           key + "\"\n\n[plugin_config]\nurls = [\"" + url(mqtt_port) + "\"]\nclient_id = \"" +
           client_id + "\"\ntopic = \"" + topic +
           "\"\nqos = 1\nreconnect_backoff_min = \"50ms\"\nreconnect_backoff_max = \"500ms\"\n";
}

// A `tributary run` process: its config, state and the embedded Iggy server (port 0) in the
// peer's folder; connector files given as (file name, TOML).
peer_spec tributary_spec(const std::string& name,
                         std::vector<std::pair<std::string, std::string>> connectors) {
    peer_spec s;
    s.name = name;
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/config.toml"};
    s.prepare = [connectors](const peer& p) {
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
        for (const auto& [file, toml] : connectors)
            std::ofstream(dir / "connectors" / file) << toml;
    };
    s.ready_timeout = 60s;
    s.attempts = 2;
    return s;
}

std::unique_ptr<mqtt::client> connect_client(std::uint16_t port, const std::string& id,
                                             bool persistent) {
    mqtt::client_options o;
    o.urls = {url(port)};
    o.client_id = id;
    o.clean_start = !persistent;
    o.session_expiry_s = persistent ? 3600 : 0;
    o.reconnect_min = 20ms;
    o.reconnect_max = 300ms;
    o.max_inflight = 1000;
    auto c = mqtt::client::connect(o);
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
}

// Creates the persistent session a source will resume, so that nothing published before the
// runtime first connects is missed (as an operator's first start would after deployment).
void prepare_session(std::uint16_t port, const std::string& client_id, const std::string& filter) {
    auto c = connect_client(port, client_id, true);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->subscribe({{filter, {1}}}, 5s));
}

// Subscribes to the sinks' output and records every message (acknowledging it).
class collector {
  public:
    collector(std::uint16_t port, const std::string& filter) {
        client_ = connect_client(port, "e2e-watch", true);
        EXPECT_TRUE(client_ && client_->subscribe({{filter, {1}}}, 5s));
        thread_ = std::thread([this] { loop(); });
    }
    ~collector() {
        stop_ = true;
        thread_.join();
    }
    std::size_t count() const {
        std::lock_guard lk(mu_);
        return messages_.size();
    }
    std::size_t distinct() const {
        std::lock_guard lk(mu_);
        return seen_.size();
    }
    std::vector<std::pair<std::string, std::string>> messages() const {
        std::lock_guard lk(mu_);
        return messages_;
    }
    bool wait_distinct(std::size_t n, std::chrono::milliseconds within) const {
        return wait_until([&] { return distinct() >= n; }, within);
    }

  private:
    void loop() {
        std::vector<mqtt::message> got;
        std::vector<std::uint64_t> h;
        while (!stop_) {
            got.clear();
            h.clear();
            client_->receive(got, 10'000, 50ms);
            {
                std::lock_guard lk(mu_);
                for (auto& m : got) {
                    seen_.insert(m.payload);
                    messages_.emplace_back(std::move(m.topic), std::move(m.payload));
                    if (m.handle != 0)
                        h.push_back(m.handle);
                }
            }
            client_->acknowledge(h);
        }
    }

    std::unique_ptr<mqtt::client> client_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::vector<std::pair<std::string, std::string>> messages_;
    std::set<std::string> seen_;
};

// Publishes `n` QoS 1 messages "<device>:<seq>" round-robin over in/dev0..in/dev<devices-1>.
class publisher {
  public:
    publisher(std::uint16_t port, std::size_t n, int devices, std::size_t pause_every = 0)
        : client_(connect_client(port, "e2e-pub", true)) {
        thread_ = std::thread([=, this] {
            std::vector<std::size_t> seq(static_cast<std::size_t>(devices), 0);
            std::uint64_t last = 0;
            for (std::size_t i = 0; i < n && !stop_; ++i) {
                const std::size_t d = i % static_cast<std::size_t>(devices);
                std::string topic = "in/dev" + std::to_string(d);
                std::string payload = std::to_string(d) + ":" + std::to_string(seq[d]++);
                mqtt::publish_packet p;
                p.topic = topic;
                p.payload = payload;
                p.qos = 1;
                auto t = client_->publish(p, clock_type::now() + 60s);
                if (!t) {
                    failed_ = true;
                    return;
                }
                last = *t;
                ++published_;
                if (pause_every != 0 && i % pause_every == 0)
                    std::this_thread::sleep_for(1ms);  // spread the stream out in time
            }
            if (!client_->wait_published(last, clock_type::now() + 120s))
                failed_ = true;
            done_ = true;
        });
    }
    ~publisher() {
        stop_ = true;
        thread_.join();
    }
    std::size_t published() const { return published_; }
    bool done() const { return done_; }
    bool failed() const { return failed_; }

  private:
    std::unique_ptr<mqtt::client> client_;
    std::thread thread_;
    std::atomic<std::size_t> published_{0};
    std::atomic<bool> done_{false}, failed_{false}, stop_{false};
};

std::set<std::string> expected(std::size_t n, int devices) {
    std::set<std::string> out;
    std::vector<std::size_t> seq(static_cast<std::size_t>(devices), 0);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t d = i % static_cast<std::size_t>(devices);
        out.insert(std::to_string(d) + ":" + std::to_string(seq[d]++));
    }
    return out;
}

std::size_t missing(const collector& c, std::size_t n, int devices) {
    std::set<std::string> got;
    for (const auto& m : c.messages())
        got.insert(m.second);
    std::size_t miss = 0;
    for (const auto& e : expected(n, devices))
        miss += got.contains(e) ? 0 : 1;
    return miss;
}

bool binary_present() {
    return fs::exists(tributary_binary());
}

#define REQUIRE_TRIBUTARY()                                                     \
    do {                                                                        \
        if (!binary_present()) {                                                \
            if (in_ci())                                                        \
                FAIL() << "tributary binary missing: " << tributary_binary();   \
            GTEST_SKIP() << "tributary binary missing: " << tributary_binary(); \
        }                                                                       \
    } while (0)

TEST(mqtt_e2e, hundred_thousand_qos1_messages_round_trip_in_order_per_topic) {
    REQUIRE_TRIBUTARY();
    TRIB_START_PEER(broker, mosquitto_spec());
    const auto mp = broker->port();
    prepare_session(mp, "e2e-src", "in/#");
    collector out(mp, "out/#");
    TRIB_START_PEER(
        rt,
        tributary_spec("tributary",
                       {{"in.toml", source_toml(mp, "mqtt_in", "e2e-src")},
                        {"out.toml", sink_toml(mp, "mqtt_out", "e2e-sink", "out/{mqtt.topic}")}}));
    constexpr std::size_t n = 100'000;
    constexpr int devices = 10;
    const auto start = clock_type::now();
    publisher pub(mp, n, devices);
    ASSERT_TRUE(out.wait_distinct(n, 600s)) << "got " << out.distinct() << " of " << n << "\n"
                                            << rt->log().substr(0, 4000);
    const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    std::printf(
        "[ info ] %zu QoS 1 messages MQTT -> Iggy -> MQTT in %.1f s (%.0f msgs/s, debug "
        "build)\n",
        n, secs, static_cast<double>(n) / secs);
    EXPECT_FALSE(pub.failed());
    // In order per topic, and nothing twice.
    std::map<std::string, std::size_t> next;
    std::size_t disorder = 0;
    const auto all = out.messages();
    for (const auto& [topic, payload] : all) {
        const std::size_t seq = std::stoul(payload.substr(payload.find(':') + 1));
        auto& want = next[topic];
        if (seq != want)
            ++disorder;
        want = seq + 1;
        EXPECT_EQ(topic, "out/in/dev" + payload.substr(0, payload.find(':')));
    }
    EXPECT_EQ(all.size(), n) << "duplicates";
    EXPECT_EQ(disorder, 0u);
    EXPECT_EQ(next.size(), static_cast<std::size_t>(devices));
}

TEST(mqtt_e2e, kill_9_of_the_runtime_while_publishing_goes_on_loses_nothing) {
    REQUIRE_TRIBUTARY();
    TRIB_START_PEER(broker, mosquitto_spec());
    const auto mp = broker->port();
    prepare_session(mp, "e2e-src", "in/#");
    collector out(mp, "out/#");
    TRIB_START_PEER(
        rt,
        tributary_spec("tributary",
                       {{"in.toml", source_toml(mp, "mqtt_in", "e2e-src")},
                        {"out.toml", sink_toml(mp, "mqtt_out", "e2e-sink", "out/{mqtt.topic}")}}));
    constexpr std::size_t n = 30'000;
    constexpr int devices = 5;
    publisher pub(mp, n, devices, 50);
    ASSERT_TRUE(wait_until([&] { return out.distinct() >= 3'000; }, 120s)) << rt->log();
    ASSERT_TRUE(rt->kill9());
    const std::size_t at_kill = pub.published();
    // Publishing goes on while the runtime is down.
    ASSERT_TRUE(wait_until([&] { return pub.published() >= at_kill + 5'000 || pub.done(); }, 60s));
    ASSERT_TRUE(rt->restart()) << rt->log();
    ASSERT_TRUE(wait_until([&] { return pub.done(); }, 300s));
    EXPECT_FALSE(pub.failed());
    EXPECT_TRUE(out.wait_distinct(n, 300s))
        << "missing " << missing(out, n, devices) << " of " << n << "\n"
        << rt->log();
    EXPECT_EQ(missing(out, n, devices), 0u);
    std::printf("[ info ] kill -9 at %zu published; %zu delivered (%zu duplicates)\n", at_kill,
                out.count(), out.count() - out.distinct());
}

TEST(mqtt_e2e, broker_restart_mid_stream_loses_nothing) {
    REQUIRE_TRIBUTARY();
    TRIB_START_PEER(broker, mosquitto_spec({.persistence = true}));
    const auto mp = broker->port();
    prepare_session(mp, "e2e-src", "in/#");
    collector out(mp, "out/#");
    TRIB_START_PEER(
        rt,
        tributary_spec("tributary",
                       {{"in.toml", source_toml(mp, "mqtt_in", "e2e-src")},
                        {"out.toml", sink_toml(mp, "mqtt_out", "e2e-sink", "out/{mqtt.topic}")}}));
    constexpr std::size_t n = 30'000;
    constexpr int devices = 5;
    publisher pub(mp, n, devices, 50);
    ASSERT_TRUE(wait_until([&] { return out.distinct() >= 3'000; }, 120s)) << rt->log();
    ASSERT_TRUE(broker->restart()) << broker->log();
    ASSERT_TRUE(wait_until([&] { return pub.done(); }, 300s));
    EXPECT_FALSE(pub.failed());
    EXPECT_TRUE(out.wait_distinct(n, 300s))
        << "missing " << missing(out, n, devices) << " of " << n << "\n"
        << rt->log();
    EXPECT_EQ(missing(out, n, devices), 0u);
    std::printf("[ info ] broker restarted mid-stream; %zu delivered (%zu duplicates)\n",
                out.count(), out.count() - out.distinct());
}

TEST(mqtt_e2e, two_runtimes_on_one_shared_subscription_split_the_flow) {
    REQUIRE_TRIBUTARY();
    TRIB_START_PEER(broker, mosquitto_spec());
    const auto mp = broker->port();
    prepare_session(mp, "e2e-src-a", "$share/grp/in/#");
    prepare_session(mp, "e2e-src-b", "$share/grp/in/#");
    collector out(mp, "out/#");
    const std::string shared = "shared_group = \"grp\"\n";
    TRIB_START_PEER(
        a, tributary_spec(
               "tributary-a",
               {{"in.toml", source_toml(mp, "mqtt_in", "e2e-src-a", shared)},
                {"out.toml", sink_toml(mp, "mqtt_out", "e2e-sink-a", "out/a/{mqtt.topic}")}}));
    TRIB_START_PEER(
        b, tributary_spec(
               "tributary-b",
               {{"in.toml", source_toml(mp, "mqtt_in", "e2e-src-b", shared)},
                {"out.toml", sink_toml(mp, "mqtt_out", "e2e-sink-b", "out/b/{mqtt.topic}")}}));
    constexpr std::size_t n = 20'000;
    constexpr int devices = 4;
    publisher pub(mp, n, devices);
    EXPECT_TRUE(out.wait_distinct(n, 300s)) << "missing " << missing(out, n, devices) << "\n"
                                            << a->log() << b->log();
    std::size_t via_a = 0, via_b = 0;
    for (const auto& [topic, payload] : out.messages())
        (topic.starts_with("out/a/") ? via_a : via_b)++;
    EXPECT_GT(via_a, 0u);
    EXPECT_GT(via_b, 0u);
    EXPECT_EQ(via_a + via_b, n) << "each message through exactly one runtime";
    EXPECT_EQ(missing(out, n, devices), 0u);
    std::printf("[ info ] shared subscription: %zu via runtime a, %zu via runtime b\n", via_a,
                via_b);
}

TEST(mqtt_e2e, wrong_credentials_are_a_clear_error_in_the_runtime_log) {
    REQUIRE_TRIBUTARY();
    TRIB_START_PEER(broker, mosquitto_spec({.users = {{"fleet", "secret"}}}));
    const std::string bad = "username = \"fleet\"\npassword = \"guess\"\n";
    auto spec = tributary_spec(
        "tributary", {{"in.toml", source_toml(broker->port(2), "mqtt_in", "e2e-src", bad)}});
    TRIB_START_PEER(rt, spec);
    EXPECT_TRUE(wait_until(
        [&] {
            const auto log = rt->log();
            return log.find("refused the connection") != std::string::npos &&
                   (log.find("Not authorized") != std::string::npos ||
                    log.find("Bad User Name or Password") != std::string::npos);
        },
        60s))
        << rt->log();
}

}  // namespace
}  // namespace trib::test
