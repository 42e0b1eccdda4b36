// The Kafka sink against a real Apache Kafka 4.x broker (KRaft, one node, started once for the
// binary): records, keys, headers, timestamps and Confluent-framed payloads byte for byte, the
// topic template, refused records to the error policy, transactions, and a broker restart in
// the middle of a stream (nothing lost, no duplicates).

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "connectors/kafka/kafka.h"
#include "kafka_fixture.h"
#include "runtime/spec_values.h"
#include "sink_reader.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
namespace tk = trib::test::kafka;

/// The broker of these tests keeps records whatever their timestamps: the records carry
/// timestamps from years ago (fixed, so that they can be compared), and the default time
/// retention (7 days, checked every 5 minutes) would delete them in the middle of a long run.
test::kafka_options keep_everything() {
    test::kafka_options o;
    o.extra = {"log.retention.ms=-1"};
    return o;
}

class kafka_sink_test : public ::testing::Test {
  protected:
    void SetUp() override {
        TRIB_SHARED_KAFKA(broker, keep_everything());
        broker_ = broker;
        bs_ = test::kafka_bootstrap(*broker_);
    }

    std::unique_ptr<sink> make(const std::string& extra) {
        std::string toml = "bootstrap_servers = [\"" + bs_ + "\"]\n" + extra;
        auto s = make_kafka_sink(test::spec_values(kafka_sink_spec(), toml));
        EXPECT_TRUE(s) << (s ? "" : s.error().message());
        if (!s)
            return nullptr;
        return std::move(*s);
    }

    static std::string unique_topic(const std::string& base) {
        static int n = 0;
        return base + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    }

    test::peer* broker_ = nullptr;
    std::string bs_;
    connector_context ctx_;
};

message_batch batch_of(const std::vector<std::string>& payloads, std::uint64_t first = 0) {
    message_batch b;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        message m;
        m.payload = b.own(payloads[i]);
        m.offset = first + i;
        m.id = {first + i + 1, 0xABCD};
        m.timestamp_us = 1'700'000'000'000'000ull + (first + i) * 1000;
        m.origin_timestamp_us = 1'650'000'000'000'000ull + (first + i) * 1000;
        b.messages.push_back(std::move(m));
    }
    return b;
}

sink_batch view(const message_batch& b, std::string_view stream = "orders",
                std::string_view topic = "created") {
    return sink_batch{stream, topic, 1, "raw", &b};
}

TEST_F(kafka_sink_test, writes_payloads_keys_headers_and_timestamps_byte_for_byte) {
    const auto topic = unique_topic("basic");
    auto s =
        make("topic = \"" + topic + "\"\nkey_from = \"header\"\nexclude_headers = [\"kafka.*\"]\n");
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->open(ctx_));
    // A Confluent-framed Avro payload (magic 0, schema id 7), binary bytes, an empty payload.
    const std::string framed("\x00\x00\x00\x00\x07\x02\x06\x66\x6f\x6f", 10);
    const std::string binary("\xff\x00\x80\x7f\x00", 5);
    auto b = batch_of({framed, binary, "", "plain text"});
    b.messages[0].headers = {{"kafka.key", value_kind::raw, std::string("k\0ey", 4)},
                             {"content-type", value_kind::string, "avro"},
                             {"kafka.offset", value_kind::string, "12"}};
    b.messages[1].headers = {{"kafka.key", value_kind::raw, ""},
                             {"dup", value_kind::raw, "1"},
                             {"dup", value_kind::raw, "2"}};
    b.messages[2].headers = {{"n", value_kind::int32, std::string("\x2a\0\0\0", 4)}};
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->rejected.empty());
    s->close();

    auto got = tk::read_all(bs_, topic);
    ASSERT_TRUE(got) << got.error().message();
    ASSERT_EQ(got->size(), 4u);
    const auto& g = *got;
    EXPECT_EQ(g[0].value, framed);
    EXPECT_EQ(g[1].value, binary);
    EXPECT_EQ(g[2].value, "");
    EXPECT_EQ(g[3].value, "plain text");
    ASSERT_TRUE(g[0].key.has_value());
    EXPECT_EQ(*g[0].key, std::string("k\0ey", 4));
    ASSERT_TRUE(g[1].key.has_value()) << "an empty key header is an empty key, not a null one";
    EXPECT_EQ(*g[1].key, "");
    EXPECT_FALSE(g[2].key.has_value());
    using hv = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(g[0].headers, (hv{{"content-type", "avro"}}));
    EXPECT_EQ(g[1].headers, (hv{{"dup", "1"}, {"dup", "2"}}));
    EXPECT_EQ(g[2].headers, (hv{{"n", "42"}}));
    for (std::size_t i = 0; i < 4; ++i)
        EXPECT_EQ(g[i].timestamp_ms, static_cast<std::int64_t>(1'650'000'000'000 + i)) << i;
}

