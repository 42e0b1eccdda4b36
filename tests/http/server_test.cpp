// Over 1,000 lines: one test binary per module keeps the server and its peers started once; the
// socket-free parts (router, message helpers, CORS, API key) are in router_test.cpp.
//
// The HTTP server against real clients: the project's libcurl client (core/net), the `curl`
// command line, and raw sockets where a client library would hide the behaviour under test.

#include "http/server.h"

#include "core/hex.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "core/metrics.h"
#include "core/net/http_client.h"
#include "core/net/test_tls.h"
#include "harness/peer.h"
#include "http/json.h"

namespace trib::http {
namespace {

using namespace std::chrono_literals;
using net::http_client;
using net::http_request;

// ---- helpers ---------------------------------------------------------------------------------

struct cmd_result {
    int exit_code = -1;
    std::string out;  // stdout and stderr
};

/// Runs a shell command; the curl CLI is a real, independent HTTP client.
cmd_result run(const std::string& cmd) {
    cmd_result r;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return r;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        r.out.append(buf, n);
    int st = ::pclose(p);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

bool have_curl_cli() {
    if (!test::find_program("curl").empty())
        return true;
    if (test::in_ci())
        ADD_FAILURE() << "the curl command is not installed (CI=true)";
    return false;
}

#define REQUIRE_CURL_CLI()                                 \
    do {                                                   \
        if (!have_curl_cli())                              \
            GTEST_SKIP() << "the curl command is missing"; \
    } while (0)

/// A parsed `curl -i` answer: the last status line and its headers, then the body.
struct cli_response {
    int status = 0;
    net::header_map headers;
    std::string body;
};

cli_response parse_curl_i(const std::string& out) {
    cli_response r;
    std::size_t pos = 0;
    // curl -i prints each response in turn (100 Continue first): keep the last.
    for (;;) {
        auto start = out.find("HTTP/", pos);
        while (start != std::string::npos && start > 0 && out[start - 1] != '\n')
            start = out.find("HTTP/", start + 1);
        if (start == std::string::npos)
            break;
        auto end = out.find("\r\n\r\n", start);
        if (end == std::string::npos)
            break;
        std::istringstream head(out.substr(start, end - start));
        std::string line;
        std::getline(head, line);
        r.status = std::stoi(line.substr(line.find(' ') + 1, 3));
        r.headers.clear();
        while (std::getline(head, line)) {
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            auto c = line.find(':');
            if (c != std::string::npos) {
                std::string v = line.substr(c + 1);
                v.erase(0, v.find_first_not_of(' '));
                r.headers[line.substr(0, c)] = v;
            }
        }
        r.body = out.substr(end + 4);
        pos = end + 4;
        if (r.status >= 200)
            break;
    }
    return r;
}

/// A raw TCP client for the cases where a client library would hide the server's behaviour.
class raw_conn {
  public:
    explicit raw_conn(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~raw_conn() { ::close(fd_); }
    bool connected() const { return connected_; }
    bool send(std::string_view s) {
        return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size());
    }
    /// Reads until `pred(received)` holds, the peer closes, or the deadline passes.
    std::string read_until(const std::function<bool(const std::string&)>& pred,
                           std::chrono::milliseconds deadline, bool* closed = nullptr) {
        auto until = std::chrono::steady_clock::now() + deadline;
        if (closed)
            *closed = false;
        while (!pred(in_)) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) != 1)
                break;
            char buf[8192];
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                if (closed)
                    *closed = true;
                break;
            }
            in_.append(buf, static_cast<std::size_t>(n));
        }
        return in_;
    }

  private:
    int fd_ = -1;
    bool connected_ = false;
    std::string in_;
};

std::size_t count_of(const std::string& s, std::string_view what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
        ++n;
    return n;
}

/// Completes responders on its own thread, as a webhook completes them after Iggy's ack.
class worker {
  public:
    worker() : t_([this] { loop(); }) {}
    ~worker() {
        {
            std::lock_guard lk(mu_);
            done_ = true;
        }
        cv_.notify_all();
        t_.join();
    }
    void push(responder r) {
        {
            std::lock_guard lk(mu_);
            q_.push_back(std::move(r));
        }
        cv_.notify_all();
    }
    std::thread::id id() const { return t_.get_id(); }

