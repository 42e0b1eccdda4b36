// The Kafka sink through `tributary run` (a child process) against `tributary serve` and a real
// Kafka broker: messages already in an Iggy topic go to Kafka while the runtime is killed with
// SIGKILL several times (TRIB_KAFKA_SINK_KILLS, default 3; 10 by hand) and restarted. Nothing may
// be missing. Replays after a kill are counted: without transactions a batch the broker took
// but whose Iggy offset was not yet committed is written again (at-least-once); with
// `transactional_id` the sink keeps its offsets in the transaction and adds none.
// Message count: TRIB_KAFKA_SINK_E2E_COUNT (default 20,000).
// The broker outage test stops the broker for TRIB_KAFKA_OUTAGE_SECONDS (default 5; 30 by hand)
// while a backlog of 4 KiB messages waits in Iggy: the runtime must stay up, its resident memory
// must not grow with the backlog, and afterwards every message is in Kafka exactly once.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "harness/kill_rounds.h"
#include "harness/peer.h"
#include "kafka_fixture.h"
#include "runtime/iggy_port.h"
#include "sink_reader.h"

namespace trib::runtime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace tk = trib::test::kafka;
using test::wait_until;

/// The broker of these tests keeps records whatever their timestamps: the records carry
/// timestamps from years ago (fixed, so that they can be compared), and the default time
/// retention (7 days, checked every 5 minutes) would delete them in the middle of a long run.
test::kafka_options keep_everything() {
    test::kafka_options o;
    o.extra = {"log.retention.ms=-1"};
    return o;
}

std::size_t env_count(const char* name, std::size_t def) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return def;
    return static_cast<std::size_t>(std::strtoull(v, nullptr, 10));
}

fs::path tributary_binary() {
    const char* b = std::getenv("TRIB_BINARY_DIR");
    if (b != nullptr)
        return fs::path(b) / "src" / "app" / "tributary";
    return fs::read_symlink("/proc/self/exe").parent_path() / "../../../src/app/tributary";
}

test::peer_spec serve_spec() {
    test::peer_spec s;
    s.name = "tributary-serve";
    s.program = tributary_binary().string();
    s.args = {"serve",     "--data-dir",       "{dir}/data",
              "--address", "127.0.0.1:{port}", "--with-default-root-credentials"};
    return s;
}

test::peer_spec run_spec(std::string runtime_toml, std::string sink_toml) {
    test::peer_spec s;
    s.name = "tributary-run";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/runtime.toml"};
    s.prepare = [runtime_toml, sink_toml](const test::peer& p) {
        auto fill = [&](std::string t) {
            for (std::size_t at; (at = t.find("{dir}")) != std::string::npos;)
                t.replace(at, 5, p.dir().string());
            return t;
        };
        fs::create_directories(p.dir() / "connectors");
        std::ofstream(p.dir() / "runtime.toml") << fill(runtime_toml);
        std::ofstream(p.dir() / "connectors" / "kafka_sink.toml") << fill(sink_toml);
    };
    s.ready = [](const test::peer&) { return true; };
    s.attempts = 1;
    return s;
}

iggy::client_options client_for(std::uint16_t port) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    return o;
}

std::string runtime_toml(std::uint16_t iggy_port) {
    return "[iggy]\naddress = \"127.0.0.1:" + std::to_string(iggy_port) +
           "\"\nusername = \"iggy\"\npassword = \"iggy\"\n"
           "[state]\npath = \"{dir}/state\"\n"
           "[connectors]\nconfig_type = \"local\"\nconfig_dir = \"{dir}/connectors\"\n"
           "[http]\nenabled = false\n[logging]\nlevel = \"warn\"\n";
}

/// n = 0..count-1: payload "payload-<n>", header kafka.key = "k<n>", header seq = n.
void produce_numbers(std::uint16_t port, std::size_t count) {
    auto iggy = iggy_client_port::connect(client_for(port));
    ASSERT_TRUE(iggy) << iggy.error().to_string();
    ASSERT_TRUE((*iggy)->ensure_topic("k9", "in", 1));
    auto p = (*iggy)->open_producer(producer_options{"k9", "in", 1000, 1ms});
    ASSERT_TRUE(p);
    for (std::size_t first = 0; first < count; first += 5000) {
        auto b = std::make_shared<message_batch>();
        for (std::size_t n = first; n < std::min(count, first + 5000); ++n) {
            message m;
            m.payload = b->own("payload-" + std::to_string(n));
            m.headers = {{"kafka.key", value_kind::string, "k" + std::to_string(n)},
                         {"seq", value_kind::string, std::to_string(n)}};
            b->messages.push_back(std::move(m));
        }
        ASSERT_TRUE((*p)->send_sync(b));
    }
    (*p)->close();
}

