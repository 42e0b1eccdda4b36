// The Kafka source driven directly (open/poll/ack/nack/close) against a real Apache Kafka broker
// (one per test binary, tests/connectors/kafka/kafka_fixture.h): routing by topic and regex,
// the record mapping, commits only after ack, a rebalance between two group members, start
// positions, SASL and TLS, and the spec's refusals.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "connectors/kafka/kafka.h"
#include "connectors/kafka/record.h"
#include "kafka_fixture.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using test::kafka_record;

test::kafka_options broker_options() {
    test::kafka_options o;
    o.users = {{"alice", "alice-secret"}};
    o.tls = true;
    o.require_client_certificate = true;
    return o;
}

std::string list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (const auto& i : items) {
        out += (out.size() > 1 ? ", " : "") + std::string("\"");
        for (char c : i) {
            if (c == '\\' || c == '"')
                out += '\\';
            out += c;
        }
        out += "\"";
    }
    return out + "]";
}

// The source's TOML: short sessions and metadata refreshes so that the tests see rebalances and
// new topics quickly.
std::string source_toml(const std::string& bootstrap, const std::vector<std::string>& topics,
                        const std::string& group, const std::string& extra = "") {
    return "bootstrap_servers = " + list({bootstrap}) + "\ntopics = " + list(topics) +
           "\ngroup_id = \"" + group + "\"\nsession_timeout = \"6s\"\n" + extra +
           "\n[properties]\n\"topic.metadata.refresh.interval.ms\" = \"1000\"\n";
}

struct opened {
    std::unique_ptr<source> src;
    connector_context ctx;
};

std::unique_ptr<opened> open_source(const std::string& toml, status* st_out = nullptr) {
    auto made = make_kafka_source(test::spec_values(kafka_source_spec(), toml));
    EXPECT_TRUE(made) << made.error().message();
    if (!made)
        return nullptr;
    auto o = std::make_unique<opened>();
    o->src = std::move(*made);
    o->ctx.key = "kafka_test";
    o->ctx.name = "kafka test";
    o->ctx.routes = {stream_ref{"s", "default"}};
    auto st = o->src->open(o->ctx, "");
    if (st_out != nullptr) {
        *st_out = st;
        return st ? std::move(o) : nullptr;
    }
    EXPECT_TRUE(st) << st.error().message();
    return st ? std::move(o) : nullptr;
}

// Copies of what the tests look at (the batch's views die with it).
struct seen {
    std::string payload;
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    message_id id;
    std::string key;
    std::uint64_t origin_us = 0;
    std::uint16_t route = 0;
    std::vector<header> headers;
};

std::int64_t le_int(const std::string& v) {
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < v.size(); ++i)
        x |= static_cast<std::uint64_t>(static_cast<unsigned char>(v[i])) << (8 * i);
    if (v.size() == 4)
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(x));
    return static_cast<std::int64_t>(x);
}

seen copy(const message& m) {
    seen s;
    s.payload = std::string(m.payload);
    s.id = m.id;
    s.key = m.key;
    s.origin_us = m.origin_timestamp_us;
    s.route = m.route;
    s.headers = m.headers;
    if (auto* h = m.find_header("kafka.topic"))
        s.topic = h->value;
    if (auto* h = m.find_header("kafka.partition"))
        s.partition = static_cast<std::int32_t>(le_int(h->value));
    if (auto* h = m.find_header("kafka.offset"))
        s.offset = le_int(h->value);
    return s;
}

struct polled {
    std::vector<seen> messages;
    std::vector<std::uint64_t> seqs;  // in poll order (numbered by the test as the runtime does)
};

// Polls until `n` messages came or `within` passed; acknowledges each batch when `ack`.
polled poll_n(source& s, std::size_t n, std::chrono::milliseconds within, bool ack,
              std::uint64_t* seq_counter) {
    polled p;
    const auto deadline = clock_type::now() + within;
    while (p.messages.size() < n && clock_type::now() < deadline) {
        auto r = s.poll(200ms);
        EXPECT_TRUE(r) << r.error().message();
        if (!r)
            break;
        if (r->batch.empty() && r->rejected.empty())
            continue;
        const std::uint64_t seq = ++*seq_counter;
        p.seqs.push_back(seq);
        for (const auto& m : r->batch.messages)
            p.messages.push_back(copy(m));
        if (ack)
            s.ack(seq);
    }
    return p;
}

