#include "core/net/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

#include "core/net/test_tls.h"
#include "harness/peer.h"

namespace trib::net {
namespace {

using namespace std::chrono_literals;
using test::cert_pair;

// ---- pure functions -------------------------------------------------------------------------

TEST(http_client_util, retry_after_delta_seconds_and_dates) {
    // 2015-10-21T07:28:00Z.
    auto base = std::chrono::system_clock::from_time_t(1445412480);
    EXPECT_EQ(parse_retry_after("120", base), 120s);
    EXPECT_EQ(parse_retry_after(" 7 ", base), 7s);
    EXPECT_EQ(parse_retry_after("0", base), 0s);
    EXPECT_EQ(parse_retry_after("99999999999", base), 86400s);  // capped, not overflowed
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", base), 120s);     // IMF-fixdate
    EXPECT_EQ(parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", base), 60s);  // RFC 850
    EXPECT_EQ(parse_retry_after("Wed Oct 21 07:28:30 2015", base), 30s);           // asctime
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", base), 0s);       // past
    EXPECT_EQ(parse_retry_after("", base), std::nullopt);
    EXPECT_EQ(parse_retry_after("soon", base), std::nullopt);
    EXPECT_EQ(parse_retry_after("-5", base), std::nullopt);
}

TEST(http_client_util, auth_headers) {
    EXPECT_EQ(basic_auth_header("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    EXPECT_EQ(basic_auth_header("a", "b"), "Basic YTpi");
    EXPECT_EQ(basic_auth_header("ab", "c"), "Basic YWI6Yw==");
    EXPECT_EQ(basic_auth_header("ab", "cd"), "Basic YWI6Y2Q=");
    EXPECT_EQ(bearer_auth_header("t0k"), "Bearer t0k");
}

TEST(http_client_util, status_classification) {
    auto classify = [](int status, std::string retry_after = {}) {
        http_response r;
        r.status = status;
        r.body = "{\"error\":\"x\"}";
        if (!retry_after.empty())
            r.headers["retry-after"] = retry_after;
        return classify_status(r, "POST http://h/p");
    };
    EXPECT_TRUE(classify(200).has_value());
    EXPECT_TRUE(classify(204).has_value());
    auto e429 = classify(429, "3");
    ASSERT_FALSE(e429);
    EXPECT_EQ(e429.error().retry(), retry_class::throttled);
    EXPECT_EQ(e429.error().retry_after(), 3000ms);
    EXPECT_EQ(e429.error().vendor_code(), 429);
    EXPECT_NE(e429.error().message().find("HTTP 429"), std::string::npos);
    EXPECT_NE(e429.error().message().find("{\"error\":\"x\"}"), std::string::npos);
    auto e503 = classify(503);
    EXPECT_EQ(e503.error().retry(), retry_class::throttled);
    EXPECT_EQ(e503.error().retry_after(), 0ms);
    for (int s : {500, 502, 504, 408}) {
        EXPECT_EQ(classify(s).error().retry(), retry_class::retryable) << s;
    }
    for (int s : {400, 401, 403, 404, 409, 413, 422, 451, 501, 301}) {
        EXPECT_EQ(classify(s).error().retry(), retry_class::fatal) << s;
    }
    EXPECT_EQ(classify(401).error().code(), errc::unauthenticated);
    EXPECT_EQ(classify(404).error().code(), errc::not_found);
}

// ---- against real peers ---------------------------------------------------------------------

/// A listener that accepts connections but never answers: for timeouts and cancellation.
class silent_listener {
  public:
    silent_listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
            ADD_FAILURE() << "cannot listen";
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ~silent_listener() {
        for (int c : conns_)
            ::close(c);
        ::close(fd_);
    }
    std::uint16_t port() const { return port_; }
    /// Waits for a connection and the first bytes of a request on it (or the deadline).
    bool accept_request(std::chrono::milliseconds deadline) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1)
            return false;
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0)
            return false;
        conns_.push_back(c);
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, static_cast<int>(deadline.count())) != 1)
            return false;
        char buf[4096];
        return ::recv(c, buf, sizeof buf, 0) > 0;
    }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> conns_;
};

std::string http_date_in(std::chrono::seconds d) {
    std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + d);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