TEST_F(kafka_sink_test, topic_template_routes_each_message_and_rejects_bad_names) {
    const auto base = unique_topic("route");
    auto s = make("topic = \"" + base + ".{stream}.{header:region}\"\n");
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->open(ctx_));
    auto b = batch_of({"a", "b", "c", "d"});
    b.messages[0].headers = {{"region", value_kind::string, "eu"}};
    b.messages[1].headers = {{"region", value_kind::string, "us"}};
    b.messages[2].headers = {{"region", value_kind::string, "not valid!"}};
    // message 3 has no region header
    b.messages[3].headers = {};
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->rejected.size(), 2u);
    EXPECT_EQ(r->rejected[0].index, 2u);
    EXPECT_EQ(r->rejected[1].index, 3u);
    EXPECT_EQ(r->rejected[0].err.retry(), retry_class::fatal);
    s->close();
    auto eu = tk::read_all(bs_, base + ".orders.eu");
    auto us = tk::read_all(bs_, base + ".orders.us");
    ASSERT_TRUE(eu && us);
    ASSERT_EQ(eu->size(), 1u);
    ASSERT_EQ(us->size(), 1u);
    EXPECT_EQ((*eu)[0].value, "a");
    EXPECT_EQ((*us)[0].value, "b");
}

TEST_F(kafka_sink_test, record_larger_than_message_max_bytes_goes_to_error_policy) {
    const auto topic = unique_topic("big");
    auto s = make("topic = \"" + topic + "\"\n");
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->open(ctx_));
    auto b = batch_of({"before", std::string(2 << 20, 'x'), "after"});
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->rejected.size(), 1u);
    EXPECT_EQ(r->rejected[0].index, 1u);
    EXPECT_EQ(r->rejected[0].err.retry(), retry_class::fatal);
    EXPECT_EQ(r->rejected[0].err.vendor_code(), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    s->close();
    auto got = tk::read_all(bs_, topic);
    ASSERT_TRUE(got) << got.error().message();
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ((*got)[0].value, "before");
    EXPECT_EQ((*got)[1].value, "after");
}

TEST_F(kafka_sink_test, record_the_broker_refuses_goes_to_error_policy_with_its_error) {
    // The producer allows 4 MiB, the broker (message.max.bytes ~1 MiB) refuses the record.
    const auto topic = unique_topic("refused");
    ASSERT_TRUE(test::create_topic(bs_, topic, 1));
    auto s = make("topic = \"" + topic + "\"\n[properties]\n\"message.max.bytes\" = \"4194304\"\n");
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->open(ctx_));
    auto b = batch_of({std::string(2 << 20, 'y')});
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->rejected.size(), 1u);
    EXPECT_EQ(r->rejected[0].err.vendor_code(), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        << r->rejected[0].err.message();
    // The sink goes on with the next batch.
    auto b2 = batch_of({"ok"}, 1);
    auto r2 = s->write(view(b2));
    ASSERT_TRUE(r2) << r2.error().message();
    EXPECT_TRUE(r2->rejected.empty());
    s->close();
    auto got = tk::read_all(bs_, topic);
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].value, "ok");
}

