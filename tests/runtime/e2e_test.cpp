// End to end through the embedded Iggy-compatible server (in-process, free loopback port) and the
// native client: every built-in connector and transform in a real pipeline, dead-lettering, drain
// and commits.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "app/run.h"
#include "config/connector_config.h"
#include "config/runtime_config.h"
#include "connectors/file/file.h"
#include "core/base64.h"
#include "harness/peer.h"
#include "iggy/client.h"
#include "iggy/consumer.h"
#include "iggy/producer.h"
#include "runtime/api.h"
#include "runtime/host.h"
#include "runtime/iggy_port.h"
#include "server/server.h"

namespace trib::runtime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::wait_until;

std::vector<std::string> read_lines(const fs::path& p) {
    std::vector<std::string> out;
    std::ifstream f(p);
    std::string l;
    while (std::getline(f, l))
        out.push_back(l);
    return out;
}

class e2e : public ::testing::Test {
  protected:
    void SetUp() override {
        server::server_options o;
        o.data_dir = dir_.path() / "server";
        o.address = "127.0.0.1:0";
        o.default_root_credentials = true;
        auto s = server::embedded_server::start(std::move(o));
        ASSERT_TRUE(s) << s.error().to_string();
        server_ = std::move(*s);
        client_.conn.address.host = "127.0.0.1";
        client_.conn.address.port = server_->port();
        client_.conn.username = "iggy";
        client_.conn.password = "iggy";
        client_.conn.request_timeout = 10s;
    }
    void TearDown() override {
        if (host_)
            host_->stop();
        host_.reset();
        if (server_)
            server_->stop();
    }

    /// Loads connector files from TOML texts and starts a host on the embedded server.
    void start(const std::vector<std::string>& files,
               std::shared_ptr<const connectors::registry> custom = nullptr) {
        auto reg = custom ? result<std::shared_ptr<const connectors::registry>>(custom)
                          : connectors::registry::builtins();
        ASSERT_TRUE(reg);
        const auto cat = make_catalog(*reg);
        const config::environment env;
        host_options ho;
        auto rc =
            config::parse_runtime_config("[state]\npath = \"" + (dir_.path() / "state").string() +
                                             "\"\n[connectors]\n"
                                             "config_dir = \"" +
                                             (dir_.path() / "connectors").string() + "\"\n",
                                         "runtime.toml", env);
        ASSERT_TRUE(rc) << rc.issues.to_string();
        ho.runtime = *rc;
        for (std::size_t i = 0; i < files.size(); ++i) {
            auto c = config::parse_connector_config(files[i], "c" + std::to_string(i) + ".toml",
                                                    cat, env);
            ASSERT_TRUE(c) << c.issues.to_string();
            ho.connectors.push_back(*c);
        }
        ho.registry = *reg;
        ho.client = client_;
        host_ = std::make_unique<host>(std::move(ho));
        auto st = host_->start();
        ASSERT_TRUE(st) << st.error().to_string();
    }

    connector_slot& slot(connector_kind k, const std::string& key) {
        auto* s = host_->find(k, key);
        EXPECT_NE(s, nullptr) << key;
        return *s;
    }

    std::string path(const std::string& name) { return (dir_.path() / name).string(); }

    test::temp_dir dir_{"trib-e2e"};
    std::unique_ptr<server::embedded_server> server_;
    iggy::client_options client_;
    std::unique_ptr<host> host_;
};

std::string random_source(const std::string& key, const std::string& topic, int count,
                          const std::string& extra = "") {
    return "type = \"source\"\nkey = \"" + key +
           "\"\nname = \"r\"\n"
           "path = \"target/release/libiggy_connector_random_source\"\n"
           "[[streams]]\nstream = \"e2e\"\ntopic = \"" +
           topic +
           "\"\nschema = \"json\"\n"
           "batch_length = 100\nlinger_time = \"1ms\"\n"
           "[plugin_config]\ninterval = \"0ms\"\nmessages_range = [20, 50]\nmax_count = " +
           std::to_string(count) + "\npayload_size = 16\n" + extra;
}

std::string file_sink(const std::string& key, const std::string& topic, const std::string& file,
                      const std::string& extra = "") {
    return "type = \"sink\"\nkey = \"" + key +
           "\"\nname = \"f\"\nplugin = \"file\"\n"
           "[[streams]]\nstream = \"e2e\"\ntopics = [\"" +
           topic +
           "\"]\nschema = \"json\"\n"
           "batch_length = 100\npoll_interval = \"2ms\"\n"
           "[plugin_config]\npath = \"" +
           file + "\"\ninclude_metadata = true\n" + extra;
}