  private:
    void loop() {
        std::unique_lock lk(mu_);
        for (;;) {
            cv_.wait(lk, [&] { return done_ || !q_.empty(); });
            if (q_.empty())
                return;
            responder r = std::move(q_.front());
            q_.pop_front();
            lk.unlock();
            std::ostringstream tid;
            tid << std::this_thread::get_id();
            r.send(response::text(202, "done by worker " + tid.str() + " for " + r.request().body));
            lk.lock();
        }
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<responder> q_;
    bool done_ = false;
    std::thread t_;
};

std::string base(const server& s, const char* scheme = "http") {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(s.port());
}

void add_standard_routes(server& s) {
    s.route("GET", "/", [](const request&) { return response::text(200, "root"); });
    s.route(
        "GET", "/health", [](const request&) { return response::json(200, "{\"ok\":true}"); },
        route_options{.public_route = true});
    s.route("GET", "/sinks", [](const request&) { return response::json(200, "[]"); });
    s.route("GET", "/sinks/{key}", [](const request& r) {
        return response::text(200, "sink " + std::string(r.param("key")));
    });
    s.route("GET", "/sinks/{key}/configs/{version}", [](const request& r) {
        return response::text(200, "version " + std::string(r.param("version")) + " of " +
                                       std::string(r.param("key")));
    });
    s.route("GET", "/sinks/{key}/configs/active", [](const request& r) {
        return response::text(200, "active of " + std::string(r.param("key")));
    });
    s.route("DELETE", "/sinks/{key}/configs/{version}",
            [](const request&) { return response::empty(204); });
    s.route("GET", "/files/{path*}", [](const request& r) {
        return response::text(200, "file " + std::string(r.param("path")));
    });
    s.route("GET", "/query", [](const request& r) {
        std::string out;
        for (const auto& [k, v] : r.query)
            out += k + "=" + v + ";";
        return response::text(200, out);
    });
    s.route("POST", "/echo", [](const request& r) {
        response res = response::text(200, r.body);
        res.set_header("X-Body-Length", std::to_string(r.body.size()));
        res.set_header("X-Remote", r.remote_address);
        res.set_header("X-Header", std::string(r.header("x-test")));
        return res;
    });
    s.route("GET", "/throw",
            [](const request&) -> response { throw std::runtime_error("handler bug"); });
}

std::unique_ptr<server> start_server(server_config cfg = {}) {
    auto s = std::make_unique<server>(std::move(cfg));
    add_standard_routes(*s);
    auto st = s->start();
    EXPECT_TRUE(st) << st.error().to_string();
    return s;
}

// ---- pure helpers ----------------------------------------------------------------------------

TEST(http_util, percent_decode_and_constant_time_equal) {
    EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
    EXPECT_EQ(percent_decode("a+b", true), "a b");
    EXPECT_EQ(percent_decode("a+b", false), "a+b");
    EXPECT_EQ(percent_decode("%zz"), std::nullopt);
    EXPECT_EQ(percent_decode("%2"), std::nullopt);
    EXPECT_EQ(percent_decode("%"), std::nullopt);
    EXPECT_TRUE(constant_time_equal("secret", "secret"));
    EXPECT_FALSE(constant_time_equal("secret", "secreT"));
    EXPECT_FALSE(constant_time_equal("secret", "secret2"));
    EXPECT_FALSE(constant_time_equal("", "x"));
}

TEST(http_util, json_writer) {
    json_writer w;
    w.begin_object()
        .field("name", "a\"b\\c\n\x01")
        .field("n", 42)
        .field("u", std::uint64_t{18446744073709551615ull})
        .field("neg", -7)
        .field("f", 1.5)
        .field("ok", true)
        .key("list")
        .begin_array()
        .value(1)
        .value("x")
        .null()
        .begin_object()
        .end_object()
        .end_array()
        .key("raw")
        .raw("{\"k\":[]}")
        .field("nan", std::nan(""))
        .end_object();
    EXPECT_EQ(w.str(),
              "{\"name\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":42,\"u\":18446744073709551615,\"neg\":-7,"
              "\"f\":1.5,\"ok\":true,\"list\":[1,\"x\",null,{}],\"raw\":{\"k\":[]},\"nan\":null}");
}

// ---- routing ---------------------------------------------------------------------------------

TEST(http_server, routes_params_and_queries) {
    auto s = start_server();
    http_client c;
    auto get = [&](const std::string& path) {
        auto r = c.get(base(*s) + path);
        EXPECT_TRUE(r) << path << ": " << r.error().to_string();
        return r ? r->body : std::string();
    };
    EXPECT_EQ(get("/"), "root");
    EXPECT_EQ(get("/sinks/pg"), "sink pg");
    EXPECT_EQ(get("/sinks/pg/"), "sink pg");  // a trailing slash is the same path
    EXPECT_EQ(get("/sinks/a%20b"), "sink a b");
    // The literal segment wins over {version}, although it was registered after it.
    EXPECT_EQ(get("/sinks/pg/configs/active"), "active of pg");
    EXPECT_EQ(get("/sinks/pg/configs/3"), "version 3 of pg");
    EXPECT_EQ(get("/files/a/b/c.txt"), "file a/b/c.txt");
    EXPECT_EQ(get("/query?format=json&x=a+b&y=%26&flag"), "format=json;x=a b;y=&;flag=;");
    EXPECT_EQ(c.connections_opened(), 1u);
    EXPECT_EQ(s->stats().connections_total, 1u);
}

TEST(http_server, not_found_method_not_allowed_head_and_errors) {
    auto s = start_server();
    http_client c;
    http_request req;
    req.url = base(*s) + "/nope";
    auto r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->header("content-type"), "application/json");
    EXPECT_EQ(r->body, "{\"error\":\"not found\"}");

