// Tributary's MQTT client against a real Mosquitto: QoS 0/1/2 in both directions with 3.1.1 and
// 5, deferred acknowledgements and redelivery from a persistent session, shared subscriptions,
// TLS, credentials, keep alive and a broker restart.

#include "connectors/mqtt/client.h"

#include <gtest/gtest.h>

#include <spdlog/spdlog.h>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "mosquitto_fixture.h"

namespace trib::mqtt {
namespace {

using namespace std::chrono_literals;
using test::mosquitto_options;
using test::mosquitto_spec;
using clock = std::chrono::steady_clock;

client_options opts_for(std::uint16_t port, std::string id,
                        protocol_version v = protocol_version::v5) {
    client_options o;
    o.urls = {"mqtt://127.0.0.1:" + std::to_string(port)};
    o.client_id = std::move(id);
    o.version = v;
    o.clean_start = true;
    o.connect_timeout = 5s;
    o.reconnect_min = 20ms;
    o.reconnect_max = 500ms;
    return o;
}

// Persistent session options: resume the session and keep it for 5 minutes.
client_options persistent(std::uint16_t port, std::string id,
                          protocol_version v = protocol_version::v5) {
    auto o = opts_for(port, std::move(id), v);
    o.clean_start = false;
    o.session_expiry_s = 300;
    return o;
}

std::unique_ptr<client> must_connect(client_options o) {
    auto c = client::connect(std::move(o));
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
}

// Receives until `n` messages arrived or the deadline passed.
std::vector<message> receive_n(client& c, std::size_t n, std::chrono::milliseconds within = 10s) {
    std::vector<message> out;
    auto deadline = clock::now() + within;
    while (out.size() < n && clock::now() < deadline)
        c.receive(out, n - out.size(), 100ms);
    return out;
}

// Receives whatever arrives within `quiet`.
std::vector<message> drain(client& c, std::chrono::milliseconds quiet = 500ms) {
    std::vector<message> out;
    while (c.receive(out, 10'000, quiet) > 0) {
    }
    return out;
}

status publish_all(client& c, const std::string& topic_prefix, int from, int to, std::uint8_t qos) {
    std::uint64_t last = 0;
    std::vector<std::string> payloads;
    for (int i = from; i < to; ++i) {
        std::string topic = topic_prefix;
        std::string payload = "m" + std::to_string(i);
        publish_packet p;
        p.topic = topic;
        p.payload = payload;
        p.qos = qos;
        TRIB_ASSIGN_OR_RETURN(last, c.publish(p, clock::now() + 10s));
    }
    TRIB_ASSIGN_OR_RETURN(auto refused, c.wait_published(last, clock::now() + 30s));
    if (!refused.empty())
        return refused.front().err;
    return ok();
}

std::vector<std::uint64_t> handles(const std::vector<message>& ms, std::size_t from = 0,
                                   std::size_t to = SIZE_MAX) {
    std::vector<std::uint64_t> h;
    for (std::size_t i = from; i < std::min(to, ms.size()); ++i)
        h.push_back(ms[i].handle);
    return h;
}

class mqtt_client_versions : public ::testing::TestWithParam<protocol_version> {};

TEST_P(mqtt_client_versions, qos_0_1_2_both_directions_in_order) {
    TRIB_START_PEER(broker, mosquitto_spec());
    const auto v = GetParam();
    auto sub = must_connect(opts_for(broker->port(), "sub", v));
    auto pub = must_connect(opts_for(broker->port(), "pub", v));
    ASSERT_TRUE(sub && pub);
    ASSERT_TRUE(sub->subscribe({{"q/#", {2}}}, 5s));
    for (std::uint8_t qos = 0; qos <= 2; ++qos) {
        const std::string topic = "q/" + std::to_string(qos);
        auto st = publish_all(*pub, topic, 0, 500, qos);
        ASSERT_TRUE(st) << st.error().message();
        auto got = receive_n(*sub, 500);
        ASSERT_EQ(got.size(), 500u) << "QoS " << int(qos);
        for (int i = 0; i < 500; ++i) {
            EXPECT_EQ(got[static_cast<std::size_t>(i)].payload, "m" + std::to_string(i));
            EXPECT_EQ(got[static_cast<std::size_t>(i)].topic, topic);
            EXPECT_EQ(got[static_cast<std::size_t>(i)].qos, qos);
            EXPECT_EQ(got[static_cast<std::size_t>(i)].handle == 0, qos == 0);
        }
        auto h = handles(got);
        sub->acknowledge(h);
    }
    EXPECT_EQ(sub->stats().received, 1500u);
    EXPECT_EQ(sub->stats().acknowledged, 1000u);
    EXPECT_EQ(pub->stats().published, 1500u);
}

INSTANTIATE_TEST_SUITE_P(both, mqtt_client_versions,
                         ::testing::Values(protocol_version::v311, protocol_version::v5),
                         [](const auto& pi) {
                             return pi.param == protocol_version::v5 ? "mqtt5" : "mqtt311";
                         });

TEST(mqtt_client, v5_properties_and_retain_arrive) {
    TRIB_START_PEER(broker, mosquitto_spec());
    auto pub = must_connect(opts_for(broker->port(), "pub"));
    ASSERT_TRUE(pub);
    publish_packet p;
    p.topic = "props/x";
    p.payload = "{\"a\":1}";
    p.qos = 1;
    p.retain = true;
    p.props.content_type = "application/json";
    p.props.user_properties = {{"device", "d1"}, {"unit", "C"}};
    auto t = pub->publish(p, clock::now() + 5s);
    ASSERT_TRUE(t);
    ASSERT_TRUE(pub->wait_published(*t, clock::now() + 5s));
    // Subscribing afterwards: the retained message comes with the retain flag.
    auto sub = must_connect(opts_for(broker->port(), "sub"));
    ASSERT_TRUE(sub->subscribe({{"props/+", {1}}}, 5s));
    auto got = receive_n(*sub, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].retain);
    EXPECT_EQ(got[0].props.content_type, "application/json");
    EXPECT_EQ(got[0].props.user_properties, p.props.user_properties);
    EXPECT_EQ(got[0].props.subscription_identifiers, std::vector<std::uint32_t>{1});
}

// The heart of the source's guarantee: un-acknowledged messages come back after a crash.
TEST_P(mqtt_client_versions, unacknowledged_messages_are_redelivered_to_a_new_session) {
    TRIB_START_PEER(broker, mosquitto_spec());
    const auto v = GetParam();
    for (std::uint8_t qos : {1, 2}) {
        const std::string id = "redeliver-q" + std::to_string(qos);
        const std::string topic = "r" + std::to_string(qos) + "/t";
        {
            auto sub = must_connect(persistent(broker->port(), id, v));
            ASSERT_TRUE(sub->subscribe({{topic, {qos}}}, 5s));
            auto pub = must_connect(opts_for(broker->port(), "pub", v));
            ASSERT_TRUE(publish_all(*pub, topic, 0, 10, qos));
            auto got = receive_n(*sub, 10);
            ASSERT_EQ(got.size(), 10u);
            sub->acknowledge(handles(got, 0, 4));
            // The client goes away with six messages unacknowledged.
        }
        auto again = must_connect(persistent(broker->port(), id, v));
        EXPECT_TRUE(again->session_present());
        auto got = receive_n(*again, 6);
        ASSERT_EQ(got.size(), 6u) << "QoS " << int(qos);
        for (int i = 0; i < 6; ++i)
            EXPECT_EQ(got[static_cast<std::size_t>(i)].payload, "m" + std::to_string(i + 4));
        again->acknowledge(handles(got));
        EXPECT_TRUE(drain(*again, 300ms).empty());
    }
    // Everything acknowledged now: a third session gets nothing.
    auto third = must_connect(persistent(broker->port(), "redeliver-q1", v));
    EXPECT_TRUE(drain(*third, 500ms).empty());
}

TEST(mqtt_client, reconnect_recognises_resent_messages_and_sends_owed_acks) {
    TRIB_START_PEER(broker, mosquitto_spec());
    auto sub = must_connect(persistent(broker->port(), "relink"));
    ASSERT_TRUE(sub->subscribe({{"relink/#", {1}}}, 5s));
    auto pub = must_connect(opts_for(broker->port(), "pub"));
    ASSERT_TRUE(publish_all(*pub, "relink/a", 0, 10, 1));
    auto got = receive_n(*sub, 10);
    ASSERT_EQ(got.size(), 10u);
    sub->acknowledge(handles(got, 0, 4));
    const auto connects = sub->stats().connects;
    sub->drop_connection();
    ASSERT_TRUE(test::wait_until([&] { return sub->stats().connects > connects; }, 5000ms));
    // The broker resends the six; the client knows them and does not deliver them again.
    ASSERT_TRUE(test::wait_until([&] { return sub->stats().duplicates >= 6; }, 5000ms));
    EXPECT_TRUE(drain(*sub, 300ms).empty());
    sub->acknowledge(handles(got, 4));
    ASSERT_TRUE(test::wait_until([&] { return sub->stats().acknowledged == 10; }, 5000ms));
    sub.reset();
    auto fresh = must_connect(persistent(broker->port(), "relink"));
    EXPECT_TRUE(drain(*fresh, 500ms).empty()) << "all ten were acknowledged";
}

TEST(mqtt_client, rejected_messages_come_back_with_their_handles) {
    TRIB_START_PEER(broker, mosquitto_spec());
    auto sub = must_connect(persistent(broker->port(), "rejecter"));
    ASSERT_TRUE(sub->subscribe({{"rej/#", {1}}}, 5s));
    auto pub = must_connect(opts_for(broker->port(), "pub"));
    ASSERT_TRUE(publish_all(*pub, "rej/a", 0, 5, 1));
    auto got = receive_n(*sub, 5);
    ASSERT_EQ(got.size(), 5u);
    sub->acknowledge(handles(got, 0, 2));
    sub->reject(handles(got, 2));
    auto back = receive_n(*sub, 3);
    ASSERT_EQ(back.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(back[i].payload, got[i + 2].payload);
        EXPECT_EQ(back[i].handle, got[i + 2].handle);
    }
    sub->acknowledge(handles(back));
    ASSERT_TRUE(test::wait_until([&] { return sub->stats().acknowledged == 5; }, 5000ms));
    sub.reset();
    auto fresh = must_connect(persistent(broker->port(), "rejecter"));
    EXPECT_TRUE(drain(*fresh, 500ms).empty());
}

TEST(mqtt_client, shared_subscription_splits_the_flow) {
    TRIB_START_PEER(broker, mosquitto_spec());
    auto a = must_connect(opts_for(broker->port(), "share-a"));
    auto b = must_connect(opts_for(broker->port(), "share-b"));
    ASSERT_TRUE(a->subscribe({{"$share/grp/shared/#", {1}}}, 5s));
    ASSERT_TRUE(b->subscribe({{"$share/grp/shared/#", {1}}}, 5s));
    auto pub = must_connect(opts_for(broker->port(), "pub"));
    ASSERT_TRUE(publish_all(*pub, "shared/x", 0, 1000, 1));
    std::vector<message> ga, gb;
    auto deadline = clock::now() + 10s;
    while (ga.size() + gb.size() < 1000 && clock::now() < deadline) {
        a->receive(ga, 1000, 20ms);
        b->receive(gb, 1000, 20ms);
    }
    a->acknowledge(handles(ga));
    b->acknowledge(handles(gb));
    EXPECT_GT(ga.size(), 0u);
    EXPECT_GT(gb.size(), 0u);
    std::set<std::string> all;
    for (const auto& m : ga)
        all.insert(m.payload);
    for (const auto& m : gb)
        all.insert(m.payload);
    EXPECT_EQ(ga.size() + gb.size(), 1000u);
    EXPECT_EQ(all.size(), 1000u);
}

TEST(mqtt_client, tls_with_test_ca_and_client_certificate) {
    TRIB_START_PEER(broker, mosquitto_spec({.tls = true, .require_client_certificate = true}));
    auto pki = test::mosquitto_pki(*broker);
    auto o = opts_for(broker->port(1), "tls");
    o.urls = {"mqtts://127.0.0.1:" + std::to_string(broker->port(1))};
    o.tls.ca_file = pki.ca_cert.string();
    o.tls.cert_file = pki.client_cert.string();
    o.tls.key_file = pki.client_key.string();
    auto c = must_connect(o);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->subscribe({{"tls/#", {1}}}, 5s));
    ASSERT_TRUE(publish_all(*c, "tls/a", 0, 100, 1));
    EXPECT_EQ(receive_n(*c, 100).size(), 100u);

