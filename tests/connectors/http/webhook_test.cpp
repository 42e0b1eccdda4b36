// The webhook source against real clients: libcurl (core/net's client), the `curl` command and
// wrk. Answers come only after the (test's or the runtime's) acknowledgement; nacks, saturation
// and ack timeouts give 503/429 with Retry-After; signature, auth, size and JSON failures get
// their status, are counted, and put nothing into the batches.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "connectors/http/http.h"
#include "connectors/http/util.h"
#include "core/message_id.h"
#include "core/metrics.h"
#include "core/net/test_tls.h"
#include "harness/hostile_json.h"
#include "http_test_util.h"
#include "runtime/memory_iggy.h"
#include "runtime/source_pipeline.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;

/// Runs a command, returns its exit status and standard output.
std::pair<int, std::string> run(const std::string& cmd) {
    std::string out;
    FILE* f = popen(cmd.c_str(), "r");
    if (f == nullptr)
        return {-1, out};
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    int st = pclose(f);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class webhook_test : public ::testing::Test {
  protected:
    void TearDown() override {
        if (src_)
            src_->close();
    }

    /// Opens a webhook source on a free port with `toml` (without address/port).
    void open(const std::string& toml) {
        port_ = test::free_port();
        auto v =
            test::values_of(webhook_source_spec(), "port = " + std::to_string(port_) + "\n" + toml);
        auto s = make_webhook_source(v);
        ASSERT_TRUE(s) << s.error().to_string();
        src_ = std::move(*s);
        ctx_.key = "hook";
        ctx_.metrics = &metrics_;
        ctx_.routes = {stream_ref{"s", "t"}};
        auto st = src_->open(ctx_, "");
        ASSERT_TRUE(st) << st.error().to_string();
    }

    std::string url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }

    std::uint64_t counted(std::string_view outcome, std::string route = "/") {
        return metrics_
            .counter("trib_webhook_requests_total", "",
                     {{"connector", "hook"}, {"route", route}, {"outcome", std::string(outcome)}})
            .value();
    }

    /// Sends a request on its own thread (the answer waits for the acknowledgement).
    std::future<result<net::http_response>> post_async(std::string path, std::string body,
                                                       net::header_map h = {}) {
        return std::async(std::launch::async,
                          [this, path, body = std::move(body), h = std::move(h)]() mutable {
                              net::http_client c;
                              net::http_request r;
                              r.method = "POST";
                              r.url = url(path);
                              r.body = std::move(body);
                              r.headers = std::move(h);
                              r.headers.try_emplace("Content-Type", "application/json");
                              return c.perform(r);
                          });
    }

    result<net::http_response> post(std::string path, std::string body, net::header_map h = {}) {
        return post_async(std::move(path), std::move(body), std::move(h)).get();
    }

    /// Polls until a non-empty batch arrives (or the deadline).
    source_batch poll_batch(std::chrono::milliseconds deadline = 5s) {
        source_batch out;
        test::wait_until(
            [&] {
                auto r = src_->poll(20ms);
                EXPECT_TRUE(r) << r.error().to_string();
                if (!r)
                    return true;
                if (!r->batch.empty()) {
                    out = std::move(*r);
                    return true;
                }
                return false;
            },
            deadline);
        return out;
    }

    /// Acknowledges every batch as it is polled, on a thread, until stopped.
    void auto_ack() {
        acker_ = std::jthread([this](std::stop_token st) {
            std::uint64_t seq = 0;
            while (!st.stop_requested()) {
                auto r = src_->poll(20ms);
                if (r && !r->batch.empty()) {
                    acked_messages_.fetch_add(r->batch.size());
                    src_->ack(++seq);
                }
            }
        });
    }

    std::uint16_t port_ = 0;
    metrics_registry metrics_;
    connector_context ctx_;
    std::unique_ptr<source> src_;
    std::jthread acker_;
    std::atomic<std::uint64_t> acked_messages_{0};
};

