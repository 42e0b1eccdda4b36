// The one TLS peer-name check (core/net/tls_peer.h) against a real handshake: an in-process
// OpenSSL server on a socket pair, its certificate made by the openssl command for
// DNS:localhost and IP:127.0.0.1 (test_tls.h).

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <csignal>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/net/tls_peer.h"
#include "test_tls.h"

namespace trib::net {
namespace {

struct outcome {
    bool client_ok = false;
    std::string server_name;  // the SNI the server saw ("" when none)
};

class tls_peer_test : public ::testing::Test {
  protected:
    void SetUp() override {
        // A side that fails the handshake closes its end while the other may still write.
        std::signal(SIGPIPE, SIG_IGN);
        dir_ = std::filesystem::temp_directory_path() /
               ("trib-tls-peer-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        auto c = test::make_test_cert(dir_, "server");
        if (!c) {
            if (std::getenv("CI") != nullptr)
                FAIL() << c.error().to_string();
            GTEST_SKIP() << c.error().to_string();
        }
        cert_ = *c;
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    // One handshake: the client trusts the test certificate and expects `name`.
    outcome handshake(const std::string& name, bool verify) {
        outcome out;
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
        EXPECT_EQ(SSL_CTX_use_certificate_chain_file(sctx, cert_.cert.c_str()), 1);
        EXPECT_EQ(SSL_CTX_use_PrivateKey_file(sctx, cert_.key.c_str(), SSL_FILETYPE_PEM), 1);
        std::thread server([&] {
            SSL* s = SSL_new(sctx);
            SSL_set_fd(s, sv[1]);
            (void)SSL_accept(s);
            if (const char* sn = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name))
                out.server_name = sn;
            SSL_free(s);
            ::close(sv[1]);  // a failed client handshake must not leave the server waiting
        });
        SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(cctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
        EXPECT_EQ(SSL_CTX_load_verify_locations(cctx, cert_.cert.c_str(), nullptr), 1);
        SSL* c = SSL_new(cctx);
        SSL_set_fd(c, sv[0]);
        auto st = expect_tls_peer(c, name, verify);
        EXPECT_TRUE(st.has_value()) << st.error().to_string();
        out.client_ok = SSL_connect(c) == 1;
        SSL_free(c);
        ::close(sv[0]);
        server.join();
        SSL_CTX_free(cctx);
        SSL_CTX_free(sctx);
        return out;
    }

    std::filesystem::path dir_;
    test::cert_pair cert_;
};

TEST(tls_peer, ip_literals_are_told_from_names) {
    EXPECT_TRUE(is_ip_literal("127.0.0.1"));
    EXPECT_TRUE(is_ip_literal("::1"));
    EXPECT_TRUE(is_ip_literal("fe80::1"));
    EXPECT_FALSE(is_ip_literal("localhost"));
    EXPECT_FALSE(is_ip_literal("[::1]"));  // brackets belong to URLs, not to addresses
    EXPECT_FALSE(is_ip_literal("127.0.0.1.example.com"));
    EXPECT_FALSE(is_ip_literal(""));
}

TEST_F(tls_peer_test, a_host_name_is_sent_as_sni_and_checked_against_dns_names) {
    auto o = handshake("localhost", true);
    EXPECT_TRUE(o.client_ok);
    EXPECT_EQ(o.server_name, "localhost");
    EXPECT_FALSE(handshake("example.com", true).client_ok);
    EXPECT_FALSE(handshake("host.localhost", true).client_ok);
}

TEST_F(tls_peer_test, an_ip_literal_is_checked_against_ip_entries_and_never_sent_as_sni) {
    auto o = handshake("127.0.0.1", true);
    EXPECT_TRUE(o.client_ok);
    EXPECT_EQ(o.server_name, "");  // RFC 6066: no literal IP addresses in SNI
    EXPECT_FALSE(handshake("127.0.0.2", true).client_ok);
    EXPECT_FALSE(handshake("::1", true).client_ok);
}

TEST_F(tls_peer_test, without_verification_any_name_connects) {
    EXPECT_TRUE(handshake("example.com", false).client_ok);
    EXPECT_TRUE(handshake("127.0.0.2", false).client_ok);
}

}  // namespace
}  // namespace trib::net
