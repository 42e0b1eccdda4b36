// The HTTP sink against a real receiving server (receiver.py, Python's http.server) with fault
// injection: every batch mode, envelopes, retries with Retry-After, timeouts, rejections, the
// concurrency limit, and a run through the runtime's sink pipeline where the receiver fails at
// random: nothing is lost and duplicates stay within the documented bound.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <iostream>
#include <map>
#include <set>

#include "connectors/http/http.h"
#include "core/net/test_tls.h"
#include "http_test_util.h"
#include "runtime/memory_iggy.h"
#include "runtime/sink_pipeline.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using test::header_of;
using test::str_of;

class http_sink_test : public ::testing::Test {
  protected:
    void SetUp() override {
        auto r = test::peer::start(test::receiver_spec());
        if (!r) {
            if (test::in_ci())
                FAIL() << r.error().message();
            GTEST_SKIP() << r.error().message();
        }
        peer_ = std::move(*r);
        rc_ = std::make_unique<test::receiver_client>(peer_->port());
    }

    std::string base() const { return "http://127.0.0.1:" + std::to_string(peer_->port()); }

    std::unique_ptr<sink> open_sink(const std::string& extra, const std::string& path = "/in") {
        auto v = test::values_of(http_sink_spec(), "url = \"" + base() + path + "\"\n" + extra);
        auto s = make_http_sink(v);
        EXPECT_TRUE(s) << s.error().to_string();
        if (!s)
            return nullptr;
        ctx_.key = "http_test";
        ctx_.stop = stop_.get_token();
        auto st = (*s)->open(ctx_);
        EXPECT_TRUE(st) << st.error().to_string();
        return std::move(*s);
    }

    /// A batch of `n` messages with payloads {"n": i} from offset `first`.
    static message_batch json_batch(std::size_t n, std::uint64_t first = 0) {
        message_batch b;
        for (std::size_t i = 0; i < n; ++i) {
            message m;
            m.offset = first + i;
            m.id = message_id{first + i + 1, 0xabc};
            m.timestamp_us = 1'700'000'000'000'000 + i;
            m.origin_timestamp_us = 1'600'000'000'000'000 + i;
            m.payload = b.own("{\"n\": " + std::to_string(first + i) + "}");
            b.messages.push_back(std::move(m));
        }
        return b;
    }

    static sink_batch view(const message_batch& b, std::string_view schema = "json") {
        return sink_batch{"orders", "created", 3, schema, &b};
    }

    std::unique_ptr<test::peer> peer_;
    std::unique_ptr<test::receiver_client> rc_;
    connector_context ctx_;
    std::stop_source stop_;
};

TEST(http_sink_spec, is_sound_and_reads_iggy_http_sink_options) {
    EXPECT_TRUE(config::check_spec(http_sink_spec()).empty());
    // The [plugin_config] of Iggy's own core/connectors/sinks/http_sink/config.toml, unchanged.
    auto file = config::parse_toml_file(
        (test::source_dir() / "tests/config/data/iggy/plugin_configs/http_sink.toml").string());
    ASSERT_TRUE(file) << file.error().to_string();
    const config::node* pc = file->find("plugin_config");
    ASSERT_NE(pc, nullptr);
    config::problems pr;
    auto v = config::validate(http_sink_spec(), *pc, "http_sink.toml", "plugin_config", pr);
    EXPECT_FALSE(pr.has_errors()) << pr.to_string();
    EXPECT_EQ(v.str("batch_mode"), "ndjson");
    EXPECT_EQ(v.integer("max_retries"), 3);
    EXPECT_EQ(v.duration("retry_delay"), 1s);
    EXPECT_EQ(v.integers("success_status_codes"), (std::vector<std::int64_t>{200, 201, 202, 204}));
    EXPECT_EQ(v.map("headers").at("X-Custom-Header"), "custom-value");
    EXPECT_TRUE(make_http_sink(v));
}

