// End to end through the embedded Iggy-compatible server (in-process, free loopback port) and the
// native client: every built-in connector and transform in a real pipeline, dead-lettering, drain
// and commits.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/connector_config.h"
#include "config/runtime_config.h"
#include "harness/peer.h"
#include "iggy/client.h"
#include "iggy/consumer.h"
#include "iggy/producer.h"
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
    void start(const std::vector<std::string>& files) {
        auto reg = connectors::registry::builtins();
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

}  // namespace
}  // namespace trib::runtime