std::vector<kafka_record> records(const std::string& topic, int n, const std::string& prefix,
                                  std::int32_t partition = 0) {
    std::vector<kafka_record> out;
    for (int i = 0; i < n; ++i) {
        kafka_record r;
        r.topic = topic;
        r.partition = partition;
        r.key = "k" + std::to_string(i);
        r.value = prefix + std::to_string(i);
        out.push_back(std::move(r));
    }
    return out;
}

class kafka_source_test : public ::testing::Test {
  protected:
    void SetUp() override {
        auto r = test::shared_kafka(broker_options());
        if (!r) {
            if (test::in_ci())
                FAIL() << "Kafka could not start (CI=true): " << r.error().message();
            GTEST_SKIP() << "Kafka not available: " << r.error().message();
        }
        broker_ = *r;
        bs_ = test::kafka_bootstrap(*broker_);
    }
    test::peer* broker_ = nullptr;
    std::string bs_;
    std::uint64_t seq_ = 0;
};

TEST_F(kafka_source_test, given_topics_and_routes_should_map_every_record_and_route_it) {
    for (const char* t : {"orders", "payments.eu", "other"})
        ASSERT_TRUE(test::create_topic(bs_, t, 1));
    std::vector<kafka_record> in;
    for (int i = 0; i < 3; ++i) {
        kafka_record r;
        r.topic = "orders";
        r.partition = 0;
        r.key = "customer-" + std::to_string(i);
        r.value = "order-" + std::to_string(i);
        r.headers = {{"trace", "t" + std::to_string(i)}, {"bin", std::string("\x01\xff", 2)}};
        r.timestamp_ms = 1'600'000'000'000 + i;
        in.push_back(r);
    }
    for (auto& r : records("payments.eu", 2, "pay-"))
        in.push_back(r);
    for (auto& r : records("other", 2, "other-"))
        in.push_back(r);
    ASSERT_TRUE(test::produce_records(bs_, in));

    auto s = open_source(source_toml(bs_, {"orders", "^payments\\..*", "other"}, "routing",
                                     "[[routes]]\nmatch = \"orders\"\nstream = \"shop\"\n"
                                     "topic = \"orders\"\n[[routes]]\nmatch = \"^payments\\\\.\"\n"
                                     "stream = \"shop\"\ntopic = \"payments\"\n"));
    ASSERT_TRUE(s);
    ASSERT_EQ(s->ctx.routes.size(), 3u);
    auto got = poll_n(*s->src, 7, 60s, true, &seq_);
    ASSERT_EQ(got.messages.size(), 7u);
    const std::string cluster = test::kafka_cluster_id(*broker_);
    std::map<std::string, seen> by_payload;
    for (const auto& m : got.messages) {
        by_payload[m.payload] = m;
        EXPECT_EQ(m.id, kafka::record_id(cluster, m.topic, m.partition, m.offset)) << m.payload;
        const stream_ref& dest = s->ctx.routes.at(m.route);
        if (m.topic == "orders")
            EXPECT_EQ(dest, (stream_ref{"shop", "orders"}));
        else if (m.topic == "payments.eu")
            EXPECT_EQ(dest, (stream_ref{"shop", "payments"}));
        else
            EXPECT_EQ(dest, (stream_ref{"s", "default"}));
    }
    for (int i = 0; i < 3; ++i) {
        const auto& m = by_payload.at("order-" + std::to_string(i));
        EXPECT_EQ(m.key, "customer-" + std::to_string(i));
        EXPECT_EQ(m.origin_us, static_cast<std::uint64_t>(1'600'000'000'000 + i) * 1000);
        EXPECT_EQ(m.offset, i);
        std::map<std::string, header> h;
        for (const auto& x : m.headers)
            h[x.key] = x;
        EXPECT_EQ(h.at("trace").value, "t" + std::to_string(i));
        EXPECT_EQ(h.at("trace").kind, value_kind::string);
        EXPECT_EQ(h.at("bin").value, std::string("\x01\xff", 2));
        EXPECT_EQ(h.at("bin").kind, value_kind::raw);
        EXPECT_EQ(h.at("kafka.key").value, "customer-" + std::to_string(i));
    }
    // A topic created after the start that the regex matches joins the subscription.
    ASSERT_TRUE(test::create_topic(bs_, "payments.us", 1));
    ASSERT_TRUE(test::produce_records(bs_, records("payments.us", 2, "us-")));
    auto late = poll_n(*s->src, 2, 60s, true, &seq_);
    ASSERT_EQ(late.messages.size(), 2u);
    for (const auto& m : late.messages) {
        EXPECT_EQ(m.topic, "payments.us");
        EXPECT_EQ(s->ctx.routes.at(m.route), (stream_ref{"shop", "payments"}));
    }
    s->src->close();
}