TEST(http_sink_spec, refuses_bad_settings) {
    auto p = test::problems_of(http_sink_spec(), "url = \"ftp://x\"\n");
    EXPECT_NE(p.find("http://"), std::string::npos) << p;
    p = test::problems_of(http_sink_spec(),
                          "url = \"http://x/{offset}\"\nbatch_mode = \"ndjson\"\n");
    EXPECT_NE(p.find("{offset}"), std::string::npos) << p;
    p = test::problems_of(http_sink_spec(), "url = \"http://x/{ofset}\"\n");
    EXPECT_NE(p.find("unknown placeholder"), std::string::npos) << p;
    p = test::problems_of(http_sink_spec(), "url = \"http://x\"\nsuccess_status_codes = [99]\n");
    EXPECT_NE(p.find("99"), std::string::npos) << p;
    p = test::problems_of(http_sink_spec(), "url = \"http://x\"\nbatch_mode = \"bulk\"\n");
    EXPECT_FALSE(p.empty());
    p = test::problems_of(http_sink_spec(), "url = \"http://x\"\nbasic_auth_username = \"u\"\n");
    EXPECT_NE(p.find("basic_auth_password"), std::string::npos) << p;
}

TEST_F(http_sink_test, individual_mode_sends_one_enveloped_request_per_message) {
    auto s = open_sink(
        "include_origin_timestamp = true\ninclude_headers = true\n"
        "[headers]\nX-Tenant = \"t1\"\nContent-Type = \"text/ignored\"\n",
        "/in/{stream}/{topic}/{partition}/{offset}");
    ASSERT_TRUE(s);
    auto b = json_batch(3, 10);
    b.messages[1].headers.push_back(header{"k", value_kind::string, "v"});
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(r->rejected.empty());
    auto reqs = rc_->requests();
    ASSERT_EQ(reqs.Size(), 3u);
    for (rapidjson::SizeType i = 0; i < 3; ++i) {
        const auto& q = reqs[i];
        EXPECT_EQ(str_of(q, "method"), "POST");
        EXPECT_EQ(str_of(q, "path"), "/in/orders/created/3/" + std::to_string(10 + i));
        EXPECT_EQ(header_of(q, "Content-Type"), "application/json");
        EXPECT_EQ(header_of(q, "X-Tenant"), "t1");
        rapidjson::Document d;
        d.Parse(q["body"].GetString());
        ASSERT_FALSE(d.HasParseError()) << q["body"].GetString();
        const auto& md = d["metadata"];
        EXPECT_EQ(md["iggy_offset"].GetUint64(), 10 + i);
        EXPECT_EQ(str_of(md, "iggy_stream"), "orders");
        EXPECT_EQ(str_of(md, "iggy_topic"), "created");
        EXPECT_EQ(md["iggy_partition_id"].GetUint(), 3u);
        EXPECT_EQ(md["iggy_timestamp"].GetUint64(), 1'700'000'000'000'000u + i);
        EXPECT_EQ(md["iggy_origin_timestamp"].GetUint64(), 1'600'000'000'000'000u + i);
        EXPECT_EQ(str_of(md, "iggy_id"),
                  fmt::format("00000000-0000-0abc-0000-0000000000{:02x}", 11 + i));
        EXPECT_EQ(d["payload"]["n"].GetInt(), static_cast<int>(10 + i));
    }
    rapidjson::Document d1;
    d1.Parse(reqs[1]["body"].GetString());
    EXPECT_EQ(str_of(d1["metadata"]["iggy_headers"], "k"), "v");
}

TEST_F(http_sink_test, bearer_token_and_basic_auth_are_sent) {
    auto bearer = open_sink("bearer_token = \"tok-123\"\n");
    ASSERT_TRUE(bearer);
    auto b1 = json_batch(1);
    ASSERT_TRUE(bearer->write(view(b1)));
    auto basic = open_sink("basic_auth_username = \"user\"\nbasic_auth_password = \"p:ss\"\n");
    ASSERT_TRUE(basic);
    auto b2 = json_batch(1, 1);
    ASSERT_TRUE(basic->write(view(b2)));
    auto reqs = rc_->requests();
    ASSERT_EQ(reqs.Size(), 2u);
    EXPECT_EQ(header_of(reqs[0], "Authorization"), "Bearer tok-123");
    EXPECT_EQ(header_of(reqs[1], "Authorization"), "Basic dXNlcjpwOnNz");  // base64("user:p:ss")
}

TEST_F(http_sink_test, payload_encodings_follow_the_schema) {
    auto s = open_sink("");
    ASSERT_TRUE(s);
    message_batch b;
    message m;
    m.payload = b.own("line \"one\"\n");
    b.messages.push_back(m);
    ASSERT_TRUE(s->write(view(b, "text")));
    b.messages[0].offset = 1;
    b.messages[0].payload = b.own(std::string("\x00\xff\x10", 3));
    ASSERT_TRUE(s->write(view(b, "raw")));
    auto reqs = rc_->requests();
    ASSERT_EQ(reqs.Size(), 2u);
    rapidjson::Document t, r;
    t.Parse(reqs[0]["body"].GetString());
    r.Parse(reqs[1]["body"].GetString());
    EXPECT_EQ(std::string(t["payload"].GetString()), "line \"one\"\n");
    EXPECT_EQ(str_of(r["payload"], "data"), "AP8Q");
    EXPECT_EQ(str_of(r["payload"], "iggy_payload_encoding"), "base64");
}

TEST_F(http_sink_test, without_metadata_the_payload_goes_alone) {
    auto s = open_sink("include_metadata = false\n");
    ASSERT_TRUE(s);
    message_batch b;
    message m;
    m.payload = b.own("{\n  \"pretty\": [1, 2.50, 12345678901234567890]\n}");
    b.messages.push_back(m);
    ASSERT_TRUE(s->write(view(b)));
    auto reqs = rc_->requests();
    ASSERT_EQ(reqs.Size(), 1u);
    // Minified, numbers exactly as written.
    EXPECT_EQ(str_of(reqs[0], "body"), "{\"pretty\":[1,2.50,12345678901234567890]}");
}

TEST_F(http_sink_test, ndjson_and_json_array_send_one_request_per_batch) {
    for (std::string mode : {"ndjson", "json_array"}) {
        SCOPED_TRACE(mode);
        rc_->reset();
        auto s = open_sink("batch_mode = \"" + mode + "\"\n",
                           "/bulk?from={first_offset}&to={last_offset}");
        ASSERT_TRUE(s);
        auto b = json_batch(50, 100);
        auto r = s->write(view(b));
        ASSERT_TRUE(r) << r.error().to_string();
        auto reqs = rc_->requests();
        ASSERT_EQ(reqs.Size(), 1u);
        EXPECT_EQ(str_of(reqs[0], "path"), "/bulk?from=100&to=149");
        std::string body = str_of(reqs[0], "body");
        std::vector<std::uint64_t> offsets;
        if (mode == "ndjson") {
            EXPECT_EQ(header_of(reqs[0], "Content-Type"), "application/x-ndjson");
            ASSERT_EQ(body.back(), '\n');
            std::size_t i = 0;
            while (i < body.size()) {
                auto nl = body.find('\n', i);
                rapidjson::Document d;
                d.Parse(body.substr(i, nl - i).c_str());
                ASSERT_FALSE(d.HasParseError());
                offsets.push_back(d["metadata"]["iggy_offset"].GetUint64());
                i = nl + 1;
            }
        } else {
            EXPECT_EQ(header_of(reqs[0], "Content-Type"), "application/json");
            rapidjson::Document d;
            d.Parse(body.c_str());
            ASSERT_TRUE(d.IsArray());
            for (const auto& e : d.GetArray())
                offsets.push_back(e["metadata"]["iggy_offset"].GetUint64());
        }
        ASSERT_EQ(offsets.size(), 50u);
        for (std::size_t i = 0; i < 50; ++i)
            EXPECT_EQ(offsets[i], 100 + i);
    }
}

TEST_F(http_sink_test, batches_larger_than_the_payload_limit_are_split_and_giants_rejected) {
    for (std::string mode : {"ndjson", "json_array"}) {
        SCOPED_TRACE(mode);
        rc_->reset();
        auto s = open_sink("batch_mode = \"" + mode + "\"\nmax_payload_size_bytes = 1000\n");
        ASSERT_TRUE(s);
        auto b = json_batch(40);
        b.messages[7].payload = b.own("{\"big\": \"" + std::string(2000, 'x') + "\"}");
        auto r = s->write(view(b));
        ASSERT_TRUE(r) << r.error().to_string();
        ASSERT_EQ(r->rejected.size(), 1u);
        EXPECT_EQ(r->rejected[0].index, 7u);
        EXPECT_EQ(r->rejected[0].err.code(), errc::resource_exhausted);
        EXPECT_FALSE(r->rejected[0].err.retryable());
        auto reqs = rc_->requests();
        ASSERT_GT(reqs.Size(), 1u);
        std::set<std::uint64_t> seen;
        for (const auto& q : reqs.GetArray()) {
            std::string body = str_of(q, "body");
            EXPECT_LE(body.size(), 1000u);
            if (mode == "json_array") {
                rapidjson::Document d;
                d.Parse(body.c_str());
                ASSERT_TRUE(d.IsArray()) << body;
                for (const auto& e : d.GetArray())
                    seen.insert(e["metadata"]["iggy_offset"].GetUint64());
            } else {
                std::size_t i = 0;
                while (i < body.size()) {
                    auto nl = body.find('\n', i);
                    rapidjson::Document d;
                    d.Parse(body.substr(i, nl - i).c_str());
                    ASSERT_FALSE(d.HasParseError());
                    seen.insert(d["metadata"]["iggy_offset"].GetUint64());
                    i = nl + 1;
                }
            }
        }
        EXPECT_EQ(seen.size(), 39u);
        EXPECT_EQ(seen.count(7), 0u);
    }
}

TEST_F(http_sink_test, raw_mode_sends_the_payload_bytes) {
    auto s = open_sink("batch_mode = \"raw\"\n[headers]\nX-A = \"1\"\n", "/raw/{id}");
    ASSERT_TRUE(s);
    message_batch b;
    message m;
    m.id = message_id{1, 2};
    m.payload = b.own("plain bytes, not json");
    b.messages.push_back(m);
    ASSERT_TRUE(s->write(view(b, "raw")));
    auto reqs = rc_->requests();
    ASSERT_EQ(reqs.Size(), 1u);
    EXPECT_EQ(str_of(reqs[0], "body"), "plain bytes, not json");
    EXPECT_EQ(header_of(reqs[0], "Content-Type"), "application/octet-stream");
    EXPECT_EQ(str_of(reqs[0], "path"), "/raw/00000000-0000-0002-0000-000000000001");
}

TEST_F(http_sink_test, invalid_json_and_4xx_reject_only_the_guilty_messages) {
    rc_->configure(R"({"reject_if_contains": "poison"})");
    auto s = open_sink("");
    ASSERT_TRUE(s);
    auto b = json_batch(5);
    b.messages[1].payload = b.own("{not json");
    b.messages[3].payload = b.own("{\"poison\": true}");
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->rejected.size(), 2u);
    EXPECT_EQ(r->rejected[0].index, 1u);
    EXPECT_EQ(r->rejected[0].err.code(), errc::invalid_argument);
    EXPECT_EQ(r->rejected[1].index, 3u);
    EXPECT_EQ(r->rejected[1].err.vendor_code(), 400);
    EXPECT_EQ(rc_->requests().Size(), 4u);  // the invalid JSON never left the sink
}

TEST_F(http_sink_test, a_4xx_on_a_multi_message_body_fails_the_write_for_bisection) {
    rc_->configure(R"({"reject_if_contains": "poison"})");
    auto s = open_sink("batch_mode = \"ndjson\"\n");
    ASSERT_TRUE(s);
    auto b = json_batch(4);
    b.messages[2].payload = b.own("{\"poison\": 1}");
    auto r = s->write(view(b));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().retry(), retry_class::fatal);
    EXPECT_EQ(r.error().vendor_code(), 400);
    // The runtime then writes halves; the single poison message comes back rejected.
    message_batch one;
    one.messages.push_back(b.messages[2]);
    auto r1 = s->write(view(one));
    ASSERT_TRUE(r1) << r1.error().to_string();
    ASSERT_EQ(r1->rejected.size(), 1u);
}