    // By host name (SNI and name check against the certificate's DNS name).
    auto byname = o;
    byname.client_id = "tls-by-name";
    byname.urls = {"mqtts://localhost:" + std::to_string(broker->port(1))};
    EXPECT_TRUE(client::connect(byname));

    // A CA that did not sign the broker's certificate: verification fails, clearly.
    test::temp_dir other;
    auto wrong = test::make_test_pki(other.path(), "other-");
    ASSERT_TRUE(wrong) << wrong.error().message();
    auto bad = o;
    bad.client_id = "tls-wrong-ca";
    bad.tls.ca_file = wrong->ca_cert.string();
    auto r = client::connect(bad);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("certificate verification failed"), std::string::npos)
        << r.error().message();
    EXPECT_EQ(r.error().retry(), retry_class::fatal);
    // verify = false accepts it (for test set-ups only).
    bad.tls.verify = false;
    EXPECT_TRUE(client::connect(bad));
    // A name the certificate does not carry.
    auto misnamed = o;
    misnamed.tls.server_name = "broker.example.com";
    auto m = client::connect(misnamed);
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message().find("certificate verification failed"), std::string::npos)
        << m.error().message();
    // Without the client certificate the broker refuses the handshake.
    auto nocert = o;
    nocert.tls.cert_file.clear();
    nocert.tls.key_file.clear();
    EXPECT_FALSE(client::connect(nocert));
}

