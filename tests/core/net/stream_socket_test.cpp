// The shared TCP/TLS client socket (core/net/stream_socket.h) against real loopback peers: a
// listening socket in this process (plain TCP) and an OpenSSL server on it (TLS), its
// certificate made by the openssl command for DNS:localhost and IP:127.0.0.1 (test_tls.h).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "core/net/stream_socket.h"
#include "test_tls.h"

namespace trib::net {
namespace {

using namespace std::chrono_literals;

steady_clock::time_point in(std::chrono::milliseconds d) {
    return steady_clock::now() + d;
}

// A loopback listener; `serve` runs on its own thread with the first accepted connection.
class loopback_server {
  public:
    explicit loopback_server(std::function<void(int fd)> serve) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listen_fd_, 4), 0);
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this, serve = std::move(serve)] {
            int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd < 0)
                return;
            serve(fd);
            ::close(fd);
        });
    }
    ~loopback_server() {
        ::shutdown(listen_fd_, SHUT_RDWR);  // ends an accept that never got a client
        thread_.join();
        ::close(listen_fd_);
    }
    std::uint16_t port() const { return port_; }

  private:
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

// Echoes what it reads until the client closes its side.
void echo(int fd) {
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return;
        if (::send(fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n)
            return;
    }
}

TEST(stream_socket, plain_tcp_writes_parts_and_reads_them_back) {
    loopback_server srv(echo);
    auto s = stream_socket::connect("127.0.0.1", srv.port(), in(5s));
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_FALSE(s->is_tls());
    // Small enough for the loopback buffers to hold the echo while we still write.
    std::string a = "header|", b(20000, 'x'), c = "|tail";
    iovec parts[3] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
    auto w = s->write_all(parts, in(10s));
    ASSERT_TRUE(w) << w.error().to_string();
    std::string back(a.size() + b.size() + c.size(), '\0');
    auto st = s->read_exact(back.data(), back.size(), in(10s));
    ASSERT_TRUE(st) << st.error().to_string();
    EXPECT_EQ(back, a + b + c);
}

TEST(stream_socket, a_closed_peer_is_unavailable_and_retryable) {
    loopback_server srv([](int) {});  // accepts and closes at once
    auto s = stream_socket::connect("localhost", srv.port(), in(5s));
    ASSERT_TRUE(s) << s.error().to_string();
    char c;
    auto r = s->read_some(&c, 1, in(5s));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::unavailable) << r.error().to_string();
    EXPECT_TRUE(r.error().retryable());
}

TEST(stream_socket, refused_and_unresolvable_peers_are_retryable_errors) {
    // A port that was free a moment ago: nobody listens there.
    auto r = stream_socket::connect("127.0.0.1", test::free_port(), in(5s));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::unavailable) << r.error().to_string();
    EXPECT_TRUE(r.error().retryable());
    auto n = stream_socket::connect("no-such-host.invalid", 1, in(5s));
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().code(), errc::unavailable);
    EXPECT_NE(n.error().message().find("cannot resolve no-such-host.invalid"), std::string::npos)
        << n.error().message();
}

TEST(stream_socket, a_wait_ends_at_the_deadline_or_when_woken) {
    loopback_server srv([](int fd) {
        char c;
        (void)::recv(fd, &c, 1, 0);  // silent until the client leaves
    });
    auto s = stream_socket::connect("127.0.0.1", srv.port(), in(5s));
    ASSERT_TRUE(s) << s.error().to_string();
    char c;
    // Nothing ever comes: the deadline ends the read (one already passed: no wait at all).
    auto t = s->read_some(&c, 1, steady_clock::now(), -1, true);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code(), errc::timeout) << t.error().to_string();
    EXPECT_TRUE(t.error().retryable());
    // A readable wake fd ends it before a far deadline.
    int wake = ::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    ASSERT_GE(wake, 0);
    auto w = s->read_some(&c, 1, in(1h), wake);
    ::close(wake);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code(), errc::cancelled) << w.error().to_string();
    EXPECT_EQ(wait_fd(-1, 0, -1, steady_clock::now()), wait_result::timeout);
    s->close();
    EXPECT_FALSE(s->is_open());
}

// ---- TLS ----