TEST_F(e2e, random_source_to_file_stdout_and_null_sinks) {
    ASSERT_NO_FATAL_FAILURE(
        start({random_source("rnd", "events", 1000),
               file_sink("file_out", "events", path("out/events.jsonl")),
               "type = \"sink\"\nkey = \"console\"\nname = \"s\"\n"
               "path = \"libiggy_connector_stdout_sink.so\"\n"
               "[[streams]]\nstream = \"e2e\"\ntopics = [\"events\"]\nschema = \"json\"\n",
               "type = \"sink\"\nkey = \"discard\"\nname = \"n\"\nplugin = \"null\"\n"
               "[[streams]]\nstream = \"e2e\"\ntopics = [\"events\"]\nschema = \"json\"\n"}));
    auto& file = slot(connector_kind::sink, "file_out");
    auto& out = slot(connector_kind::sink, "console");
    auto& discard = slot(connector_kind::sink, "discard");
    auto& rnd = slot(connector_kind::source, "rnd");
    ASSERT_TRUE(wait_until(
        [&] {
            return file.stats.messages_out.load() == 1000 &&
                   out.stats.messages_out.load() == 1000 &&
                   discard.stats.messages_out.load() == 1000;
        },
        60s))
        << file.stats.messages_out.load() << " " << out.stats.messages_out.load() << " "
        << discard.stats.messages_out.load();
    EXPECT_EQ(rnd.stats.messages_out.load(), 1000u);
    host_->stop();
    // Every record once, in the file, with its offset.
    auto lines = read_lines(path("out/events.jsonl"));
    ASSERT_EQ(lines.size(), 1000u);
    std::set<std::string> ids;
    std::set<std::uint64_t> offsets;
    for (const auto& l : lines) {
        rapidjson::Document d;
        d.Parse(l.c_str());
        ASSERT_FALSE(d.HasParseError()) << l;
        ids.insert(d["payload"]["id"].GetString());
        offsets.insert(d["offset"].GetUint64());
    }
    EXPECT_EQ(ids.size(), 1000u);
    EXPECT_EQ(offsets.size(), 1000u);
    EXPECT_EQ(*offsets.rbegin(), 999u);
    // The source's state says 1000 and the sinks' groups committed the last offset.
    EXPECT_TRUE(fs::exists(dir_.path() / "state" / "source_rnd.state"));
    auto admin = iggy::client::connect(client_);
    ASSERT_TRUE(admin);
    for (const std::string group : {"iggy-connect-sink-file_out", "iggy-connect-sink-discard"}) {
        auto off = (*admin)->get_consumer_offset(
            iggy::consumer::group(iggy::identifier::named(group)), iggy::identifier::named("e2e"),
            iggy::identifier::named("events"), 0);
        ASSERT_TRUE(off) << off.error().to_string();
        ASSERT_TRUE(off->has_value()) << group;
        EXPECT_EQ((*off)->stored_offset, 999u) << group;
    }
}

TEST_F(e2e, source_side_transforms) {
    const std::string transforms = R"(
[transforms.add_fields]
enabled = true
[[transforms.add_fields.fields]]
key = "added"
value.static = "yes"
[[transforms.add_fields.fields]]
key = "ts"
value.computed = "timestamp_millis"

[transforms.delete_fields]
enabled = true
fields = ["title"]

[transforms.update_fields]
enabled = true
[[transforms.update_fields.fields]]
key = "name"
value.static = "Tributary"
condition = "key_exists"

[transforms.filter_fields]
enabled = true
keep_fields = ["id", "name", "text", "added", "ts"]
include_matching = true

[transforms.filter]
enabled = true
field = "text"
op = "matches"
value = "^[A-M]"
action = "drop"
)";
    ASSERT_NO_FATAL_FAILURE(start({random_source("rnd", "shaped", 600, transforms),
                                   file_sink("file_out", "shaped", path("shaped.jsonl"))}));
    auto& rnd = slot(connector_kind::source, "rnd");
    auto& file = slot(connector_kind::sink, "file_out");
    ASSERT_TRUE(wait_until(
        [&] {
            return rnd.stats.messages_in.load() == 600 &&
                   file.stats.messages_out.load() == rnd.stats.messages_out.load() &&
                   rnd.stats.in_flight_batches.load() == 0;
        },
        60s));
    host_->stop();
    const auto filtered = rnd.stats.messages_filtered.load();
    EXPECT_GT(filtered, 0u);  // about 13/62 of the texts start with A..M
    EXPECT_EQ(rnd.stats.messages_out.load() + filtered, 600u);
    auto lines = read_lines(path("shaped.jsonl"));
    ASSERT_EQ(lines.size(), 600u - filtered);
    for (const auto& l : lines) {
        rapidjson::Document d;
        d.Parse(l.c_str());
        ASSERT_FALSE(d.HasParseError()) << l;
        const auto& p = d["payload"];
        EXPECT_STREQ(p["added"].GetString(), "yes") << l;
        EXPECT_TRUE(p["ts"].IsNumber()) << l;
        EXPECT_FALSE(p.HasMember("title")) << l;  // deleted
        EXPECT_STREQ(p["name"].GetString(), "Tributary") << l;
        EXPECT_EQ(p.MemberCount(), 5u) << l;  // filter_fields kept exactly these
        const char first = p["text"].GetString()[0];
        EXPECT_FALSE(first >= 'A' && first <= 'M') << l;  // filter dropped these
    }
}

