// The RabbitMQ connectors through `tributary run` with the embedded Iggy server, against a real
// RabbitMQ: queue -> source -> Iggy -> sink -> queue, with kill -9 of the runtime several times
// during the run (nothing missing; duplicates only from AMQP redeliveries, counted and printed);
// a bad option exits 2 naming file and key.
//
// Sizes: TRIB_RABBITMQ_E2E_MESSAGES (default 5,000) and TRIB_RABBITMQ_E2E_KILLS (default 3); the
// issue's full run is TRIB_RABBITMQ_E2E_MESSAGES=100000 TRIB_RABBITMQ_E2E_KILLS=5.

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "harness/kill_rounds.h"
#include "harness/runtime_peer.h"
#include "rabbitmq_fixture.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::size_t env_size(const char* name, std::size_t dflt) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return dflt;
    return static_cast<std::size_t>(std::strtoull(v, nullptr, 10));
}

// Consumes a queue with automatic acks on its own connection and thread, recording the bodies.
class collector {
  public:
    collector(std::uint16_t port, const std::string& queue) {
        c_ = amqp_new_connection();
        auto* sock = amqp_tcp_socket_new(c_);
        timeval tv{10, 0};
        ok_ = amqp_socket_open_noblock(sock, "127.0.0.1", port, &tv) == AMQP_STATUS_OK &&
              amqp_login(c_, "/", 0, AMQP_DEFAULT_FRAME_SIZE, 0, AMQP_SASL_METHOD_PLAIN, "guest",
                         "guest")
                      .reply_type == AMQP_RESPONSE_NORMAL;
        if (ok_) {
            amqp_channel_open(c_, 1);
            amqp_basic_consume(c_, 1, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, 1, 0,
                               amqp_empty_table);
            ok_ = amqp_get_rpc_reply(c_).reply_type == AMQP_RESPONSE_NORMAL;
        }
        thread_ = std::thread([this] { loop(); });
    }
    ~collector() {
        stop_ = true;
        thread_.join();
        amqp_destroy_connection(c_);
    }
    bool ok() const { return ok_; }
    std::size_t count() const {
        std::lock_guard lk(mu_);
        return count_;
    }
    std::size_t distinct() const {
        std::lock_guard lk(mu_);
        return seen_.size();
    }
    std::set<std::string> seen() const {
        std::lock_guard lk(mu_);
        return seen_;
    }

