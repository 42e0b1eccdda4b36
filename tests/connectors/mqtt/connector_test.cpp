// The MQTT source and sink connectors driven directly (open/poll/ack/nack/write/close) against a
// real Mosquitto, plus their specs.

#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "config/validate.h"
#include "connectors/mqtt/client.h"
#include "connectors/mqtt/mqtt.h"
#include "core/message_id.h"
#include "harness/hostile_json.h"
#include "mosquitto_fixture.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

std::string url(std::uint16_t port) {
    return "mqtt://127.0.0.1:" + std::to_string(port);
}

std::unique_ptr<mqtt::client> test_client(std::uint16_t port, const std::string& id) {
    mqtt::client_options o;
    o.urls = {url(port)};
    o.client_id = id;
    o.clean_start = true;
    auto c = mqtt::client::connect(o);
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
}

void publish(mqtt::client& c, const std::string& topic, const std::string& payload,
             std::uint8_t qos = 1, mqtt::properties props = {}) {
    mqtt::publish_packet p;
    p.topic = topic;
    p.payload = payload;
    p.qos = qos;
    p.props = std::move(props);
    auto t = c.publish(p, clock::now() + 5s);
    ASSERT_TRUE(t) << t.error().message();
    auto r = c.wait_published(*t, clock::now() + 5s);
    ASSERT_TRUE(r) << r.error().message();
}

// Polls until `n` messages arrived (in batches), acknowledging none; returns batches with seqs.
struct polled {
    // A deque: growing a vector would copy the batches (message_batch's move is not noexcept),
    // and a copy's payload views still point into the original's arena.
    std::deque<source_batch> batches;
    std::size_t count() const {
        std::size_t n = 0;
        for (const auto& b : batches)
            n += b.batch.size();
        return n;
    }
    std::vector<std::string> payloads() const {
        std::vector<std::string> out;
        for (const auto& b : batches)
            for (const auto& m : b.batch.messages)
                out.emplace_back(m.payload);
        return out;
    }
};

polled poll_n(source& s, std::size_t n, std::chrono::milliseconds within = 10s) {
    polled p;
    auto deadline = clock::now() + within;
    while (p.count() < n && clock::now() < deadline) {
        auto r = s.poll(100ms);
        EXPECT_TRUE(r) << r.error().message();
        if (r && !r->batch.empty())
            p.batches.push_back(std::move(*r));
    }
    return p;
}

std::string header_str(const message& m, const std::string& k) {
    const header* h = m.find_header(k);
    return h == nullptr ? "<none>" : h->value;
}

struct source_rig {
    std::unique_ptr<source> src;
    connector_context ctx;
    status open(const std::string& toml, const std::string& key = "mq") {
        auto made = make_mqtt_source(test::spec_values(mqtt_source_spec(), toml));
        if (!made)
            return made.error();
        src = std::move(*made);
        ctx.key = key;
        ctx.routes = {stream_ref{"iot", "events"}};
        return src->open(ctx, "");
    }
};