TEST_F(e2e, sink_side_unwrap_envelope) {
    ASSERT_NO_FATAL_FAILURE(
        start({random_source("rnd", "wrapped", 100,
                             "[transforms.add_fields]\nenabled = true\n"
                             "[[transforms.add_fields.fields]]\nkey = \"envelope\"\n"
                             "value.static = { inner = 7 }\n"),
               file_sink("file_out", "wrapped", path("unwrapped.jsonl"),
                         "[transforms.unwrap_envelope]\nenabled = true\nfield = \"envelope\"\n")}));
    auto& file = slot(connector_kind::sink, "file_out");
    ASSERT_TRUE(wait_until([&] { return file.stats.messages_out.load() == 100; }, 60s));
    host_->stop();
    for (const auto& l : read_lines(path("unwrapped.jsonl"))) {
        EXPECT_NE(l.find("\"payload\":{\"inner\":7}}"), std::string::npos) << l;
    }
}

TEST_F(e2e, file_source_to_topic) {
    {
        std::ofstream f(path("in.jsonl"));
        for (int i = 0; i < 1000; ++i)
            f << "{\"n\":" << i << "}\n";
    }
    ASSERT_NO_FATAL_FAILURE(
        start({"type = \"source\"\nkey = \"tail\"\nname = \"t\"\nplugin = \"file\"\n"
               "[[streams]]\nstream = \"e2e\"\ntopic = \"lines\"\nschema = \"json\"\n"
               "[plugin_config]\npath = \"" +
                   path("in.jsonl") + "\"\npoll_interval = \"5ms\"\n",
               file_sink("file_out", "lines", path("lines.jsonl"))}));
    auto& file = slot(connector_kind::sink, "file_out");
    ASSERT_TRUE(wait_until([&] { return file.stats.messages_out.load() == 1000; }, 60s));
    {
        std::ofstream f(path("in.jsonl"), std::ios::app);
        f << "{\"n\":1000}\n";
    }
    ASSERT_TRUE(wait_until([&] { return file.stats.messages_out.load() == 1001; }, 30s));
    host_->stop();
    auto lines = read_lines(path("lines.jsonl"));
    ASSERT_EQ(lines.size(), 1001u);
    for (int i = 0; i <= 1000; ++i) {
        EXPECT_NE(lines[static_cast<std::size_t>(i)].find(
                      "\"payload\":{\"n\":" + std::to_string(i) + "}"),
                  std::string::npos);
    }
    EXPECT_TRUE(fs::exists(dir_.path() / "state" / "source_tail.state"));
}

TEST_F(e2e, avro_through_avro_convert_and_a_stream_schema) {
    // Iggy's shapes: JSON lines -> avro_convert (json -> avro) on a raw source stream; one sink
    // converts back (avro_convert avro -> json), another reads the topic with schema = "avro" and
    // the [[streams]] key avro_schema_json, rewrites a field, and hands the sink JSON.
    const std::string schema =
        R"({"type":"record","name":"User","fields":[{"name":"name","type":"string"},)"
        R"({"name":"age","type":"int"}]})";
    const std::string q3 = "'''";
    {
        std::ofstream f(path("users.jsonl"));
        for (int i = 0; i < 200; ++i)
            f << R"({"name":"user )" << i << R"(","age":)" << i << "}\n";
    }
    const std::string source =
        "type = \"source\"\nkey = \"users_in\"\nname = \"u\"\nplugin = \"file\"\n"
        "[[streams]]\nstream = \"e2e\"\ntopic = \"avro_users\"\nschema = \"raw\"\n"
        "[plugin_config]\npath = \"" +
        path("users.jsonl") +
        "\"\npoll_interval = \"5ms\"\n"
        "[transforms.avro_convert]\nenabled = true\nsource_format = \"json\"\n"
        "target_format = \"avro\"\nschema_json = " +
        q3 + schema + q3 + "\n";
    auto sink = [&](const std::string& key, const std::string& stream_extra,
                    const std::string& file, const std::string& transforms) {
        return "type = \"sink\"\nkey = \"" + key +
               "\"\nname = \"f\"\nplugin = \"file\"\n"
               "[[streams]]\nstream = \"e2e\"\ntopics = [\"avro_users\"]\n" +
               stream_extra +
               "batch_length = 100\npoll_interval = \"2ms\"\n[plugin_config]\npath = \"" +
               path(file) + "\"\ninclude_metadata = true\n" + transforms;
    };
    ASSERT_NO_FATAL_FAILURE(start(
        {source,
         sink("as_json", "schema = \"raw\"\n", "as_json.jsonl",
              "[transforms.avro_convert]\nenabled = true\nsource_format = \"avro\"\n"
              "target_format = \"json\"\nschema_json = " +
                  q3 + schema + q3 + "\n"),
         sink("as_avro", "schema = \"avro\"\navro_schema_json = " + q3 + schema + q3 + "\n",
              "as_avro.jsonl",
              "[transforms.update_fields]\nenabled = true\n[[transforms.update_fields.fields]]\n"
              "key = \"name\"\nvalue.static = \"Tributary\"\n")}));
    auto& a = slot(connector_kind::sink, "as_json");
    auto& b = slot(connector_kind::sink, "as_avro");
    ASSERT_TRUE(wait_until(
        [&] { return a.stats.messages_out.load() == 200 && b.stats.messages_out.load() == 200; },
        60s));
    host_->stop();
    auto payload_of = [](const std::string& line) {
        rapidjson::Document d;
        d.Parse(line.c_str());
        EXPECT_FALSE(d.HasParseError()) << line;
        std::string bytes;
        EXPECT_TRUE(decode_base64(d["payload"].GetString(), bytes)) << line;
        return bytes;
    };
    auto json_lines = read_lines(path("as_json.jsonl"));
    ASSERT_EQ(json_lines.size(), 200u);
    for (int i = 0; i < 200; ++i)
        EXPECT_EQ(
            payload_of(json_lines[static_cast<std::size_t>(i)]),
            R"({"name":"user )" + std::to_string(i) + R"(","age":)" + std::to_string(i) + "}");
    // The avro stream's payloads are decoded for the sink (Iggy's sink-side rule: the sink reads
    // JSON), after the chain rewrote the name.
    auto avro_lines = read_lines(path("as_avro.jsonl"));
    ASSERT_EQ(avro_lines.size(), 200u);
    for (int i = 0; i < 200; ++i) {
        const auto& line = avro_lines[static_cast<std::size_t>(i)];
        rapidjson::Document d;
        d.Parse(line.c_str());
        ASSERT_FALSE(d.HasParseError()) << line;
        ASSERT_TRUE(d.HasMember("payload") && d["payload"].IsObject()) << line;
        const auto& p = d["payload"];
        ASSERT_TRUE(p.HasMember("name") && p["name"].IsString()) << line;
        EXPECT_EQ(std::string(p["name"].GetString()), "Tributary") << line;
        ASSERT_TRUE(p.HasMember("age") && p["age"].IsInt()) << line;
        EXPECT_EQ(p["age"].GetInt(), i) << line;
    }
}