  private:
    void loop() {
        while (ok_ && !stop_) {
            amqp_envelope_t env{};
            timeval tv{0, 50'000};
            amqp_maybe_release_buffers(c_);
            auto r = amqp_consume_message(c_, &env, &tv, 0);
            if (r.reply_type != AMQP_RESPONSE_NORMAL)
                continue;
            {
                std::lock_guard lk(mu_);
                ++count_;
                seen_.insert(
                    std::string(static_cast<char*>(env.message.body.bytes), env.message.body.len));
            }
            amqp_destroy_envelope(&env);
        }
    }

    amqp_connection_state_t c_ = nullptr;
    bool ok_ = false;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::size_t count_ = 0;
    std::set<std::string> seen_;
};

std::string source_toml(const std::string& url) {
    return "type = \"source\"\nkey = \"rmq_in\"\nenabled = true\nversion = 0\nname = \"rmq in\"\n"
           "plugin = \"rabbitmq\"\n\n[[streams]]\nstream = \"e2e\"\ntopic = \"from_rabbit\"\n"
           "schema = \"raw\"\nbatch_length = 500\nlinger_time = \"5ms\"\n\n[plugin_config]\n"
           "amqp_url = \"" +
           url + "\"\nqueue = \"e2e_in\"\nprefetch_count = 500\n";
}

std::string sink_toml(const std::string& url, const std::string& extra = "") {
    return "type = \"sink\"\nkey = \"rmq_out\"\nenabled = true\nversion = 0\nname = \"rmq out\"\n"
           "plugin = \"rabbitmq\"\n\n[[streams]]\nstream = \"e2e\"\ntopics = [\"from_rabbit\"]\n"
           "schema = \"raw\"\nbatch_length = 500\npoll_interval = \"5ms\"\n"
           "consumer_group = \"rmq_out\"\n\n[plugin_config]\namqp_url = \"" +
           url + "\"\nexchange = \"\"\nrouting_key = \"e2e_out\"\nretry_delay_secs = 0\n" + extra;
}

bool binary_present() {
    return fs::exists(tributary_binary());
}

#define REQUIRE_TRIBUTARY_AND_BROKER(broker)                                              \
    do {                                                                                  \
        if (!binary_present()) {                                                          \
            if (in_ci())                                                                  \
                FAIL() << "tributary binary missing: " << tributary_binary();             \
            GTEST_SKIP() << "tributary binary missing: " << tributary_binary();           \
        }                                                                                 \
        auto b_ = rabbitmq_broker::start();                                               \
        if (!b_) {                                                                        \
            if (in_ci())                                                                  \
                FAIL() << "RabbitMQ could not start (CI=true): " << b_.error().message(); \
            GTEST_SKIP() << "RabbitMQ not available: " << b_.error().message();           \
        }                                                                                 \
        broker = std::move(*b_);                                                          \
    } while (0)

TEST(rabbitmq_e2e, kill_9_of_the_runtime_several_times_loses_nothing_both_ways) {
    std::unique_ptr<rabbitmq_broker> broker;
    REQUIRE_TRIBUTARY_AND_BROKER(broker);
    const std::size_t n = env_size("TRIB_RABBITMQ_E2E_MESSAGES", 5'000);
    const std::size_t kills = env_size("TRIB_RABBITMQ_E2E_KILLS", 3);
    {
        auto c = amqp_client::connect(broker->port());
        ASSERT_TRUE(c) << c.error().message();
        ASSERT_TRUE((*c)->declare_queue("e2e_in", "quorum"));
        ASSERT_TRUE((*c)->declare_queue("e2e_out", "quorum"));
        std::vector<std::string> bodies;
        for (std::size_t i = 0; i < n; ++i) {
            bodies.push_back("m" + std::to_string(i));
            if (bodies.size() == 5'000 || i + 1 == n) {
                ASSERT_TRUE((*c)->publish_many("", "e2e_in", bodies, true));
                bodies.clear();
            }
        }
    }
    collector out(broker->port(), "e2e_out");
    ASSERT_TRUE(out.ok());
    TRIB_START_PEER(rt, tributary_run_spec("tributary", {{"in.toml", source_toml(broker->url())},
                                                         {"out.toml", sink_toml(broker->url())}}));
    kill_rounds_options o;
    o.points = kill_points(20261207, kills, n / 10, n * 9 / 10);
    o.progress = [&] { return static_cast<std::uint64_t>(out.distinct()); };
    o.total = n;
    o.what = "messages in the output queue";
    std::uint64_t done = 0;
    ASSERT_TRUE(kill_rounds(*rt, o, &done));
    EXPECT_TRUE(wait_until([&] { return out.distinct() >= n; }, 600s))
        << "got " << out.distinct() << " of " << n << "\n"
        << rt->log().substr(0, 4000);
    const auto seen = out.seen();
    std::size_t missing = 0;
    for (std::size_t i = 0; i < n; ++i)
        missing += seen.contains("m" + std::to_string(i)) ? 0 : 1;
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(seen.size(), n) << "unexpected bodies in the output";
    std::printf(
        "[ info ] %zu messages RabbitMQ -> Iggy -> RabbitMQ with %llu kill -9 round(s): "
        "%zu missing, %zu delivered, %zu duplicate(s) (AMQP redeliveries of unacked "
        "messages and republished unconfirmed batches)\n",
        n, static_cast<unsigned long long>(done), missing, out.count(), out.count() - seen.size());
}

TEST(rabbitmq_e2e, a_bad_option_exits_2_naming_file_and_key) {
    if (!binary_present()) {
        if (in_ci())
            FAIL() << "tributary binary missing: " << tributary_binary();
        GTEST_SKIP() << "tributary binary missing";
    }
    temp_dir dir("trib-rmq-badcfg");
    auto r = tributary_run_once(dir.path(),
                                {{"out.toml", sink_toml("amqp://guest:Sup3rSecret@127.0.0.1:1/",
                                                        "delivery_mode = \"sometimes\"\n")}});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("out.toml"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("delivery_mode"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("Sup3rSecret"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace trib::test
