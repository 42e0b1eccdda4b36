// The NATS source and sink against a real nats-server 2.9 with JetStream (one per test binary),
// checked with an independent cnats client: JetStream publish with Nats-Msg-Id and server-side
// de-duplication of a rewritten batch, per-message failures to the error policy, core publish,
// the pull consumer's ack-after-Iggy (redelivery with the same ids when not acked), core
// subscriptions, a server restart in the middle of either direction, and config errors.

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <set>

#include "config/validate.h"
#include "connectors/nats/mapping.h"
#include "connectors/nats/nats.h"
#include "core/message_id.h"
#include "core/metrics.h"
#include "nats_fixture.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using test::nats_test_client;
using test::peer;

class nats_connector : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (server_ != nullptr)
            return;
        auto r = peer::start(test::nats_spec());
        if (r)
            server_ = std::move(r).value().release();
        else
            start_error_ = new std::string(r.error().message());
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override {
        if (server_ == nullptr) {
            const std::string why = start_error_ != nullptr ? *start_error_ : "unknown";
            if (test::in_ci())
                FAIL() << "nats-server could not start (CI=true): " << why;
            GTEST_SKIP() << "nats-server not available: " << why;
        }
        if (!server_->alive()) {
            ASSERT_TRUE(server_->restart());
        }
        auto c = nats_test_client::connect(server_->port());
        ASSERT_TRUE(c) << c.error().message();
        client_ = std::move(*c);
    }
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(server_->port()); }
    std::string conn_toml() const {
        return "urls = [\"" + url() +
               "\"]\nreconnect_wait = \"20ms\"\nreconnect_wait_max = "
               "\"200ms\"\n";
    }

    static peer* server_;
    static std::string* start_error_;
    std::unique_ptr<nats_test_client> client_;
};

peer* nats_connector::server_ = nullptr;
std::string* nats_connector::start_error_ = nullptr;

header str_header(std::string k, std::string v) {
    return header{std::move(k), value_kind::string, std::move(v)};
}

/// A batch of `n` messages "<prefix><i>" with Iggy offsets from `first` and distinct ids.
message_batch make_batch(const std::string& prefix, std::size_t n, std::uint64_t first = 0) {
    message_batch b;
    for (std::size_t i = 0; i < n; ++i) {
        message m;
        m.offset = first + i;
        m.id = message_id_builder("test").add(prefix).add_u64(first + i).finish();
        m.payload = b.own(prefix + std::to_string(first + i));
        m.headers = {str_header("idx", std::to_string(first + i))};
        b.messages.push_back(std::move(m));
    }
    return b;
}

struct sink_rig {
    metrics_registry metrics;
    connector_context ctx;
    std::unique_ptr<sink> snk;
    status open(const std::string& toml, const std::string& key = "ns") {
        auto made = make_nats_sink(test::spec_values(nats_sink_spec(), toml));
        if (!made)
            return made.error();
        snk = std::move(*made);
        ctx.key = key;
        ctx.metrics = &metrics;
        return snk->open(ctx);
    }
    result<write_outcome> write(const message_batch& mb, std::uint32_t partition = 0) {
        sink_batch b;
        b.stream = "shop";
        b.topic = "orders";
        b.partition = partition;
        b.messages = &mb;
        return snk->write(b);
    }
    std::uint64_t count(const std::string& name, const std::string& outcome = "") {
        metric_labels l{{"connector", ctx.key}};
        if (!outcome.empty())
            l.emplace_back("outcome", outcome);
        return metrics.counter(name, "", l).value();
    }
};

struct source_rig {
    metrics_registry metrics;
    connector_context ctx;
    std::unique_ptr<source> src;
    status open(const std::string& toml, const std::string& key = "nsrc") {
        auto made = make_nats_source(test::spec_values(nats_source_spec(), toml));
        if (!made)
            return made.error();
        src = std::move(*made);
        ctx.key = key;
        ctx.metrics = &metrics;
        ctx.routes = {stream_ref{"shop", "in"}};
        return src->open(ctx, "");
    }
    std::uint64_t count(const std::string& name) {
        return metrics.counter(name, "", {{"connector", ctx.key}}).value();
    }
};

/// The batches polls returned (batch i has sequence i + 1) and their message count. A deque:
/// the payload views of a batch point into its own arena, so batches must not be copied.
struct polled {
    std::deque<source_batch> batches;
    std::size_t messages = 0;
    std::size_t count() const { return messages; }
    void take(source_batch b) {
        messages += b.batch.size();
        batches.push_back(std::move(b));
    }
};

