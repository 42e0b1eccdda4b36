// Issue 12, "Done when": every hostile payload of tests/data/hostile/payloads (and the big ones
// generated here) goes through `tributary run` (a child process with its embedded Iggy server)
// while good messages flow: into the file, PostgreSQL (append with a jsonb payload, and mapped),
// MQTT (topic from a JSON field) and HTTP (ndjson) sinks, each dead-lettering to its own topic,
// and as POST bodies to the webhook source. The process stays up and answers /health; every good
// message is delivered exactly once and unchanged; every bad one is in its sink's dead-letter
// topic with the reason and its original offset; delivered + dead-lettered = every offset.
//
// There are no faults and no restarts here, so no duplicates are allowed (the sinks' documented
// duplicates come from crashes and timeouts only).

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "connectors/mqtt/client.h"
#include "connectors/mqtt/mosquitto_fixture.h"
#include "connectors/postgres/pg_fixture.h"
#include "core/net/http_client.h"
#include "harness/peer.h"
#include "iggy/client.h"
#include "iggy/consumer.h"
#include "iggy/wire/batch.h"

namespace trib::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- what is sent and what each target must do with it ----

enum class want : std::uint8_t { deliver, dead_letter, either };

enum sink_id : std::size_t { file_sink, pg_append, pg_mapped, mqtt_sink, http_sink, sink_count };
constexpr std::array<const char*, sink_count> sink_keys = {"file", "pg_append", "pg_mapped", "mqtt",
                                                           "http"};

/// The webhook's answer: accepted (2xx, stored), refused (4xx, nothing stored), or either (a
/// payload whose validity is debatable: then it must be refused or stored unchanged).
enum class hook_want : std::uint8_t { accept, refuse, either };

struct hostile_case {
    std::string name;
    std::string payload;
    std::array<want, sink_count> sinks;
    hook_want hook;
};

fs::path source_dir() {
    const char* d = std::getenv("TRIB_SOURCE_DIR");
    return d ? fs::path(d) : fs::path(TRIB_TEST_SOURCE_DIR);
}

fs::path tributary_binary() {
    if (const char* b = std::getenv("TRIB_BINARY_DIR"))
        return fs::path(b) / "src/app/tributary";
    return fs::read_symlink("/proc/self/exe").parent_path() / "../../src/app/tributary";
}

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

constexpr std::size_t big_string_bytes = 10u << 20;