TEST_P(mqtt_client_versions, wrong_credentials_name_the_connack_reason) {
    TRIB_START_PEER(broker, mosquitto_spec({.users = {{"alice", "wonderland"}}}));
    auto o = opts_for(broker->port(2), "authed", GetParam());
    o.username = "alice";
    o.password = "wonderland";
    EXPECT_TRUE(client::connect(o));
    o.password = "guess";
    auto r = client::connect(o);
    ASSERT_FALSE(r);
    const auto& msg = r.error().message();
    EXPECT_NE(msg.find("refused the connection"), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("not authorized") != std::string::npos ||
                msg.find("Not authorized") != std::string::npos ||
                msg.find("Bad User Name or Password") != std::string::npos ||
                msg.find("bad user name or password") != std::string::npos)
        << msg;
    EXPECT_EQ(r.error().retry(), retry_class::fatal);
    o.username.reset();
    o.password.reset();
    EXPECT_FALSE(client::connect(o));
}

TEST(mqtt_client, unreachable_broker_is_a_retryable_error) {
    auto o = opts_for(test::free_port(), "nobody");
    auto r = client::connect(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::unavailable) << r.error().message();
    EXPECT_TRUE(r.error().retryable());
}

TEST(mqtt_client, keep_alive_holds_an_idle_connection) {
    TRIB_START_PEER(broker, mosquitto_spec());
    auto o = opts_for(broker->port(), "idle");
    o.keep_alive = 1s;
    auto c = must_connect(o);
    const auto out0 = c->stats().bytes_out;
    const auto in0 = c->stats().bytes_in;
    // Mosquitto drops a client silent for 1.5 keep alives; PINGREQs keep it. Four PINGREQ /
    // PINGRESP round trips (2 bytes each way) span more than three keep-alive periods of
    // otherwise idle connection: the wait is on those packets, not on a clock.
    ASSERT_TRUE(test::wait_until(
        [&] {
            auto st = c->stats();
            return st.bytes_out >= out0 + 8 && st.bytes_in >= in0 + 8;
        },
        20s))
        << "no keep-alive traffic: " << c->stats().bytes_out - out0 << " bytes out";
    EXPECT_TRUE(c->connected());
    EXPECT_EQ(c->stats().connects, 1u) << "the broker dropped the idle connection";
}

