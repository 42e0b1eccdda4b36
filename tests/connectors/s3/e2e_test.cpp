// The S3 sink through `tributary run` against a `tributary serve` Iggy server and MinIO, with
// Iggy's own example connector file (core/connectors/sinks/s3_sink/config.toml, only endpoint and
// keys added), killed with SIGKILL several times while it writes: every message must end up in
// exactly one object and no two objects may overlap.
// TRIB_S3_E2E_MESSAGES (per topic, default 20000) and TRIB_S3_E2E_KILLS (default 3) scale it; the
// README reports a run with 200,000 messages and 10 kills. The same run with output_format =
// "parquet" and "avro" (the files read back with codecs/parquet.h and the avro codec): per topic
// TRIB_S3_E2E_COLUMNAR_MESSAGES (default 5000), TRIB_S3_E2E_COLUMNAR_KILLS (default 2).

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "codecs/parquet.h"
#include "connectors/s3/format.h"
#include "connectors/s3/path.h"
#include "connectors/s3/s3_store.h"
#include "e2e_support.h"
#include "harness/kill_rounds.h"
#include "harness/peer.h"
#include "iggy/client.h"
#include "iggy/consumer.h"
#include "minio_fixture.h"
#include "runtime/iggy_port.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Iggy's s3_sink config.toml as it is, the MinIO endpoint and keys added to [plugin_config].
std::string iggy_example(const std::string& endpoint, const std::string& format) {
    return R"(type = "sink"
key = "s3"
enabled = true
version = 0
name = "S3 sink"
path = "target/release/libiggy_connector_s3_sink"
verbose = false

[[streams]]
stream = "application_logs"
topics = ["api_requests", "errors"]
schema = "json"
batch_length = 1000
poll_interval = "100ms"
consumer_group = "s3_sink"

[plugin_config]
bucket = "my-data-lake"
prefix = "iggy/raw"
region = "us-east-1"
endpoint = ")" +
           endpoint +
           R"("
access_key_id = ")" +
           minio_user +
           R"("
secret_access_key = ")" +
           minio_password +
           R"("
path_template = "{stream}/{topic}/{date}/{hour}"
file_rotation = "size"
max_file_size = "8MiB"
# max_messages_per_file = 10000            # used when file_rotation = "messages"
output_format = ")" +
           format + R"("
include_metadata = true
include_headers = true
max_attempts = 3
retry_delay = "1s"
# path_style = true                        # auto-enabled when endpoint is set (for MinIO)
)";
}

peer_spec run_spec(std::uint16_t iggy_port, const std::string& endpoint,
                   const std::string& format = "json_lines") {
    return tributary_run_spec(iggy_port, "s3_sink.toml", iggy_example(endpoint, format));
}

/// What the bucket holds: per (topic, partition, offset) how many lines, per (topic, n) how
/// many lines, and the objects' offset ranges per (topic, partition).
struct bucket_view {
    std::map<std::tuple<std::string, std::uint32_t, std::uint64_t>, int> by_offset;
    std::map<std::pair<std::string, std::uint64_t>, int> by_n;
    std::map<std::pair<std::string, std::uint32_t>,
             std::vector<std::pair<std::uint64_t, std::uint64_t>>>
        ranges;
    std::size_t objects = 0;
    std::size_t bad = 0;
};