class http_client_nginx : public ::testing::Test {
  protected:
    void SetUp() override {
        certs_ = std::make_unique<test::temp_dir>("trib-certs");
        auto srv = test::make_test_cert(certs_->path(), "server");
        auto cli = test::make_test_cert(certs_->path(), "client");
        if (!srv || !cli) {
            std::string why = !srv ? srv.error().message() : cli.error().message();
            if (test::in_ci())
                FAIL() << why;
            GTEST_SKIP() << why;
        }
        server_ = *srv;
        client_ = *cli;
        std::string retry_date = http_date_in(120s);
        // One plain server, one TLS server, one TLS server that requires a client certificate.
        std::string servers = R"(
    server {
        listen 127.0.0.1:{port};
        location = /ok { return 200 "hello\n"; }
        location = /echo {
            return 200 "$request_method|$http_x_test|$http_authorization|$http_user_agent|$content_type|$content_length|$http_x_default";
        }
        location = /sigv4 {
            return 200 "$http_authorization|$http_x_amz_date|$http_x_amz_security_token|$http_x_amz_content_sha256";
        }
        location = /throttle { add_header Retry-After 7 always; return 429 "slow down"; }
        location = /unavailable { add_header Retry-After ")" +
                              retry_date +
                              R"(" always; return 503; }
        location = /missing { return 404; }
        location = /boom { return 500 "internal"; }
        location /files/ { root {dir}/www; }
    }
    server {
        listen 127.0.0.1:{port1} ssl;
        ssl_certificate )" + server_.cert.string() +
                              R"(;
        ssl_certificate_key )" +
                              server_.key.string() +
                              R"(;
        location / { return 200 "tls $ssl_protocol"; }
    }
    server {
        listen 127.0.0.1:{port2} ssl;
        ssl_certificate )" + server_.cert.string() +
                              R"(;
        ssl_certificate_key )" +
                              server_.key.string() +
                              R"(;
        ssl_client_certificate )" +
                              client_.cert.string() +
                              R"(;
        ssl_verify_client on;
        location / { return 200 "client $ssl_client_s_dn"; }
    }
)";
        auto spec = test::nginx_spec(servers, 2, [](const test::peer& p) {
            std::filesystem::create_directories(p.dir() / "www" / "files");
            std::ofstream(p.dir() / "www" / "files" / "big.bin") << std::string(100000, 'x');
        });
        auto started = test::peer::start(spec);
        if (!started) {
            if (test::in_ci())
                FAIL() << "nginx could not start (CI=true): " << started.error().message();
            GTEST_SKIP() << "nginx not available: " << started.error().message();
        }
        nginx_ = std::move(started).value();
    }

    std::string url(const std::string& path, std::size_t port_index = 0) const {
        return std::string(port_index == 0 ? "http" : "https") +
               "://127.0.0.1:" + std::to_string(nginx_->port(port_index)) + path;
    }

    std::unique_ptr<test::temp_dir> certs_;
    cert_pair server_;
    cert_pair client_;
    std::unique_ptr<test::peer> nginx_;
};

TEST_F(http_client_nginx, get_reuses_one_connection) {
    http_client c;
    for (int i = 0; i < 5; ++i) {
        auto r = c.get(url("/ok"));
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "hello\n");
        EXPECT_EQ(r->header("content-length"), "6");
        EXPECT_EQ(r->header("CONTENT-LENGTH"), "6");
    }
    EXPECT_EQ(c.connections_opened(), 1u);
}

TEST_F(http_client_nginx, headers_methods_and_auth_reach_the_server) {
    client_options o;
    o.default_headers["X-Default"] = "dflt";
    o.bearer_token = "s3cr3t";
    http_client c(o);
    http_request req;
    req.method = "PUT";
    req.url = url("/echo");
    req.headers["X-Test"] = "one";
    req.body = "abc";
    auto r = c.send(req);
    ASSERT_TRUE(r) << r.error().to_string();
    // No Content-Type was given: libcurl's form-urlencoded default must not appear.
    EXPECT_EQ(r->body, "PUT|one|Bearer s3cr3t|tributary/" TRIB_VERSION "||3|dflt");

    client_options ob;
    ob.basic = basic_auth{"Aladdin", "open sesame"};
    http_client cb(ob);
    auto rb = cb.post(url("/echo"), "{}", "application/json");
    ASSERT_TRUE(rb) << rb.error().to_string();
    EXPECT_EQ(rb->body, "POST||Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==|tributary/" TRIB_VERSION
                        "|application/json|2|");

    http_request head;
    head.method = "HEAD";
    head.url = url("/files/big.bin");
    auto rh = c.perform(head);
    ASSERT_TRUE(rh) << rh.error().to_string();
    EXPECT_EQ(rh->status, 200);
    EXPECT_EQ(rh->header("Content-Length"), "100000");
    EXPECT_TRUE(rh->body.empty());
}

TEST_F(http_client_nginx, statuses_are_classified) {
    http_client c;
    auto missing = c.get(url("/missing"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), errc::not_found);
    EXPECT_EQ(missing.error().retry(), retry_class::fatal);
    EXPECT_EQ(missing.error().vendor_code(), 404);

    // perform() hands back the response whatever its status.
    http_request req;
    req.url = url("/missing");
    auto raw = c.perform(req);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->status, 404);

    auto boom = c.get(url("/boom"));
    ASSERT_FALSE(boom);
    EXPECT_EQ(boom.error().retry(), retry_class::retryable);
    EXPECT_NE(boom.error().message().find("internal"), std::string::npos);

    auto slow = c.get(url("/throttle"));
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().retry(), retry_class::throttled);
    EXPECT_EQ(slow.error().retry_after(), 7s);

    auto unavailable = c.get(url("/unavailable"));
    ASSERT_FALSE(unavailable);
    EXPECT_EQ(unavailable.error().retry(), retry_class::throttled);
    EXPECT_GE(unavailable.error().retry_after(), 100s);
    EXPECT_LE(unavailable.error().retry_after(), 121s);
    EXPECT_EQ(c.connections_opened(), 1u);
}