TEST_F(e2e, poison_messages_land_in_the_dead_letter_topic_with_their_headers) {
    // Messages produced by a plain client: good JSON and bad JSON, with a header of their own.
    auto port = iggy_client_port::connect(client_);
    ASSERT_TRUE(port);
    ASSERT_TRUE((*port)->ensure_topic("e2e", "mixed", 1));
    auto prod = (*port)->open_producer(producer_options{"e2e", "mixed", 100, 0ms});
    ASSERT_TRUE(prod);
    auto batch = std::make_shared<message_batch>();
    for (int i = 0; i < 50; ++i) {
        message m;
        m.payload = batch->own(i % 10 == 3 ? "not json " + std::to_string(i)
                                           : "{\"i\":" + std::to_string(i) + "}");
        m.headers.push_back(header{"trace", value_kind::string, "t" + std::to_string(i)});
        batch->messages.push_back(std::move(m));
    }
    ASSERT_TRUE((*prod)->send_sync(batch));
    (*prod)->close();

    ASSERT_NO_FATAL_FAILURE(
        start({file_sink("file_out", "mixed", path("mixed.jsonl"),
                         "[error_policy]\nmode = \"dead_letter\"\ndead_letter_stream = \"dlq\"\n"
                         "dead_letter_topic = \"mixed_failures\"\n")}));
    auto& file = slot(connector_kind::sink, "file_out");
    ASSERT_TRUE(wait_until([&] { return file.stats.dead_lettered.load() == 5; }, 60s));
    ASSERT_TRUE(wait_until([&] { return file.stats.messages_out.load() == 45; }, 30s));
    host_->stop();
    EXPECT_EQ(read_lines(path("mixed.jsonl")).size(), 45u);

    iggy::consumer_options co;
    co.client = client_;
    co.stream = iggy::identifier::named("dlq");
    co.topic = iggy::identifier::named("mixed_failures");
    co.group = "";
    co.consumer_id = iggy::identifier::named("checker");
    auto c = iggy::consumer_client::create(co);
    ASSERT_TRUE(c) << c.error().to_string();
    std::vector<std::pair<std::string, std::vector<iggy::user_header>>> got;
    ASSERT_TRUE(wait_until(
        [&] {
            auto b = (*c)->poll();
            if (!b)
                return false;
            for (const auto& m : b->messages) {
                auto hs = iggy::decode_user_headers(m.user_headers);
                EXPECT_TRUE(hs);
                got.emplace_back(
                    std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()),
                    hs ? *hs : std::vector<iggy::user_header>{});
            }
            return got.size() >= 5;
        },
        20s));
    ASSERT_EQ(got.size(), 5u);
    for (std::size_t k = 0; k < got.size(); ++k) {
        const int i = static_cast<int>(k) * 10 + 3;
        EXPECT_EQ(got[k].first, "not json " + std::to_string(i));
        std::map<std::string, std::string> h;
        for (const auto& x : got[k].second)
            h[x.key] = x.value;
        EXPECT_EQ(h["trace"], "t" + std::to_string(i));
        EXPECT_EQ(h["tributary.error.class"], "fatal");
        EXPECT_EQ(h["tributary.error.code"], "invalid_argument");
        EXPECT_EQ(h["tributary.error.stage"], "write");
        EXPECT_EQ(h["tributary.connector"], "file_out");
        EXPECT_EQ(h["tributary.original.stream"], "e2e");
        EXPECT_EQ(h["tributary.original.topic"], "mixed");
        EXPECT_NE(h["tributary.error"].find("not valid JSON"), std::string::npos);
        std::uint64_t off = 0;
        ASSERT_EQ(h["tributary.original.offset"].size(), 8u);
        std::memcpy(&off, h["tributary.original.offset"].data(), 8);
        EXPECT_EQ(off, static_cast<std::uint64_t>(i));
        EXPECT_EQ(h["tributary.original.partition"].size(), 4u);
    }
    (void)(*c)->close();
}