TEST(webhook_spec, is_sound_and_checks_routes_and_auth) {
    EXPECT_TRUE(config::check_spec(webhook_source_spec()).empty());
    auto p = test::problems_of(webhook_source_spec(),
                               "port = 1\n[auth]\ntype = \"bearer\"\n[[routes]]\npath = \"x\"\n"
                               "stream = \"s\"\n[[routes]]\npath = \"x\"\n");
    EXPECT_NE(p.find("token"), std::string::npos) << p;
    EXPECT_NE(p.find("must start with /"), std::string::npos) << p;
    EXPECT_NE(p.find("same method and path"), std::string::npos) << p;
    EXPECT_NE(p.find("stream and topic"), std::string::npos) << p;
    p = test::problems_of(webhook_source_spec(),
                          "port = 1\n[[routes]]\npath = \"/a\"\n[routes.auth]\ntype = \"hmac\"\n"
                          "preset = \"custom\"\n");
    EXPECT_NE(p.find("secret"), std::string::npos) << p;
    EXPECT_NE(p.find("signature_header"), std::string::npos) << p;
    // Open to the network without authentication: refused unless asked for.
    auto v = test::values_of(webhook_source_spec(), "port = 1\naddress = \"0.0.0.0\"\n");
    auto s = make_webhook_source(v);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message().find("allow_unauthenticated"), std::string::npos);
    v = test::values_of(webhook_source_spec(),
                        "port = 1\naddress = \"0.0.0.0\"\nallow_unauthenticated = true\n");
    EXPECT_TRUE(make_webhook_source(v));
}

TEST_F(webhook_test, answers_only_after_the_ack_with_one_message_per_element) {
    open("");
    auto f = post_async("/", R"([{"a": 1}, {"b": [2, 3]}, "three"])");
    auto b = poll_batch();
    ASSERT_EQ(b.batch.size(), 3u);
    EXPECT_EQ(b.batch.messages[0].payload, R"({"a": 1})");
    EXPECT_EQ(b.batch.messages[1].payload, R"({"b": [2, 3]})");
    EXPECT_EQ(b.batch.messages[2].payload, R"("three")");
    EXPECT_FALSE(b.has_state);
    // Not answered while Iggy has not acknowledged.
    EXPECT_EQ(f.wait_for(300ms), std::future_status::timeout);
    src_->ack(1);
    auto r = f.get();
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"accepted":3})");
    // Counted just after the answer is handed to the connection.
    EXPECT_TRUE(test::wait_until([&] { return counted("accepted") == 1u; }, 5s));
}

TEST_F(webhook_test, delivery_id_header_gives_the_same_ids_to_a_retry) {
    open("delivery_id_header = \"X-GitHub-Delivery\"\n");
    const net::header_map d1{{"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"}};
    const net::header_map d2{{"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0959"}};
    std::vector<std::vector<std::string>> ids;
    for (const auto* h : {&d1, &d1, &d2}) {
        auto f = post_async("/", R"([{"a": 1}, {"a": 1}])", *h);
        auto b = poll_batch();
        ASSERT_EQ(b.batch.size(), 2u);
        ids.push_back({to_hex(b.batch.messages[0].id), to_hex(b.batch.messages[1].id)});
        src_->ack(ids.size());
        ASSERT_TRUE(f.get());
    }
    EXPECT_EQ(ids[0], ids[1]);        // the retry: the same ids
    EXPECT_NE(ids[0][0], ids[0][1]);  // two parts of one delivery: two ids
    EXPECT_NE(ids[0][0], ids[2][0]);  // another delivery: other ids
    EXPECT_NE(ids[0][1], ids[2][1]);
    EXPECT_EQ(ids[0][0],
              to_hex(http_detail::delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958", 0)));
    // Without the header: no identity, id 0 (the producer draws a random one).
    auto f = post_async("/", R"({"a": 1})");
    auto b = poll_batch();
    ASSERT_EQ(b.batch.size(), 1u);
    EXPECT_TRUE(b.batch.messages[0].id.is_zero());
    src_->ack(4);
    ASSERT_TRUE(f.get());
}

TEST_F(webhook_test, delivery_id_path_reads_the_event_id_of_each_message) {
    open("delivery_id_path = \"id\"\n");
    auto f = post_async("/", R"([{"id": "evt_1", "n": 1}, {"id": "evt_2", "n": 1}, {"n": 3}])");
    auto b = poll_batch();
    ASSERT_EQ(b.batch.size(), 3u);
    EXPECT_EQ(b.batch.messages[0].id, http_detail::delivery_path_id("evt_1"));
    EXPECT_EQ(b.batch.messages[1].id, http_detail::delivery_path_id("evt_2"));
    EXPECT_NE(b.batch.messages[0].id, b.batch.messages[1].id);
    EXPECT_TRUE(b.batch.messages[2].id.is_zero());
    src_->ack(1);
    ASSERT_TRUE(f.get());
    const auto p =
        test::problems_of(webhook_source_spec(),
                          "port = 1\ndelivery_id_path = \"a[\"\n[[routes]]\npath = \"/b\"\n"
                          "delivery_id_path = \"b[\"\n");
    EXPECT_NE(p.find("delivery_id_path"), std::string::npos) << p;
    EXPECT_NE(p.find("routes[0].delivery_id_path"), std::string::npos) << p;
}

TEST_F(webhook_test, a_nack_is_answered_503_with_retry_after) {
    open("retry_after = \"3s\"\n");
    auto f = post_async("/", R"({"x": 1})");
    auto b = poll_batch();
    ASSERT_EQ(b.batch.size(), 1u);
    src_->nack(1);
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->header("Retry-After"), "3");
    EXPECT_EQ(counted("nacked"), 1u);
}

TEST_F(webhook_test, formats_by_content_type_or_route) {
    open(R"(
[[routes]]
path = "/auto"
[[routes]]
path = "/lines"
format = "ndjson"
[[routes]]
path = "/blob"
format = "raw"
)");
    auto_ack();
    auto nd = post("/auto", "{\"a\":1}\n{\"a\":2}\n", {{"Content-Type", "application/x-ndjson"}});
    ASSERT_TRUE(nd);
    EXPECT_EQ(nd->body, R"({"accepted":2})");
    auto text = post("/auto", "not json at all", {{"Content-Type", "text/plain"}});
    ASSERT_TRUE(text);
    EXPECT_EQ(text->body, R"({"accepted":1})");
    auto lines = post("/lines", "1\n2\n3", {{"Content-Type", "text/plain"}});
    ASSERT_TRUE(lines);
    EXPECT_EQ(lines->body, R"({"accepted":3})");
    auto blob = post("/blob", "[1, 2]");
    ASSERT_TRUE(blob);
    EXPECT_EQ(blob->body, R"({"accepted":1})");
    auto empty = post("/auto", "[]");
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->status, 200);
    EXPECT_EQ(empty->body, R"({"accepted":0})");
    EXPECT_EQ(acked_messages_.load(), 7u);
}