TEST_F(http_sink_test, server_errors_are_retried_with_backoff) {
    rc_->configure(R"({"script": ["500", "502", "ok"]})");
    auto s = open_sink("max_retries = 3\nretry_delay = \"20ms\"\n");
    ASSERT_TRUE(s);
    auto b = json_batch(1);
    auto t0 = std::chrono::steady_clock::now();
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 60ms);  // 20ms, then 40ms
    EXPECT_EQ(rc_->requests().Size(), 3u);
}

TEST_F(http_sink_test, exhausted_retries_fail_the_write_and_delivered_messages_are_not_resent) {
    // Four messages, one request each: the second fails three times (two attempts per write).
    rc_->configure(R"({"script": ["ok", "500", "500", "ok", "ok", "500"]})");
    auto s = open_sink("max_retries = 1\nretry_delay = \"10ms\"\n");
    ASSERT_TRUE(s);
    auto b = json_batch(4);
    auto r = s->write(view(b));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().retry(), retry_class::retryable);
    EXPECT_EQ(r.error().vendor_code(), 500);
    // The runtime retries the whole batch: only the undelivered message is sent again.
    auto r2 = s->write(view(b));
    ASSERT_TRUE(r2) << r2.error().to_string();
    auto reqs = rc_->requests();
    std::map<std::uint64_t, int> processed;
    for (const auto& q : reqs.GetArray()) {
        if (str_of(q, "fate") != "ok")
            continue;
        rapidjson::Document d;
        d.Parse(q["body"].GetString());
        processed[d["metadata"]["iggy_offset"].GetUint64()]++;
    }
    ASSERT_EQ(processed.size(), 4u);
    for (auto& [off, n] : processed)
        EXPECT_EQ(n, 1) << "offset " << off;
}