TEST(mqtt_connectors, specs_are_well_formed_and_validate) {
    EXPECT_TRUE(config::check_spec(mqtt_source_spec()).empty());
    EXPECT_TRUE(config::check_spec(mqtt_sink_spec()).empty());
    EXPECT_NE(test::spec_problems(mqtt_source_spec(), "qos = 1\n").find("subscribe to something"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(mqtt_source_spec(), "topics = [\"a/#/b\"]\n")
                  .find("invalid topic filter"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(mqtt_source_spec(), "topics = [\"a\"]\nqos = 3\n"), "");
    EXPECT_NE(test::spec_problems(mqtt_source_spec(),
                                  "[[subscriptions]]\nfilter = \"a\"\nstream = \"s\"\n")
                  .find("go together"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(mqtt_source_spec(),
                                  "topics = [\"a\"]\nprotocol_version = \"3.1.1\"\n"
                                  "shared_group = \"g\"\n")
                  .find("shared subscriptions need"),
              std::string::npos);
    EXPECT_EQ(test::spec_problems(mqtt_source_spec(),
                                  "topics = [\"a/+\"]\nuser = \"u\"\nkeepalive = \"10s\"\n"
                                  "clean_start = true\n"),
              "")
        << "the Benthos-style aliases are accepted";
    EXPECT_NE(test::spec_problems(mqtt_sink_spec(), "topic = \"a/#\"\n").find("wildcards"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(mqtt_sink_spec(), "qos = 1\n").find("topic"), std::string::npos);
    auto bad_template = make_mqtt_sink(test::spec_values(mqtt_sink_spec(), "topic = \"a/{$x}\"\n"));
    ASSERT_FALSE(bad_template);
    EXPECT_NE(bad_template.error().message().find("unknown placeholder"), std::string::npos);
}

// The README's option tables come from the specs (config::render_markdown); this fails when an
// option is added or renamed without updating them.
TEST(mqtt_connectors, readme_lists_every_option) {
    const char* root = std::getenv("TRIB_SOURCE_DIR");
    const std::filesystem::path readme_path =
        root != nullptr ? std::filesystem::path(root) / "src/connectors/mqtt/README.md"
                        : std::filesystem::path(__FILE__).parent_path() /
                              "../../../src/connectors/mqtt/README.md";
    std::ifstream in(readme_path);
    ASSERT_TRUE(in.good()) << readme_path;
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string readme = ss.str();
    for (const auto& s : {mqtt_source_spec(), mqtt_sink_spec()}) {
        for (const auto& o : s.options) {
            EXPECT_NE(readme.find("| `" + o.name + "` |"), std::string::npos) << o.name;
            const std::string sep = o.type == config::opt_type::table_list ? "[]." : ".";
            for (const auto& c : o.children) {
                EXPECT_NE(readme.find("| `" + o.name + sep + c.name + "` |"), std::string::npos)
                    << o.name << sep << c.name;
            }
            if (o.default_value) {
                EXPECT_NE(
                    readme.find("| `" + o.name + "` | " + std::string(config::to_string(o.type))),
                    std::string::npos)
                    << o.name << ": type changed?";
            }
        }
    }
}

TEST(mqtt_connectors, source_maps_topic_qos_retain_properties_key_and_route) {
    TRIB_START_PEER(broker, test::mosquitto_spec());
    source_rig rig;
    auto st = rig.open("urls = [\"" + url(broker->port()) +
                       "\"]\n"
                       "topics = [\"plain/#\"]\n"
                       "key = \"level\"\nkey_level = 1\n"
                       "[[subscriptions]]\nfilter = \"sensors/+/temp\"\nqos = 2\n"
                       "stream = \"iot\"\ntopic = \"temperature\"\n");
    ASSERT_TRUE(st) << st.error().message();
    ASSERT_EQ(rig.ctx.routes.size(), 2u);
    EXPECT_EQ(rig.ctx.routes[1], (stream_ref{"iot", "temperature"}));
    auto pub = test_client(broker->port(), "pub");
    mqtt::properties props;
    props.content_type = "application/json";
    props.user_properties = {{"site", "north"}, {"site", "ignored"}, {"fw", "1.2"}};
    publish(*pub, "sensors/dev7/temp", "{\"t\":21.5}", 2, props);
    publish(*pub, "plain/dev9/x", "hello", 0);
    auto got = poll_n(*rig.src, 2);
    ASSERT_EQ(got.count(), 2u);
    std::map<std::string, const message*> by_payload;
    for (const auto& b : got.batches)
        for (const auto& m : b.batch.messages)
            by_payload[std::string(m.payload)] = &m;
    const message& t = *by_payload.at("{\"t\":21.5}");
    EXPECT_EQ(t.route, 1);
    EXPECT_EQ(t.key, "dev7");
    EXPECT_EQ(header_str(t, "mqtt.topic"), "sensors/dev7/temp");
    ASSERT_NE(t.find_header("mqtt.qos"), nullptr);
    EXPECT_EQ(t.find_header("mqtt.qos")->kind, value_kind::uint8);
    EXPECT_EQ(t.find_header("mqtt.qos")->value, std::string(1, '\x02'));
    EXPECT_EQ(t.find_header("mqtt.retain")->value, std::string(1, '\x00'));
    EXPECT_EQ(header_str(t, "mqtt.content_type"), "application/json");
    EXPECT_EQ(header_str(t, "site"), "north");
    EXPECT_EQ(header_str(t, "fw"), "1.2");
    const message& p = *by_payload.at("hello");
    EXPECT_EQ(p.route, 0);
    EXPECT_EQ(p.key, "dev9");
    EXPECT_EQ(p.find_header("mqtt.qos")->value, std::string(1, '\x00'));
    for (std::uint64_t seq = 1; seq <= got.batches.size(); ++seq)
        rig.src->ack(seq);
    rig.src->close();
}

TEST(mqtt_connectors, source_acks_after_iggy_and_redelivers_what_was_not_acked) {
    TRIB_START_PEER(broker, test::mosquitto_spec());
    const std::string toml = "urls = [\"" + url(broker->port()) +
                             "\"]\ntopics = [\"fleet/#\"]\nqos = 1\nmax_batch_messages = 10\n";
    auto pub = test_client(broker->port(), "pub");
    {
        source_rig rig;
        ASSERT_TRUE(rig.open(toml));
        for (int i = 0; i < 30; ++i)
            publish(*pub, "fleet/a", "m" + std::to_string(i));
        auto got = poll_n(*rig.src, 30);
        ASSERT_EQ(got.count(), 30u);
        // Batches are numbered 1.. in poll order; Iggy took the first ones only.
        std::uint64_t seq = 0;
        std::size_t acked = 0;
        for (const auto& b : got.batches) {
            ++seq;
            if (acked + b.batch.size() > 12)
                break;
            rig.src->ack(seq);
            acked += b.batch.size();
        }
        ASSERT_GT(acked, 0u);
        ASSERT_LT(acked, 30u);
        // The runtime stops (or crashes) here without acknowledging the rest.
        rig.src->close();
        source_rig again;
        ASSERT_TRUE(again.open(toml));
        auto back = poll_n(*again.src, 30 - acked);
        ASSERT_EQ(back.count(), 30 - acked);
        auto p = back.payloads();
        for (std::size_t i = 0; i < p.size(); ++i)
            EXPECT_EQ(p[i], "m" + std::to_string(acked + i));
        for (std::uint64_t s = 1; s <= back.batches.size(); ++s)
            again.src->ack(s);
        again.src->close();
    }
    source_rig third;
    ASSERT_TRUE(third.open(toml));
    auto none = poll_n(*third.src, 1, 700ms);
    EXPECT_EQ(none.count(), 0u) << "everything was acknowledged";
}

TEST(mqtt_connectors, packet_ids_survive_the_brokers_redelivery_after_a_crash) {
    TRIB_START_PEER(broker, test::mosquitto_spec());
    const std::string toml = "urls = [\"" + url(broker->port()) +
                             "\"]\ntopics = [\"fleet/#\"]\nqos = 1\nmax_batch_messages = 5\n"
                             "message_ids = \"packet\"\n";
    auto pub = test_client(broker->port(), "pub-ids");
    std::map<std::string, message_id> first;  // payload -> id
    std::size_t acked = 0;
    {
        source_rig rig;
        ASSERT_TRUE(rig.open(toml));
        for (int i = 0; i < 20; ++i)
            publish(*pub, "fleet/b", "m" + std::to_string(i));
        auto got = poll_n(*rig.src, 20);
        ASSERT_EQ(got.count(), 20u);
        std::set<std::string> distinct;
        for (const auto& b : got.batches) {
            for (const auto& m : b.batch.messages) {
                EXPECT_FALSE(m.id.is_zero());
                first[std::string(m.payload)] = m.id;
                distinct.insert(to_hex(m.id));
            }
        }
        EXPECT_EQ(distinct.size(), 20u);
        rig.src->ack(1);  // Iggy took the first batch only; then the runtime dies
        acked = got.batches.front().batch.size();
        rig.src->close();
    }
    source_rig again;
    ASSERT_TRUE(again.open(toml));
    auto back = poll_n(*again.src, 20 - acked);
    ASSERT_EQ(back.count(), 20 - acked);
    for (const auto& b : back.batches) {
        for (const auto& m : b.batch.messages) {
            // The broker's redelivery (DUP, same packet identifier): the same id as before.
            ASSERT_TRUE(first.contains(std::string(m.payload))) << m.payload;
            EXPECT_EQ(m.id, first[std::string(m.payload)]) << m.payload;
        }
    }
    for (std::uint64_t s = 1; s <= back.batches.size(); ++s)
        again.src->ack(s);
    // QoS 0 has no packet identifier: no identity, id 0 (random in Iggy).
    publish(*pub, "fleet/c", "zero", 0);
    auto z = poll_n(*again.src, 1);
    ASSERT_EQ(z.count(), 1u);
    EXPECT_TRUE(z.batches.front().batch.messages.front().id.is_zero());
}

TEST(mqtt_connectors, source_nack_delivers_the_batch_again) {
    TRIB_START_PEER(broker, test::mosquitto_spec());
    source_rig rig;
    ASSERT_TRUE(rig.open("urls = [\"" + url(broker->port()) + "\"]\ntopics = [\"n/#\"]\n"));
    auto pub = test_client(broker->port(), "pub");
    for (int i = 0; i < 5; ++i)
        publish(*pub, "n/x", "m" + std::to_string(i));
    auto first = poll_n(*rig.src, 5);
    ASSERT_EQ(first.count(), 5u);
    for (std::uint64_t s = 1; s <= first.batches.size(); ++s)
        rig.src->nack(s);
    auto again = poll_n(*rig.src, 5);
    ASSERT_EQ(again.count(), 5u);
    EXPECT_EQ(again.payloads(), first.payloads());
    const auto base = first.batches.size();
    for (std::uint64_t s = 1; s <= again.batches.size(); ++s)
        rig.src->ack(base + s);
    rig.src->close();
    source_rig fresh;
    ASSERT_TRUE(fresh.open("urls = [\"" + url(broker->port()) + "\"]\ntopics = [\"n/#\"]\n"));
    EXPECT_EQ(poll_n(*fresh.src, 1, 700ms).count(), 0u);
}

TEST(mqtt_connectors, source_shared_group_splits_between_two_connectors) {
    TRIB_START_PEER(broker, test::mosquitto_spec());
    const std::string toml = "urls = [\"" + url(broker->port()) +
                             "\"]\ntopics = [\"split/#\"]\nshared_group = \"workers\"\n"
                             "client_id = \"tributary-{key}\"\n";
    source_rig a, b;
    ASSERT_TRUE(a.open(toml, "worker-a"));
    ASSERT_TRUE(b.open(toml, "worker-b"));
    auto pub = test_client(broker->port(), "pub");
    for (int i = 0; i < 200; ++i)
        publish(*pub, "split/" + std::to_string(i % 7), std::to_string(i));
    std::multiset<std::string> seen;
    std::size_t na = 0, nb = 0;
    std::uint64_t sa = 0, sb = 0;
    auto deadline = clock::now() + 10s;
    while (seen.size() < 200 && clock::now() < deadline) {
        for (auto* rig : {&a, &b}) {
            auto r = rig->src->poll(20ms);
            ASSERT_TRUE(r);
            if (r->batch.empty())
                continue;
            for (const auto& m : r->batch.messages)
                seen.emplace(m.payload);
            (rig == &a ? na : nb) += r->batch.size();
            rig->src->ack(rig == &a ? ++sa : ++sb);
        }
    }
    EXPECT_EQ(seen.size(), 200u);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 200u) << "no duplicates";
    EXPECT_GT(na, 0u);
    EXPECT_GT(nb, 0u);
}

struct sink_rig {
    std::unique_ptr<sink> snk;
    connector_context ctx;
    status open(const std::string& toml) {
        auto made = make_mqtt_sink(test::spec_values(mqtt_sink_spec(), toml));
        if (!made)
            return made.error();
        snk = std::move(*made);
        ctx.key = "out";
        return snk->open(ctx);
    }
};

message_batch make_batch(const std::vector<std::pair<std::string, std::vector<header>>>& items) {
    message_batch b;
    std::uint64_t off = 100;
    for (const auto& [payload, headers] : items) {
        message m;
        m.payload = b.own(payload);
        m.headers = headers;
        m.offset = off++;
        b.messages.push_back(std::move(m));
    }
    return b;
}

TEST(mqtt_connectors, sink_fills_the_topic_template_and_properties) {
    TRIB_START_PEER(broker, test::mosquitto_spec());
    auto sub = test_client(broker->port(), "watcher");
    ASSERT_TRUE(sub->subscribe({{"devices/#", {2}}}, 5s));
    sink_rig rig;
    auto st = rig.open("urls = [\"" + url(broker->port()) +
                       "\"]\ntopic = \"devices/{device_id}/commands/{$offset}\"\nqos = 2\n");
    ASSERT_TRUE(st) << st.error().message();
    auto batch = make_batch({
        {"{\"device_id\":\"d1\",\"cmd\":\"on\"}", {}},
        {"{\"cmd\":\"off\"}",
         {{"device_id", value_kind::string, "d2"},
          {"mqtt.content_type", value_kind::string, "application/json"},
          {"tenant", value_kind::string, "acme"},
          {"prio", value_kind::uint16, std::string("\x05\x00", 2)}}},
        {"{\"nothing\":1}", {}},
        {"{\"device_id\":{\"nested\":true}}", {}},
        {"{\"device_id\":42}", {}},
    });
    sink_batch sb{"iot", "commands", 1, "json", &batch};
    auto r = rig.snk->write(sb);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->rejected.size(), 2u);
    EXPECT_EQ(r->rejected[0].index, 2u);
    EXPECT_EQ(r->rejected[1].index, 3u);
    EXPECT_EQ(r->rejected[0].err.retry(), retry_class::fatal);
    std::vector<mqtt::message> got;
    auto deadline = clock::now() + 5s;
    while (got.size() < 3 && clock::now() < deadline)
        sub->receive(got, 10, 100ms);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].topic, "devices/d1/commands/100");
    EXPECT_EQ(got[0].qos, 2);
    EXPECT_EQ(got[1].topic, "devices/d2/commands/101");
    EXPECT_EQ(got[1].props.content_type, "application/json");
    EXPECT_EQ(got[1].props.user_properties,
              (std::vector<std::pair<std::string, std::string>>{
                  {"device_id", "d2"}, {"tenant", "acme"}, {"prio", "5"}}));
    EXPECT_EQ(got[2].topic, "devices/42/commands/104");
}