// The expectations. A sink with a JSON stream must dead-letter what is not JSON (RFC 8259: one
// value, UTF-8); the mapped PostgreSQL sink also what is not an object or does not fit the
// columns; the MQTT sink what has no `device_id` (its topic is `devices/{device_id}`); the HTTP
// sink a message larger than max_payload_size_bytes (10 MiB). Numbers beyond a double's range
// are valid JSON grammar: a target may refuse them or keep them unchanged ("either"). The MQTT
// sink forwards payload bytes: invalid UTF-8 inside a string is "either" there.
std::vector<hostile_case> hostile_cases() {
    const fs::path dir = source_dir() / "tests/data/hostile/payloads";
    constexpr auto D = want::deliver;
    constexpr auto X = want::dead_letter;
    constexpr auto E = want::either;
    std::vector<hostile_case> out;
    auto file = [&](const std::string& name, std::array<want, sink_count> w, hook_want h) {
        out.push_back({name, read_file(dir / name), w, h});
    };
    out.push_back({"200000 '['", std::string(200'000, '['), {X, X, X, X, X}, hook_want::refuse});
    {
        std::string s;
        for (int i = 0; i < 100'000; ++i)
            s += "{\"a\":";
        out.push_back({"{\"a\": x 100000", s, {X, X, X, X, X}, hook_want::refuse});
    }
    file("nul_then_garbage.json", {X, X, X, X, X}, hook_want::refuse);
    file("invalid_utf8_in_string.json", {X, X, X, E, X}, hook_want::refuse);
    file("number_huge_exponent.json", {E, E, E, E, E}, hook_want::either);
    file("number_beyond_64_bits.json", {E, E, E, E, E}, hook_want::either);
    out.push_back({"10 MiB JSON string",
                   "{\"device_id\":\"big\",\"seq\":1006,\"v\":\"" +
                       std::string(big_string_bytes, 'x') + "\"}",
                   {D, D, D, D, X},
                   hook_want::refuse});  // over the webhook's max_body_size (1 MiB): 413
    file("empty.json", {X, X, X, X, X}, hook_want::refuse);
    file("array_at_top_level.json", {D, D, X, X, D}, hook_want::accept);
    file("topic_field_missing.json", {D, D, D, X, D}, hook_want::accept);
    file("wrong_column_type.json", {D, D, X, D, D}, hook_want::accept);
    file("binary_garbage.bin", {X, X, X, X, X}, hook_want::refuse);
    return out;
}

std::string good_payload(int k) {
    return "{\"device_id\":\"dev" + std::to_string(k % 3) + "\",\"seq\":" + std::to_string(k) +
           ",\"v\":\"good " + std::to_string(k) + "\"}";
}

/// What a delivered message must look like in every target: the object's (or the array's first
/// element's) device_id, seq as text, and the length and start of v.
struct ident {
    std::string device_id;
    std::string seq;
    std::size_t v_len = 0;
    std::string v_prefix;
    friend bool operator==(const ident&, const ident&) = default;
};

std::ostream& operator<<(std::ostream& o, const ident& i) {
    return o << "{" << i.device_id << ", " << i.seq << ", v " << i.v_len << " '" << i.v_prefix
             << "'}";
}

constexpr unsigned parse_flags = rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag;

std::string str_of(const rapidjson::Value& v, const char* key) {
    if (!v.IsObject())
        return {};
    auto it = v.FindMember(key);
    if (it == v.MemberEnd() || !it->value.IsString())
        return {};
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

ident ident_of(const rapidjson::Value& payload) {
    const rapidjson::Value* o = &payload;
    if (o->IsArray() && !o->Empty())
        o = &(*o)[0];
    ident i;
    i.device_id = str_of(*o, "device_id");
    i.seq = str_of(*o, "seq");
    const std::string v = str_of(*o, "v");
    i.v_len = v.size();
    i.v_prefix = v.substr(0, 40);
    return i;
}

std::optional<ident> ident_of_text(std::string_view json) {
    rapidjson::Document d;
    d.Parse<parse_flags>(json.data(), json.size());
    if (d.HasParseError())
        return std::nullopt;
    return ident_of(d);
}

std::uint64_t to_u64(std::string_view s) {
    std::uint64_t v = UINT64_MAX;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

std::string tail(const std::string& log, std::size_t n = 6000) {
    return log.size() <= n ? log : "...\n" + log.substr(log.size() - n);
}

// ---- reading Iggy topics of the runtime's embedded server ----

iggy::client_options iggy_options(std::uint16_t port) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    o.conn.request_timeout = 10s;
    o.conn.reconnect = false;  // a runtime that died fails the reads at once
    return o;
}

struct stored_message {
    std::uint64_t offset = 0;
    std::string payload;
    std::map<std::string, std::string> headers;
};

/// Reads a topic from its first message on; `update` adds what arrived since the last call.
class topic_reader {
  public:
    topic_reader(std::uint16_t port, const std::string& stream, const std::string& topic)
        : port_(port), stream_(stream), topic_(topic) {}

    /// False while the topic does not exist yet or the poll failed.
    bool update() {
        if (!consumer_) {
            iggy::consumer_options co;
            co.client = iggy_options(port_);
            co.stream = iggy::identifier::named(stream_);
            co.topic = iggy::identifier::named(topic_);
            co.group = "";
            co.consumer_id = iggy::identifier::named("hostile-checker");
            co.batch_size = 100;
            auto c = iggy::consumer_client::create(co);
            if (!c)
                return false;
            consumer_ = std::move(*c);
        }
        for (;;) {
            auto b = consumer_->poll();
            if (!b)
                return false;
            if (b->messages.empty())
                return true;
            for (const auto& m : b->messages) {
                stored_message s;
                s.offset = m.offset;
                s.payload.assign(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
                if (auto hs = iggy::decode_user_headers(m.user_headers)) {
                    for (const auto& h : *hs)
                        s.headers[h.key] = h.value;
                }
                messages_.push_back(std::move(s));
            }
        }
    }
    const std::vector<stored_message>& messages() const { return messages_; }

  private:
    std::uint16_t port_;
    std::string stream_, topic_;
    std::unique_ptr<iggy::consumer_client> consumer_;
    std::vector<stored_message> messages_;
};

// ---- the MQTT side: every message the sink published ----

class mqtt_collector {
  public:
    explicit mqtt_collector(std::uint16_t port) {
        mqtt::client_options o;
        o.urls = {"mqtt://127.0.0.1:" + std::to_string(port)};
        o.client_id = "hostile-watch";
        o.clean_start = true;
        o.reconnect_min = 20ms;
        o.reconnect_max = 300ms;
        auto c = mqtt::client::connect(o);
        if (!c) {
            error_ = c.error().to_string();
            return;
        }
        client_ = std::move(*c);
        if (auto s = client_->subscribe({{"devices/#", {1}}}, 10s); !s) {
            error_ = s.error().to_string();
            return;
        }
        thread_ = std::thread([this] { loop(); });
    }
    ~mqtt_collector() {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    const std::string& error() const { return error_; }
    std::vector<std::pair<std::string, std::string>> messages() const {
        std::lock_guard lk(mu_);
        return messages_;
    }

  private:
    void loop() {
        std::vector<mqtt::message> got;
        std::vector<std::uint64_t> handles;
        while (!stop_) {
            got.clear();
            handles.clear();
            client_->receive(got, 1000, 50ms);
            std::lock_guard lk(mu_);
            for (auto& m : got) {
                if (m.handle != 0)
                    handles.push_back(m.handle);
                messages_.emplace_back(std::move(m.topic), std::move(m.payload));
            }
            client_->acknowledge(handles);
        }
    }

    std::string error_;
    std::unique_ptr<mqtt::client> client_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::vector<std::pair<std::string, std::string>> messages_;
};

// ---- the peers, started once for the binary ----

peer_spec receiver_spec() {
    peer_spec s;
    s.name = "http-receiver";
    s.program = "python3";
    s.args = {(source_dir() / "tests/connectors/http/receiver.py").string(), "{port}"};
    return s;
}

std::string error_policy(const std::string& sink) {
    // Fatal errors go to the dead-letter topic at once; a retryable one after two quick retries
    // (so that a misclassified poison message shows up as "retryable" here instead of blocking).
    return "\n[error_policy]\nmode = \"dead_letter\"\ndead_letter_stream = \"dlq\"\n"
           "dead_letter_topic = \"" +
           sink +
           "\"\nmax_retries = 2\nbackoff_initial = \"5ms\"\nbackoff_max = \"20ms\"\n"
           "throttle_min = \"5ms\"\n";
}

std::string sink_head(const std::string& key, const std::string& plugin_line) {
    return "type = \"sink\"\nkey = \"" + key + "\"\nenabled = true\nversion = 0\nname = \"" + key +
           "\"\n" + plugin_line +
           "\n\n[[streams]]\nstream = \"h\"\ntopics = [\"in\"]\nschema = \"json\"\n"
           "batch_length = 10\npoll_interval = \"5ms\"\n";
}

/// The lines of a log that matter after a crash: everything but stack frames, except the first
/// 12 frames after a sanitizer's ERROR line; the last 80 such lines.
std::string crash_excerpt(const std::string& log) {
    std::vector<std::string> kept;
    std::istringstream in(log);
    std::string line;
    int frames = 0;
    while (std::getline(in, line)) {
        if (line.find("ERROR: AddressSanitizer") != std::string::npos ||
            line.find("runtime error:") != std::string::npos)
            frames = 12;
        const bool frame = line.rfind("    #", 0) == 0;
        if (frame && frames == 0)
            continue;
        if (frame)
            --frames;
        kept.push_back(line);
    }
    std::string out;
    for (std::size_t i = kept.size() > 80 ? kept.size() - 80 : 0; i < kept.size(); ++i)
        out += kept[i] + "\n";
    return out;
}

/// `tributary run`: the embedded server on {port}, the management API on {port1}, the webhook on
/// {port2}. With `sinks`, every sink reads h/in; with `webhook`, the webhook writes h/hook.
peer_spec tributary_spec(std::uint16_t mqtt_port, std::uint16_t receiver_port,
                         const std::string& pg, bool sinks, bool webhook) {
    peer_spec s;
    s.name = "tributary";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/config.toml"};
    s.extra_ports = 2;
    s.env = {{"TRIB_PG", pg}};
    s.prepare = [=](const peer& p) {
        const fs::path dir = p.dir();
        fs::create_directories(dir / "connectors");
        std::ofstream(dir / "config.toml")
            << "[state]\npath = \"" << (dir / "state").string()
            << "\"\n\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
            << (dir / "connectors").string()
            << "\"\n\n[http]\nenabled = true\naddress = \"127.0.0.1:" << p.port(1)
            << "\"\n\n[logging]\nformat = \"text\"\nlevel = \"info\"\n\n[server]\naddress = "
               "\"127.0.0.1:"
            << p.port() << "\"\ndata_dir = \"" << (dir / "state/server").string()
            << "\"\nfsync = \"interval\"\n";
        auto put = [&](const std::string& name, const std::string& toml) {
            const bool is_hook = name == "hook.toml";
            if (is_hook ? webhook : sinks)
                std::ofstream(dir / "connectors" / name) << toml;
        };
        put("file.toml", sink_head("file", "plugin = \"file\"") + "\n[plugin_config]\npath = \"" +
                             (dir / "out/file.jsonl").string() + "\"\ninclude_metadata = true\n" +
                             error_policy("file"));
        put("pg_append.toml",
            sink_head("pg_append", "path = \"target/release/libiggy_connector_postgres_sink\"") +
                "\n[plugin_config]\nconnection_string = \"${env:TRIB_PG}\"\n"
                "target_table = \"landing\"\nauto_create_table = true\npayload_format = "
                "\"jsonb\"\n" +
                error_policy("pg_append"));
        put("pg_mapped.toml",
            sink_head("pg_mapped", "path = \"target/release/libiggy_connector_postgres_sink\"") +
                "\n[plugin_config]\nconnection_string = \"${env:TRIB_PG}\"\n"
                "target_table = \"mapped\"\nmode = \"mapped\"\n" +
                error_policy("pg_mapped"));
        put("mqtt.toml",
            sink_head("mqtt", "plugin = \"mqtt\"") +
                "\n[plugin_config]\nurls = [\"mqtt://127.0.0.1:" + std::to_string(mqtt_port) +
                "\"]\nclient_id = \"hostile-sink\"\ntopic = \"devices/{device_id}\"\n"
                "qos = 1\nreconnect_backoff_min = \"50ms\"\n"
                "reconnect_backoff_max = \"500ms\"\n" +
                error_policy("mqtt"));
        put("http.toml",
            sink_head("http", "path = \"target/release/libiggy_connector_http_sink\"") +
                "\n[plugin_config]\nurl = \"http://127.0.0.1:" + std::to_string(receiver_port) +
                "/in\"\nbatch_mode = \"ndjson\"\ntimeout = \"10s\"\nretry_delay = \"10ms\"\n"
                "max_retries = 2\n" +
                error_policy("http"));
        put("hook.toml",
            "type = \"source\"\nkey = \"hook\"\nenabled = true\nversion = 0\nname = \"hook\"\n"
            "plugin = \"webhook\"\n\n[[streams]]\nstream = \"h\"\ntopic = \"hook\"\n"
            "schema = \"json\"\nbatch_length = 100\nlinger_time = \"2ms\"\n\n[plugin_config]\n"
            "port = " +
                std::to_string(p.port(2)) +
                "\n\n[[plugin_config.routes]]\npath = \"/hook\"\nformat = \"json\"\n");
    };
    s.ready = [webhook](const peer& p) {
        return tcp_connectable(p.port()) && tcp_connectable(p.port(1)) &&
               (!webhook || tcp_connectable(p.port(2)));
    };
    s.ready_timeout = 60s;
    s.attempts = 2;
    return s;
}

class hostile_e2e : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto fail = [](const std::string& what) { setup_error_ = new std::string(what); };
        if (!fs::exists(tributary_binary()))
            return fail("tributary binary not built: " + tributary_binary().string());
        auto pg = peer::start(postgres_spec());
        if (!pg)
            return fail("PostgreSQL: " + pg.error().message());
        pg_ = std::move(*pg).release();
        if (auto e = pg_create_database(*pg_, "hostile"); !e.empty())
            return fail("create database: " + e);
        sql_ = new pg_client(pg_conninfo(*pg_, "hostile"));
        if (!sql_->ok())
            return fail("PostgreSQL client: " + sql_->error());
        if (auto e = sql_->exec("CREATE TABLE mapped (device_id text, seq bigint, v text)");
            !e.empty())
            return fail(e);
        auto broker = peer::start(mosquitto_spec());
        if (!broker)
            return fail("Mosquitto: " + broker.error().message());
        broker_ = std::move(*broker).release();
        mqtt_ = new mqtt_collector(broker_->port());
        if (!mqtt_->error().empty())
            return fail("MQTT collector: " + mqtt_->error());
        auto rcv = peer::start(receiver_spec());
        if (!rcv)
            return fail("receiver.py: " + rcv.error().message());
        receiver_ = std::move(*rcv).release();
        auto rt = peer::start(tributary_spec(broker_->port(), receiver_->port(),
                                             pg_conninfo(*pg_, "hostile"), true, false));
        if (!rt)
            return fail("tributary run: " + rt.error().message());
        runtime_ = std::move(*rt).release();
    }
    static void TearDownTestSuite() {
        delete runtime_;
        delete receiver_;
        delete mqtt_;
        delete broker_;
        delete sql_;
        delete pg_;
        delete setup_error_;
        runtime_ = nullptr;
        receiver_ = nullptr;
        mqtt_ = nullptr;
        broker_ = nullptr;
        sql_ = nullptr;
        pg_ = nullptr;
        setup_error_ = nullptr;
    }
    void SetUp() override {
        if (setup_error_ != nullptr) {
            if (in_ci())
                FAIL() << "a peer could not start (CI=true): " << *setup_error_;
            GTEST_SKIP() << "peer not available: " << *setup_error_;
        }
    }

    static peer& rt() { return *runtime_; }

    /// The runtime process runs and its management API answers GET /health with 200.
    static ::testing::AssertionResult runtime_healthy(peer* runtime = runtime_) {
        if (!runtime->alive())
            return ::testing::AssertionFailure() << "tributary run is gone; its log ends:\n"
                                                 << crash_excerpt(runtime->log());
        net::client_options o;
        o.timeout = 5s;
        net::http_client c(o);
        auto r = c.get("http://127.0.0.1:" + std::to_string(runtime->port(1)) + "/health");
        if (!r || r->status != 200)
            return ::testing::AssertionFailure()
                   << "GET /health: " << (r ? std::to_string(r->status) : r.error().to_string());
        return ::testing::AssertionSuccess();
    }

    static peer* pg_;
    static pg_client* sql_;
    static peer* broker_;
    static mqtt_collector* mqtt_;
    static peer* receiver_;
    static peer* runtime_;
    static std::string* setup_error_;
};

peer* hostile_e2e::pg_ = nullptr;
pg_client* hostile_e2e::sql_ = nullptr;
peer* hostile_e2e::broker_ = nullptr;
mqtt_collector* hostile_e2e::mqtt_ = nullptr;
peer* hostile_e2e::receiver_ = nullptr;
peer* hostile_e2e::runtime_ = nullptr;
std::string* hostile_e2e::setup_error_ = nullptr;

/// One delivery seen in a target: the Iggy offset it came from and what it looked like.
struct delivery {
    std::uint64_t offset = 0;
    std::optional<ident> seen;  // nullopt: the target's record could not be read as JSON
};

// ---- the sinks ----

TEST_F(hostile_e2e, sinks_deliver_every_good_message_and_dead_letter_every_bad_one) {
    const auto cases = hostile_cases();
    ASSERT_TRUE(runtime_healthy());
    auto cl = iggy::client::connect(iggy_options(rt().port()));
    ASSERT_TRUE(cl) << cl.error().to_string();
    auto& c = **cl;
    // The sinks create h/in when they start.
    ASSERT_TRUE(wait_until(
        [&] {
            auto t = c.get_topic(iggy::identifier::named("h"), iggy::identifier::named("in"));
            return t && t->has_value();
        },
        30s))
        << tail(rt().log());

    // Good messages interleaved with every hostile payload (3 before each, 10 after the last),
    // each sent alone so that offsets follow this order.
    struct sent {
        std::string payload;
        int hostile = -1;  // index into cases, or -1 for a good message
        int good = -1;
    };
    std::vector<sent> plan;
    int k = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        for (int j = 0; j < 3; ++j, ++k)
            plan.push_back({good_payload(k), -1, k});
        plan.push_back({cases[i].payload, static_cast<int>(i), -1});
    }
    for (int j = 0; j < 10; ++j, ++k)
        plan.push_back({good_payload(k), -1, k});
    std::vector<std::string> refused_by_server;
    for (const auto& m : plan) {
        iggy::batch_builder b;
        b.add(iggy::outgoing_message{
            {},
            0,
            iggy::bytes_view(reinterpret_cast<const std::uint8_t*>(m.payload.data()),
                             m.payload.size()),
            {}});
        auto batch = b.finish();
        auto r = c.send_messages(iggy::identifier::named("h"), iggy::identifier::named("in"),
                                 iggy::partitioning::balanced(), batch);
        if (!r) {
            // Only a hostile payload may be refused at the door (e.g. an empty one), cleanly.
            ASSERT_GE(m.hostile, 0) << "a good message was refused: " << r.error().to_string();
            refused_by_server.push_back(cases[static_cast<std::size_t>(m.hostile)].name + ": " +
                                        r.error().to_string());
        }
    }
    ASSERT_TRUE(runtime_healthy());

    // What h/in holds: the ground truth, offset -> what was sent.
    topic_reader in(rt().port(), "h", "in");
    std::map<std::uint64_t, const sent*> by_offset;
    ASSERT_TRUE(wait_until(
        [&] {
            in.update();
            return in.messages().size() + refused_by_server.size() >= plan.size();
        },
        30s));
    {
        std::size_t p = 0;
        for (const auto& m : in.messages()) {
            while (p < plan.size() && plan[p].payload != m.payload)
                ++p;  // skips the refused ones
            ASSERT_LT(p, plan.size()) << "h/in holds a message not sent at offset " << m.offset;
            by_offset[m.offset] = &plan[p++];
        }
    }
    ASSERT_EQ(by_offset.size() + refused_by_server.size(), plan.size());

    auto expected_ident = [&](const sent& s) -> std::optional<ident> {
        return ident_of_text(s.payload);
    };
    auto want_of = [&](const sent& s, sink_id sk) {
        return s.hostile < 0 ? want::deliver : cases[static_cast<std::size_t>(s.hostile)].sinks[sk];
    };
    auto name_of = [&](const sent& s) {
        return s.hostile < 0 ? "good #" + std::to_string(s.good)
                             : cases[static_cast<std::size_t>(s.hostile)].name;
    };

    // ---- collectors of what each target received ----
    std::map<std::uint64_t, const sent*> by_seq;  // the mapped table has no offset column
    for (const auto& [off, s] : by_offset) {
        if (auto id = expected_ident(*s); id && !id->seq.empty())
            by_seq.emplace(to_u64(id->seq), s);
    }
    std::map<std::string, std::uint64_t> offset_of_payload;
    for (const auto& [off, s] : by_offset)
        offset_of_payload[s->payload] = off;

    auto file_deliveries = [&] {
        std::vector<delivery> out;
        std::ifstream f(rt().dir() / "out/file.jsonl", std::ios::binary);
        std::string line;
        while (std::getline(f, line)) {
            rapidjson::Document d;
            d.Parse<parse_flags>(line.data(), line.size());
            delivery dv;
            if (d.HasParseError() || !d.IsObject() || !d.HasMember("payload")) {
                // Still count it (by its offset field) so that the report shows the bad line.
                auto at = line.rfind("\"offset\":");
                dv.offset = at == std::string::npos ? UINT64_MAX : to_u64(line.substr(at + 9));
                out.push_back(dv);
                continue;
            }
            dv.offset = to_u64(str_of(d, "offset"));
            dv.seen = ident_of(d["payload"]);
            out.push_back(dv);
        }
        return out;
    };
    auto split_tabs = [](const std::string& row) {
        std::vector<std::string> f;
        std::stringstream ss(row);
        std::string x;
        while (std::getline(ss, x, '\t'))
            f.push_back(x);
        return f;
    };
    auto pg_append_deliveries = [&] {
        std::vector<delivery> out;
        const auto rows = sql_->rows(
            "SELECT iggy_offset, coalesce(p->>'device_id', ''), coalesce(p->>'seq', ''), "
            "coalesce(length(p->>'v'), 0), coalesce(left(p->>'v', 40), '') FROM (SELECT "
            "iggy_offset, CASE WHEN jsonb_typeof(payload) = 'array' THEN payload->0 ELSE payload "
            "END AS p FROM landing) x");
        for (const auto& r : rows) {
            auto f = split_tabs(r);
            if (f.size() < 4)
                continue;  // an error text: the table does not exist yet
            f.resize(5);
            out.push_back({to_u64(f[0]), ident{f[1], f[2], std::stoul(f[3]), f[4]}});
        }
        return out;
    };
    auto pg_mapped_deliveries = [&] {
        std::vector<delivery> out;
        const auto rows = sql_->rows(
            "SELECT coalesce(device_id, ''), seq, coalesce(length(v), 0), coalesce(left(v, 40), "
            "'') FROM mapped");
        for (const auto& r : rows) {
            auto f = split_tabs(r);
            if (f.size() < 3)
                continue;
            f.resize(4);
            auto s = by_seq.find(to_u64(f[1]));
            out.push_back({s == by_seq.end() ? UINT64_MAX : offset_of_payload[s->second->payload],
                           ident{f[0], f[1], std::stoul(f[2]), f[3]}});
        }
        return out;
    };
    std::vector<std::string> mqtt_wrong_topic;
    auto mqtt_deliveries = [&] {
        std::vector<delivery> out;
        mqtt_wrong_topic.clear();
        for (const auto& [topic, payload] : mqtt_->messages()) {
            auto it = offset_of_payload.find(payload);
            delivery dv;
            dv.offset = it == offset_of_payload.end() ? UINT64_MAX : it->second;
            dv.seen = ident_of_text(payload);
            if (dv.seen && topic != "devices/" + dv.seen->device_id)
                mqtt_wrong_topic.push_back(topic);
            out.push_back(dv);
        }
        return out;
    };
    auto http_deliveries = [&] {
        std::vector<delivery> out;
        net::http_client hc;
        auto r = hc.get("http://127.0.0.1:" + std::to_string(receiver_->port()) + "/_requests");
        if (!r)
            return out;
        rapidjson::Document reqs;
        reqs.Parse(r->body.c_str());
        if (!reqs.IsArray())
            return out;
        for (const auto& q : reqs.GetArray()) {
            if (str_of(q, "fate") != "ok")
                continue;
            const std::string body = str_of(q, "body");
            std::size_t i = 0;
            while (i < body.size()) {
                auto nl = body.find('\n', i);
                if (nl == std::string::npos)
                    nl = body.size();
                rapidjson::Document d;
                d.Parse<parse_flags>(body.data() + i, nl - i);
                i = nl + 1;
                delivery dv;
                dv.offset = UINT64_MAX;
                if (!d.HasParseError() && d.IsObject() && d.HasMember("metadata") &&
                    d.HasMember("payload")) {
                    dv.offset = to_u64(str_of(d["metadata"], "iggy_offset"));
                    dv.seen = ident_of(d["payload"]);
                }
                out.push_back(dv);
            }
        }
        return out;
    };
    const std::array<std::function<std::vector<delivery>()>, sink_count> deliveries = {
        file_deliveries, pg_append_deliveries, pg_mapped_deliveries, mqtt_deliveries,
        http_deliveries};
    std::vector<std::unique_ptr<topic_reader>> dlq;
    for (const char* key : sink_keys)
        dlq.push_back(std::make_unique<topic_reader>(rt().port(), "dlq", key));

    // Until every sink accounted for every offset (delivered or dead-lettered), the runtime died,
    // or the deadline passed.
    std::array<std::vector<delivery>, sink_count> got;
    auto accounted = [&] {
        bool all = true;
        for (std::size_t sk = 0; sk < sink_count; ++sk) {
            got[sk] = deliveries[sk]();
            dlq[sk]->update();
            std::set<std::uint64_t> seen;
            for (const auto& d : got[sk])
                seen.insert(d.offset);
            for (const auto& m : dlq[sk]->messages()) {
                auto h = m.headers.find("tributary.original.offset");
                if (h != m.headers.end() && h->second.size() == 8) {
                    std::uint64_t off = 0;
                    std::memcpy(&off, h->second.data(), 8);
                    seen.insert(off);
                }
            }
            for (const auto& [off, s] : by_offset)
                all = all && seen.contains(off);
        }
        return all;
    };
    const bool done = wait_until([&] { return accounted() || !rt().alive(); }, 60s);
    accounted();
    ASSERT_TRUE(runtime_healthy());
    EXPECT_TRUE(done) << "not every offset was delivered or dead-lettered within 60 s; the "
                         "runtime's log ends:\n"
                      << crash_excerpt(rt().log());

    // ---- the verdict, sink by sink ----
    std::ostringstream report;
    for (const auto& r : refused_by_server)
        report << "  refused by the server at send: " << r << "\n";
    for (std::size_t si = 0; si < sink_count; ++si) {
        const auto sk = static_cast<sink_id>(si);
        SCOPED_TRACE(std::string("sink ") + sink_keys[sk]);
        std::map<std::uint64_t, std::vector<const delivery*>> delivered;
        for (const auto& d : got[sk]) {
            EXPECT_NE(d.offset, UINT64_MAX) << "a record that matches no message sent"
                                            << (d.seen ? "" : " (and is not valid JSON)");
            delivered[d.offset].push_back(&d);
        }
        std::map<std::uint64_t, std::vector<const stored_message*>> dead;
        for (const auto& m : dlq[sk]->messages()) {
            auto h = m.headers.find("tributary.original.offset");
            ASSERT_TRUE(h != m.headers.end() && h->second.size() == 8)
                << "a dead letter without tributary.original.offset";
            std::uint64_t off = 0;
            std::memcpy(&off, h->second.data(), 8);
            dead[off].push_back(&m);
        }
        for (const auto& [off, s] : by_offset) {
            const std::string what = name_of(*s) + " (offset " + std::to_string(off) + ")";
            const auto w = want_of(*s, sk);
            const std::size_t nd = delivered.count(off) ? delivered[off].size() : 0;
            const std::size_t nx = dead.count(off) ? dead[off].size() : 0;
            EXPECT_EQ(nd + nx, 1u) << what << ": delivered " << nd << " times, dead-lettered " << nx
                                   << " times (exactly once in one place: nothing lost, "
                                   << "no duplicates without faults)";
            if (w == want::deliver) {
                EXPECT_EQ(nd, 1u) << what << " must be delivered";
            }
            if (w == want::dead_letter) {
                EXPECT_EQ(nx, 1u) << what << " must be dead-lettered";
            }
            if (nd > 0) {
                const auto expect = expected_ident(*s);
                const auto& seen = delivered[off].front()->seen;
                EXPECT_TRUE(seen.has_value()) << what << " was written as something not JSON";
                if (expect && seen) {
                    EXPECT_EQ(*seen, *expect) << what << " arrived changed";
                }
            }
            if (nx > 0) {
                const auto& m = *dead[off].front();
                EXPECT_EQ(m.payload, s->payload) << what << ": the dead letter's payload differs";
                const std::string reason =
                    m.headers.count("tributary.error") ? m.headers.at("tributary.error") : "";
                EXPECT_FALSE(reason.empty()) << what << ": dead letter without tributary.error";
                EXPECT_EQ(m.headers.count("tributary.connector")
                              ? m.headers.at("tributary.connector")
                              : "",
                          sink_keys[sk]);
                EXPECT_EQ(m.headers.count("tributary.original.topic")
                              ? m.headers.at("tributary.original.topic")
                              : "",
                          "in");
                if (s->hostile >= 0) {
                    auto cls = m.headers.count("tributary.error.class")
                                   ? m.headers.at("tributary.error.class")
                                   : "?";
                    report << "  " << sink_keys[sk] << " dead-lettered " << what << " [" << cls
                           << "]: " << reason.substr(0, 160) << "\n";
                }
            } else if (nd > 0 && s->hostile >= 0) {
                report << "  " << sink_keys[sk] << " delivered " << what << "\n";
            }
        }
        if (sk == mqtt_sink) {
            EXPECT_TRUE(mqtt_wrong_topic.empty())
                << "published to the wrong topic: " << mqtt_wrong_topic.front();
        }
    }
    std::cout << "[ hostile ] outcomes:\n" << report.str();
    EXPECT_TRUE(runtime_healthy());
}

// ---- the webhook source ----

TEST_F(hostile_e2e, webhook_refuses_every_bad_body_and_stores_every_good_one) {
    const auto cases = hostile_cases();
    // A runtime of its own (the webhook only), so that this test does not depend on the sinks'.
    TRIB_START_PEER(hook_rt, tributary_spec(broker_->port(), receiver_->port(),
                                            pg_conninfo(*pg_, "hostile"), false, true));
    ASSERT_TRUE(runtime_healthy(hook_rt.get()));
    const std::string url = "http://127.0.0.1:" + std::to_string(hook_rt->port(2)) + "/hook";
    net::client_options o;
    o.timeout = 30s;
    net::http_client hc(o);

    std::vector<std::string> stored_expected;  // payloads the topic must hold, in order
    std::vector<std::string> either_stored;    // allowed in the topic (unchanged), not required
    std::ostringstream report;
    int k = 0;
    auto post_good = [&] {
        const std::string body = "{\"device_id\":\"hook\",\"seq\":" + std::to_string(k) +
                                 ",\"v\":\"hook " + std::to_string(k) + "\"}";
        ++k;
        auto r = hc.post(url, body);
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_EQ(r->status, 200) << body << ": " << r->body;
        stored_expected.push_back(body);
    };
    for (const auto& hc_case : cases) {
        for (int j = 0; j < 3; ++j)
            ASSERT_NO_FATAL_FAILURE(post_good());
        auto r = hc.post(url, hc_case.payload);
        // The client reports answers other than 2xx as errors carrying the status.
        const long status = r ? r->status : r.error().vendor_code();
        const std::string got =
            r ? std::to_string(r->status) + " " + r->body.substr(0, 120) : r.error().to_string();
        report << "  " << hc_case.name << ": " << got << "\n";
        ASSERT_TRUE(runtime_healthy(hook_rt.get())) << "after POSTing " << hc_case.name;
        const bool accepted = status >= 200 && status < 300;
        const bool refused = status >= 400 && status < 500;
        switch (hc_case.hook) {
            case hook_want::accept: {
                EXPECT_TRUE(accepted) << hc_case.name << ": " << got;
                // A JSON array is one message per element.
                rapidjson::Document d;
                d.Parse(hc_case.payload.c_str());
                if (d.IsArray()) {
                    for (const auto& e : d.GetArray()) {
                        (void)e;
                        stored_expected.push_back("array element");
                    }
                } else {
                    stored_expected.push_back(hc_case.payload);
                }
                break;
            }
            case hook_want::refuse:
                // A body over max_body_size may also be cut off by closing the connection after
                // the 413: a refused request either way, and nothing is stored.
                EXPECT_TRUE(refused || (status == 0 && hc_case.payload.size() > (1u << 20)))
                    << hc_case.name << ": " << got;
                break;
            case hook_want::either:
                EXPECT_TRUE(accepted || refused) << hc_case.name << ": " << got;
                if (accepted)
                    either_stored.push_back(hc_case.payload);
                break;
        }
    }
    for (int j = 0; j < 10; ++j)
        ASSERT_NO_FATAL_FAILURE(post_good());
    std::cout << "[ hostile ] webhook answers:\n" << report.str();

    // Every accepted body is in h/hook, in order, unchanged; nothing else is.
    topic_reader hook(hook_rt->port(), "h", "hook");
    const std::size_t want_n = stored_expected.size() + either_stored.size();
    EXPECT_TRUE(wait_until(
        [&] {
            hook.update();
            return hook.messages().size() >= want_n;
        },
        30s))
        << hook.messages().size() << " of " << want_n;
    std::size_t e = 0;
    for (const auto& m : hook.messages()) {
        if (std::find(either_stored.begin(), either_stored.end(), m.payload) != either_stored.end())
            continue;
        ASSERT_LT(e, stored_expected.size())
            << "unexpected message in h/hook: " << m.payload.substr(0, 200);
        if (stored_expected[e] == "array element") {
            auto id = ident_of_text(m.payload);
            ASSERT_TRUE(id.has_value()) << m.payload.substr(0, 200);
            EXPECT_EQ(id->device_id, "arr");
        } else {
            auto want_id = ident_of_text(stored_expected[e]);
            auto got_id = ident_of_text(m.payload);
            ASSERT_TRUE(got_id.has_value()) << "not JSON in h/hook: " << m.payload.substr(0, 200);
            EXPECT_EQ(*got_id, *want_id);
        }
        ++e;
    }
    EXPECT_EQ(e, stored_expected.size());
    EXPECT_EQ(hook.messages().size(), want_n);
    EXPECT_TRUE(runtime_healthy(hook_rt.get()));
}

}  // namespace
}  // namespace trib::test