bucket_view read_bucket(const peer& minio) {
    bucket_view v;
    auto all = minio_read_all(minio, "my-data-lake", "iggy/raw/");
    if (!all) {
        ++v.bad;
        return v;
    }
    for (const auto& o : *all) {
        ++v.objects;
        std::string topic;
        std::uint32_t partition = 0;
        std::uint64_t lo = UINT64_MAX, hi = 0;
        // JSON lines: {"offset", "topic", "partition_id", "payload": {"n"}}; Parquet and Avro
        // rows: {"iggy_offset", "iggy_topic", "iggy_partition_id", "n"}.
        std::vector<std::string> rows;
        if (o.key.ends_with(".parquet")) {
            const std::string& body = o.body;
            auto rd = codecs::parquet::file_reader::open(
                body.size(), [&](std::uint64_t off, std::uint64_t len) -> result<std::string> {
                    return body.substr(off, len);
                });
            if (!rd) {
                ++v.bad;
                continue;
            }
            for (int g = 0; g < (*rd)->num_row_groups(); ++g) {
                std::vector<std::string> part;
                if (!(*rd)->read_row_group_json(g, part))
                    ++v.bad;
                rows.insert(rows.end(), part.begin(), part.end());
            }
        } else if (o.key.ends_with(".avro")) {
            auto r = connectors::s3_detail::avro_container_rows_json(o.body);
            if (!r) {
                ++v.bad;
                continue;
            }
            rows = std::move(*r);
        } else {
            std::string_view body = o.body;
            while (!body.empty()) {
                const auto nl = body.find('\n');
                rows.emplace_back(body.substr(0, nl));
                body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
            }
        }
        for (const auto& line : rows) {
            rapidjson::Document d;
            d.Parse(line.data(), line.size());
            if (d.HasParseError() || !d.IsObject()) {
                ++v.bad;
                continue;
            }
            const bool columnar = d.HasMember("iggy_offset");
            if (!columnar && !d.HasMember("payload")) {
                ++v.bad;
                continue;
            }
            topic = d[columnar ? "iggy_topic" : "topic"].GetString();
            partition = d[columnar ? "iggy_partition_id" : "partition_id"].GetUint();
            const auto off = d[columnar ? "iggy_offset" : "offset"].GetUint64();
            lo = std::min(lo, off);
            hi = std::max(hi, off);
            ++v.by_offset[{topic, partition, off}];
            ++v.by_n[{topic, (columnar ? d["n"] : d["payload"]["n"]).GetUint64()}];
        }
        if (!topic.empty())
            v.ranges[{topic, partition}].emplace_back(lo, hi);
    }
    return v;
}

/// Progress from the object names alone (a listing, no reads): the sum of their offset ranges.
std::uint64_t stored_count(const peer& minio) {
    connectors::s3_detail::s3_settings st;
    st.bucket = "my-data-lake";
    st.endpoint = minio_endpoint(minio);
    st.path_style = true;
    st.credentials = {minio_user, minio_password, "", "test"};
    st.retries = 0;
    auto store = connectors::s3_detail::make_s3_store(st);
    std::uint64_t sum = 0;
    std::string token;
    for (;;) {
        auto page = store->list("iggy/raw/", {}, token, 1000);
        if (!page)
            return sum;
        for (const auto& o : page->objects) {
            auto name = std::string_view(o.key).substr(o.key.rfind('/') + 1);
            name = name.substr(name.find('_') + 1);
            const auto first = std::strtoull(name.data(), nullptr, 10);
            std::uint64_t last = 0;
            if (connectors::s3_detail::parse_object_last_offset(name, first, last))
                sum += last - first + 1;
        }
        if (!page->truncated || page->next_token.empty())
            return sum;
        token = page->next_token;
    }
}

/// Every message of both topics exactly once, no offset twice, no overlapping objects.
void expect_exactly_once(const peer& minio, std::uint64_t per_topic) {
    const auto v = read_bucket(minio);
    EXPECT_EQ(v.bad, 0u);
    EXPECT_EQ(v.by_offset.size(), 2 * per_topic);
    std::size_t dup_offsets = 0;
    for (const auto& [k, c] : v.by_offset)
        dup_offsets += c > 1 ? 1 : 0;
    EXPECT_EQ(dup_offsets, 0u) << "offsets in more than one object";
    for (const char* topic : {"api_requests", "errors"}) {
        for (std::uint64_t i = 0; i < per_topic; ++i) {
            auto it = v.by_n.find({topic, i});
            ASSERT_TRUE(it != v.by_n.end()) << topic << " message " << i << " is missing";
            ASSERT_EQ(it->second, 1) << topic << " message " << i;
        }
    }
    for (auto [k, r] : v.ranges) {
        std::sort(r.begin(), r.end());
        for (std::size_t i = 1; i < r.size(); ++i)
            EXPECT_GT(r[i].first, r[i - 1].second)
                << k.first << "/" << k.second << ": objects overlap at " << r[i].first;
    }
    std::fprintf(stderr, "s3 e2e: %zu messages in %zu objects, each once\n", v.by_offset.size(),
                 v.objects);
}

