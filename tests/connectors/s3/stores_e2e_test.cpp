// The gcs, azure_blob and hdfs sinks and their sources through `tributary run` against a
// `tributary serve` Iggy server and the store's peer (fake-gcs-server, Azurite, Hadoop's
// MiniDFSCluster), the runtime killed with SIGKILL a few times while it works:
// - sink: two topics of two partitions, every message in exactly one object, no two objects
//   overlapping;
// - source: objects of several batches each, every line in the topic (at least once).
// TRIB_STORES_E2E_MESSAGES (per topic for the sink, in all for the source; default 6000) and
// TRIB_STORES_E2E_KILLS (default 2) scale it.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "connectors/s3/path.h"
#include "e2e_support.h"
#include "harness/kill_rounds.h"
#include "harness/peer.h"
#include "iggy/client.h"
#include "iggy/consumer.h"
#include "runtime/iggy_port.h"
#include "store_peers.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using connectors::s3_detail::object_store;

/// One store under test: its peer, how to prepare it, its [plugin_config] lines, a store to
/// check what was written.
struct store_case {
    std::string name;  // gcs, azure_blob, hdfs
    std::function<peer_spec()> spec;
    std::function<status(const peer&, const std::string&)> make_bucket;
    std::function<std::string(const peer&, const std::string&)> plugin_config;
    std::function<connectors::s3_detail::s3_settings(const peer&, const std::string&)> settings;
};