TEST_F(e2e, restart_on_request_and_unknown_plugins_are_reported) {
    ASSERT_NO_FATAL_FAILURE(
        start({random_source("rnd", "r", 50),
               "type = \"sink\"\nkey = \"discard\"\nname = \"n\"\nplugin = \"null\"\n"
               "[[streams]]\nstream = \"e2e\"\ntopics = [\"r\"]\n"}));
    auto& discard = slot(connector_kind::sink, "discard");
    ASSERT_TRUE(discard.sup->wait_status(connector_status::running,
                                         std::chrono::steady_clock::now() + 20s));
    ASSERT_TRUE(host_->restart(connector_kind::sink, "discard"));
    ASSERT_TRUE(wait_until([&] { return discard.stats.messages_out.load() == 50; }, 30s));
    EXPECT_FALSE(host_->restart(connector_kind::sink, "nope"));
}

/// The real file sink behind a switch: while `down` is set, every write fails with a retryable
/// error (the target is unreachable), so the runtime must retry and lose nothing.
struct flaky_switch {
    std::atomic<bool> down{true};
    std::atomic<std::uint64_t> failed_writes{0};
};

class flaky_sink final : public sink {
  public:
    flaky_sink(std::unique_ptr<sink> inner, std::shared_ptr<flaky_switch> sw)
        : inner_(std::move(inner)), sw_(std::move(sw)) {}
    status open(connector_context& ctx) override { return inner_->open(ctx); }
    result<write_outcome> write(const sink_batch& b) override {
        if (sw_->down.load()) {
            sw_->failed_writes.fetch_add(1);
            return error(errc::unavailable, retry_class::retryable, "target down (test)");
        }
        return inner_->write(b);
    }
    void close() override { inner_->close(); }
    bool idempotent() const override { return inner_->idempotent(); }

  private:
    std::unique_ptr<sink> inner_;
    std::shared_ptr<flaky_switch> sw_;
};

TEST_F(e2e, a_sink_that_fails_for_a_while_loses_nothing) {
    auto builtins = connectors::registry::builtins();
    ASSERT_TRUE(builtins);
    auto reg = std::make_shared<connectors::registry>(**builtins);
    auto sw = std::make_shared<flaky_switch>();
    auto spec = connectors::file_sink_spec();
    spec.name = "flaky_file";
    spec.plugin_aliases.clear();
    ASSERT_TRUE(reg->add_sink(spec, [sw](const config::values& v) -> result<std::unique_ptr<sink>> {
        auto inner = connectors::make_file_sink(v);
        if (!inner)
            return inner.error();
        return std::unique_ptr<sink>(std::make_unique<flaky_sink>(std::move(*inner), sw));
    }));
    std::string cfg = file_sink("flaky", "outage", path("outage.jsonl"),
                                "[error_policy]\nbackoff_initial = \"5ms\"\n"
                                "backoff_max = \"50ms\"\n");
    cfg.replace(cfg.find("plugin = \"file\""), 15, "plugin = \"flaky_file\"");
    ASSERT_NO_FATAL_FAILURE(start({random_source("rnd", "outage", 2000), cfg}, reg));
    auto& sink_slot = slot(connector_kind::sink, "flaky");
    auto& rnd = slot(connector_kind::source, "rnd");
    // Down until the source produced everything and the sink failed many times.
    ASSERT_TRUE(wait_until(
        [&] { return rnd.stats.messages_out.load() == 2000 && sw->failed_writes.load() >= 20; },
        60s))
        << rnd.stats.messages_out.load() << " " << sw->failed_writes.load();
    EXPECT_EQ(sink_slot.stats.messages_out.load(), 0u);
    EXPECT_GE(sink_slot.stats.retries.load(), 1u);
    EXPECT_GE(sink_slot.stats.errors_by_class[0].load(), 1u);  // retryable
    sw->down = false;
    ASSERT_TRUE(wait_until([&] { return sink_slot.stats.messages_out.load() >= 2000; }, 60s))
        << sink_slot.stats.messages_out.load();
    host_->stop();
    EXPECT_EQ(sink_slot.stats.dead_lettered.load(), 0u);
    EXPECT_EQ(sink_slot.stats.skipped.load(), 0u);
    // Each of the 2000 messages exactly once, offsets 0..1999.
    std::set<std::uint64_t> offsets;
    const auto lines = read_lines(path("outage.jsonl"));
    for (const auto& l : lines) {
        rapidjson::Document d;
        d.Parse(l.c_str());
        ASSERT_FALSE(d.HasParseError()) << l;
        offsets.insert(d["offset"].GetUint64());
    }
    EXPECT_EQ(lines.size(), 2000u);
    EXPECT_EQ(offsets.size(), 2000u);
    EXPECT_EQ(*offsets.rbegin(), 1999u);
    std::printf("sink down for %llu failed writes, %llu retries: %zu lines, %zu distinct\n",
                static_cast<unsigned long long>(sw->failed_writes.load()),
                static_cast<unsigned long long>(sink_slot.stats.retries.load()), lines.size(),
                offsets.size());
}