TEST(mqtt_connectors, sink_rejects_hostile_json_in_the_topic_field_lookup) {
    // Issue 12: the topic template's field lookup parsed 200,000 '[' recursively and crashed.
    TRIB_START_PEER(broker, test::mosquitto_spec());
    auto sub = test_client(broker->port(), "watcher");
    ASSERT_TRUE(sub->subscribe({{"devices/#", {1}}}, 5s));
    sink_rig rig;
    auto st = rig.open("urls = [\"" + url(broker->port()) +
                       "\"]\ntopic = \"devices/{device_id}\"\nqos = 1\n");
    ASSERT_TRUE(st) << st.error().message();
    auto inputs = testing::hostile_json_inputs();
    std::vector<std::pair<std::string, std::vector<header>>> items;
    items.push_back({"{\"device_id\":\"first\"}", {}});
    for (const auto& [name, bytes] : inputs)
        items.push_back({bytes, {}});
    items.push_back({"{\"device_id\":\"last\"}", {}});
    auto batch = make_batch(items);
    sink_batch sb{"iot", "commands", 1, "json", &batch};
    auto r = rig.snk->write(sb);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->rejected.size(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_EQ(r->rejected[i].index, i + 1) << inputs[i].first;
        EXPECT_EQ(r->rejected[i].err.retry(), retry_class::fatal) << inputs[i].first;
        EXPECT_NE(r->rejected[i].err.message().find("is not JSON: "), std::string::npos)
            << inputs[i].first << ": " << r->rejected[i].err.message();
    }
    std::vector<mqtt::message> got;
    auto deadline = clock::now() + 5s;
    while (got.size() < 2 && clock::now() < deadline)
        sub->receive(got, 10, 100ms);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].topic, "devices/first");
    EXPECT_EQ(got[1].topic, "devices/last");
}