/// Iggy's example file with `format`, `n` messages per topic, `kills` kill -9 rounds.
void kill9_run(const std::string& format, std::uint64_t n, std::uint64_t kills) {
    TRIB_START_PEER(minio, minio_spec());
    ASSERT_TRUE(minio_make_bucket(*minio, "my-data-lake"));
    TRIB_START_PEER(server, serve_spec());
    for (const char* topic : {"api_requests", "errors"})
        produce(server->port(), topic, n);
    TRIB_START_PEER(rt, run_spec(server->port(), minio_endpoint(*minio), format));
    const std::uint64_t total = 2 * n;
    auto stored = [&] { return stored_count(*minio); };
    std::uint64_t kills_done = 0;
    std::mt19937_64 rng(env_or("TRIB_S3_E2E_SEED", std::random_device{}()));
    std::set<std::uint64_t> points;
    while (points.size() < kills)
        points.insert(total / 50 + rng() % (total * 90 / 100));
    ASSERT_TRUE(kill_rounds(*rt,
                            {.points = {points.begin(), points.end()},
                             .progress = stored,
                             .total = total,
                             .deadline = 600s,
                             .what = "of " + std::to_string(total) + " messages stored"},
                            &kills_done));
    ASSERT_TRUE(wait_until([&] { return stored() >= total || !rt->alive(); }, 600s)) << rt->log();
    ASSERT_TRUE(rt->stop());
    expect_exactly_once(*minio, n);
    // How often a restarted sink found objects its killed predecessor had stored after the last
    // commit (the replay walk), and how often a conditional put was refused.
    const auto log = rt->log();
    std::size_t walked = 0, refused = 0;
    for (auto at = log.find("are in an object already"); at != std::string::npos;
         at = log.find("are in an object already", at + 1))
        ++walked;
    for (auto at = log.find("exists already (a replay)"); at != std::string::npos;
         at = log.find("exists already (a replay)", at + 1))
        ++refused;
    std::fprintf(stderr,
                 "s3 e2e (%s): %llu kills, %zu objects found by the replay walk, %zu puts "
                 "refused as existing\n",
                 format.c_str(), static_cast<unsigned long long>(kills_done), walked, refused);
}

TEST(s3_e2e, iggy_example_config_writes_each_message_into_exactly_one_object_across_kill9) {
    kill9_run("json_lines", env_or("TRIB_S3_E2E_MESSAGES", 20000), env_or("TRIB_S3_E2E_KILLS", 3));
}

TEST(s3_e2e, parquet_and_avro_objects_hold_each_message_once_across_kill9) {
    if (!codecs::parquet::available())
        GTEST_SKIP() << "built without Apache Arrow";
    for (const char* format : {"parquet", "avro"}) {
        SCOPED_TRACE(format);
        kill9_run(format, env_or("TRIB_S3_E2E_COLUMNAR_MESSAGES", 5000),
                  env_or("TRIB_S3_E2E_COLUMNAR_KILLS", 2));
    }
}