TEST_F(kafka_sink_test, partition_from_header_and_a_missing_partition_is_rejected) {
    const auto topic = unique_topic("parts");
    ASSERT_TRUE(test::create_topic(bs_, topic, 3));
    auto s = make("topic = \"" + topic + "\"\npartition_from = \"header\"\n");
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->open(ctx_));
    auto b = batch_of({"p2", "p0", "p9", "p1"});
    b.messages[0].headers = {{"kafka.partition", value_kind::string, "2"}};
    b.messages[1].headers = {{"kafka.partition", value_kind::string, "0"}};
    b.messages[2].headers = {{"kafka.partition", value_kind::string, "9"}};
    b.messages[3].headers = {{"kafka.partition", value_kind::int32, std::string("\1\0\0\0", 4)}};
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->rejected.size(), 1u);
    EXPECT_EQ(r->rejected[0].index, 2u);
    EXPECT_EQ(r->rejected[0].err.code(), errc::not_found) << r->rejected[0].err.message();
    s->close();
    auto got = tk::read_all(bs_, topic);
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), 3u);
    for (const auto& rec : *got)
        EXPECT_EQ(rec.value, "p" + std::to_string(rec.partition));
}

TEST_F(kafka_sink_test, transactional_batches_are_visible_to_read_committed_consumers) {
    const auto topic = unique_topic("txn");
    auto s = make("topic = \"" + topic + "\"\ntransactional_id = \"" + topic + "-tx\"\n");
    ASSERT_TRUE(s);
    auto o = s->open(ctx_);
    ASSERT_TRUE(o) << o.error().message();
    auto b = batch_of({"t0", "t1", std::string(2 << 20, 'z'), "t3"});
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->rejected.size(), 1u);
    EXPECT_EQ(r->rejected[0].index, 2u);
    auto b2 = batch_of({"t4"}, 4);
    ASSERT_TRUE(s->write(view(b2)));
    s->close();
    auto got = tk::read_all(bs_, topic, true);
    ASSERT_TRUE(got) << got.error().message();
    std::vector<std::string> values;
    for (auto& rec : *got)
        values.push_back(rec.value);
    EXPECT_EQ(values, (std::vector<std::string>{"t0", "t1", "t3", "t4"}));
}

TEST_F(kafka_sink_test, transactional_replay_after_a_crash_adds_no_duplicates) {
    const auto topic = unique_topic("txreplay");
    const std::string cfg = "topic = \"" + topic + "\"\ntransactional_id = \"" + topic +
                            "-tx\"\noffsets_topic = \"" + topic + "-offsets\"\n";
    ctx_.key = "replay";
    std::vector<std::string> first, second;
    std::unique_ptr<sink> zombie;  // the first instance, never closed before the second opens
    for (int i = 0; i < 10; ++i)
        first.push_back("r" + std::to_string(i));
    for (int i = 0; i < 15; ++i)
        second.push_back("r" + std::to_string(i));
    {
        auto s = make(cfg);
        ASSERT_TRUE(s);
        auto o = s->open(ctx_);
        ASSERT_TRUE(o) << o.error().message();
        auto b = batch_of(first);
        ASSERT_TRUE(s->write(view(b)));
        // No close(): as after a kill -9, the runtime never committed these Iggy offsets; the
        // second instance fences this producer.
        zombie = std::move(s);
    }
    auto s = make(cfg);
    ASSERT_TRUE(s);
    auto o = s->open(ctx_);
    ASSERT_TRUE(o) << o.error().message();
    // The runtime replays from its last committed offset (0): offsets 0..9 again, then 10..14.
    auto b = batch_of(second);
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->rejected.empty());
    // A batch of another Iggy partition is not affected by partition 1's record.
    auto other = batch_of({"other"});
    auto ov = view(other);
    ov.partition = 2;
    ASSERT_TRUE(s->write(ov));
    s->close();
    auto got = tk::read_all(bs_, topic, true);
    ASSERT_TRUE(got) << got.error().message();
    std::vector<std::string> values;
    for (auto& rec : *got)
        values.push_back(rec.value);
    second.push_back("other");
    EXPECT_EQ(values, second);
}

TEST_F(kafka_sink_test, open_without_a_broker_fails_retryable_in_bounded_time) {
    auto port = test::free_port();
    auto s = make_kafka_sink(test::spec_values(
        kafka_sink_spec(), "bootstrap_servers = [\"127.0.0.1:" + std::to_string(port) +
                               "\"]\ntopic = \"x\"\nconnect_timeout = \"1s\"\n"));
    ASSERT_TRUE(s);
    auto o = (*s)->open(ctx_);
    ASSERT_FALSE(o);
    EXPECT_TRUE(o.error().retryable()) << o.error().to_string();
    EXPECT_NE(o.error().message().find("no broker answered"), std::string::npos);
    (*s)->close();
}