    req.method = "POST";
    req.url = base(*s) + "/sinks/pg";
    r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->header("allow"), "GET, HEAD, OPTIONS");

    req.method = "PUT";
    req.url = base(*s) + "/sinks/pg/configs/2";
    r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->header("allow"), "GET, DELETE, HEAD, OPTIONS");

    req.method = "DELETE";
    r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204);
    EXPECT_TRUE(r->body.empty());

    req.method = "HEAD";
    req.url = base(*s) + "/sinks/pg";
    r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("content-length"), "7");  // "sink pg", not sent
    EXPECT_TRUE(r->body.empty());

    req.method = "GET";
    req.url = base(*s) + "/throw";
    r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);

    req.url = base(*s) + "/sinks/%zz";
    r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    // All of it on one connection: errors do not close it.
    EXPECT_EQ(c.connections_opened(), 1u);
}

TEST(http_server, curl_cli_routing_and_methods) {
    REQUIRE_CURL_CLI();
    auto s = start_server();
    auto r = run("curl -sS -i " + base(*s) + "/sinks/pg/configs/7");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    auto resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 200);
    EXPECT_EQ(resp.body, "version 7 of pg");
    EXPECT_EQ(resp.headers["Server"], "tributary");

    r = run("curl -sS -i -X PATCH " + base(*s) + "/sinks");
    resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 405) << r.out;
    EXPECT_EQ(resp.headers["Allow"], "GET, HEAD, OPTIONS");

    r = run("curl -sS -i -X POST -H 'X-Test: hi' --data-binary 'hello body' " + base(*s) + "/echo");
    resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 200) << r.out;
    EXPECT_EQ(resp.body, "hello body");
    EXPECT_EQ(resp.headers["X-Header"], "hi");
    EXPECT_EQ(resp.headers["X-Remote"], "127.0.0.1");

    // HTTP/1.0 is answered in kind, and the connection closes (1.0 has no keep-alive default).
    r = run("curl -sS -i --http1.0 " + base(*s) + "/ " + base(*s) + "/sinks");
    EXPECT_EQ(count_of(r.out, "HTTP/1.0 200 OK"), 2u) << r.out;
    EXPECT_EQ(s->stats().connections_total, 5u);  // one per curl run, two for the 1.0 run
}

// ---- limits ----------------------------------------------------------------------------------

TEST(http_server, body_limit_413) {
    server_config cfg;
    cfg.body_limit = 64 * 1024;
    auto s = std::make_unique<server>(cfg);
    add_standard_routes(*s);
    s->route(
        "POST", "/big",
        [](const request& r) { return response::text(200, std::to_string(r.body.size())); },
        route_options{.body_limit = 4u << 20});
    ASSERT_TRUE(s->start());

    http_client c;
    auto small = c.post(base(*s) + "/echo", std::string(1000, 'a'), "text/plain");
    ASSERT_TRUE(small) << small.error().to_string();
    EXPECT_EQ(small->header("x-body-length"), "1000");

    // Content-Length over the limit: 413 before the body is read (the client sent it anyway,
    // without Expect: 100-continue; the server drains it so the client reads the answer).
    http_request big;
    big.method = "POST";
    big.url = base(*s) + "/echo";
    big.body = std::string(1u << 20, 'b');
    auto r = c.perform(big);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 413);
    auto classified = c.send(big);
    ASSERT_FALSE(classified);
    EXPECT_EQ(classified.error().retry(), retry_class::fatal);

    // A route with its own, larger limit.
    auto r2 = c.post(base(*s) + "/big", std::string(2u << 20, 'c'), "text/plain");
    ASSERT_TRUE(r2) << r2.error().to_string();
    EXPECT_EQ(r2->body, std::to_string(2u << 20));

    if (!have_curl_cli())
        return;
    auto dir = test::temp_dir("trib-http-body");
    { std::ofstream(dir.path() / "big.bin") << std::string(1u << 20, 'd'); }
    // curl asks "Expect: 100-continue" for a body this large: the 413 comes before it is sent.
    auto cli = run("curl -sS -i -H 'Expect: 100-continue' --data-binary @" +
                   (dir.path() / "big.bin").string() + " " + base(*s) + "/echo");
    EXPECT_EQ(parse_curl_i(cli.out).status, 413) << cli.out;
    // Chunked: no length up front, so the limit stops the read midway.
    cli = run("curl -sS -i -H 'Transfer-Encoding: chunked' --data-binary @" +
              (dir.path() / "big.bin").string() + " " + base(*s) + "/echo");
    EXPECT_EQ(parse_curl_i(cli.out).status, 413) << cli.out;
    // Under the limit with Expect: 100-continue: the server says continue, then answers.
    cli = run("curl -sS -i -H 'Expect: 100-continue' --data-binary @" +
              (dir.path() / "big.bin").string() + " " + base(*s) + "/big");
    auto resp = parse_curl_i(cli.out);
    EXPECT_EQ(resp.status, 200) << cli.out;
    EXPECT_EQ(resp.body, std::to_string(1u << 20));
    EXPECT_NE(cli.out.find("HTTP/1.1 100 Continue"), std::string::npos) << cli.out;
}