TEST_F(kafka_source_test, given_no_ack_should_commit_nothing_and_deliver_again_with_the_same_ids) {
    ASSERT_TRUE(test::create_topic(bs_, "commit-after-ack", 1));
    ASSERT_TRUE(test::produce_records(bs_, records("commit-after-ack", 20, "m-")));
    const std::string toml = source_toml(bs_, {"commit-after-ack"}, "commit-group");
    std::vector<seen> first;
    {
        auto s = open_source(toml);
        ASSERT_TRUE(s);
        first = poll_n(*s->src, 20, 60s, false, &seq_).messages;
        ASSERT_EQ(first.size(), 20u);
        s->src->close();  // nothing acknowledged: nothing may be committed
    }
    auto committed = test::committed_offsets(bs_, "commit-group", "commit-after-ack");
    ASSERT_TRUE(committed) << committed.error().message();
    EXPECT_EQ(committed->at(0), -1);

    std::uint64_t seq = 0;
    {
        auto s = open_source(toml);
        ASSERT_TRUE(s);
        auto again = poll_n(*s->src, 20, 60s, false, &seq);
        ASSERT_EQ(again.messages.size(), 20u);
        for (std::size_t i = 0; i < 20; ++i) {
            EXPECT_EQ(again.messages[i].payload, first[i].payload);
            EXPECT_EQ(again.messages[i].id, first[i].id);
        }
        for (auto q : again.seqs)
            s->src->ack(q);
        // The poll thread commits (as the runtime keeps polling).
        ASSERT_TRUE(test::wait_until(
            [&] {
                auto r = s->src->poll(100ms);
                EXPECT_TRUE(r && r->batch.empty());
                auto c = test::committed_offsets(bs_, "commit-group", "commit-after-ack");
                return c && c->at(0) == 20;
            },
            30s));
        s->src->close();
    }
    // Acknowledged and committed: a new member reads only what comes next.
    {
        auto s = open_source(toml);
        ASSERT_TRUE(s);
        ASSERT_TRUE(test::produce_records(bs_, records("commit-after-ack", 1, "marker-")));
        seq = 0;
        auto next = poll_n(*s->src, 1, 60s, true, &seq);
        ASSERT_EQ(next.messages.size(), 1u);
        EXPECT_EQ(next.messages[0].payload, "marker-0");
        EXPECT_EQ(next.messages[0].offset, 20);
        s->src->close();
    }
}

TEST_F(kafka_source_test, given_a_nack_should_read_the_batch_again) {
    ASSERT_TRUE(test::create_topic(bs_, "nacked", 1));
    ASSERT_TRUE(test::produce_records(bs_, records("nacked", 10, "n-")));
    auto s = open_source(source_toml(bs_, {"nacked"}, "nack-group"));
    ASSERT_TRUE(s);
    auto got = poll_n(*s->src, 10, 60s, false, &seq_);
    ASSERT_EQ(got.messages.size(), 10u);
    for (auto q : got.seqs)
        s->src->nack(q);
    auto again = poll_n(*s->src, 10, 60s, true, &seq_);
    ASSERT_EQ(again.messages.size(), 10u);
    for (std::size_t i = 0; i < 10; ++i)
        EXPECT_EQ(again.messages[i].id, got.messages[i].id);
    s->src->close();
}