TEST(mqtt_client, broker_restart_mid_stream_loses_nothing) {
    TRIB_START_PEER(broker, mosquitto_spec({.persistence = true}));
    auto sub = must_connect(persistent(broker->port(), "restart-sub"));
    ASSERT_TRUE(sub->subscribe({{"restart/#", {1}}}, 5s));
    auto pub = must_connect(persistent(broker->port(), "restart-pub"));
    constexpr int n = 3000;
    std::atomic<bool> pub_ok{true};
    std::thread producer([&] {
        std::uint64_t last = 0;
        for (int i = 0; i < n; ++i) {
            std::string payload = std::to_string(i);
            publish_packet p;
            p.topic = "restart/a";
            p.payload = payload;
            p.qos = 1;
            auto t = pub->publish(p, clock::now() + 30s);
            if (!t) {
                pub_ok = false;
                return;
            }
            last = *t;
            if (i % 100 == 0)
                std::this_thread::sleep_for(2ms);  // spread the stream over the restart
        }
        if (!pub->wait_published(last, clock::now() + 30s))
            pub_ok = false;
    });
    std::vector<message> got;
    auto take = [&] {
        std::vector<message> part;
        sub->receive(part, 10'000, 20ms);
        sub->acknowledge(handles(part));
        for (auto& m : part)
            got.push_back(std::move(m));
    };
    test::wait_until(
        [&] {
            take();
            return got.size() > 300;
        },
        10s);
    ASSERT_TRUE(broker->restart());
    auto deadline = clock::now() + 30s;
    std::set<std::string> seen;
    while (clock::now() < deadline) {
        take();
        for (const auto& m : got)
            seen.insert(m.payload);
        if (seen.size() == static_cast<std::size_t>(n))
            break;
    }
    producer.join();
    EXPECT_TRUE(pub_ok);
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(n)) << "received " << got.size();
    EXPECT_GE(sub->stats().connects, 2u);
    EXPECT_GE(pub->stats().connects, 2u);
}

}  // namespace
}  // namespace trib::mqtt