TEST(http_server, header_timeout_408_idle_close_and_header_limit_431) {
    server_config cfg;
    cfg.header_timeout = 300ms;
    cfg.idle_timeout = 300ms;
    cfg.header_limit = 4096;
    auto s = start_server(cfg);

    raw_conn slow(s->port());
    ASSERT_TRUE(slow.connected());
    ASSERT_TRUE(slow.send("GET / HTTP/1.1\r\nHost: x\r\n"));  // and never the blank line
    bool closed = false;
    auto got = slow.read_until(
        [](const std::string& in) { return in.find("\r\n\r\n") != std::string::npos; }, 5s,
        &closed);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 408")) << got;

    raw_conn idle(s->port());
    ASSERT_TRUE(idle.connected());
    auto t0 = std::chrono::steady_clock::now();
    got = idle.read_until([](const std::string&) { return false; }, 5s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_TRUE(got.empty()) << got;  // an idle connection is closed without a response
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);

    raw_conn fat(s->port());
    ASSERT_TRUE(
        fat.send("GET / HTTP/1.1\r\nHost: x\r\nX-Fat: " + std::string(8000, 'f') + "\r\n\r\n"));
    got = fat.read_until(
        [](const std::string& in) { return in.find("\r\n\r\n") != std::string::npos; }, 5s);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 431")) << got;

    raw_conn garbage(s->port());
    ASSERT_TRUE(garbage.send("NOT HTTP AT ALL\r\n\r\n"));
    got = garbage.read_until(
        [](const std::string& in) { return in.find("\r\n\r\n") != std::string::npos; }, 5s);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 400")) << got;
}

TEST(http_server, pipelined_requests_are_answered_in_order) {
    auto s = start_server();
    raw_conn c(s->port());
    ASSERT_TRUE(
        c.send("GET /sinks/a HTTP/1.1\r\nHost: x\r\n\r\nGET /sinks/b HTTP/1.1\r\nHost: "
               "x\r\n\r\nGET /sinks/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    bool closed = false;
    auto got = c.read_until([](const std::string&) { return false; }, 5s, &closed);
    EXPECT_TRUE(closed);
    auto a = got.find("sink a");
    auto b = got.find("sink b");
    auto cc = got.find("sink c");
    ASSERT_NE(a, std::string::npos) << got;
    ASSERT_NE(b, std::string::npos) << got;
    ASSERT_NE(cc, std::string::npos) << got;
    EXPECT_LT(a, b);
    EXPECT_LT(b, cc);
    EXPECT_EQ(count_of(got, "HTTP/1.1 200"), 3u);
}

TEST(http_server, unknown_transfer_codings_are_501_and_nothing_is_smuggled) {
    // Beast frames "Transfer-Encoding: gzip" (chunked not last) as a request without a body:
    // what follows would be read as the next request. The server answers 501 and closes.
    auto s = start_server();
    raw_conn c(s->port());
    ASSERT_TRUE(
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
               "GET /sinks/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"));
    bool closed = false;
    auto got = c.read_until([](const std::string&) { return false; }, 5s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(got.rfind("HTTP/1.1 501", 0), 0u) << got;
    EXPECT_EQ(got.find("smuggled"), std::string::npos) << got;
    EXPECT_EQ(count_of(got, "HTTP/1.1 "), 1u) << got;
    // "gzip, chunked": decoded chunks would still be gzip.
    raw_conn c2(s->port());
    ASSERT_TRUE(
        c2.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                "3\r\nabc\r\n0\r\n\r\n"));
    got = c2.read_until([](const std::string&) { return false; }, 5s, &closed);
    EXPECT_EQ(got.rfind("HTTP/1.1 501", 0), 0u) << got;
    EXPECT_NE(got.find("Transfer-Encoding 'gzip' is not implemented"), std::string::npos) << got;
    // A content coding: 415 with Accept-Encoding: identity, before the body is read.
    raw_conn c3(s->port());
    ASSERT_TRUE(
        c3.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                "Content-Length: 3\r\n\r\nabc"));
    got = c3.read_until([](const std::string&) { return false; }, 5s, &closed);
    EXPECT_EQ(got.rfind("HTTP/1.1 415", 0), 0u) << got;
    EXPECT_NE(got.find("Accept-Encoding: identity"), std::string::npos) << got;
    // Plain chunked still works.
    raw_conn c4(s->port());
    ASSERT_TRUE(
        c4.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                "Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
    got = c4.read_until([](const std::string&) { return false; }, 5s, &closed);
    EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
}

// ---- API key and CORS ------------------------------------------------------------------------

TEST(http_server, api_key) {
    server_config cfg;
    cfg.api_key = "k3y-s3cret";
    cfg.public_paths = {"/"};
    auto s = start_server(cfg);
    auto status_with = [&](net::header_map headers, const std::string& path) {
        http_client c;
        http_request req;
        req.url = base(*s) + path;
        req.headers = std::move(headers);
        auto r = c.perform(req);
        EXPECT_TRUE(r) << r.error().to_string();
        return r ? r->status : 0;
    };
    EXPECT_EQ(status_with({}, "/sinks"), 401);
    EXPECT_EQ(status_with({{"api-key", "wrong"}}, "/sinks"), 401);
    EXPECT_EQ(status_with({{"api-key", "k3y-s3cre"}}, "/sinks"), 401);
    EXPECT_EQ(status_with({{"Authorization", "Bearer nope"}}, "/sinks"), 401);
    EXPECT_EQ(status_with({{"api-key", "k3y-s3cret"}}, "/sinks"), 200);
    EXPECT_EQ(status_with({{"API-KEY", "k3y-s3cret"}}, "/sinks"), 200);
    EXPECT_EQ(status_with({{"Authorization", "Bearer k3y-s3cret"}}, "/sinks"), 200);
    EXPECT_EQ(status_with({{"Authorization", "bearer k3y-s3cret"}}, "/sinks"), 200);
    // Unknown paths say 401 too: no key, no map of the API.
    EXPECT_EQ(status_with({}, "/nope"), 401);
    EXPECT_EQ(status_with({{"api-key", "k3y-s3cret"}}, "/nope"), 404);
    // Public route and public path.
    EXPECT_EQ(status_with({}, "/health"), 200);
    EXPECT_EQ(status_with({}, "/"), 200);

    // The error maps to unauthenticated/fatal in the client.
    http_client c;
    auto e = c.get(base(*s) + "/sinks");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code(), errc::unauthenticated);

    if (!have_curl_cli())
        return;
    auto r = run("curl -sS -i -H 'api-key: k3y-s3cret' " + base(*s) + "/sinks");
    EXPECT_EQ(parse_curl_i(r.out).status, 200) << r.out;
    r = run("curl -sS -i " + base(*s) + "/sinks");
    auto resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 401) << r.out;
    EXPECT_EQ(resp.headers["WWW-Authenticate"], "Bearer");
}