TEST_F(http_sink_test, retry_after_is_honoured_or_handed_to_the_runtime) {
    rc_->configure(R"({"script": ["429", "ok"], "retry_after": "1"})");
    auto s = open_sink("max_retries = 2\nretry_delay = \"10ms\"\nmax_retry_delay = \"5s\"\n");
    ASSERT_TRUE(s);
    auto b = json_batch(1);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(s->write(view(b)));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 950ms);

    // Longer than max_retry_delay: no waiting here, a throttled error carrying Retry-After.
    rc_->configure(R"({"script": ["503"], "retry_after": "120"})");
    auto b2 = json_batch(1, 1);
    t0 = std::chrono::steady_clock::now();
    auto r = s->write(view(b2));
    ASSERT_FALSE(r);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_EQ(r.error().retry(), retry_class::throttled);
    EXPECT_EQ(r.error().retry_after(), 120s);
}

TEST_F(http_sink_test, a_hanging_endpoint_times_out_as_retryable) {
    rc_->configure(R"({"script": ["drop", "drop"], "hang_seconds": 2})");
    auto s = open_sink("timeout = \"200ms\"\nmax_retries = 1\nretry_delay = \"10ms\"\n");
    ASSERT_TRUE(s);
    auto b = json_batch(1);
    auto t0 = std::chrono::steady_clock::now();
    auto r = s->write(view(b));
    ASSERT_FALSE(r);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    EXPECT_EQ(r.error().code(), errc::timeout);
    EXPECT_EQ(r.error().retry(), retry_class::retryable);
}