void PrintTo(const store_case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<store_case> cases() {
    return {
        {"gcs", fake_gcs_spec, gcs_make_bucket,
         [](const peer& p, const std::string& b) {
             return fmt::format("bucket = \"{}\"\nendpoint = \"{}\"\n", b, peer_url(p));
         },
         gcs_settings},
        {"azure_blob", azurite_spec, azurite_make_container,
         [](const peer& p, const std::string& b) {
             return fmt::format(
                 "container = \"{}\"\nendpoint = \"{}\"\naccount_name = \"{}\"\n"
                 "account_key = \"${{env:TRIB_TEST_AZURE_KEY}}\"\n",
                 b, azurite_endpoint(p), azurite_account);
         },
         azurite_settings},
        {"hdfs", [] { return hdfs_cluster_spec(); },
         [](const peer& p, const std::string& b) { return webhdfs_mkdirs(p, "/" + b); },
         [](const peer& p, const std::string& b) {
             return fmt::format("endpoint = \"{}\"\ndirectory = \"/{}\"\nuser = \"iggy\"\n",
                                peer_url(p), b);
         },
         [](const peer& p, const std::string& b) { return webhdfs_settings(p, "/" + b); }},
    };
}

peer_spec run_spec(std::uint16_t iggy_port, std::string connector_file, std::string file_body) {
    auto s = tributary_run_spec(iggy_port, std::move(connector_file), std::move(file_body));
    s.env = {{"TRIB_TEST_AZURE_KEY", azurite_key}};
    return s;
}

/// The sum of the offset ranges in the object names (a listing, no reads).
std::uint64_t stored_count(object_store& store) {
    std::uint64_t sum = 0;
    std::string token;
    for (int pages = 0; pages < 10000; ++pages) {
        auto page = store.list("iggy/", {}, token, 1000);
        if (!page)
            return sum;
        for (const auto& o : page->objects) {
            auto name = std::string_view(o.key).substr(o.key.rfind('/') + 1);
            name = name.substr(name.find('_') + 1);
            const auto first = std::strtoull(std::string(name).c_str(), nullptr, 10);
            std::uint64_t last = 0;
            if (connectors::s3_detail::parse_object_last_offset(name, first, last))
                sum += last - first + 1;
        }
        if (!page->truncated || page->next_token.empty())
            return sum;
        token = page->next_token;
    }
    return sum;
}

/// Kill points in [2 %, 92 %) of the run, from TRIB_STORES_E2E_SEED or a random seed.
std::vector<std::uint64_t> points_for(std::uint64_t total, std::uint64_t kills) {
    return kill_points(env_or("TRIB_STORES_E2E_SEED", std::random_device{}()), kills, total / 50,
                       total / 50 + total * 90 / 100);
}

class stores_e2e : public ::testing::TestWithParam<store_case> {};

TEST_P(stores_e2e, sink_writes_each_message_into_exactly_one_object_across_kill9) {
    const auto& sc = GetParam();
    const std::uint64_t n = env_or("TRIB_STORES_E2E_MESSAGES", 6000);
    const std::uint64_t kills = env_or("TRIB_STORES_E2E_KILLS", 2);
    TRIB_START_PEER(store_peer, sc.spec());
    ASSERT_TRUE(sc.make_bucket(*store_peer, "lake"));
    auto store = connectors::s3_detail::make_store(sc.settings(*store_peer, "lake"));
    ASSERT_TRUE(store);
    TRIB_START_PEER(server, serve_spec());
    for (const char* topic : {"api_requests", "errors"})
        produce(server->port(), topic, n);
    // The shape of Iggy's s3_sink example file, over this store.
    const auto file = fmt::format(R"(type = "sink"
key = "{0}"
enabled = true
version = 0
name = "{0} sink"
plugin = "{0}"

[[streams]]
stream = "application_logs"
topics = ["api_requests", "errors"]
schema = "json"
batch_length = 1000
poll_interval = "100ms"
consumer_group = "{0}_sink"

[plugin_config]
{1}prefix = "iggy/raw"
path_template = "{{stream}}/{{topic}}/{{date}}/{{hour}}"
file_rotation = "size"
max_file_size = "8MiB"
output_format = "json_lines"
include_metadata = true
max_retries = 3
retry_delay = "200ms"
)",
                                  sc.name, sc.plugin_config(*store_peer, "lake"));
    TRIB_START_PEER(rt, run_spec(server->port(), sc.name + "_sink.toml", file));
    const std::uint64_t total = 2 * n;
    std::uint64_t kills_done = 0;
    ASSERT_TRUE(kill_rounds(*rt,
                            {.points = points_for(total, kills),
                             .progress = [&] { return stored_count(**store); },
                             .total = total,
                             .what = "messages stored"},
                            &kills_done));
    ASSERT_TRUE(wait_until([&] { return stored_count(**store) >= total || !rt->alive(); }, 300s))
        << rt->log();
    ASSERT_TRUE(rt->stop());
    auto all = read_all(**store, "iggy/");
    ASSERT_TRUE(all) << all.error().to_string();
    std::map<std::tuple<std::string, std::uint32_t, std::uint64_t>, int> by_offset;
    std::map<std::pair<std::string, std::uint64_t>, int> by_n;
    std::map<std::pair<std::string, std::uint32_t>,
             std::vector<std::pair<std::uint64_t, std::uint64_t>>>
        ranges;
    std::size_t bad = 0;
    for (const auto& o : *all) {
        std::string_view body = o.body;
        std::string topic;
        std::uint32_t partition = 0;
        std::uint64_t lo = UINT64_MAX, hi = 0;
        while (!body.empty()) {
            const auto nl = body.find('\n');
            auto line = body.substr(0, nl);
            body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
            rapidjson::Document d;
            d.Parse(line.data(), line.size());
            if (d.HasParseError() || !d.IsObject() || !d.HasMember("payload")) {
                ++bad;
                continue;
            }
            topic = d["topic"].GetString();
            partition = d["partition_id"].GetUint();
            const auto off = d["offset"].GetUint64();
            lo = std::min(lo, off);
            hi = std::max(hi, off);
            ++by_offset[{topic, partition, off}];
            ++by_n[{topic, d["payload"]["n"].GetUint64()}];
        }
        if (!topic.empty())
            ranges[{topic, partition}].emplace_back(lo, hi);
    }
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(by_offset.size(), total);
    for (const auto& [k, c] : by_offset)
        EXPECT_EQ(c, 1) << std::get<0>(k) << "/" << std::get<1>(k) << " offset " << std::get<2>(k);
    for (const char* topic : {"api_requests", "errors"}) {
        for (std::uint64_t i = 0; i < n; ++i) {
            auto it = by_n.find({topic, i});
            ASSERT_TRUE(it != by_n.end()) << topic << " message " << i << " is missing";
            ASSERT_EQ(it->second, 1) << topic << " message " << i;
        }
    }
    for (auto [k, r] : ranges) {
        std::sort(r.begin(), r.end());
        for (std::size_t i = 1; i < r.size(); ++i)
            EXPECT_GT(r[i].first, r[i - 1].second) << k.first << "/" << k.second;
    }
    const auto log = rt->log();
    std::size_t walked = 0;
    for (auto at = log.find("are in an object already"); at != std::string::npos;
         at = log.find("are in an object already", at + 1))
        ++walked;
    std::fprintf(stderr,
                 "%s sink e2e: %zu messages in %zu objects, each once; %llu kills, %zu objects "
                 "found by the replay walk\n",
                 sc.name.c_str(), by_offset.size(), all->size(),
                 static_cast<unsigned long long>(kills_done), walked);
}