TEST(http_server, cors_preflight_and_headers) {
    REQUIRE_CURL_CLI();
    server_config cfg;
    cfg.api_key = "k";
    cfg.cors.enabled = true;
    cfg.cors.allowed_origins = {"https://ui.example"};
    cfg.cors.allowed_methods = {"GET", "POST"};
    cfg.cors.allowed_headers = {"content-type", "api-key"};
    cfg.cors.exposed_headers = {"x-body-length"};
    cfg.cors.max_age = 600s;
    auto s = start_server(cfg);

    // A preflight carries no credentials: it must pass without the API key.
    auto r =
        run("curl -sS -i -X OPTIONS -H 'Origin: https://ui.example' "
            "-H 'Access-Control-Request-Method: POST' "
            "-H 'Access-Control-Request-Headers: content-type, api-key' " +
            base(*s) + "/echo");
    auto resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 204) << r.out;
    EXPECT_EQ(resp.headers["Access-Control-Allow-Origin"], "https://ui.example");
    EXPECT_EQ(resp.headers["Access-Control-Allow-Methods"], "GET, POST");
    EXPECT_EQ(resp.headers["Access-Control-Allow-Headers"], "content-type, api-key");
    EXPECT_EQ(resp.headers["Access-Control-Max-Age"], "600");
    EXPECT_EQ(resp.headers["Vary"], "Origin");

    r =
        run("curl -sS -i -X OPTIONS -H 'Origin: https://evil.example' "
            "-H 'Access-Control-Request-Method: POST' " +
            base(*s) + "/echo");
    resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 403) << r.out;
    EXPECT_EQ(resp.headers.count("Access-Control-Allow-Origin"), 0u);

    // The actual request: CORS headers on the answer, the API key still required.
    r = run("curl -sS -i -X POST -H 'Origin: https://ui.example' -H 'api-key: k' --data x " +
            base(*s) + "/echo");
    resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 200) << r.out;
    EXPECT_EQ(resp.headers["Access-Control-Allow-Origin"], "https://ui.example");
    EXPECT_EQ(resp.headers["Access-Control-Expose-Headers"], "x-body-length");
    r = run("curl -sS -i -X POST -H 'Origin: https://ui.example' --data x " + base(*s) + "/echo");
    resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 401) << r.out;
    EXPECT_EQ(resp.headers["Access-Control-Allow-Origin"], "https://ui.example");
    // No Origin, no CORS headers.
    r = run("curl -sS -i -H 'api-key: k' " + base(*s) + "/sinks");
    resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 200) << r.out;
    EXPECT_EQ(resp.headers.count("Access-Control-Allow-Origin"), 0u);
}

// ---- connections -----------------------------------------------------------------------------

TEST(http_server, keep_alive_several_requests_on_one_connection) {
    auto s = start_server();
    http_client c;
    for (int i = 0; i < 20; ++i) {
        auto r = c.post(base(*s) + "/echo", "n" + std::to_string(i), "text/plain");
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_EQ(r->body, "n" + std::to_string(i));
    }
    EXPECT_EQ(c.connections_opened(), 1u);
    EXPECT_EQ(s->stats().connections_total, 1u);
    EXPECT_EQ(s->stats().requests_total, 20u);

    if (!have_curl_cli())
        return;
    // One curl process, three URLs: curl reuses the connection when the server keeps it open.
    auto r = run("curl -sS -v " + base(*s) + "/sinks/a " + base(*s) + "/sinks/b " + base(*s) +
                 "/sinks/c");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("sink a"), std::string::npos);
    EXPECT_NE(r.out.find("sink c"), std::string::npos);
    EXPECT_EQ(count_of(r.out, "Re-using existing connection"), 2u) << r.out;
    EXPECT_EQ(s->stats().connections_total, 2u);
}