TEST_F(http_sink_test, concurrency_runs_requests_in_parallel_within_the_limit) {
    rc_->configure(R"({"delay_seconds": 0.2})");
    auto s = open_sink("concurrency = 4\n");
    ASSERT_TRUE(s);
    auto b = json_batch(12);
    ASSERT_TRUE(s->write(view(b)));
    auto st = rc_->stats();
    EXPECT_EQ(st["requests"].GetInt(), 12);
    EXPECT_GE(st["max_in_flight"].GetInt(), 2);
    EXPECT_LE(st["max_in_flight"].GetInt(), 4);
}

TEST_F(http_sink_test, connections_are_reused) {
    auto s = open_sink("");
    ASSERT_TRUE(s);
    for (int i = 0; i < 5; ++i) {
        auto b = json_batch(2, static_cast<std::uint64_t>(i) * 2);
        ASSERT_TRUE(s->write(view(b)));
    }
    auto reqs = rc_->requests();
    EXPECT_EQ(reqs.Size(), 10u);
    // Every request came over the same TCP connection (one client port).
    std::set<int> ports;
    for (const auto& q : reqs.GetArray())
        ports.insert(q["peer_port"].GetInt());
    EXPECT_EQ(ports.size(), 1u);
}

TEST_F(http_sink_test, https_with_a_test_ca_and_clear_certificate_errors) {
    test::temp_dir dir("trib-http-sink-tls");
    TRIB_MAKE_CERT(cert, dir.path(), "receiver");
    auto spec = test::receiver_spec();
    spec.name = "https-receiver";
    spec.args.push_back(cert.cert.string());
    spec.args.push_back(cert.key.string());
    TRIB_START_PEER(tls_peer, spec);
    const std::string url = "https://localhost:" + std::to_string(tls_peer->port()) + "/in";
    auto open_tls = [&](const std::string& extra) -> std::unique_ptr<sink> {
        auto v =
            test::values_of(http_sink_spec(), "url = \"" + url + "\"\nmax_retries = 0\n" + extra);
        auto s = make_http_sink(v);
        EXPECT_TRUE(s) << s.error().to_string();
        if (!s)
            return nullptr;
        ctx_.key = "http_test";
        EXPECT_TRUE((*s)->open(ctx_));
        return std::move(*s);
    };
    // Verified against the test CA: delivered, over one connection.
    auto ok = open_tls("tls_ca_file = \"" + cert.cert.string() + "\"\n");
    ASSERT_TRUE(ok);
    for (int i = 0; i < 3; ++i) {
        auto b = json_batch(2, static_cast<std::uint64_t>(i) * 2);
        auto st = ok->write(view(b));
        ASSERT_TRUE(st) << st.error().to_string();
    }
    // The system's CAs do not know the test CA: the write fails and says why; nothing arrives.
    auto untrusted = open_tls("");
    ASSERT_TRUE(untrusted);
    auto b = json_batch(1, 100);
    auto st = untrusted->write(view(b));
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().to_string().find("certificate"), std::string::npos)
        << st.error().to_string();
    // Iggy's option: accept any certificate.
    auto lax = open_tls("tls_danger_accept_invalid_certs = true\n");
    ASSERT_TRUE(lax);
    auto b2 = json_batch(1, 200);
    ASSERT_TRUE(lax->write(view(b2)));
    // What the receiver got: 6 + 1 requests (one per message), the first 6 on one connection.
    net::client_options o;
    o.tls.ca_file = cert.cert.string();
    net::http_client c(o);
    auto r = c.get("https://localhost:" + std::to_string(tls_peer->port()) + "/_requests");
    ASSERT_TRUE(r) << r.error().to_string();
    rapidjson::Document d;
    d.Parse(r->body.c_str());
    ASSERT_TRUE(d.IsArray());
    ASSERT_EQ(d.Size(), 7u);
    std::set<int> ports;
    for (rapidjson::SizeType i = 0; i < 6; ++i)
        ports.insert(d[i]["peer_port"].GetInt());
    EXPECT_EQ(ports.size(), 1u);
    EXPECT_NE(str_of(d[6], "body").find("\"n\":200"), std::string::npos) << str_of(d[6], "body");
}