// ---- management API ----------------------------------------------------------------------------

struct http_reply {
    int status = 0;
    std::string headers;
    std::string body;
};

/// One HTTP/1.1 request over a fresh loopback connection (Connection: close), read to EOF.
http_reply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                     const std::string& extra_headers = "") {
    http_reply r;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return r;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return r;
    }
    const std::string req = method + " " + target +
                            " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                            "Content-Length: 0\r\n" +
                            extra_headers + "\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        ::close(fd);
        return r;
    }
    std::string all;
    char buf[16384];
    for (;;) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        all.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto end = all.find("\r\n\r\n");
    if (all.size() < 12 || end == std::string::npos)
        return r;
    r.status = std::atoi(all.c_str() + 9);
    r.headers = all.substr(0, end);
    r.body = all.substr(end + 4);
    if (r.headers.find("Transfer-Encoding: chunked") != std::string::npos ||
        r.headers.find("transfer-encoding: chunked") != std::string::npos) {
        std::string plain;
        std::size_t at = 0;
        while (at < r.body.size()) {
            const auto nl = r.body.find("\r\n", at);
            const auto len = std::strtoul(r.body.c_str() + at, nullptr, 16);
            if (nl == std::string::npos || len == 0)
                break;
            plain += r.body.substr(nl + 2, len);
            at = nl + 2 + len + 2;
        }
        r.body = plain;
    }
    return r;
}

/// The value of a Prometheus sample line that starts with `prefix` (name and labels), or -1.
double sample(const std::string& text, const std::string& prefix) {
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l)) {
        if (l.starts_with(prefix) && l.size() > prefix.size() && l[prefix.size()] == ' ')
            return std::strtod(l.c_str() + prefix.size() + 1, nullptr);
    }
    return -1;
}