TEST_F(webhook_test, bad_json_oversize_and_wrong_routes_are_refused_and_counted) {
    open("max_body_size = 1000\n");
    auto bad = post("/", R"([{"a": 1}, {"b": oops}])");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    EXPECT_NE(bad->body.find("invalid JSON"), std::string::npos);
    auto nd = post("/", "{\"a\":1}\n{oops\n", {{"Content-Type", "application/x-ndjson"}});
    ASSERT_TRUE(nd);
    EXPECT_EQ(nd->status, 400);
    EXPECT_EQ(counted("bad_json"), 2u);
    auto big = post("/", "[\"" + std::string(2000, 'x') + "\"]");
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413);
    EXPECT_EQ(counted("too_large"), 1u);
    net::http_client c;
    auto missing = c.perform(net::http_request{"POST", url("/nope"), {}, "{}", {}, {}});
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    auto method = c.perform(net::http_request{"PUT", url("/"), {}, "{}", {}, {}});
    ASSERT_TRUE(method);
    EXPECT_EQ(method->status, 405);
    // Nothing malformed reached a batch.
    auto r = src_->poll(100ms);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->batch.empty());
    EXPECT_EQ(counted("accepted"), 0u);
}

/// Sends `head` on a raw connection to 127.0.0.1:port and then nothing more; returns what the
/// server answers before it closes the connection (or after 10 s of silence).
std::string stall(std::uint16_t port, const std::string& head) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return {};
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size())) {
        char buf[4096];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
            out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

TEST_F(webhook_test, a_stalled_request_gets_408_and_is_counted_and_not_stored) {
    open("request_timeout = \"300ms\"\n");
    auto_ack();
    // The body stops after 10 of 100 declared bytes.
    const std::string answer = stall(port_,
                                     "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                     "application/json\r\nContent-Length: 100\r\n\r\n[{\"a\": 1},");
    EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
    EXPECT_EQ(counted("slow_request"), 1u);
    // Headers that never end: the connection is answered 408 or closed, nothing is stored.
    const std::string headers = stall(port_, "POST / HTTP/1.1\r\nHost: x\r\nContent-Le");
    EXPECT_TRUE(headers.empty() || headers.rfind("HTTP/1.1 408", 0) == 0) << headers;
    // The source still serves, and only the complete request reached a batch.
    auto ok = post("/", R"({"b": 2})");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(acked_messages_.load(), 1u);
    // Counted just after the answer is handed to the connection.
    EXPECT_TRUE(test::wait_until([&] { return counted("accepted") == 1u; }, 5s));
}

TEST_F(webhook_test, hostile_json_bodies_are_400_and_store_nothing) {
    // Issue 12: one POST of 200,000 '[' crashed the process; {"k":1}\0garbage was stored.
    open("max_body_size = 4194304\n");
    auto_ack();
    auto inputs = testing::hostile_json_inputs();
    for (const auto& [name, bytes] : inputs) {
        auto r = post("/", bytes);
        ASSERT_TRUE(r) << name;
        EXPECT_EQ(r->status, 400) << name << ": " << r->body;
        EXPECT_NE(r->body.find("invalid JSON: "), std::string::npos) << name << ": " << r->body;
        auto nd = post("/", bytes, {{"Content-Type", "application/x-ndjson"}});
        ASSERT_TRUE(nd) << name;
        EXPECT_EQ(nd->status, 400) << name << ": " << nd->body;
    }
    auto deep = post("/", testing::deep_arrays());
    ASSERT_TRUE(deep);
    EXPECT_NE(deep->body.find("JSON nested deeper than 128 levels at byte 128"), std::string::npos)
        << deep->body;
    auto nul = post("/", std::string("{\"k\":1}\0garbage", 16));
    ASSERT_TRUE(nul);
    EXPECT_NE(nul->body.find("data after the JSON value at byte 7"), std::string::npos)
        << nul->body;
    // The server is still up, and only the good request reached a batch.
    auto good = post("/", R"({"good": 1})");
    ASSERT_TRUE(good);
    EXPECT_EQ(good->status, 200);
    EXPECT_EQ(acked_messages_.load(), 1u);
    EXPECT_EQ(counted("bad_json"), 2 * inputs.size() + 2);
}

TEST_F(webhook_test, transfer_codings_other_than_chunked_are_501_content_codings_415) {
    open("");
    auto_ack();
    const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    const std::string chunked_body = "7\r\n{\"a\":1}\r\n0\r\n\r\n";
    // Beast decodes the chunks and would hand the handler the bytes still gzipped.
    std::string a = stall(port_, head + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked_body);
    EXPECT_EQ(a.rfind("HTTP/1.1 501", 0), 0u) << a;
    EXPECT_NE(a.find("Transfer-Encoding 'gzip' is not implemented"), std::string::npos) << a;
    // "gzip" alone would be framed as no body and the rest read as the next request.
    std::string b = stall(port_, head + "Transfer-Encoding: gzip\r\n\r\n{\"a\":1}");
    EXPECT_EQ(b.rfind("HTTP/1.1 501", 0), 0u) << b;
    // Over two fields.
    std::string c = stall(port_, head + "Transfer-Encoding: GZIP\r\nTransfer-Encoding: chunked" +
                                     "\r\n\r\n" + chunked_body);
    EXPECT_EQ(c.rfind("HTTP/1.1 501", 0), 0u) << c;
    // A content coding is refused before the body is read.
    auto d = post("/", std::string("\x1f\x8b\x08\x00 not really gzip", 20),
                  {{"Content-Encoding", "gzip"}});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->status, 415) << d->body;
    EXPECT_EQ(d->header("Accept-Encoding"), "identity");
    auto e = post("/", R"({"a":2})", {{"Content-Encoding", "identity, br"}});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->status, 415) << e->body;
    EXPECT_EQ(acked_messages_.load(), 0u);
    EXPECT_EQ(counted("unsupported_coding"), 5u);
    // chunked alone and identity are fine, and the server is still up.
    std::string ok_chunked = stall(
        port_, head + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked_body);
    EXPECT_EQ(ok_chunked.rfind("HTTP/1.1 200", 0), 0u) << ok_chunked;
    auto f = post("/", R"({"a":3})", {{"Content-Encoding", "identity"}});
    ASSERT_TRUE(f);
    EXPECT_EQ(f->status, 200) << f->body;
    EXPECT_EQ(acked_messages_.load(), 2u);
}

TEST_F(webhook_test, bearer_and_basic_auth) {
    open(R"(
[[routes]]
path = "/bearer"
[routes.auth]
type = "bearer"
token = "s3cret-token"
[[routes]]
path = "/basic"
[routes.auth]
type = "basic"
username = "hook"
password = "pa:ss"
)");
    auto_ack();
    auto none = post("/bearer", "{}");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401);
    EXPECT_EQ(none->header("WWW-Authenticate"), "Bearer");
    auto wrong = post("/bearer", "{}", {{"Authorization", "Bearer s3cret-tokem"}});
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
    auto good = post("/bearer", "{}", {{"Authorization", "Bearer s3cret-token"}});
    ASSERT_TRUE(good);
    EXPECT_EQ(good->status, 200);
    EXPECT_EQ(counted("missing_credentials", "/bearer"), 1u);
    EXPECT_EQ(counted("bad_credentials", "/bearer"), 1u);

    auto basic_ok =
        post("/basic", "{}", {{"Authorization", net::basic_auth_header("hook", "pa:ss")}});
    ASSERT_TRUE(basic_ok);
    EXPECT_EQ(basic_ok->status, 200);
    auto basic_bad =
        post("/basic", "{}", {{"Authorization", net::basic_auth_header("hook", "pa:sS")}});
    ASSERT_TRUE(basic_bad);
    EXPECT_EQ(basic_bad->status, 401);
    EXPECT_EQ(acked_messages_.load(), 2u);
}