TEST(kafka_sink_spec, config_errors_name_the_key) {
    auto problems = [](const std::string& extra) {
        return test::spec_problems(kafka_sink_spec(),
                                   "bootstrap_servers = [\"127.0.0.1:9\"]\n" + extra);
    };
    EXPECT_EQ(problems("topic = \"t\"\n"), "");
    EXPECT_NE(problems("topic = \"{nope}\"\n").find("topic"), std::string::npos);
    EXPECT_NE(problems("topic = \"t\"\nkey_from = \"field\"\n").find("key_field"),
              std::string::npos);
    EXPECT_NE(problems("topic = \"t\"\n[properties]\n\"no.such\" = \"1\"\n").find("no.such"),
              std::string::npos);
    EXPECT_NE(problems("topic = \"t\"\n[properties]\n\"enable.idempotence\" = \"false\"\n")
                  .find("enable.idempotence"),
              std::string::npos);
    EXPECT_NE(problems("topic = \"t\"\nkey_from = \"nope\"\n").find("key_from"), std::string::npos);
}

std::size_t env_count(const char* name, std::size_t def) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return def;
    return static_cast<std::size_t>(std::strtoull(v, nullptr, 10));
}

TEST_F(kafka_sink_test, broker_restart_in_the_middle_loses_nothing_and_duplicates_nothing) {
    const std::size_t total = env_count("TRIB_KAFKA_SINK_RESTART_COUNT", 20000);
    const std::size_t per_batch = 500;
    const auto topic = unique_topic("restart");
    ASSERT_TRUE(test::create_topic(bs_, topic, 1));
    auto s = make("topic = \"" + topic + "\"\nkey_from = \"offset\"\n");
    ASSERT_TRUE(s);
    std::stop_source stop;
    ctx_.stop = stop.get_token();
    ASSERT_TRUE(s->open(ctx_));

    std::atomic<std::size_t> written{0};
    std::atomic<bool> failed{false};
    std::string failure;
    std::thread writer([&] {
        for (std::size_t first = 0; first < total; first += per_batch) {
            std::vector<std::string> p;
            for (std::size_t i = first; i < std::min(total, first + per_batch); ++i)
                p.push_back("m" + std::to_string(i));
            auto b = batch_of(p, first);
            // As the runtime does: a failed write is retried (the sink's memo skips what the
            // failed attempt delivered).
            for (int attempt = 0;; ++attempt) {
                auto r = s->write(view(b));
                if (r && r->rejected.empty())
                    break;
                if ((r && !r->rejected.empty()) || attempt > 100 ||
                    stop.get_token().stop_requested()) {
                    failure = r ? r->rejected[0].err.to_string() : r.error().to_string();
                    failed = true;
                    return;
                }
            }
            written.fetch_add(p.size());
        }
    });
    struct joiner {
        std::stop_source& s;
        std::thread& t;
        ~joiner() {
            s.request_stop();  // a failed assertion must not leave the writer waiting
            if (t.joinable())
                t.join();
        }
    } join_writer{stop, writer};
    ASSERT_TRUE(test::wait_until([&] { return written.load() >= total / 4 || failed; }, 120s));
    ASSERT_TRUE(broker_->stop());
    const std::size_t at_stop = written.load();
    ASSERT_LT(at_stop, total) << "the stream ended before the broker stopped: raise the count";
    auto rs = broker_->restart();
    ASSERT_TRUE(rs) << rs.error().message();
    ASSERT_TRUE(test::wait_until([&] { return written.load() >= total || failed; }, 300s));
    writer.join();
    ASSERT_FALSE(failed) << failure;
    s->close();

    auto wm = tk::watermark_total(bs_, topic);
    ASSERT_TRUE(wm);
    EXPECT_EQ(*wm, static_cast<std::int64_t>(total)) << "records in the topic (duplicates?)";
    auto got = tk::read_all(bs_, topic);
    ASSERT_TRUE(got) << got.error().message();
    ASSERT_EQ(got->size(), total);
    for (std::size_t i = 0; i < total; ++i) {
        ASSERT_EQ((*got)[i].value, "m" + std::to_string(i)) << "at " << i;
        ASSERT_EQ((*got)[i].key, std::to_string(i));
    }
}

}  // namespace
}  // namespace trib::connectors