// A group member that polls and acknowledges on its own thread, like a runtime would.
class member {
  public:
    explicit member(std::unique_ptr<opened> s) : s_(std::move(s)) {
        thread_ = std::thread([this] {
            std::uint64_t seq = 0;
            while (!stop_) {
                auto r = s_->src->poll(100ms);
                if (!r) {
                    failed_ = true;
                    continue;
                }
                if (r->batch.empty())
                    continue;
                {
                    std::lock_guard lk(mu_);
                    for (const auto& m : r->batch.messages)
                        got_.push_back(copy(m));
                }
                s_->src->ack(++seq);
            }
            s_->src->close();
        });
    }
    ~member() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    std::size_t count() const {
        std::lock_guard lk(mu_);
        return got_.size();
    }
    std::vector<seen> got() const {
        std::lock_guard lk(mu_);
        return got_;
    }
    bool failed() const { return failed_; }

  private:
    std::unique_ptr<opened> s_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> failed_{false};
    mutable std::mutex mu_;
    std::vector<seen> got_;
};

TEST_F(kafka_source_test, given_a_second_member_should_rebalance_and_lose_nothing) {
    ASSERT_TRUE(test::create_topic(bs_, "rebalance", 3));
    std::vector<kafka_record> first;
    for (int p = 0; p < 3; ++p)
        for (auto& r : records("rebalance", 100, "a" + std::to_string(p) + "-", p))
            first.push_back(r);
    ASSERT_TRUE(test::produce_records(bs_, first));
    const std::string toml = source_toml(bs_, {"rebalance"}, "rebalance-group");
    auto a_src = open_source(toml);
    ASSERT_TRUE(a_src);
    member a(std::move(a_src));
    ASSERT_TRUE(test::wait_until([&] { return a.count() >= 50; }, 60s));
    auto b_src = open_source(toml);
    ASSERT_TRUE(b_src);
    member b(std::move(b_src));
    const std::size_t a_before = a.count();
    // Keep producing (10 records per partition at a time) until the newcomer got records of its
    // own partitions: then the rebalance happened while records were flowing.
    int produced = 300;
    int round = 0;
    ASSERT_TRUE(test::wait_until(
        [&] {
            std::vector<kafka_record> more;
            for (int p = 0; p < 3; ++p)
                for (auto& r :
                     records("rebalance", 10,
                             "b" + std::to_string(round) + "-" + std::to_string(p) + "-", p))
                    more.push_back(r);
            ++round;
            if (!test::produce_records(bs_, more))
                return false;
            produced += 30;
            return b.count() > 0;
        },
        90s))
        << "the second member got nothing";
    auto distinct = [&] {
        std::set<std::pair<std::int32_t, std::int64_t>> s;
        for (const auto& m : a.got())
            s.insert({m.partition, m.offset});
        for (const auto& m : b.got())
            s.insert({m.partition, m.offset});
        return s.size();
    };
    const auto want = static_cast<std::size_t>(produced);
    ASSERT_TRUE(test::wait_until([&] { return distinct() == want; }, 90s))
        << "distinct " << distinct() << " of " << want << ", a " << a.count() << ", b "
        << b.count();
    a.stop();
    b.stop();
    EXPECT_FALSE(a.failed());
    EXPECT_FALSE(b.failed());
    EXPECT_GT(b.count(), 0u);        // the newcomer got partitions
    EXPECT_GT(a.count(), a_before);  // and the first member kept some (cooperative)
    // Every record is there; a record read twice (in flight at the revoke) has one id.
    std::map<std::pair<std::int32_t, std::int64_t>, message_id> ids;
    std::size_t total = 0;
    for (const auto* who : {&a, &b}) {
        for (const auto& m : who->got()) {
            ++total;
            auto [it, fresh] = ids.emplace(std::make_pair(m.partition, m.offset), m.id);
            if (!fresh) {
                EXPECT_EQ(it->second, m.id);
            }
        }
    }
    EXPECT_EQ(ids.size(), want);
    std::set<std::pair<std::uint64_t, std::uint64_t>> distinct_ids;
    for (const auto& [k, id] : ids)
        distinct_ids.insert({id.hi, id.lo});
    EXPECT_EQ(distinct_ids.size(), want);
    std::printf("rebalance: %zu messages for %zu records (%zu duplicates), a %zu, b %zu\n", total,
                want, total - want, a.count(), b.count());
}