TEST_F(webhook_test, github_signatures_with_the_curl_command) {
    if (test::find_program("curl").empty())
        GTEST_SKIP() << "curl is not installed";
    open(R"(
[[routes]]
path = "/github"
headers = ["X-GitHub-Event", "X-GitHub-Delivery"]
key_header = "X-GitHub-Delivery"
[routes.auth]
type = "hmac"
preset = "github"
secret = "It's a Secret to Everybody"
previous_secret = "old"
)");
    test::temp_dir dir("trib-webhook");
    const std::string body = R"({"action":"opened","number":7})";
    { std::ofstream(dir.path() / "body.json") << body; }
    http_detail::signature_scheme gh;
    const std::string sig = http_detail::sign(gh, "It's a Secret to Everybody", body, 0);
    auto curl = [&](const std::string& sig_header) {
        return run(
            "curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: "
            "application/json' -H 'X-GitHub-Event: pull_request' -H 'X-GitHub-Delivery: "
            "d-42' " +
            sig_header + " --data-binary @" + (dir.path() / "body.json").string() + " " +
            url("/github"));
    };
    auto fut = std::async(std::launch::async,
                          [&] { return curl("-H 'X-Hub-Signature-256: " + sig + "'"); });
    auto b = poll_batch();
    ASSERT_EQ(b.batch.size(), 1u);
    const auto& m = b.batch.messages[0];
    EXPECT_EQ(m.payload, body);
    EXPECT_EQ(m.key, "d-42");
    ASSERT_NE(m.find_header("X-GitHub-Event"), nullptr);
    EXPECT_EQ(m.find_header("X-GitHub-Event")->value, "pull_request");
    EXPECT_EQ(m.find_header("X-GitHub-Delivery")->value, "d-42");
    src_->ack(1);
    EXPECT_EQ(fut.get().second, "200");

    // Signed with the previous secret (rotation): accepted too; a wrong one or none: 401.
    auto old = std::async(std::launch::async, [&] {
        return curl("-H 'X-Hub-Signature-256: " + http_detail::sign(gh, "old", body, 0) + "'");
    });
    ASSERT_EQ(poll_batch().batch.size(), 1u);
    src_->ack(2);
    EXPECT_EQ(old.get().second, "200");
    EXPECT_EQ(
        curl("-H 'X-Hub-Signature-256: " + http_detail::sign(gh, "guess", body, 0) + "'").second,
        "401");
    EXPECT_EQ(curl("").second, "401");
    EXPECT_EQ(counted("bad_signature", "/github"), 1u);
    EXPECT_EQ(counted("missing_credentials", "/github"), 1u);
    EXPECT_EQ(counted("accepted", "/github"), 2u);
}