TEST_F(http_sink_test, the_health_check_gates_open) {
    rc_->configure(R"({"script": ["500"]})");
    auto v = test::values_of(http_sink_spec(),
                             "url = \"" + base() + "/in\"\nhealth_check_enabled = true\n");
    auto s = make_http_sink(v);
    ASSERT_TRUE(s);
    EXPECT_FALSE((*s)->open(ctx_));
    EXPECT_TRUE((*s)->open(ctx_));  // the script is used up: the next HEAD gets 200
}

TEST_F(http_sink_test, stop_interrupts_retries) {
    rc_->configure(R"({"p500": 1.0})");
    auto s = open_sink("max_retries = 50\nretry_delay = \"1s\"\n");
    ASSERT_TRUE(s);
    auto b = json_batch(1);
    std::thread stopper([&] {
        test::wait_until([&] { return rc_->stats()["requests"].GetInt() >= 1; }, 5s);
        stop_.request_stop();
    });
    auto t0 = std::chrono::steady_clock::now();
    auto r = s->write(view(b));
    stopper.join();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::cancelled);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
}

// ---- Through the runtime's sink pipeline, with faults at random -------------------------------

struct fault_run {
    std::size_t processed = 0;      // requests the receiver processed (ok + hang), in messages
    std::size_t hang_messages = 0;  // processed but answered too late: allowed duplicates
    std::map<std::pair<std::uint32_t, std::uint64_t>, int> seen;
    std::size_t requests = 0;
    std::map<std::string, int> fates;
};

fault_run collect(test::receiver_client& rc, bool batch) {
    fault_run out;
    auto reqs = rc.requests();
    for (const auto& q : reqs.GetArray()) {
        ++out.requests;
        const std::string fate = str_of(q, "fate");
        out.fates[fate]++;
        if (fate != "ok" && fate != "hang")
            continue;
        std::string body = str_of(q, "body");
        std::vector<std::string> items;
        if (batch) {
            std::size_t i = 0;
            while (i < body.size()) {
                auto nl = body.find('\n', i);
                items.push_back(body.substr(i, nl - i));
                i = nl + 1;
            }
        } else {
            items.push_back(body);
        }
        for (const auto& it : items) {
            rapidjson::Document d;
            d.Parse(it.c_str());
            if (d.HasParseError())
                continue;
            const auto& md = d["metadata"];
            out.seen[{md["iggy_partition_id"].GetUint(), md["iggy_offset"].GetUint64()}]++;
            ++out.processed;
            if (fate == "hang")
                ++out.hang_messages;
        }
    }
    return out;
}