TEST_F(kafka_source_test, given_start_position_latest_should_skip_what_was_there) {
    ASSERT_TRUE(test::create_topic(bs_, "start-latest", 1));
    ASSERT_TRUE(test::produce_records(bs_, records("start-latest", 5, "old-")));
    auto s = open_source(
        source_toml(bs_, {"start-latest"}, "latest-group", "start_position = \"latest\"\n"));
    ASSERT_TRUE(s);
    // Produce markers until one arrives: the assignment happened by then.
    std::vector<seen> got;
    int marker = 0;
    ASSERT_TRUE(test::wait_until(
        [&] {
            if (!test::produce_records(
                    bs_, {{"start-latest", 0, "m", "new-" + std::to_string(marker++), {}, 0, -1}}))
                return false;
            auto p = poll_n(*s->src, 1, 1s, true, &seq_);
            got.insert(got.end(), p.messages.begin(), p.messages.end());
            return !got.empty();
        },
        60s));
    for (const auto& m : got) {
        EXPECT_EQ(m.payload.rfind("new-", 0), 0u) << m.payload;
        EXPECT_GE(m.offset, 5);
    }
    s->src->close();
}

TEST_F(kafka_source_test, given_start_position_timestamp_should_start_at_the_first_later_record) {
    ASSERT_TRUE(test::create_topic(bs_, "start-ts", 1));
    auto in = records("start-ts", 10, "t-");
    for (int i = 0; i < 10; ++i)
        in[static_cast<std::size_t>(i)].timestamp_ms = 1'500'000'000'000 + i * 1000;
    ASSERT_TRUE(test::produce_records(bs_, in));
    auto s = open_source(source_toml(bs_, {"start-ts"}, "ts-group",
                                     "start_position = \"timestamp\"\nstart_timestamp = " +
                                         std::to_string(1'500'000'000'000 + 5500) + "\n"));
    ASSERT_TRUE(s);
    auto got = poll_n(*s->src, 4, 60s, true, &seq_);
    ASSERT_EQ(got.messages.size(), 4u);
    EXPECT_EQ(got.messages[0].payload, "t-6");
    EXPECT_EQ(got.messages[0].offset, 6);
    s->src->close();
}