class stream_socket_tls : public ::testing::Test {
  protected:
    // One certificate for the suite (making an RSA key takes a while).
    static void SetUpTestSuite() {
        // A server that fails the handshake may still be written to by the other side.
        std::signal(SIGPIPE, SIG_IGN);
        dir_ = std::filesystem::temp_directory_path() /
               ("trib-stream-socket-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        auto c = test::make_test_cert(dir_, "server");
        if (c)
            cert_ = *c;
        else
            cert_error_ = c.error().to_string();
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    void SetUp() override {
        if (!cert_error_.empty()) {
            if (test::in_ci())
                FAIL() << cert_error_;
            GTEST_SKIP() << cert_error_;
        }
        sctx_ = SSL_CTX_new(TLS_server_method());
        ASSERT_EQ(SSL_CTX_use_certificate_chain_file(sctx_, cert_.cert.c_str()), 1);
        ASSERT_EQ(SSL_CTX_use_PrivateKey_file(sctx_, cert_.key.c_str(), SSL_FILETYPE_PEM), 1);
    }
    void TearDown() override {
        if (sctx_ != nullptr)
            SSL_CTX_free(sctx_);
    }

    // A TLS echo server on a loopback port (blocking OpenSSL on the accepted socket).
    std::function<void(int)> tls_echo() {
        return [ctx = sctx_](int fd) {
            SSL* s = SSL_new(ctx);
            SSL_set_fd(s, fd);
            if (SSL_accept(s) == 1) {
                char buf[4096];
                int n;
                while ((n = SSL_read(s, buf, sizeof buf)) > 0) {
                    if (SSL_write(s, buf, n) != n)
                        break;
                }
                SSL_shutdown(s);
            }
            SSL_free(s);
        };
    }

    tls_context client_context(bool verify) {
        auto c = tls_context::create({.ca_file = cert_.cert.string(), .verify = verify});
        EXPECT_TRUE(c) << c.error().to_string();
        return c ? std::move(*c) : tls_context{};
    }

    static inline std::filesystem::path dir_;
    static inline test::cert_pair cert_;
    static inline std::string cert_error_;
    SSL_CTX* sctx_ = nullptr;
};

TEST_F(stream_socket_tls, handshake_then_blocking_and_non_blocking_io) {
    loopback_server srv(tls_echo());
    auto ctx = client_context(true);
    auto s = stream_socket::connect("127.0.0.1", srv.port(), in(5s));
    ASSERT_TRUE(s) << s.error().to_string();
    auto st = s->start_tls(ctx, "localhost", true, in(5s));
    ASSERT_TRUE(st) << st.error().to_string();
    EXPECT_TRUE(s->is_tls());
    ASSERT_TRUE(s->write_all(std::string_view("ping over tls"), in(5s)));
    std::string back(13, '\0');
    ASSERT_TRUE(s->read_exact(back.data(), back.size(), in(5s)));
    EXPECT_EQ(back, "ping over tls");
    // The non-blocking calls: write, then read until the echo is there (waiting on what the
    // socket asks for, as a poll loop does).
    auto w = s->try_write("abc", 3);
    ASSERT_TRUE(w.error.empty()) << w.error;
    ASSERT_EQ(w.n, 3u);
    std::string got;
    while (got.size() < 3) {
        char buf[8];
        auto r = s->try_read(buf, sizeof buf);
        ASSERT_TRUE(r.error.empty()) << r.error;
        ASSERT_FALSE(r.closed);
        got.append(buf, r.n);
        if (r.n == 0) {
            ASSERT_EQ(wait_fd(s->fd(), r.want_write ? POLLOUT : POLLIN, -1, in(5s)),
                      wait_result::ready);
        }
    }
    EXPECT_EQ(got, "abc");
    // A graceful end: close_notify and half-close; the server then ends too.
    s->finish(in(5s));
}

TEST_F(stream_socket_tls, a_name_the_certificate_does_not_carry_is_refused_for_good) {
    loopback_server srv(tls_echo());
    auto ctx = client_context(true);
    auto s = stream_socket::connect("127.0.0.1", srv.port(), in(5s));
    ASSERT_TRUE(s) << s.error().to_string();
    auto st = s->start_tls(ctx, "broker.example.com", true, in(5s));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::unauthenticated) << st.error().to_string();
    EXPECT_EQ(st.error().retry(), retry_class::fatal);
    EXPECT_NE(st.error().message().find("certificate verification failed"), std::string::npos)
        << st.error().message();
}

TEST_F(stream_socket_tls, without_verification_the_name_is_not_checked) {
    loopback_server srv(tls_echo());
    auto ctx = client_context(false);
    auto s = stream_socket::connect("127.0.0.1", srv.port(), in(5s));
    ASSERT_TRUE(s) << s.error().to_string();
    auto st = s->start_tls(ctx, "broker.example.com", false, in(5s));
    EXPECT_TRUE(st) << st.error().to_string();
}

TEST_F(stream_socket_tls, a_plain_peer_fails_the_handshake_retryably) {
    loopback_server srv([](int fd) {
        char buf[64];
        (void)::recv(fd, buf, sizeof buf, 0);  // reads the ClientHello, answers nonsense
        (void)::send(fd, "HTTP/1.0 400 Bad\r\n\r\n", 20, MSG_NOSIGNAL);
    });
    auto ctx = client_context(true);
    auto s = stream_socket::connect("127.0.0.1", srv.port(), in(5s));
    ASSERT_TRUE(s) << s.error().to_string();
    auto st = s->start_tls(ctx, "localhost", true, in(5s));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::unavailable) << st.error().to_string();
    EXPECT_TRUE(st.error().retryable());
}

TEST(tls_context, a_file_that_cannot_be_loaded_is_named_and_fatal) {
    auto c = tls_context::create({.ca_file = "/nonexistent/ca.pem"});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code(), errc::invalid_argument);
    EXPECT_EQ(c.error().retry(), retry_class::fatal);
    EXPECT_NE(c.error().message().find("/nonexistent/ca.pem"), std::string::npos);
    auto k = tls_context::create({.cert_file = "/nonexistent/client.pem"});
    ASSERT_FALSE(k);
    EXPECT_NE(k.error().message().find("/nonexistent/client.pem"), std::string::npos);
}

}  // namespace
}  // namespace trib::net