TEST_F(e2e, management_api_paths_figures_and_api_key) {
    // A random source into a topic with some poison for a dead-lettering file sink, plus a null
    // sink: every figure of /stats and /metrics has something to count.
    auto port = iggy_client_port::connect(client_);
    ASSERT_TRUE(port);
    ASSERT_TRUE((*port)->ensure_topic("e2e", "api", 1));
    auto prod = (*port)->open_producer(producer_options{"e2e", "api", 100, 0ms});
    ASSERT_TRUE(prod);
    auto batch = std::make_shared<message_batch>();
    for (int i = 0; i < 100; ++i) {
        message m;
        m.payload =
            batch->own(i % 25 == 7 ? std::string("not json") : "{\"i\":" + std::to_string(i) + "}");
        batch->messages.push_back(std::move(m));
    }
    ASSERT_TRUE((*prod)->send_sync(batch));
    (*prod)->close();
    ASSERT_NO_FATAL_FAILURE(
        start({random_source("rnd", "api_rnd", 300),
               file_sink("file_out", "api", path("api.jsonl"),
                         "[error_policy]\nmode = \"dead_letter\"\n"
                         "dead_letter_stream = \"dlq\"\ndead_letter_topic = \"api\"\n"),
               "type = \"sink\"\nkey = \"discard\"\nname = \"n\"\nplugin = \"null\"\n"
               "[[streams]]\nstream = \"e2e\"\ntopics = [\"api_rnd\"]\nschema = \"json\"\n"}));
    auto& file = slot(connector_kind::sink, "file_out");
    auto& discard = slot(connector_kind::sink, "discard");
    ASSERT_TRUE(wait_until(
        [&] {
            return file.stats.messages_out.load() == 96 && file.stats.dead_lettered.load() == 4 &&
                   discard.stats.messages_out.load() == 300 && file.stats.lag.load() == 0 &&
                   discard.stats.lag.load() == 0;
        },
        60s))
        << file.stats.messages_out.load() << " " << file.stats.dead_lettered.load() << " "
        << discard.stats.messages_out.load() << " lag " << file.stats.lag.load();

    config::http_config hc;
    hc.address = "127.0.0.1:0";
    hc.api_key = "s3cret-key";
    management_api api(*host_, hc);
    ASSERT_TRUE(api.start());
    const auto p = api.port();
    ASSERT_NE(p, 0);
    const std::string key = "api-key: s3cret-key\r\n";

    // Public paths; everything else needs the key (header or bearer), a wrong one is refused.
    auto root = http_call(p, "GET", "/");
    EXPECT_EQ(root.status, 200);
    EXPECT_NE(root.body.find("Connector Runtime API"), std::string::npos);
    auto health = http_call(p, "GET", "/health");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, "{\"status\":\"healthy\"}");
    for (const std::string path :
         {"/stats", "/metrics", "/sinks", "/sources", "/sinks/file_out", "/connectors/file/spec"}) {
        EXPECT_EQ(http_call(p, "GET", path).status, 401) << path;
        EXPECT_EQ(http_call(p, "GET", path, "api-key: s3cret-kez\r\n").status, 401) << path;
        EXPECT_EQ(http_call(p, "GET", path, "api-key: s3cret-key-longer\r\n").status, 401) << path;
        EXPECT_EQ(http_call(p, "GET", path, "Authorization: Bearer s3cret-key\r\n").status, 200)
            << path;
    }
    EXPECT_EQ(http_call(p, "POST", "/sinks/discard/restart").status, 401);

    // /stats: Iggy's fields plus ours.
    auto stats = http_call(p, "GET", "/stats", key);
    ASSERT_EQ(stats.status, 200);
    rapidjson::Document sd;
    sd.Parse(stats.body.c_str());
    ASSERT_FALSE(sd.HasParseError()) << stats.body;
    EXPECT_EQ(sd["sources_total"].GetUint(), 1u);
    EXPECT_EQ(sd["sinks_total"].GetUint(), 2u);
    EXPECT_EQ(sd["sinks_running"].GetUint(), 2u);
    EXPECT_GT(sd["memory_usage"].GetUint64(), 0u);
    ASSERT_TRUE(sd["connectors"].IsArray());
    bool saw_file = false;
    for (const auto& c : sd["connectors"].GetArray()) {
        if (std::string(c["key"].GetString()) != "file_out")
            continue;
        saw_file = true;
        EXPECT_STREQ(c["connector_type"].GetString(), "sink");
        EXPECT_EQ(c["messages_consumed"].GetUint64(), 100u);
        EXPECT_EQ(c["messages_processed"].GetUint64(), 96u);
        EXPECT_EQ(c["dead_lettered"].GetUint64(), 4u);
        EXPECT_EQ(c["errors_by_class"]["fatal"].GetUint64(), 4u);
        EXPECT_EQ(c["lag"].GetInt64(), 0);
    }
    EXPECT_TRUE(saw_file) << stats.body;

    // /metrics: Prometheus text with every family per connector.
    auto metrics = http_call(p, "GET", "/metrics", key);
    ASSERT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.headers.find("text/plain"), std::string::npos) << metrics.headers;
    const auto& m = metrics.body;
    {
        // Every sample line is "name{labels} value" (the exposition format).
        auto well_formed = [](const std::string& l) {
            std::size_t i = 0;
            while (i < l.size() && (std::isalnum(static_cast<unsigned char>(l[i])) != 0 ||
                                    l[i] == '_' || l[i] == ':'))
                ++i;
            if (i == 0 || std::isdigit(static_cast<unsigned char>(l[0])) != 0)
                return false;
            if (i < l.size() && l[i] == '{') {
                const auto close = l.find("} ", i);
                if (close == std::string::npos)
                    return false;
                i = close + 1;
            }
            if (i >= l.size() || l[i] != ' ' || i + 1 >= l.size())
                return false;
            char* end = nullptr;
            const std::string v = l.substr(i + 1);
            (void)std::strtod(v.c_str(), &end);
            return end != v.c_str() && *end == '\0';
        };
        std::istringstream in(m);
        std::string l;
        std::size_t samples = 0;
        while (std::getline(in, l)) {
            if (l.empty() || l[0] == '#')
                continue;
            ++samples;
            EXPECT_TRUE(well_formed(l)) << l;
        }
        EXPECT_GT(samples, 50u);
    }
    const std::string file_l = "{connector=\"file_out\",kind=\"sink\",plugin=\"file\"";
    const std::string null_l = "{connector=\"discard\",kind=\"sink\",plugin=\"null\"";
    const std::string rnd_l = "{connector=\"rnd\",kind=\"source\",plugin=\"random\"";
    EXPECT_EQ(sample(m, "tributary_connector_messages_in_total" + file_l + "}"), 100) << m;
    EXPECT_EQ(sample(m, "tributary_connector_messages_out_total" + file_l + "}"), 96);
    EXPECT_EQ(sample(m, "tributary_connector_messages_out_total" + null_l + "}"), 300);
    EXPECT_EQ(sample(m, "tributary_connector_messages_out_total" + rnd_l + "}"), 300);
    EXPECT_GT(sample(m, "tributary_connector_bytes_in_total" + file_l + "}"), 0);
    EXPECT_GT(sample(m, "tributary_connector_bytes_out_total" + rnd_l + "}"), 0);
    EXPECT_EQ(sample(m, "tributary_connector_dead_lettered_total" + file_l + "}"), 4);
    EXPECT_EQ(sample(m, "tributary_connector_errors_total" + file_l + ",class=\"fatal\"}"), 4);
    EXPECT_EQ(sample(m, "tributary_connector_errors_total" + null_l + ",class=\"retryable\"}"), 0);
    EXPECT_GE(sample(m, "tributary_connector_retries_total" + file_l + "}"), 0);
    EXPECT_EQ(sample(m, "tributary_connector_lag_messages" + file_l + "}"), 0);
    EXPECT_EQ(sample(m, "tributary_connector_lag_messages" + rnd_l + "}"), -1);  // no sample
    EXPECT_GT(sample(m, "tributary_connector_batch_latency_seconds_count" + null_l + "}"), 0);
    EXPECT_EQ(
        sample(m, "tributary_connector_batch_latency_seconds_bucket" + null_l + ",le=\"+Inf\"}"),
        sample(m, "tributary_connector_batch_latency_seconds_count" + null_l + "}"));
    EXPECT_NE(m.find("# TYPE tributary_connector_batch_latency_seconds histogram"),
              std::string::npos);
    EXPECT_EQ(sample(m, "tributary_connector_up" + file_l + "}"), 1);

    // Lists and single connectors, Iggy's field names.
    auto sinks = http_call(p, "GET", "/sinks", key);
    ASSERT_EQ(sinks.status, 200);
    rapidjson::Document ld;
    ld.Parse(sinks.body.c_str());
    ASSERT_TRUE(ld.IsArray()) << sinks.body;
    EXPECT_EQ(ld.Size(), 2u);
    auto sources = http_call(p, "GET", "/sources", key);
    ld.Parse(sources.body.c_str());
    ASSERT_TRUE(ld.IsArray()) << sources.body;
    ASSERT_EQ(ld.Size(), 1u);
    EXPECT_STREQ(ld[0]["key"].GetString(), "rnd");
    auto one = http_call(p, "GET", "/sinks/file_out", key);
    ASSERT_EQ(one.status, 200);
    ld.Parse(one.body.c_str());
    EXPECT_STREQ(ld["key"].GetString(), "file_out");
    EXPECT_STREQ(ld["status"].GetString(), "running");
    EXPECT_TRUE(ld["enabled"].GetBool());
    EXPECT_EQ(http_call(p, "GET", "/sources/rnd", key).status, 200);
    EXPECT_EQ(http_call(p, "GET", "/sinks/rnd", key).status, 404);  // a source, not a sink
    EXPECT_EQ(http_call(p, "GET", "/sinks/nope", key).status, 404);
    auto active = http_call(p, "GET", "/sinks/file_out/configs/active", key);
    EXPECT_EQ(active.status, 200);
    EXPECT_NE(active.body.find("api.jsonl"), std::string::npos) << active.body;

    // The spec endpoint: the option spec as JSON.
    auto spec = http_call(p, "GET", "/connectors/file/spec?kind=sink", key);
    ASSERT_EQ(spec.status, 200);
    rapidjson::Document spd;
    spd.Parse(spec.body.c_str());
    ASSERT_FALSE(spd.HasParseError()) << spec.body;
    EXPECT_NE(spec.body.find("\"idempotent\""), std::string::npos);
    EXPECT_NE(spec.body.find("max_file_size"), std::string::npos);
    EXPECT_EQ(http_call(p, "GET", "/connectors/nope/spec", key).status, 404);

    // Restart: the connector drains, starts again and is counted.
    EXPECT_EQ(http_call(p, "POST", "/sinks/discard/restart", key).status, 204);
    EXPECT_EQ(http_call(p, "POST", "/sinks/nope/restart", key).status, 404);
    EXPECT_EQ(http_call(p, "POST", "/sources/rnd/restart", key).status, 204);
    ASSERT_TRUE(discard.sup->wait_status(connector_status::running,
                                         std::chrono::steady_clock::now() + 20s));
    api.stop();
}