TEST_F(webhook_test, stripe_signatures_and_replays) {
    open(R"(
[auth]
type = "hmac"
preset = "stripe"
secret = "whsec_abc"
timestamp_tolerance = "5m"
)");
    auto_ack();
    http_detail::signature_scheme st;
    st.header = "Stripe-Signature";
    st.format = http_detail::signature_scheme::format::keyed;
    st.signed_payload = "{timestamp}.{body}";
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const std::string body = R"({"id":"evt_1","type":"charge.succeeded"})";
    auto ok =
        post("/", body, {{"Stripe-Signature", http_detail::sign(st, "whsec_abc", body, now)}});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    auto replay = post(
        "/", body, {{"Stripe-Signature", http_detail::sign(st, "whsec_abc", body, now - 3600)}});
    ASSERT_TRUE(replay);
    EXPECT_EQ(replay->status, 401);
    EXPECT_NE(replay->body.find("stale_timestamp"), std::string::npos);
    auto tampered = post("/", R"({"id":"evt_1","type":"charge.refunded"})",
                         {{"Stripe-Signature", http_detail::sign(st, "whsec_abc", body, now)}});
    ASSERT_TRUE(tampered);
    EXPECT_EQ(tampered->status, 401);
    EXPECT_EQ(counted("stale_timestamp"), 1u);
    EXPECT_EQ(counted("bad_signature"), 1u);
    EXPECT_EQ(acked_messages_.load(), 1u);
}