TEST(s3_e2e, minio_down_for_a_while_loses_nothing_then_catches_up) {
    const std::uint64_t n = env_or("TRIB_S3_E2E_MESSAGES", 20000) / 2;
    TRIB_START_PEER(minio, minio_spec());
    ASSERT_TRUE(minio_make_bucket(*minio, "my-data-lake"));
    TRIB_START_PEER(server, serve_spec());
    for (const char* topic : {"api_requests", "errors"})
        produce(server->port(), topic, n / 2);
    TRIB_START_PEER(rt, run_spec(server->port(), minio_endpoint(*minio)));
    ASSERT_TRUE(wait_until([&] { return stored_count(*minio) > 0 || !rt->alive(); }, 300s))
        << rt->log();
    ASSERT_TRUE(minio->stop());
    // The second half arrives while the store is down: the sink must hold on to it.
    for (const char* topic : {"api_requests", "errors"})
        produce(server->port(), topic, n, n / 2);
    ASSERT_TRUE(wait_until(
        [&] { return rt->log().find("failed") != std::string::npos || !rt->alive(); }, 300s))
        << rt->log();
    ASSERT_TRUE(rt->alive()) << rt->log();
    ASSERT_TRUE(minio->restart());
    ASSERT_TRUE(wait_until([&] { return stored_count(*minio) >= 2 * n || !rt->alive(); }, 600s))
        << rt->log();
    ASSERT_TRUE(rt->stop());
    expect_exactly_once(*minio, n);
}

/// Iggy's s3_source config.toml as it is, the MinIO endpoint added; the keys come from the
/// standard AWS environment variables as Iggy's README says.
std::string iggy_source_example(const std::string& endpoint) {
    return R"(type = "source"
key = "s3"
enabled = true
version = 0
name = "S3 source"
path = "../../target/release/libiggy_connector_s3_source"
plugin_config_format = "json"

[[streams]]
stream = "test_stream"
topic = "test_topic"
schema = "raw"
batch_length = 1000
linger_time = "5ms"

[plugin_config]
bucket = "events"
region = "us-east-1"
endpoint = ")" +
           endpoint +
           R"("
poll_interval = "5s"
max_record_bytes = 1048576
max_batch_bytes = 4194304
max_batch_messages = 1000
verbose_logging = false
)";
}

