// The Mosquitto fixture itself, checked with Mosquitto's own command-line clients (independent of
// Tributary's MQTT client): plain, TLS and password listeners, and persistence across a restart.

#include <gtest/gtest.h>

#include "mosquitto_fixture.h"

namespace trib::test {
namespace {

std::vector<std::string> pub(std::uint16_t port, const std::string& topic, const std::string& msg) {
    return {"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(port), "-q", "1", "-r", "-t",
            topic,           "-m", msg};
}

std::vector<std::string> sub(std::uint16_t port, const std::string& topic) {
    return {"mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            std::to_string(port),
            "-t",
            topic,
            "-C",
            "1",
            "-W",
            "5"};
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

TEST(mosquitto_fixture, plain_listener_and_persistence_across_restart) {
    TRIB_START_PEER(broker, mosquitto_spec({.persistence = true}));
    ASSERT_TRUE(run_command(pub(broker->port(), "fixture/a", "kept")));
    auto got = run_command(sub(broker->port(), "fixture/a"));
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, "kept\n");
    ASSERT_TRUE(broker->restart());
    got = run_command(sub(broker->port(), "fixture/a"));
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, "kept\n");
}

TEST(mosquitto_fixture, tls_listener_with_test_ca_and_client_certificate) {
    TRIB_START_PEER(broker, mosquitto_spec({.tls = true, .require_client_certificate = true}));
    auto pki = mosquitto_pki(*broker);
    std::vector<std::string> tls = {"--cafile", pki.ca_cert.string(),
                                    "--cert",   pki.client_cert.string(),
                                    "--key",    pki.client_key.string()};
    auto r = run_command(pub(broker->port(1), "fixture/tls", "secret") + tls);
    ASSERT_TRUE(r) << r.error().message();
    auto got = run_command(sub(broker->port(1), "fixture/tls") + tls);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, "secret\n");
    // Without a client certificate the handshake is refused.
    EXPECT_FALSE(run_command(pub(broker->port(1), "fixture/tls", "x") +
                             std::vector<std::string>{"--cafile", pki.ca_cert.string()}));
}

TEST(mosquitto_fixture, password_listener_accepts_only_known_users) {
    TRIB_START_PEER(broker, mosquitto_spec({.users = {{"alice", "wonderland"}}}));
    EXPECT_TRUE(run_command(pub(broker->port(2), "fixture/auth", "in") +
                            std::vector<std::string>{"-u", "alice", "-P", "wonderland"}));
    auto bad = run_command(pub(broker->port(2), "fixture/auth", "in") +
                           std::vector<std::string>{"-u", "alice", "-P", "nope"});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("not authorised"), std::string::npos)
        << bad.error().message();
    EXPECT_FALSE(run_command(pub(broker->port(2), "fixture/auth", "in")));
}

}  // namespace
}  // namespace trib::test