TEST_F(webhook_test, saturation_answers_429_with_retry_after) {
    open("max_pending_requests = 2\noverload_status = 429\nretry_after = \"2s\"\n");
    auto f1 = post_async("/", "{\"n\":1}");
    auto f2 = post_async("/", "{\"n\":2}");
    // Both are pending (nobody polls): the third does not fit.
    ASSERT_TRUE(test::wait_until(
        [&] {
            return metrics_.gauge("trib_webhook_pending_requests", "", {{"connector", "hook"}})
                       .value() == 2;
        },
        5s));
    auto r3 = post("/", "{\"n\":3}");
    ASSERT_TRUE(r3);
    EXPECT_EQ(r3->status, 429);
    EXPECT_EQ(r3->header("Retry-After"), "2");
    EXPECT_EQ(counted("overloaded"), 1u);
    auto b = poll_batch();
    EXPECT_EQ(b.batch.size(), 2u);
    src_->ack(1);
    EXPECT_EQ(f1.get()->status, 200);
    EXPECT_EQ(f2.get()->status, 200);
}

TEST_F(webhook_test, requests_not_stored_in_time_get_503_and_are_not_stored_later) {
    open("ack_timeout = \"300ms\"\n");
    auto r = post("/", "{\"late\":true}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_FALSE(r->header("Retry-After").empty());
    // The caller retries; the request it gave up on is dropped, not stored as a duplicate.
    auto p = src_->poll(50ms);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->batch.empty());
    EXPECT_EQ(counted("timed_out"), 1u);
}

TEST_F(webhook_test, big_requests_are_never_split_across_batches) {
    open("max_batch_messages = 3\n");
    auto f1 = post_async("/", "[1, 2]");
    auto f2 = post_async("/", "[3, 4, 5, 6]");
    ASSERT_TRUE(test::wait_until(
        [&] {
            return metrics_.gauge("trib_webhook_pending_requests", "", {{"connector", "hook"}})
                       .value() == 2;
        },
        5s));
    auto a = poll_batch();
    auto b = poll_batch();
    EXPECT_EQ(a.batch.size() + b.batch.size(), 6u);
    EXPECT_TRUE((a.batch.size() == 2 && b.batch.size() == 4) ||
                (a.batch.size() == 4 && b.batch.size() == 2));
    src_->ack(1);
    src_->ack(2);
    EXPECT_EQ(f1.get()->status, 200);
    EXPECT_EQ(f2.get()->status, 200);
}

TEST_F(webhook_test, key_path_and_https) {
    test::temp_dir dir("trib-webhook-tls");
    auto cert = test::make_test_cert(dir.path(), "hook");
    if (!cert)
        GTEST_SKIP() << cert.error().message();
    open("tls_cert_file = \"" + cert->cert.string() + "\"\ntls_key_file = \"" + cert->key.string() +
         "\"\n[[routes]]\npath = \"/orders\"\nkey_path = \"customer.id\"\n");
    auto_ack();
    net::client_options o;
    o.tls.ca_file = cert->cert.string();
    net::http_client c(o);
    net::http_request req;
    req.method = "POST";
    req.url = "https://localhost:" + std::to_string(port_) + "/orders";
    req.headers["Content-Type"] = "application/json";
    req.body = R"([{"customer": {"id": 17}}, {"customer": {"id": "c-9"}}])";
    auto r = c.perform(req);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(acked_messages_.load(), 2u);
}