TEST_F(http_client_nginx, response_size_limit) {
    client_options o;
    o.max_response_bytes = 10000;
    http_client c(o);
    auto r = c.get(url("/files/big.bin"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::resource_exhausted);
    EXPECT_EQ(r.error().retry(), retry_class::fatal);
    http_client big;
    auto ok = big.get(url("/files/big.bin"));
    ASSERT_TRUE(ok) << ok.error().to_string();
    EXPECT_EQ(ok->body.size(), 100000u);
}

TEST_F(http_client_nginx, tls_verification) {
    // Trusting the self-signed server certificate: by IP and by name (both in its SAN).
    client_options trusted;
    trusted.tls.ca_file = server_.cert.string();
    http_client c(trusted);
    for (int i = 0; i < 3; ++i) {
        auto r = c.get(url("/", 1));
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_TRUE(r->body.starts_with("tls TLSv1.")) << r->body;
    }
    EXPECT_EQ(c.connections_opened(), 1u);
    auto by_name = c.get("https://localhost:" + std::to_string(nginx_->port(1)) + "/");
    ASSERT_TRUE(by_name) << by_name.error().to_string();

    // The system store does not know it: a fatal verification error.
    http_client untrusted;
    auto bad = untrusted.get(url("/", 1));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().retry(), retry_class::fatal);
    EXPECT_EQ(bad.error().code(), errc::unauthenticated);

    client_options insecure;
    insecure.tls.verify_peer = false;
    insecure.tls.verify_host = false;
    http_client ci(insecure);
    auto r = ci.get(url("/", 1));
    ASSERT_TRUE(r) << r.error().to_string();
}

TEST_F(http_client_nginx, mutual_tls) {
    client_options without;
    without.tls.ca_file = server_.cert.string();
    http_client c0(without);
    auto refused = c0.get(url("/", 2));
    ASSERT_FALSE(refused);  // nginx answers 400 "No required SSL certificate was sent"
    EXPECT_EQ(refused.error().vendor_code(), 400);

    client_options with = without;
    with.tls.client_cert = client_.cert.string();
    with.tls.client_key = client_.key.string();
    http_client c1(with);
    auto r = c1.get(url("/", 2));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->body, "client CN=localhost");
}

TEST_F(http_client_nginx, aws_sigv4_signs_requests) {
    client_options o;
    o.aws_sigv4 = aws_sigv4_options{"eu-west-1", "s3", "AKIDEXAMPLE", "secret", "tok", "aws:amz"};
    http_client c(o);
    auto r = c.get(url("/sigv4"));
    ASSERT_TRUE(r) << r.error().to_string();
    // Authorization|x-amz-date|x-amz-security-token|x-amz-content-sha256
    std::string b = r->body;
    auto bar = b.find('|');
    ASSERT_NE(bar, std::string::npos);
    std::string auth = b.substr(0, bar);
    EXPECT_TRUE(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")) << auth;
    EXPECT_NE(auth.find("/eu-west-1/s3/aws4_request"), std::string::npos) << auth;
    EXPECT_NE(auth.find("SignedHeaders="), std::string::npos) << auth;
    auto sig = auth.find("Signature=");
    ASSERT_NE(sig, std::string::npos);
    EXPECT_EQ(auth.size() - (sig + 10), 64u) << auth;  // hex SHA-256
    EXPECT_NE(b.find("|tok|"), std::string::npos) << b;
}

TEST(http_client, connection_refused_is_retryable) {
    http_client c;
    auto r = c.get("http://127.0.0.1:" + std::to_string(test::free_port()) + "/");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::unavailable);
    EXPECT_EQ(r.error().retry(), retry_class::retryable);
}

TEST(http_client, bad_urls_are_fatal) {
    http_client c;
    auto r = c.get("file:///etc/passwd");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().retry(), retry_class::fatal);
    auto r2 = c.get("http://[::1");
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().retry(), retry_class::fatal);
}

TEST(http_client, timeout_is_retryable) {
    silent_listener l;
    http_client c;
    http_request req;
    req.url = "http://127.0.0.1:" + std::to_string(l.port()) + "/";
    req.timeout = 300ms;
    auto start = std::chrono::steady_clock::now();
    auto r = c.send(req);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::timeout);
    EXPECT_EQ(r.error().retry(), retry_class::retryable);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 5s);
}

TEST(http_client, stop_token_cancels_a_waiting_request) {
    silent_listener l;
    std::stop_source stop;
    // Stops the request once the listener has it: no timing guesses.
    std::thread t([&] {
        if (l.accept_request(10s))
            stop.request_stop();
    });
    http_client c;
    http_request req;
    req.url = "http://127.0.0.1:" + std::to_string(l.port()) + "/";
    req.timeout = 20s;
    req.stop = stop.get_token();
    auto start = std::chrono::steady_clock::now();
    auto r = c.send(req);
    auto took = std::chrono::steady_clock::now() - start;
    t.join();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::cancelled);
    EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace trib::net