void run_with_faults(const std::string& base, test::receiver_client& rc, const std::string& mode,
                     std::size_t per_partition, std::uint32_t batch_length) {
    SCOPED_TRACE(mode);
    rc.reset();
    rc.configure(R"({"seed": 7, "p500": 0.08, "p429": 0.02, "retry_after": "1", "phang": 0.02,
                     "pdrop": 0.02, "hang_seconds": 0.6})");
    runtime::memory_iggy iggy;
    ASSERT_TRUE(iggy.ensure_topic("s", "t", 2));
    for (std::uint32_t p = 0; p < 2; ++p) {
        std::vector<runtime::stored_message> msgs;
        for (std::size_t i = 0; i < per_partition; ++i) {
            runtime::stored_message m;
            m.payload = "{\"p\":" + std::to_string(p) + ",\"i\":" + std::to_string(i) + "}";
            m.id = message_id{i + 1, p + 1};
            msgs.push_back(std::move(m));
        }
        iggy.append("s", "t", p, std::move(msgs));
    }
    runtime::sink_settings ss;
    ss.key = "faulty";
    runtime::sink_stream_settings st;
    st.stream = "s";
    st.topics = {"t"};
    st.batch_length = batch_length;
    st.poll_interval = 1ms;
    ss.streams.push_back(st);
    ss.policy.on_error = runtime::policy_action::stop;  // nothing may be dropped or skipped
    ss.policy.max_retries = 0;                          // retry for ever
    ss.policy.backoff = {5ms, 100ms, 2.0, 0.1};
    ss.policy.throttle_min = 5ms;
    const std::string toml = "url = \"" + base + "/in\"\nbatch_mode = \"" + mode +
                             "\"\ntimeout = \"250ms\"\nmax_retries = 2\nretry_delay = \"5ms\"\n"
                             "concurrency = 4\n";
    auto values = test::values_of(http_sink_spec(), toml);
    runtime::connector_stats stats;
    runtime::sink_pipeline p(
        ss, [&]() { return make_http_sink(values); }, nullptr, iggy, stats);
    ASSERT_TRUE(p.start());
    const std::string group = runtime::sink_pipeline::group_of(st, "faulty");
    const bool done = test::wait_until(
        [&] {
            return iggy.committed("s", "t", group, 0) == per_partition - 1 &&
                   iggy.committed("s", "t", group, 1) == per_partition - 1;
        },
        120s);
    p.request_stop();
    auto outcome = p.join(std::chrono::steady_clock::now() + 10s);
    ASSERT_TRUE(done) << "not everything was committed";
    EXPECT_EQ(outcome.what, runtime::pipeline_outcome::kind::stopped);

    auto run = collect(rc, mode != "individual");
    // Faults really happened.
    EXPECT_GT(run.fates["500"], 0);
    EXPECT_GT(run.fates["hang"] + run.fates["drop"], 0);
    // Nothing lost: every message was processed at least once.
    for (std::uint32_t part = 0; part < 2; ++part) {
        for (std::uint64_t i = 0; i < per_partition; ++i)
            EXPECT_GE(run.seen[std::make_pair(part, i)], 1)
                << "lost partition " << part << " offset " << i;
    }
    // Duplicates only from requests that were processed but answered too late.
    const std::size_t unique = run.seen.size();
    const std::size_t duplicates = run.processed - unique;
    EXPECT_EQ(unique, 2 * per_partition);
    EXPECT_LE(duplicates, run.hang_messages)
        << "requests " << run.requests << ", processed " << run.processed;
    std::cout << "[" << mode << "] requests " << run.requests << " (500: " << run.fates["500"]
              << ", 429: " << run.fates["429"] << ", hang: " << run.fates["hang"]
              << ", drop: " << run.fates["drop"] << "), duplicates " << duplicates << " (bound "
              << run.hang_messages << ")\n";
}

TEST_F(http_sink_test, nothing_is_lost_under_random_faults_per_message) {
    run_with_faults(base(), *rc_, "individual", 150, 50);
}

TEST_F(http_sink_test, nothing_is_lost_under_random_faults_ndjson) {
    run_with_faults(base(), *rc_, "ndjson", 500, 10);
}

}  // namespace
}  // namespace trib::connectors