void kill_rounds(bool transactional) {
    const std::size_t count = env_count("TRIB_KAFKA_SINK_E2E_COUNT", 20000);
    const std::size_t kills = env_count("TRIB_KAFKA_SINK_KILLS", 3);
    TRIB_SHARED_KAFKA(broker, keep_everything());
    const std::string bs = test::kafka_bootstrap(*broker);
    TRIB_START_PEER(server, serve_spec());
    produce_numbers(server->port(), count);
    const std::string topic =
        std::string("k9-") + (transactional ? "txn-" : "plain-") + std::to_string(::getpid());
    ASSERT_TRUE(test::create_topic(bs, topic, 1));
    std::string sink =
        "type = \"sink\"\nkey = \"kafka_out\"\nenabled = true\nversion = 0\nname = \"k\"\n"
        "plugin = \"kafka\"\n[[streams]]\nstream = \"k9\"\ntopics = [\"in\"]\nschema = \"raw\"\n"
        "batch_length = 500\npoll_interval = \"2ms\"\n[plugin_config]\nbootstrap_servers = [\"" +
        bs + "\"]\ntopic = \"" + topic +
        "\"\nkey_from = \"header\"\nexclude_headers = [\"kafka.*\"]\n";
    if (transactional)
        sink += "transactional_id = \"" + topic + "-tx\"\n";
    TRIB_START_PEER(rt, run_spec(runtime_toml(server->port()), sink));

    auto records_in_kafka = [&]() -> std::int64_t {
        auto w = tk::watermark_total(bs, topic);
        return w ? *w : 0;
    };
    // Evenly spaced kill points.
    std::vector<std::uint64_t> points;
    for (std::size_t k = 1; k <= kills; ++k)
        points.push_back(count * k / (kills + 1));
    ASSERT_TRUE(test::kill_rounds(
        *rt, {.points = points,
              .progress = [&] { return static_cast<std::uint64_t>(records_in_kafka()); },
              .what = "records in Kafka"}));
    // Done when every n is there (read_committed: records of aborted transactions don't count).
    std::vector<tk::record> got;
    ASSERT_TRUE(wait_until(
        [&] {
            if (records_in_kafka() < static_cast<std::int64_t>(count))
                return !rt->alive();
            auto r = tk::read_all(bs, topic, true);
            if (!r)
                return false;
            std::set<std::string> distinct;
            for (auto& rec : *r)
                distinct.insert(rec.value);
            got = std::move(*r);
            return distinct.size() >= count || !rt->alive();
        },
        300s))
        << rt->log();
    ASSERT_TRUE(rt->alive()) << rt->log();
    ASSERT_TRUE(rt->stop());

    std::vector<std::uint32_t> seen(count, 0);
    std::size_t bad = 0;
    std::int64_t last = -1;
    std::size_t out_of_order = 0;
    for (const auto& rec : got) {
        const auto n = std::strtoll(rec.value.c_str() + 8, nullptr, 10);
        if (rec.value.rfind("payload-", 0) != 0 || n < 0 || static_cast<std::size_t>(n) >= count ||
            rec.key != "k" + std::to_string(n) || rec.headers.size() != 1 ||
            rec.headers[0] != std::pair<std::string, std::string>{"seq", std::to_string(n)}) {
            ++bad;
            continue;
        }
        // A replay starts again from an earlier offset; otherwise the order is Iggy's.
        if (n <= last && seen[static_cast<std::size_t>(n)] == 0)
            ++out_of_order;
        last = n;
        ++seen[static_cast<std::size_t>(n)];
    }
    std::size_t missing = 0, duplicates = 0;
    for (auto c : seen) {
        missing += c == 0;
        duplicates += c > 1 ? c - 1 : 0;
    }
    std::fprintf(stderr,
                 "iggy -> kafka sink (transactional=%d): %zu messages, %zu kills, %zu records "
                 "read, %zu missing, %zu duplicates\n",
                 transactional ? 1 : 0, count, kills, got.size(), missing, duplicates);
    ::testing::Test::RecordProperty("duplicates", std::to_string(duplicates));
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(out_of_order, 0u);
    if (transactional) {
        EXPECT_EQ(duplicates, 0u);
    } else {
        // At most the batches in flight at each kill (batch_length 500, a few in flight).
        EXPECT_LE(duplicates, kills * 5000);
    }
}