TEST(http_server, connection_limit_answers_503) {
    server_config cfg;
    cfg.max_connections = 1;
    auto s = start_server(cfg);
    raw_conn hog(s->port());
    ASSERT_TRUE(hog.connected());
    ASSERT_TRUE(test::wait_until([&] { return s->stats().connections_open == 1; }, 5s));
    http_client c;
    auto r = c.get(base(*s) + "/");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().vendor_code(), 503);
    EXPECT_EQ(r.error().retry(), retry_class::throttled);
    EXPECT_EQ(r.error().retry_after(), 1s);
    EXPECT_GE(s->stats().connections_rejected, 1u);
}

TEST(http_server, concurrency_gate_answers_overloaded) {
    worker w;
    std::mutex mu;
    std::vector<responder> held;
    server s;
    s.route_async(
        "POST", "/slow",
        [&](const request&, responder done) {
            std::lock_guard lk(mu);
            held.push_back(std::move(done));
        },
        route_options{.max_in_flight = 1, .overload_status = 429, .retry_after = 3s});
    ASSERT_TRUE(s.start());

    auto first = std::async(std::launch::async, [&] {
        http_client c;
        return c.post(base(s) + "/slow", "one", "text/plain");
    });
    ASSERT_TRUE(test::wait_until(
        [&] {
            std::lock_guard lk(mu);
            return held.size() == 1;
        },
        5s));
    http_client c;
    auto second = c.post(base(s) + "/slow", "two", "text/plain");
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().vendor_code(), 429);
    EXPECT_EQ(second.error().retry(), retry_class::throttled);
    EXPECT_EQ(second.error().retry_after(), 3s);
    {
        std::lock_guard lk(mu);
        w.push(held[0]);
    }
    auto r1 = first.get();
    ASSERT_TRUE(r1) << r1.error().to_string();
    EXPECT_EQ(r1->status, 202);
    // The slot is free again.
    auto third = std::async(std::launch::async, [&] {
        http_client c3;
        return c3.post(base(s) + "/slow", "three", "text/plain");
    });
    ASSERT_TRUE(test::wait_until(
        [&] {
            std::lock_guard lk(mu);
            return held.size() == 2;
        },
        5s));
    {
        std::lock_guard lk(mu);
        w.push(held[1]);
    }
    auto r3 = third.get();
    ASSERT_TRUE(r3) << r3.error().to_string();
    EXPECT_NE(r3->body.find("for three"), std::string::npos);
}

// ---- asynchronous handlers -------------------------------------------------------------------

TEST(http_server, async_handler_completes_from_another_thread) {
    worker w;
    std::ostringstream wid;
    wid << w.id();
    server_config cfg;
    cfg.threads = 2;
    server s(cfg);
    s.route_async("POST", "/hook", [&](const request& req, responder done) {
        EXPECT_EQ(&req, &done.request());
        w.push(std::move(done));
    });
    s.route_async("POST", "/dropped", [](const request&, responder) {});
    s.route_async(
        "POST", "/never",
        [](const request&, responder done) {
            // Keeps the responder alive (leaks it into a static) and never answers.
            static std::vector<responder> graveyard;
            graveyard.push_back(std::move(done));
        },
        route_options{.async_timeout = 300ms});
    ASSERT_TRUE(s.start());

    http_client c;
    for (int i = 0; i < 10; ++i) {
        auto r = c.post(base(s) + "/hook", "msg" + std::to_string(i), "text/plain");
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_EQ(r->status, 202);
        EXPECT_EQ(r->body, "done by worker " + wid.str() + " for msg" + std::to_string(i));
    }
    EXPECT_EQ(c.connections_opened(), 1u);

    http_request req;
    req.method = "POST";
    req.url = base(s) + "/dropped";
    auto r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);

    req.url = base(s) + "/never";
    auto t0 = std::chrono::steady_clock::now();
    r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->header("retry-after"), "1");
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);

    // Several clients at once, all answered by the worker thread.
    std::vector<std::future<bool>> fs;
    for (int i = 0; i < 8; ++i) {
        fs.push_back(std::async(std::launch::async, [&, i] {
            http_client ci;
            auto ri = ci.post(base(s) + "/hook", "p" + std::to_string(i), "text/plain");
            return ri && ri->body.ends_with("for p" + std::to_string(i));
        }));
    }
    for (auto& f : fs)
        EXPECT_TRUE(f.get());
}

TEST(http_server, graceful_stop_finishes_the_request_in_flight) {
    std::promise<responder> got;
    auto got_f = got.get_future();
    auto s = std::make_unique<server>();
    s->route_async("POST", "/hook",
                   [&](const request&, responder done) { got.set_value(std::move(done)); });
    ASSERT_TRUE(s->start());
    auto port = s->port();

    auto client = std::async(std::launch::async, [&] {
        http_client c;
        http_request req;
        req.method = "POST";
        req.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
        req.body = "payload";
        return c.perform(req);
    });
    ASSERT_EQ(got_f.wait_for(10s), std::future_status::ready);
    responder pending = got_f.get();

    auto t0 = std::chrono::steady_clock::now();
    auto stopper = std::async(std::launch::async, [&] { s->stop(10s); });
    // Stop closes the listener first: no new connections while the request is in flight.
    ASSERT_TRUE(test::wait_until([&] { return !test::tcp_connectable(port); }, 5s));
    EXPECT_EQ(stopper.wait_for(0ms), std::future_status::timeout);  // still draining
    EXPECT_TRUE(pending.send(response::text(200, "acked")));
    ASSERT_EQ(stopper.wait_for(10s), std::future_status::ready);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
    auto r = client.get();
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "acked");
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_FALSE(s->running());
}