TEST(mqtt_connectors, sink_batch_survives_a_broker_restart) {
    TRIB_START_PEER(broker, test::mosquitto_spec({.persistence = true}));
    mqtt::client_options so;
    so.urls = {url(broker->port())};
    so.client_id = "restart-watcher";
    so.clean_start = false;
    so.session_expiry_s = 600;
    so.reconnect_min = 20ms;
    auto sub = mqtt::client::connect(so);
    ASSERT_TRUE(sub);
    ASSERT_TRUE((*sub)->subscribe({{"out/#", {1}}}, 5s));
    sink_rig rig;
    ASSERT_TRUE(rig.open("urls = [\"" + url(broker->port()) +
                         "\"]\ntopic = \"out/{$partition}\"\nreconnect_backoff_min = \"20ms\"\n"
                         "reconnect_backoff_max = \"200ms\"\n"));
    std::vector<std::pair<std::string, std::vector<header>>> items;
    for (int i = 0; i < 2000; ++i)
        items.push_back({"p" + std::to_string(i), {}});
    auto batch = make_batch(items);
    sink_batch sb{"s", "t", 3, "raw", &batch};
    std::thread restarter([&] {
        // The batch has started once the subscriber sees its first message: then pull the
        // broker away.
        (void)test::wait_until([&] { return (*sub)->stats().received > 0; }, 10s);
        (void)broker->restart();
    });
    auto r = rig.snk->write(sb);
    restarter.join();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->rejected.empty());
    std::set<std::string> seen;
    std::vector<mqtt::message> got;
    auto deadline = clock::now() + 20s;
    while (seen.size() < 2000 && clock::now() < deadline) {
        got.clear();
        (*sub)->receive(got, 5000, 100ms);
        std::vector<std::uint64_t> h;
        for (auto& m : got) {
            seen.insert(m.payload);
            h.push_back(m.handle);
        }
        (*sub)->acknowledge(h);
    }
    EXPECT_EQ(seen.size(), 2000u);
}

TEST(mqtt_connectors, open_errors_are_clear) {
    TRIB_START_PEER(broker, test::mosquitto_spec({.users = {{"svc", "right"}}}));
    source_rig rig;
    auto st = rig.open("urls = [\"" + url(broker->port(2)) +
                       "\"]\ntopics = [\"x\"]\nusername = \"svc\"\npassword = \"wrong\"\n");
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("refused the connection"), std::string::npos)
        << st.error().message();
    EXPECT_EQ(st.error().retry(), retry_class::fatal);
    sink_rig srig;
    auto s2 = srig.open("urls = [\"" + url(test::free_port()) + "\"]\ntopic = \"x\"\n");
    ASSERT_FALSE(s2);
    EXPECT_TRUE(s2.error().retryable()) << s2.error().message();
}

}  // namespace
}  // namespace trib::connectors