TEST_F(kafka_source_test, given_sasl_and_tls_listeners_should_read_and_refuse_bad_credentials) {
    ASSERT_TRUE(test::create_topic(bs_, "secure", 1));
    ASSERT_TRUE(test::produce_records(bs_, records("secure", 3, "s-")));
    const std::string sasl_bs = test::kafka_sasl_bootstrap(*broker_);
    auto sasl = [&](const std::string& mech, const std::string& pw) {
        return "security_protocol = \"sasl_plaintext\"\n[sasl]\nmechanism = \"" + mech +
               "\"\nusername = \"alice\"\npassword = \"" + pw + "\"\n";
    };
    {
        auto s = open_source(
            source_toml(sasl_bs, {"secure"}, "sasl-plain", sasl("PLAIN", "alice-secret")));
        ASSERT_TRUE(s);
        EXPECT_EQ(poll_n(*s->src, 3, 60s, true, &seq_).messages.size(), 3u);
        s->src->close();
    }
    for (const std::string mech : {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
        status st;
        auto s = open_source(
            source_toml(sasl_bs, {"secure"}, "sasl-" + mech, sasl(mech, "alice-secret")), &st);
        // Needs librdkafka >= 2.6.1 against Kafka 4 (confluentinc/librdkafka#4895).
        ASSERT_TRUE(st) << mech << " with librdkafka " << rd_kafka_version_str() << ": "
                        << st.error().message();
        EXPECT_EQ(poll_n(*s->src, 3, 60s, true, &seq_).messages.size(), 3u) << mech;
        s->src->close();
    }
    // A wrong password is refused at open, fatal, and not repeated in the message: PLAIN and
    // SCRAM (whose refusal comes from the broker's check of the client proof).
    for (const std::string mech : {"PLAIN", "SCRAM-SHA-512"}) {
        status st;
        auto s = open_source(
            source_toml(sasl_bs, {"secure"}, "sasl-bad-" + mech, sasl(mech, "wrong-pass")), &st);
        ASSERT_FALSE(st) << mech;
        EXPECT_EQ(st.error().code(), errc::unauthenticated) << mech << ": " << st.error().message();
        EXPECT_EQ(st.error().retry(), retry_class::fatal) << mech;
        EXPECT_EQ(st.error().message().find("wrong-pass"), std::string::npos) << mech;
    }
    const auto pki = test::kafka_pki(*broker_);
    {
        auto s = open_source(source_toml(test::kafka_ssl_bootstrap(*broker_), {"secure"}, "tls",
                                         "security_protocol = \"ssl\"\n[tls]\nca_file = \"" +
                                             pki.ca_cert.string() + "\"\ncert_file = \"" +
                                             pki.client_cert.string() + "\"\nkey_file = \"" +
                                             pki.client_key.string() + "\"\n"));
        ASSERT_TRUE(s);
        EXPECT_EQ(poll_n(*s->src, 3, 60s, true, &seq_).messages.size(), 3u);
        s->src->close();
    }
}

TEST(kafka_source_spec, given_bad_options_should_name_each_key) {
    auto problems = [](const std::string& toml) {
        return test::spec_problems(kafka_source_spec(), toml);
    };
    const std::string base = "bootstrap_servers = [\"127.0.0.1:9092\"]\n";
    EXPECT_NE(problems(base + "topics = []\n").find("plugin_config.topics"), std::string::npos);
    EXPECT_NE(problems("topics = [\"a\"]\n").find("bootstrap_servers"), std::string::npos);
    EXPECT_NE(problems(base + "topics = [\"^a(\"]\n").find("plugin_config.topics"),
              std::string::npos);
    EXPECT_NE(problems(base + "topics = [\"a\"]\nsecurity_protocol = \"sasl_ssl\"\n")
                  .find("plugin_config.sasl.username"),
              std::string::npos);
    EXPECT_NE(problems(base + "topics = [\"a\"]\nstart_position = \"timestamp\"\n")
                  .find("plugin_config.start_timestamp"),
              std::string::npos);
    const auto unknown =
        problems(base + "topics = [\"a\"]\n[properties]\n\"fetch.wait.max.mss\" = \"5\"\n");
    EXPECT_NE(unknown.find("fetch.wait.max.mss"), std::string::npos) << unknown;
    const auto reserved =
        problems(base + "topics = [\"a\"]\n[properties]\n\"enable.auto.commit\" = \"true\"\n");
    EXPECT_NE(reserved.find("enable.auto.commit"), std::string::npos) << reserved;
    const auto bad_value =
        problems(base + "topics = [\"a\"]\n[properties]\n\"fetch.wait.max.ms\" = \"soon\"\n");
    EXPECT_NE(bad_value.find("fetch.wait.max.ms"), std::string::npos) << bad_value;
    EXPECT_EQ(problems(base + "topics = [\"a\", \"^b\\\\..*\"]\n"), "");
    // A credential in `properties` only from the environment or a file (then it is hidden).
    const auto clear = problems(base +
                                "topics = [\"a\"]\n[properties]\n\"sasl.oauthbearer.config\" = "
                                "\"principal=admin secret=hunter22\"\n");
    EXPECT_NE(clear.find("sasl.oauthbearer.config"), std::string::npos) << clear;
    EXPECT_EQ(clear.find("hunter22"), std::string::npos) << clear;
    ::setenv("TRIB_TEST_KAFKA_OAUTH", "principal=admin", 1);
    EXPECT_EQ(problems(base + "topics = [\"a\"]\n[properties]\n\"sasl.oauthbearer.config\" = "
                              "\"${env:TRIB_TEST_KAFKA_OAUTH}\"\n"),
              "");
}

}  // namespace
}  // namespace trib::connectors