TEST(http_server, stop_deadline_closes_what_is_left) {
    std::promise<responder> got;
    auto got_f = got.get_future();
    auto s = std::make_unique<server>();
    s->route_async("POST", "/hook",
                   [&](const request&, responder done) { got.set_value(std::move(done)); });
    ASSERT_TRUE(s->start());
    auto port = s->port();
    auto client = std::async(std::launch::async, [&] {
        http_client c;
        http_request req;
        req.method = "POST";
        req.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
        req.timeout = 20s;
        return c.perform(req);
    });
    ASSERT_EQ(got_f.wait_for(10s), std::future_status::ready);
    responder pending = got_f.get();
    auto t0 = std::chrono::steady_clock::now();
    s->stop(300ms);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 3s);
    auto r = client.get();
    EXPECT_FALSE(r);  // the connection was closed under it
    EXPECT_TRUE(pending.done());
    EXPECT_FALSE(pending.send(response::text(200, "too late")));
    s.reset();  // and the responder outliving the server is harmless
    EXPECT_FALSE(pending.send(response::text(200, "later still")));
}

// ---- TLS -------------------------------------------------------------------------------------

TEST(http_server, tls_with_a_generated_certificate) {
    test::temp_dir dir("trib-http-tls");
    TRIB_MAKE_CERT(cert, dir.path(), "server");
    server_config cfg;
    cfg.tls = tls_config{cert.cert.string(), cert.key.string()};
    server s(cfg);
    s.route("GET", "/who", [](const request& r) {
        return response::text(200, std::string(r.tls ? "tls" : "plain") + " " + r.remote_address);
    });
    add_standard_routes(s);
    ASSERT_TRUE(s.start());

    net::client_options o;
    o.tls.ca_file = cert.cert.string();
    http_client c(o);
    for (int i = 0; i < 5; ++i) {
        auto r = c.get(base(s, "https") + "/who");
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_EQ(r->body, "tls 127.0.0.1");
    }
    auto big = c.post(base(s, "https") + "/echo", std::string(300000, 'z'), "text/plain");
    ASSERT_TRUE(big) << big.error().to_string();
    EXPECT_EQ(big->body.size(), 300000u);
    EXPECT_EQ(c.connections_opened(), 1u);

    // Without trusting the certificate the client refuses; plain HTTP gets nowhere.
    http_client untrusted;
    auto bad = untrusted.get(base(s, "https") + "/who");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), errc::unauthenticated);
    http_request plain;
    plain.url = base(s) + "/who";
    plain.timeout = 3s;
    EXPECT_FALSE(http_client().perform(plain));

    if (!have_curl_cli())
        return;
    auto r = run("curl -sS -i --cacert " + cert.cert.string() +
                 " https://localhost:" + std::to_string(s.port()) + "/who");
    auto resp = parse_curl_i(r.out);
    EXPECT_EQ(resp.status, 200) << r.out;
    EXPECT_EQ(resp.body, "tls 127.0.0.1");
    r = run("curl -sS -i " + base(s, "https") + "/who");
    EXPECT_NE(r.exit_code, 0) << r.out;  // curl rejects the unknown certificate too
}

TEST(http_server, bad_tls_files_and_busy_port_fail_start) {
    server_config cfg;
    cfg.tls = tls_config{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
    server s(cfg);
    auto st = s.start();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::invalid_argument);

    server a;
    ASSERT_TRUE(a.start());
    server_config same;
    same.port = a.port();
    server b(same);
    auto st2 = b.start();
    ASSERT_FALSE(st2);
    EXPECT_EQ(st2.error().code(), errc::unavailable);

    server_config bad_addr;
    bad_addr.address = "not-an-ip";
    server c(bad_addr);
    EXPECT_FALSE(c.start());
}

// ---- metrics ---------------------------------------------------------------------------------