// `tributary run` with the live status table forced on (as on a terminal): stdout is redirected to
// a file for the run, which must hold the redrawn lines with rate, lag and errors per connector.
TEST(run, status_table_shows_rate_lag_and_errors_per_connector) {
    test::temp_dir dir("trib-status");
    const auto d = dir.path();
    fs::create_directories(d / "connectors");
    std::ofstream(d / "config.toml") << "[state]\npath = \"" << (d / "state").string()
                                     << "\"\n[connectors]\nconfig_type = \"local\"\n"
                                        "config_dir = \""
                                     << (d / "connectors").string()
                                     << "\"\n[http]\nenabled = false\n[server]\n"
                                        "address = \"127.0.0.1:0\"\n[logging]\nlevel = \"warn\"\n";
    std::ofstream(d / "connectors" / "r.toml")
        << "type = \"source\"\nkey = \"rnd\"\nname = \"r\"\nplugin = \"random\"\n"
           "[[streams]]\nstream = \"s\"\ntopic = \"t\"\nschema = \"json\"\n"
           "[plugin_config]\ninterval = \"1ms\"\nmax_count = 3000\n";
    std::ofstream(d / "connectors" / "n.toml")
        << "type = \"sink\"\nkey = \"discard\"\nname = \"n\"\nplugin = \"null\"\n"
           "[[streams]]\nstream = \"s\"\ntopics = [\"t\"]\nschema = \"json\"\n";
    app::run_options o;
    o.config_path = (d / "config.toml").string();
    o.env = config::environment{};
    o.status_table = true;
    o.messages = 3000;
    o.duration = std::chrono::milliseconds(120000);  // a bound if the count is never reached
    const auto out_path = d / "stdout.txt";
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ::dup2(fd, STDOUT_FILENO);
    ::close(fd);
    const int rc = app::run_runtime(o);
    std::fflush(stdout);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    EXPECT_EQ(rc, 0);
    std::ifstream f(out_path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    // One line per connector, each cleared and rewritten in place.
    EXPECT_NE(text.find("\r\x1b[Ksink   discard"), std::string::npos) << text;
    EXPECT_NE(text.find("\r\x1b[Ksource rnd"), std::string::npos) << text;
    EXPECT_NE(text.find("msg/s"), std::string::npos) << text;
    EXPECT_NE(text.find("  lag "), std::string::npos) << text;
    EXPECT_NE(text.find("errors 0"), std::string::npos) << text;
    EXPECT_NE(text.find("total 3000"), std::string::npos) << text;  // the last draw at the end
}

}  // namespace
}  // namespace trib::runtime