TEST_F(webhook_test, close_answers_waiting_requests_503) {
    open("");
    auto f = post_async("/", "{\"x\":1}");
    ASSERT_TRUE(test::wait_until(
        [&] {
            return metrics_.gauge("trib_webhook_pending_requests", "", {{"connector", "hook"}})
                       .value() == 1;
        },
        5s));
    src_->close();
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(counted("stopped"), 1u);
    src_.reset();
}

TEST_F(webhook_test, wrk_load_every_2xx_was_acknowledged) {
    if (test::find_program("wrk").empty()) {
        if (test::in_ci())
            FAIL() << "wrk is not installed";
        GTEST_SKIP() << "wrk is not installed";
    }
    open("");
    auto_ack();
    test::temp_dir dir("trib-webhook-wrk");
    {
        std::ofstream(dir.path() / "post.lua")
            << "wrk.method = \"POST\"\nwrk.body = '[{\"a\":1},{\"b\":2}]'\n"
               "wrk.headers[\"Content-Type\"] = \"application/json\"\n";
    }
    auto [rc, out] = run("wrk -t1 -c4 -d2s --timeout 5s -s " + (dir.path() / "post.lua").string() +
                         " " + url("/") + " 2>&1");
    ASSERT_EQ(rc, 0) << out;
    // "1234 requests in 2.00s, ..." and possibly "Non-2xx or 3xx responses: N".
    auto pos = out.find(" requests in ");
    ASSERT_NE(pos, std::string::npos) << out;
    auto start = out.rfind('\n', pos);
    const std::uint64_t requests = std::stoull(out.substr(start + 1, pos - start - 1));
    std::uint64_t non2xx = 0;
    if (auto n = out.find("Non-2xx or 3xx responses: "); n != std::string::npos)
        non2xx = std::stoull(out.substr(n + 26));
    EXPECT_GT(requests, 100u) << out;
    EXPECT_EQ(non2xx, 0u) << out;
    // Every answered request was acknowledged before its answer (wrk may have left a few
    // requests unanswered when it stopped). Counted just after the answer is handed over.
    EXPECT_TRUE(test::wait_until([&] { return counted("accepted") >= requests; }, 5s))
        << counted("accepted") << " of " << requests;
    EXPECT_LE(counted("accepted"), requests + 4);
    EXPECT_GE(acked_messages_.load(), 2 * requests);
}

/// The webhook through the runtime's source pipeline into (in-memory) Iggy: a 200 means stored.
TEST(webhook_pipeline, a_200_means_the_messages_are_in_iggy) {
    const std::uint16_t port = test::free_port();
    auto values = test::values_of(webhook_source_spec(), "port = " + std::to_string(port) + "\n");
    runtime::memory_iggy iggy;
    iggy.set_send_latency(2ms);
    struct no_state final : runtime::state_store {
        result<std::optional<std::string>> load(std::string_view) override {
            return std::optional<std::string>();
        }
        status save(std::string_view, std::string_view) override { return ok(); }
    } state;
    runtime::connector_stats stats;
    runtime::source_settings ss;
    ss.key = "hook";
    ss.streams.push_back(runtime::source_stream_settings{"s", "t", "json", 100, 1ms});
    runtime::source_pipeline p(
        ss, [&]() { return make_webhook_source(values); }, nullptr, iggy, state, stats);
    ASSERT_TRUE(p.start());
    std::atomic<int> failures{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&, t] {
            net::http_client c;
            for (int i = 0; i < 25; ++i) {
                const std::string id = std::to_string(t) + "-" + std::to_string(i);
                auto r = c.post("http://127.0.0.1:" + std::to_string(port) + "/",
                                R"([{"id":")" + id + R"(","k":0},{"id":")" + id + R"(","k":1}])");
                if (!r || r->status != 200) {
                    ++failures;
                    continue;
                }
                // Answered: both messages must be in Iggy already.
                int found = 0;
                for (const auto& m : iggy.messages("s", "t")) {
                    if (m.payload.find("\"" + id + "\"") != std::string::npos)
                        ++found;
                }
                if (found != 2)
                    ++failures;
            }
        });
    }
    for (auto& c : clients)
        c.join();
    p.request_stop();
    (void)p.join(std::chrono::steady_clock::now() + 5s);
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(iggy.count("s", "t"), 200u);
}

}  // namespace
}  // namespace trib::connectors