TEST(http_server, counts_requests_in_metrics) {
    metrics_registry reg;
    server_config cfg;
    cfg.name = "api";
    cfg.metrics = &reg;
    auto s = start_server(cfg);
    http_client c;
    ASSERT_TRUE(c.get(base(*s) + "/sinks/x"));
    ASSERT_TRUE(c.get(base(*s) + "/sinks/y"));
    ASSERT_FALSE(c.get(base(*s) + "/missing"));
    std::string text = reg.prometheus_text();
    EXPECT_NE(text.find("trib_http_requests_total{code=\"2xx\",method=\"GET\",route=\"/sinks/"
                        "{key}\",server=\"api\"} 2\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("trib_http_requests_total{code=\"4xx\",method=\"\",route=\"\",server="
                        "\"api\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("trib_http_request_duration_seconds_count{method=\"GET\",route=\"/sinks/"
                        "{key}\",server=\"api\"} 2\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("trib_http_connections{server=\"api\"} 1\n"), std::string::npos) << text;
}

// ---- the client's SigV4 signature, checked by recomputing it on the server side -------------

std::string hex(const unsigned char* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

std::string sha256_hex(std::string_view s) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
    return hex(md, n);
}

std::string hmac(std::string_view key, std::string_view msg) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &n);
    return std::string(reinterpret_cast<char*>(md), n);
}

/// AWS Signature Version 4 written from AWS's published algorithm description.
std::string expected_sigv4(const request& r, const std::string& secret, const std::string& region,
                           const std::string& service, const std::string& signed_headers) {
    std::string amz_date(r.header("x-amz-date"));
    std::string date = amz_date.substr(0, 8);
    // Canonical query: sorted by name (values are already URI-encoded in the target).
    std::vector<std::string> qparts;
    std::string_view q = r.query_string;
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string part(q.substr(0, amp));
        if (part.find('=') == std::string::npos)
            part += '=';
        qparts.push_back(part);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    }
    std::sort(qparts.begin(), qparts.end());
    std::string cq;
    for (const auto& p : qparts)
        cq += (cq.empty() ? "" : "&") + p;
    std::string ch;
    std::string_view sh = signed_headers;
    while (!sh.empty()) {
        auto semi = sh.find(';');
        std::string name(sh.substr(0, semi));
        ch += name + ":" + std::string(r.header(name)) + "\n";
        sh = semi == std::string_view::npos ? std::string_view{} : sh.substr(semi + 1);
    }
    std::string payload_hash = r.headers.count("x-amz-content-sha256")
                                   ? std::string(r.header("x-amz-content-sha256"))
                                   : sha256_hex(r.body);
    std::string canonical = r.method + "\n" + r.path + "\n" + cq + "\n" + ch + "\n" +
                            signed_headers + "\n" + payload_hash;
    std::string scope = date + "/" + region + "/" + service + "/aws4_request";
    std::string to_sign =
        "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + sha256_hex(canonical);
    std::string k = hmac("AWS4" + secret, date);
    k = hmac(k, region);
    k = hmac(k, service);
    k = hmac(k, "aws4_request");
    std::string sig = hmac(k, to_sign);
    return hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

TEST(http_server, client_sigv4_signature_verifies) {
    const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    std::string last_sha;
    std::string last_query;
    server s;
    auto verify = [&](const request& r) {
        last_sha = std::string(r.header("x-amz-content-sha256"));
        last_query = r.query_string;
        std::string auth(r.header("authorization"));
        auto sh_pos = auth.find("SignedHeaders=");
        auto sig_pos = auth.find("Signature=");
        if (sh_pos == std::string::npos || sig_pos == std::string::npos)
            return response::text(400, "no signature: " + auth);
        std::string signed_headers = auth.substr(sh_pos + 14, auth.find(',', sh_pos) - sh_pos - 14);
        std::string got = auth.substr(sig_pos + 10);
        std::string want = expected_sigv4(r, secret, "eu-west-1", "s3", signed_headers);
        return got == want ? response::text(200, "verified " + signed_headers)
                           : response::text(403, "mismatch: " + auth + " want " + want);
    };
    s.route("POST", "/bucket/{key*}", verify);
    s.route("PUT", "/bucket/{key*}", verify);
    ASSERT_TRUE(s.start());
    net::client_options o;
    o.aws_sigv4 = net::aws_sigv4_options{"eu-west-1", "s3", "AKIDEXAMPLE", secret, "", "aws:amz"};
    http_client c(o);
    http_request req;
    req.method = "POST";
    // Unsorted parameters and characters AWS encodes differently from the URL: the client must
    // canonicalize them (libcurl 7.88 signs the query as given, which AWS would refuse).
    req.url = base(s) + "/bucket/dir/obj.json?b=2&a=1&prefix=x%2Fy%20z&list-type=2";
    req.headers["Content-Type"] = "application/json";
    req.body = "{\"hello\":\"world\"}";
    auto r = c.send(req);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(r->body.starts_with("verified ")) << r->body;
    EXPECT_NE(r->body.find("host"), std::string::npos) << r->body;
    EXPECT_NE(r->body.find("x-amz-date"), std::string::npos) << r->body;
    EXPECT_NE(r->body.find("x-amz-content-sha256"), std::string::npos) << r->body;
    EXPECT_EQ(last_sha, sha256_hex(req.body));
    EXPECT_EQ(last_query, "a=1&b=2&list-type=2&prefix=x%2Fy%20z");

    // A body without a Content-Type, and a session token: both signed, both sent.
    o.aws_sigv4->session_token = "FwoGZXIvYXdzEJr//////////token";
    http_client c2(o);
    http_request put;
    put.method = "PUT";
    put.url = base(s) + "/bucket/raw.bin";
    put.body = std::string("\x00\x01binary", 8);
    auto r2 = c2.send(put);
    ASSERT_TRUE(r2) << r2.error().to_string();
    EXPECT_NE(r2->body.find("x-amz-security-token"), std::string::npos) << r2->body;
    EXPECT_NE(r2->body.find("content-type"), std::string::npos) << r2->body;
}

}  // namespace
}  // namespace trib::http