/// The source through `tributary run` with Iggy's s3_source file (`extra` appended to its
/// plugin_config) over the objects `put_objects` stores in bucket "events", killed with SIGKILL
/// `kills` times: every n of [0, total) must reach the topic.
void source_kill_run(std::uint64_t total, std::uint64_t kills,
                     const std::function<void(connectors::s3_detail::object_store&)>& put_objects,
                     const std::string& extra, const char* what) {
    TRIB_START_PEER(minio, minio_spec());
    ASSERT_TRUE(minio_make_bucket(*minio, "events"));
    {
        connectors::s3_detail::s3_settings st;
        st.bucket = "events";
        st.endpoint = minio_endpoint(*minio);
        st.path_style = true;
        st.credentials = {minio_user, minio_password, "", "test"};
        auto store = connectors::s3_detail::make_s3_store(st);
        put_objects(*store);
        if (::testing::Test::HasFatalFailure())
            return;
    }
    TRIB_START_PEER(server, serve_spec());
    const auto port = server->port();
    auto spec = run_spec(port, minio_endpoint(*minio));
    const auto endpoint = minio_endpoint(*minio);
    spec.prepare = [port, endpoint, extra](const peer& p) {
        const fs::path dir = p.dir();
        fs::create_directories(dir / "connectors");
        std::ofstream(dir / "runtime.toml")
            << "[iggy]\naddress = \"127.0.0.1:" << port
            << "\"\nusername = \"iggy\"\npassword = \"iggy\"\n[state]\npath = \""
            << (dir / "state").string() << "\"\n[connectors]\nconfig_type = \"local\"\n"
            << "config_dir = \"" << (dir / "connectors").string()
            << "\"\n[http]\nenabled = false\n[logging]\nlevel = \"warn\"\n";
        std::ofstream(dir / "connectors/s3_source.toml") << iggy_source_example(endpoint) + extra;
    };
    spec.env = {{"AWS_ACCESS_KEY_ID", minio_user}, {"AWS_SECRET_ACCESS_KEY", minio_password}};
    TRIB_START_PEER(rt, spec);
    auto admin = iggy::client::connect(client_for(port));
    ASSERT_TRUE(admin);
    auto in_topic = [&]() -> std::uint64_t {
        auto t = (*admin)->get_topic(iggy::identifier::named("test_stream"),
                                     iggy::identifier::named("test_topic"));
        if (!t || !t->has_value())
            return 0;
        return (*t)->topic.messages_count;
    };
    std::mt19937_64 rng(env_or("TRIB_S3_E2E_SEED", std::random_device{}()));
    std::set<std::uint64_t> points;
    while (points.size() < kills)
        points.insert(total / 50 + rng() % (total * 90 / 100));
    std::uint64_t kills_done = 0;
    ASSERT_TRUE(kill_rounds(*rt,
                            {.points = {points.begin(), points.end()},
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
    // Resuming mid-object: a kill replays at most the batches in flight, never a whole object
    // from its start more than the in-flight window allows.
    std::fprintf(stderr, "s3 source e2e (%s): %llu messages, %llu duplicates after %llu kills\n",
                 what, static_cast<unsigned long long>(census.lines),
                 static_cast<unsigned long long>(census.lines - census.distinct),
                 static_cast<unsigned long long>(kills_done));
}

TEST(s3_e2e, iggy_source_example_resumes_mid_object_across_kill9_and_loses_nothing) {
    const std::uint64_t total = env_or("TRIB_S3_E2E_MESSAGES", 20000);
    const std::uint64_t per_object = 2500;  // several batches of 1000 per object
    source_kill_run(
        total, env_or("TRIB_S3_E2E_KILLS", 3),
        [&](connectors::s3_detail::object_store& store) {
            for (std::uint64_t first = 0; first < total; first += per_object) {
                std::string body;
                for (std::uint64_t i = first; i < std::min(total, first + per_object); ++i)
                    body += "{\"n\":" + std::to_string(i) + "}\n";
                ASSERT_TRUE(store.put_if_absent(fmt::format("logs/{:08}.jsonl", first), body, {}));
            }
        },
        "", "lines");
}

TEST(s3_e2e, avro_source_reads_large_objects_block_by_block_across_kill9) {
    // Avro container files written by fastavro, 10,000 records each in blocks of about 4 KiB:
    // each object is far larger than the read window (read_chunk_size 4 KiB) and than the
    // largest block the source may hold (max_object_bytes 16 KiB), so the source reads them
    // block by block, and each kill lands in the middle of an object.
    const std::uint64_t total = env_or("TRIB_S3_E2E_AVRO_MESSAGES", 20000);
    const std::uint64_t per_object = 10000;
    const fs::path python = fs::path(TRIB_TEST_SOURCE_DIR) / ".venv" / "bin" / "python";
    temp_dir tmp("trib-avro-e2e");
    const auto script = tmp.path() / "write_avro.py";
    std::ofstream(script)
        << "import fastavro, sys\n"
           "schema = {'type': 'record', 'name': 'r', 'fields': [{'name': 'n', 'type': 'long'}, "
           "{'name': 'v', 'type': 'string'}]}\n"
           "first, end = int(sys.argv[2]), int(sys.argv[3])\n"
           "recs = ({'n': i, 'v': 'value-%08d-' % i + 'x' * 48} for i in range(first, end))\n"
           "with open(sys.argv[1], 'wb') as f:\n"
           "    fastavro.writer(f, schema, recs, codec='null', sync_interval=4000)\n";
    source_kill_run(
        total, env_or("TRIB_S3_E2E_KILLS", 3),
        [&](connectors::s3_detail::object_store& store) {
            for (std::uint64_t first = 0; first < total; first += per_object) {
                const auto file = tmp.path() / fmt::format("{:08}.avro", first);
                const auto cmd =
                    fmt::format("{} {} {} {} {}", python.string(), script.string(), file.string(),
                                first, std::min(total, first + per_object));
                ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << " (fastavro in .venv?)";
                std::ifstream in(file, std::ios::binary);
                const std::string body((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
                ASSERT_GT(body.size(), 64u * 1024u);
                ASSERT_TRUE(store.put_if_absent(fmt::format("logs/{:08}.avro", first), body, {}));
            }
        },
        "format = \"avro\"\nread_chunk_size = \"4KiB\"\nmax_object_bytes = \"16KiB\"\n", "avro");
}

}  // namespace
}  // namespace trib::test
