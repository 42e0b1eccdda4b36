// Kafka -> Iggy -> Kafka through one `tributary run` (embedded Iggy server) with the Kafka source
// and the Kafka sink, against a real broker: the output topic holds the same keys, headers,
// timestamps and payloads (Confluent-framed and binary ones byte for byte) in the same
// per-partition order as the input topic. Count: TRIB_KAFKA_ROUNDTRIP_COUNT (default 20,000;
// 1,000,000 by hand).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "kafka_fixture.h"
#include "sink_reader.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace tk = trib::test::kafka;

/// The broker of these tests keeps records whatever their timestamps: the records carry
/// timestamps from years ago (fixed, so that they can be compared), and the default time
/// retention (7 days, checked every 5 minutes) would delete them in the middle of a long run.
kafka_options keep_everything() {
    kafka_options o;
    o.extra = {"log.retention.ms=-1"};
    return o;
}

fs::path tributary_binary() {
    if (const char* b = std::getenv("TRIB_BINARY_DIR"))
        return fs::path(b) / "src/app/tributary";
    return fs::read_symlink("/proc/self/exe").parent_path() / "../../../src/app/tributary";
}

std::size_t env_count(const char* name, std::size_t def) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != 0 ? static_cast<std::size_t>(std::strtoull(v, nullptr, 10)) : def;
}

peer_spec roundtrip_spec(const std::string& bs, const std::string& in, const std::string& out) {
    peer_spec s;
    s.name = "tributary-roundtrip";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/config.toml"};
    s.prepare = [=](const peer& p) {
        const fs::path dir = p.dir();
        fs::create_directories(dir / "connectors");
        std::ofstream(dir / "config.toml")
            << "[state]\npath = \"" << (dir / "state").string()
            << "\"\n\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
            << (dir / "connectors").string()
            << "\"\n\n[http]\nenabled = false\n\n[logging]\nformat = \"text\"\nlevel = \"warn\"\n\n"
               "[server]\naddress = \"127.0.0.1:"
            << p.port() << "\"\ndata_dir = \"" << (dir / "state/server").string()
            << "\"\nfsync = \"interval\"\n";
        std::ofstream(dir / "connectors" / "from_kafka.toml")
            << "type = \"source\"\nkey = \"from_kafka\"\nenabled = true\nversion = 0\n"
               "name = \"in\"\nplugin = \"kafka\"\n\n[[streams]]\nstream = \"rt\"\n"
               "topic = \"bridge\"\nschema = \"raw\"\nbatch_length = 1000\nlinger_time = "
               "\"5ms\"\n\n"
               "[plugin_config]\nbootstrap_servers = [\""
            << bs << "\"]\ntopics = [\"" << in << "\"]\ngroup_id = \"rt-" << in
            << "\"\nstart_position = \"earliest\"\nmax_batch_messages = 1000\n";
        std::ofstream(dir / "connectors" / "to_kafka.toml")
            << "type = \"sink\"\nkey = \"to_kafka\"\nenabled = true\nversion = 0\nname = \"out\"\n"
               "plugin = \"kafka\"\n\n[[streams]]\nstream = \"rt\"\ntopics = [\"bridge\"]\n"
               "schema = \"raw\"\nbatch_length = 1000\npoll_interval = \"5ms\"\n"
               "consumer_group = \"to_kafka\"\n\n[plugin_config]\nbootstrap_servers = [\""
            << bs << "\"]\ntopic = \"" << out
            << "\"\nkey_from = \"header\"\npartition_from = \"header\"\n"
               "timestamp_from = \"origin\"\nexclude_headers = [\"kafka.*\"]\n";
    };
    s.ready_timeout = 60s;
    s.attempts = 2;
    return s;
}

/// Record i: partition i % 3, key "key-<i % 97>", a Confluent-framed payload (magic 0, schema id,
/// binary body) for every third, plain text otherwise; two headers, one of them binary.
std::vector<kafka_record> inputs(const std::string& topic, std::size_t from, std::size_t n) {
    std::vector<kafka_record> out;
    out.reserve(n);
    for (std::size_t i = from; i < from + n; ++i) {
        kafka_record r;
        r.topic = topic;
        r.partition = static_cast<std::int32_t>(i % 3);
        r.key = "key-" + std::to_string(i % 97);
        if (i % 3 == 0) {
            std::string v("\x00\x00\x00\x01\x2a", 5);  // Confluent framing, schema id 298
            v += static_cast<char>(i & 0xff);
            v += std::string("\x00\xff\x80", 3) + std::to_string(i);
            r.value = v;
        } else {
            r.value = "message " + std::to_string(i);
        }
        r.headers = {{"trace-id", "t" + std::to_string(i)},
                     {"bin", std::string("\x01\xfe", 2) + std::to_string(i % 5)}};
        r.timestamp_ms = 1'700'000'000'000 + static_cast<std::int64_t>(i);
        out.push_back(std::move(r));
    }
    return out;
}

TEST(kafka_roundtrip, kafka_to_iggy_to_kafka_keeps_keys_headers_payloads_and_order) {
    const std::size_t count = env_count("TRIB_KAFKA_ROUNDTRIP_COUNT", 20000);
    TRIB_SHARED_KAFKA(broker, keep_everything());
    const std::string bs = kafka_bootstrap(*broker);
    const std::string in = "rt-in-" + std::to_string(::getpid());
    const std::string out = "rt-out-" + std::to_string(::getpid());
    ASSERT_TRUE(create_topic(bs, in, 3));
    ASSERT_TRUE(create_topic(bs, out, 3));
    for (std::size_t first = 0; first < count; first += 50000)
        ASSERT_TRUE(
            produce_records(bs, inputs(in, first, std::min<std::size_t>(50000, count - first))));

    TRIB_START_PEER(rt, roundtrip_spec(bs, in, out));
    ASSERT_TRUE(wait_until(
        [&] {
            auto w = tk::watermark_total(bs, out);
            return (w && *w >= static_cast<std::int64_t>(count)) || !rt->alive();
        },
        std::chrono::milliseconds(120000 + count * 2)))
        << rt->log();
    ASSERT_TRUE(rt->alive()) << rt->log();
    ASSERT_TRUE(rt->stop());

    auto a = tk::read_all(bs, in);
    auto b = tk::read_all(bs, out);
    ASSERT_TRUE(a) << a.error().message();
    ASSERT_TRUE(b) << b.error().message();
    ASSERT_EQ(a->size(), count);
    ASSERT_EQ(b->size(), count) << "duplicates or losses in the output topic";
    std::map<std::int32_t, std::size_t> per_partition;
    for (std::size_t i = 0; i < count; ++i) {
        const auto& x = (*a)[i];
        const auto& y = (*b)[i];  // both sorted by partition, then offset
        ASSERT_EQ(x.partition, y.partition) << "at " << i;
        ASSERT_EQ(x.key, y.key) << "at " << i;
        ASSERT_EQ(x.value, y.value) << "at " << i;
        ASSERT_EQ(x.headers, y.headers) << "at " << i;
        ASSERT_EQ(x.timestamp_ms, y.timestamp_ms) << "at " << i;
        ++per_partition[y.partition];
    }
    EXPECT_EQ(per_partition.size(), 3u);
    std::fprintf(stderr, "round trip: %zu records, partitions 0/1/2: %zu/%zu/%zu, identical\n",
                 count, per_partition[0], per_partition[1], per_partition[2]);
}

}  // namespace
}  // namespace trib::test