TEST(kafka_sink_e2e, broker_outage_the_sink_waits_with_bounded_memory_and_loses_nothing) {
    const std::size_t count = env_count("TRIB_KAFKA_OUTAGE_COUNT", 20000);
    const auto outage = std::chrono::seconds(env_count("TRIB_KAFKA_OUTAGE_SECONDS", 5));
    const std::size_t payload_size = 4096;
    TRIB_SHARED_KAFKA(broker, keep_everything());
    const std::string bs = test::kafka_bootstrap(*broker);
    TRIB_START_PEER(server, serve_spec());
    {
        auto iggy = iggy_client_port::connect(client_for(server->port()));
        ASSERT_TRUE(iggy) << iggy.error().to_string();
        ASSERT_TRUE((*iggy)->ensure_topic("outage", "in", 1));
        auto p = (*iggy)->open_producer(producer_options{"outage", "in", 1000, 1ms});
        ASSERT_TRUE(p);
        for (std::size_t first = 0; first < count; first += 2000) {
            auto b = std::make_shared<message_batch>();
            for (std::size_t n = first; n < std::min(count, first + 2000); ++n) {
                std::string v = "payload-" + std::to_string(n) + "|";
                v.resize(payload_size, static_cast<char>('a' + n % 26));
                message m;
                m.payload = b->own(v);
                b->messages.push_back(std::move(m));
            }
            ASSERT_TRUE((*p)->send_sync(b));
        }
        (*p)->close();
    }
    const std::string topic = "outage-" + std::to_string(::getpid());
    ASSERT_TRUE(test::create_topic(bs, topic, 1));
    const std::string sink =
        "type = \"sink\"\nkey = \"kafka_out\"\nenabled = true\nversion = 0\nname = \"k\"\n"
        "plugin = \"kafka\"\n[[streams]]\nstream = \"outage\"\ntopics = [\"in\"]\n"
        "schema = \"raw\"\nbatch_length = 500\npoll_interval = \"2ms\"\n[plugin_config]\n"
        "bootstrap_servers = [\"" +
        bs + "\"]\ntopic = \"" + topic + "\"\nkey_from = \"offset\"\n";
    auto spec = run_spec(runtime_toml(server->port()), sink);
    // A small ASan quarantine, so that freed memory held back by the sanitizer does not look
    // like a backlog kept in memory (no effect on a build without ASan).
    const char* asan = std::getenv("ASAN_OPTIONS");
    spec.env.emplace_back("ASAN_OPTIONS", std::string(asan != nullptr ? asan : "") +
                                              (asan != nullptr && *asan ? ":" : "") +
                                              "quarantine_size_mb=16");
    TRIB_START_PEER(rt, spec);

    auto records_in_kafka = [&]() -> std::int64_t {
        auto w = tk::watermark_total(bs, topic);
        return w ? *w : 0;
    };
    ASSERT_TRUE(wait_until(
        [&] { return records_in_kafka() >= static_cast<std::int64_t>(count / 4) || !rt->alive(); },
        300s))
        << rt->log();
    ASSERT_TRUE(rt->alive()) << rt->log();
    ASSERT_TRUE(broker->stop());
    const std::uint64_t rss_at_stop = test::proc_status_kib(rt->pid(), "VmRSS");
    std::uint64_t peak = rss_at_stop;
    // The outage itself is the condition under test: sample the runtime's memory until it ends
    // (the wait returns false at its deadline unless the runtime died).
    const bool died = wait_until(
        [&] {
            peak = std::max(peak, test::proc_status_kib(rt->pid(), "VmRSS"));
            return !rt->alive();
        },
        std::chrono::duration_cast<std::chrono::milliseconds>(outage));
    ASSERT_FALSE(died) << "the runtime exited during the broker outage:\n" << rt->log();
    auto restarted = broker->restart();
    ASSERT_TRUE(restarted) << restarted.error().message();

    std::vector<tk::record> got;
    ASSERT_TRUE(wait_until(
        [&] {
            if (records_in_kafka() < static_cast<std::int64_t>(count))
                return !rt->alive();
            auto r = tk::read_all(bs, topic);
            if (!r)
                return false;
            got = std::move(*r);
            return true;
        },
        300s))
        << rt->log();
    ASSERT_TRUE(rt->alive()) << rt->log();
    ASSERT_TRUE(rt->stop());

    std::vector<std::uint32_t> seen(count, 0);
    std::size_t bad = 0;
    for (const auto& rec : got) {
        const auto n = std::strtoll(rec.value.c_str() + 8, nullptr, 10);
        if (rec.value.size() != payload_size || rec.value.rfind("payload-", 0) != 0 || n < 0 ||
            static_cast<std::size_t>(n) >= count) {
            ++bad;
            continue;
        }
        ++seen[static_cast<std::size_t>(n)];
    }
    std::size_t missing = 0, duplicates = 0;
    for (auto c : seen) {
        missing += c == 0;
        duplicates += c > 1 ? c - 1 : 0;
    }
    const double backlog_mib = static_cast<double>(count) * 3 / 4 * payload_size / 1048576.0;
    const double growth_mib = (static_cast<double>(peak) - static_cast<double>(rss_at_stop)) / 1024;
    std::fprintf(stderr,
                 "broker outage of %llds: backlog %.0f MiB in Iggy, runtime RSS %.1f MiB at the "
                 "stop, peak %.1f MiB during the outage (growth %.1f MiB); %zu records read, %zu "
                 "missing, %zu duplicates\n",
                 static_cast<long long>(outage.count()), backlog_mib, rss_at_stop / 1024.0,
                 peak / 1024.0, growth_mib, got.size(), missing, duplicates);
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(missing, 0u);
    // The idempotent producer retries inside its session: a broker restart adds no duplicates.
    EXPECT_EQ(duplicates, 0u);
    // Bounded: the runtime holds a few batches (500 x 4 KiB each), not the backlog.
    EXPECT_LT(growth_mib, backlog_mib / 2) << "the runtime's memory grew with the backlog";
}

TEST(kafka_sink_e2e, kill9_rounds_lose_nothing) {
    kill_rounds(false);
}

TEST(kafka_sink_e2e, kill9_rounds_with_transactions_lose_nothing_and_duplicate_nothing) {
    kill_rounds(true);
}

}  // namespace
}  // namespace trib::runtime