/// Polls until `n` messages came (or `within` passed), acknowledging nothing.
polled poll_n(source& s, std::size_t n, std::chrono::milliseconds within = 20s) {
    polled p;
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (p.count() < n && std::chrono::steady_clock::now() < deadline) {
        auto r = s.poll(200ms);
        EXPECT_TRUE(r) << r.error().message();
        if (r && (!r->batch.empty() || !r->rejected.empty()))
            p.take(std::move(*r));
    }
    return p;
}

TEST(nats_spec, given_incomplete_or_contradictory_options_should_name_the_key) {
    EXPECT_TRUE(config::check_spec(nats_source_spec()).empty());
    EXPECT_TRUE(config::check_spec(nats_sink_spec()).empty());
    EXPECT_NE(test::spec_problems(nats_source_spec(), "").find("stream"), std::string::npos);
    EXPECT_NE(test::spec_problems(nats_source_spec(), "mode = \"core\"\n").find("subjects"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(nats_source_spec(), "stream = \"S\"\nsubjects = [\"a\", \"b\"]\n")
                  .find("one filter subject"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(nats_source_spec(), "stream = \"S\"\nsubjects = [\"a.>.b\"]\n")
                  .find("subjects[0]"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(nats_sink_spec(), "subject = \"a.{nope}\"\n").find("{nope}"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(nats_sink_spec(), "subject = \"a\"\nuser = \"u\"\n")
                  .find("go together"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(nats_sink_spec(), "subject = \"a\"\nurls = [\"http://x:1\"]\n")
                  .find("urls[0]"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(nats_sink_spec(), "subject = \"a\"\nack_timeout = \"soon\"\n"),
              "");
    EXPECT_EQ(test::spec_problems(nats_sink_spec(), "subject = \"a.{topic}\"\n"), "");
}

TEST_F(nats_connector, given_a_jetstream_sink_should_publish_with_msg_ids_and_drop_a_rewrite) {
    sink_rig rig;
    ASSERT_TRUE(rig.open(conn_toml() +
                         "subject = \"out1.{topic}.{header:idx}\"\nstream = \"OUT1\"\n"
                         "create_stream = true\nstream_subjects = [\"out1.>\"]\n"))
        << "open";
    auto mb = make_batch("m", 200);
    auto w = rig.write(mb);
    ASSERT_TRUE(w) << w.error().message();
    EXPECT_TRUE(w->rejected.empty());
    EXPECT_EQ(client_->stream_messages("OUT1"), 200u);
    auto recs = client_->read_stream("OUT1");
    ASSERT_TRUE(recs) << recs.error().message();
    ASSERT_EQ(recs->size(), 200u);
    for (std::size_t i = 0; i < recs->size(); ++i) {
        const auto& r = (*recs)[i];
        EXPECT_EQ(r.payload, "m" + std::to_string(i));
        EXPECT_EQ(r.subject, "out1.orders." + std::to_string(i));
        EXPECT_EQ(r.headers.at("idx"), std::to_string(i));
        EXPECT_EQ(r.headers.at("Nats-Msg-Id"), to_hex(mb.messages[i].id));
    }
    EXPECT_EQ(rig.count("trib_nats_sink_messages_total", "delivered"), 200u);
    // A new sink writing the same batch again (a replay after a crash): stored once.
    sink_rig again;
    ASSERT_TRUE(again.open(conn_toml() + "subject = \"out1.{topic}.{header:idx}\"\n"));
    auto w2 = again.write(mb);
    ASSERT_TRUE(w2) << w2.error().message();
    EXPECT_EQ(client_->stream_messages("OUT1"), 200u);
    EXPECT_EQ(again.count("trib_nats_sink_server_duplicates_total"), 200u);
    EXPECT_TRUE(again.snk->idempotent());
    // Without Nats-Msg-Id the server cannot tell a replay: the copies are stored.
    sink_rig no_ids;
    ASSERT_TRUE(
        no_ids.open(conn_toml() + "subject = \"out1.{topic}.{header:idx}\"\nmsg_id = false\n"));
    auto w3 = no_ids.write(mb);
    ASSERT_TRUE(w3) << w3.error().message();
    EXPECT_EQ(client_->stream_messages("OUT1"), 400u);
    EXPECT_FALSE(no_ids.snk->idempotent());
}

TEST_F(nats_connector, given_messages_nats_cannot_take_should_reject_only_those) {
    ASSERT_TRUE(client_->add_stream("OUT2", {"out2.>"}));
    sink_rig rig;
    ASSERT_TRUE(rig.open(conn_toml() + "subject = \"out2.{header:region}\"\n"));
    auto mb = make_batch("r", 5);
    for (auto& m : mb.messages)
        m.headers.push_back(str_header("region", "eu"));
    mb.messages[1].headers.back().value = "two words";                      // a bad subject
    mb.messages[2].headers.pop_back();                                      // no region header
    mb.messages[3].headers.push_back(str_header("x", "a\r\nInjected: 1"));  // header injection
    auto w = rig.write(mb);
    ASSERT_TRUE(w) << w.error().message();
    ASSERT_EQ(w->rejected.size(), 3u);
    EXPECT_EQ(w->rejected[0].index, 1u);
    EXPECT_EQ(w->rejected[1].index, 2u);
    EXPECT_EQ(w->rejected[2].index, 3u);
    EXPECT_EQ(w->rejected[2].err.retry(), retry_class::fatal);
    auto recs = client_->read_stream("OUT2");
    ASSERT_TRUE(recs);
    ASSERT_EQ(recs->size(), 2u);
    EXPECT_EQ((*recs)[0].payload, "r0");
    EXPECT_EQ((*recs)[1].payload, "r4");
    EXPECT_EQ((*recs)[1].headers.count("Injected"), 0u);
}

TEST_F(nats_connector, given_no_stream_on_the_subject_should_fail_the_batch_for_a_retry) {
    sink_rig rig;
    ASSERT_TRUE(rig.open(conn_toml() + "subject = \"nowhere.x\"\nack_timeout = \"3s\"\n"));
    auto mb = make_batch("n", 3);
    auto w = rig.write(mb);
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().retry(), retry_class::fatal) << w.error().message();
}

TEST_F(nats_connector, given_a_core_sink_should_publish_to_subscribers) {
    natsSubscription* sub = nullptr;
    ASSERT_EQ(natsConnection_SubscribeSync(&sub, client_->nc(), "core1.>"), NATS_OK);
    ASSERT_EQ(natsConnection_Flush(client_->nc()), NATS_OK);
    sink_rig rig;
    ASSERT_TRUE(rig.open(conn_toml() + "mode = \"core\"\nsubject = \"core1.{partition}\"\n"));
    auto mb = make_batch("c", 50);
    auto w = rig.write(mb, 7);
    ASSERT_TRUE(w) << w.error().message();
    std::set<std::string> got;
    for (int i = 0; i < 50; ++i) {
        natsMsg* m = nullptr;
        if (natsSubscription_NextMsg(&m, sub, 5000) != NATS_OK)
            break;
        EXPECT_STREQ(natsMsg_GetSubject(m), "core1.7");
        const char* id = nullptr;
        EXPECT_NE(natsMsgHeader_Get(m, "Nats-Msg-Id", &id), NATS_OK);  // none in core mode
        got.emplace(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    EXPECT_EQ(got.size(), 50u);
    EXPECT_FALSE(rig.snk->idempotent());
}

TEST_F(nats_connector,
       given_a_pull_consumer_should_ack_only_after_iggy_and_redeliver_with_same_ids) {
    ASSERT_TRUE(client_->add_stream("IN1", {"in1.>"}));
    ASSERT_TRUE(client_->publish("in1.a", "first", {{"trace", "t-1"}}));
    ASSERT_TRUE(client_->publish_many("in1.b", "p", 1, 99));
    const std::string toml = conn_toml() +
                             "stream = \"IN1\"\nconsumer = \"c1\"\nack_wait = \"1s\"\n"
                             "batch_size = 40\n";
    std::map<std::string, message_id> ids;
    {
        source_rig rig;
        ASSERT_TRUE(rig.open(toml));
        auto p = poll_n(*rig.src, 100);
        ASSERT_EQ(p.count(), 100u);
        const auto& m0 = p.batches.front().batch.messages.front();
        EXPECT_EQ(m0.payload, "first");
        EXPECT_EQ(m0.find_header("trace")->value, "t-1");
        EXPECT_EQ(m0.find_header("nats.subject")->value, "in1.a");
        EXPECT_EQ(m0.find_header("nats.stream")->value, "IN1");
        EXPECT_EQ(m0.key, "in1.a");
        EXPECT_EQ(m0.id, nats::jetstream_message_id("IN1", 1));
        EXPECT_GT(m0.origin_timestamp_us, 0u);
        for (const auto& b : p.batches)
            for (const auto& m : b.batch.messages)
                ids[std::string(m.payload)] = m.id;
        // Iggy took nothing: nothing is acknowledged.
        EXPECT_EQ(client_->consumer_backlog("IN1", "c1").second, 100u);
        rig.src->close();
    }
    // Reopened (as after a crash): everything comes again, with the ids it had.
    source_rig rig;
    ASSERT_TRUE(rig.open(toml));
    auto p = poll_n(*rig.src, 100);
    ASSERT_EQ(p.count(), 100u);
    std::uint64_t seq = 0;
    for (const auto& b : p.batches) {
        ++seq;
        for (const auto& m : b.batch.messages)
            EXPECT_EQ(m.id, ids.at(std::string(m.payload)));
    }
    EXPECT_EQ(rig.count("trib_nats_source_redelivered_total"), 100u);
    // Iggy acknowledges every batch: the consumer has nothing left.
    for (std::uint64_t s = 1; s <= seq; ++s)
        rig.src->ack(s);
    EXPECT_TRUE(test::wait_until(
        [&] {
            return client_->consumer_backlog("IN1", "c1") ==
                   std::pair<std::uint64_t, std::uint64_t>{0, 0};
        },
        10s));
    EXPECT_EQ(rig.count("trib_nats_source_acked_total"), 100u);
}

TEST_F(nats_connector, given_a_nack_should_deliver_the_batch_again) {
    ASSERT_TRUE(client_->add_stream("IN2", {"in2.>"}));
    ASSERT_TRUE(client_->publish_many("in2.x", "n", 0, 10));
    source_rig rig;
    ASSERT_TRUE(
        rig.open(conn_toml() + "stream = \"IN2\"\nconsumer = \"c2\"\nack_wait = \"60s\"\n"));
    auto p = poll_n(*rig.src, 10);
    ASSERT_EQ(p.count(), 10u);
    for (std::uint64_t s = 1; s <= p.batches.size(); ++s)
        rig.src->nack(s);
    // Redelivered at once (long before ack_wait).
    auto again = poll_n(*rig.src, 10);
    EXPECT_EQ(again.count(), 10u);
}

TEST_F(nats_connector, given_headers_iggy_cannot_hold_should_reject_or_skip) {
    ASSERT_TRUE(client_->add_stream("IN3", {"in3.>"}));
    ASSERT_TRUE(client_->publish("in3.x", "big", {{"h", std::string(300, 'v')}}));
    ASSERT_TRUE(client_->publish("in3.x", "fine", {{"h", "v"}}));
    source_rig rig;
    ASSERT_TRUE(rig.open(conn_toml() + "stream = \"IN3\"\nconsumer = \"c3\"\n"));
    polled p;
    ASSERT_TRUE(test::wait_until(
        [&] {
            auto r = rig.src->poll(200ms);
            if (r && (!r->batch.empty() || !r->rejected.empty()))
                p.take(std::move(*r));
            std::size_t rej = 0;
            for (const auto& b : p.batches)
                rej += b.rejected.size();
            return p.count() + rej >= 2;
        },
        20s));
    std::size_t rej = 0;
    for (const auto& b : p.batches) {
        for (const auto& r : b.rejected) {
            ++rej;
            EXPECT_EQ(r.original.payload, "big");
            EXPECT_NE(r.err.message().find("'h'"), std::string::npos);
        }
    }
    EXPECT_EQ(rej, 1u);
    EXPECT_EQ(p.count(), 1u);
}

TEST_F(nats_connector, given_core_subscriptions_should_receive_published_messages) {
    source_rig rig;
    ASSERT_TRUE(rig.open(conn_toml() + "mode = \"core\"\nsubjects = [\"core2.*\", \"core3.>\"]\n"));
    for (int i = 0; i < 20; ++i) {
        const std::string subj = i % 2 == 0 ? "core2.a" : "core3.b.c";
        const std::string payload = "k" + std::to_string(i);
        ASSERT_EQ(natsConnection_Publish(client_->nc(), subj.c_str(), payload.data(),
                                         static_cast<int>(payload.size())),
                  NATS_OK);
    }
    ASSERT_EQ(natsConnection_Flush(client_->nc()), NATS_OK);
    auto p = poll_n(*rig.src, 20);
    ASSERT_EQ(p.count(), 20u);
    std::set<std::string> subjects;
    for (const auto& b : p.batches)
        for (const auto& m : b.batch.messages) {
            subjects.insert(m.find_header("nats.subject")->value);
            EXPECT_TRUE(m.id.is_zero());  // core messages have no identity: Iggy draws one
        }
    EXPECT_EQ(subjects, (std::set<std::string>{"core2.a", "core3.b.c"}));
}

TEST_F(nats_connector, given_a_server_restart_mid_stream_should_lose_nothing_either_way) {
    ASSERT_TRUE(client_->add_stream("RS", {"rs.in.>", "rs.out.>"}));
    ASSERT_TRUE(client_->publish_many("rs.in.x", "i", 0, 500));
    sink_rig out;
    ASSERT_TRUE(out.open(conn_toml() + "subject = \"rs.out.{partition}\"\nack_timeout = \"5s\"\n"));
    source_rig in;
    ASSERT_TRUE(in.open(conn_toml() + "stream = \"RS\"\nsubjects = [\"rs.in.>\"]\n"
                                      "consumer = \"crs\"\nack_wait = \"5s\"\n"));
    auto first = poll_n(*in.src, 500);
    ASSERT_EQ(first.count(), 500u);
    for (std::uint64_t s = 1; s <= first.batches.size(); ++s)
        in.src->ack(s);
    auto b1 = make_batch("o", 500, 0);
    ASSERT_TRUE(out.write(b1));
    client_.reset();
    ASSERT_TRUE(server_->restart()) << server_->log();
    auto c = nats_test_client::connect(server_->port());
    ASSERT_TRUE(c);
    client_ = std::move(*c);
    ASSERT_TRUE(client_->publish_many("rs.in.x", "i", 500, 500));
    // The sink's writes fail while it reconnects; the runtime retries a failed batch: so do we.
    auto b2 = make_batch("o", 500, 500);
    ASSERT_TRUE(test::wait_until([&] { return out.write(b2).has_value(); }, 60s));
    std::set<std::string> outs;
    auto all = client_->read_stream("RS");
    ASSERT_TRUE(all) << all.error().message();
    for (const auto& r : *all)
        if (r.subject.starts_with("rs.out."))
            outs.insert(r.payload);
    EXPECT_EQ(outs.size(), 1000u);
    // The source resumes after the restart with the messages published since.
    std::set<std::string> ins;
    polled rest;
    ASSERT_TRUE(test::wait_until(
        [&] {
            auto r = in.src->poll(200ms);
            if (r && !r->batch.empty()) {
                for (const auto& m : r->batch.messages)
                    ins.emplace(m.payload);
                rest.take(std::move(*r));
            }
            return ins.size() >= 500;
        },
        60s));
    for (int i = 500; i < 1000; ++i)
        EXPECT_TRUE(ins.contains("i" + std::to_string(i))) << i;
    EXPECT_EQ(client_->stream_messages("RS"), 2000u) << "a duplicate was stored";
}

// A second server that wants a user and password (this test's own, started here).
TEST(nats_auth, given_wrong_or_right_credentials_should_refuse_clearly_or_connect) {
    TRIB_START_PEER(secured, test::nats_spec({"--user", "trib", "--pass", "s3cret"}));
    const std::string urls = "urls = [\"nats://127.0.0.1:" + std::to_string(secured->port()) +
                             "\"]\nsubject = \"a.b\"\nmode = \"core\"\n";
    sink_rig none;
    auto st = none.open(urls);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::unauthenticated) << st.error().message();
    EXPECT_EQ(st.error().retry(), retry_class::fatal);
    sink_rig wrong;
    st = wrong.open(urls + "user = \"trib\"\npassword = \"nope\"\n");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::unauthenticated);
    EXPECT_EQ(st.error().message().find("nope"), std::string::npos);  // no secret in the text
    sink_rig right;
    st = right.open(urls + "user = \"trib\"\npassword = \"s3cret\"\n");
    ASSERT_TRUE(st) << st.error().message();
    auto mb = make_batch("a", 3);
    EXPECT_TRUE(right.write(mb));
}

}  // namespace
}  // namespace trib::connectors