TEST_P(stores_e2e, source_reads_every_line_into_the_topic_across_kill9) {
    const auto& sc = GetParam();
    const std::uint64_t total = env_or("TRIB_STORES_E2E_MESSAGES", 6000);
    const std::uint64_t kills = env_or("TRIB_STORES_E2E_KILLS", 2);
    const std::uint64_t per_object = 2500;  // several batches of 1000 per object
    TRIB_START_PEER(store_peer, sc.spec());
    ASSERT_TRUE(sc.make_bucket(*store_peer, "events"));
    {
        auto store = connectors::s3_detail::make_store(sc.settings(*store_peer, "events"));
        ASSERT_TRUE(store);
        for (std::uint64_t first = 0; first < total; first += per_object) {
            std::string body;
            for (std::uint64_t i = first; i < std::min(total, first + per_object); ++i)
                body += "{\"n\":" + std::to_string(i) + "}\n";
            ASSERT_TRUE((*store)->put_if_absent(fmt::format("logs/{:08}.jsonl", first), body, {}));
        }
    }
    TRIB_START_PEER(server, serve_spec());
    const auto port = server->port();
    const auto file = fmt::format(R"(type = "source"
key = "{0}_source"
enabled = true
version = 0
name = "{0} source"
plugin = "{0}_source"

[[streams]]
stream = "test_stream"
topic = "test_topic"
schema = "raw"
batch_length = 1000
linger_time = "5ms"

[plugin_config]
{1}prefix = "logs/"
poll_interval = "1s"
max_batch_messages = 1000
)",
                                  sc.name, sc.plugin_config(*store_peer, "events"));
    TRIB_START_PEER(rt, run_spec(port, sc.name + "_source.toml", file));
    auto admin = iggy::client::connect(client_for(port));
    ASSERT_TRUE(admin);
    auto in_topic = [&]() -> std::uint64_t {
        auto t = (*admin)->get_topic(iggy::identifier::named("test_stream"),
                                     iggy::identifier::named("test_topic"));
        if (!t || !t->has_value())
            return 0;
        return (*t)->topic.messages_count;
    };
    std::uint64_t kills_done = 0;
    ASSERT_TRUE(kill_rounds(*rt,
                            {.points = points_for(total, kills),
                             .progress = in_topic,
                             .total = total,
                             .what = "messages in the topic"},
                            &kills_done));
    topic_census census;
    ASSERT_TRUE(read_topic_census(
        client_for(port), total, [&] { return rt->alive(); }, census))
        << rt->log();
    ASSERT_TRUE(rt->stop());
    EXPECT_EQ(census.bad, 0u);
    EXPECT_EQ(census.distinct, total);
    std::fprintf(stderr, "%s source e2e: %llu lines, %llu duplicates after %llu kills\n",
                 sc.name.c_str(), static_cast<unsigned long long>(census.lines),
                 static_cast<unsigned long long>(census.lines - census.distinct),
                 static_cast<unsigned long long>(kills_done));
}

INSTANTIATE_TEST_SUITE_P(stores, stores_e2e, ::testing::ValuesIn(cases()),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace trib::test
