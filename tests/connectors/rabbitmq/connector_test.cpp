// The RabbitMQ source and sink against a real broker (Debian's rabbitmq-server 3.10, started once
// for this binary): publisher confirms, returned messages, templates, headers and message ids for
// the sink; acks only after Iggy's ack, requeue on nack, redeliveries, deterministic ids, stream
// queues resuming from the persisted offset for the source; a broker restart in the middle of
// both; a wrong password and bad options.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <iostream>
#include <set>

#include "connectors/rabbitmq/rabbitmq.h"
#include "core/message_id.h"
#include "harness/peer.h"
#include "rabbitmq_fixture.h"
#include "runtime/spec_values.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
using connectors::make_rabbitmq_sink;
using connectors::make_rabbitmq_source;
using connectors::rabbitmq_sink_spec;
using connectors::rabbitmq_source_spec;

rabbitmq_broker* g_broker = nullptr;

class broker_env : public ::testing::Environment {
  public:
    void SetUp() override {
        auto b = rabbitmq_broker::start();
        if (!b) {
            error_ = b.error().message();
            return;
        }
        broker_ = std::move(*b);
        g_broker = broker_.get();
    }
    void TearDown() override {
        g_broker = nullptr;
        broker_.reset();
    }
    std::string error_;

  private:
    std::unique_ptr<rabbitmq_broker> broker_;
};

broker_env* g_env = static_cast<broker_env*>(::testing::AddGlobalTestEnvironment(new broker_env));

#define REQUIRE_BROKER()                                                           \
    do {                                                                           \
        if (g_broker == nullptr) {                                                 \
            if (in_ci())                                                           \
                FAIL() << "RabbitMQ could not start (CI=true): " << g_env->error_; \
            GTEST_SKIP() << "RabbitMQ not available: " << g_env->error_;           \
        }                                                                          \
    } while (0)

std::unique_ptr<amqp_client> client() {
    auto c = amqp_client::connect(g_broker->port());
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
}

std::string conn_toml() {
    return "amqp_url = \"" + g_broker->url() + "\"\ntimeout_secs = 10\n";
}

struct batch_fixture {
    message_batch b;
    sink_batch sb;
    batch_fixture(std::vector<std::pair<std::string, std::vector<header>>> msgs,
                  std::uint64_t first_offset = 0) {
        std::uint64_t off = first_offset;
        for (auto& [payload, headers] : msgs) {
            message m;
            m.payload = b.own(payload);
            m.offset = off;
            m.id = message_id_of("test", "m" + std::to_string(off));
            m.headers = std::move(headers);
            b.messages.push_back(std::move(m));
            ++off;
        }
        sb.stream = "shop";
        sb.topic = "orders";
        sb.partition = 2;
        sb.schema = "json";
        sb.messages = &b;
    }
};

std::unique_ptr<sink> open_sink(const std::string& extra, connector_context& ctx) {
    auto v = spec_values(rabbitmq_sink_spec(), conn_toml() + "retry_delay_secs = 0\n" + extra);
    auto s = make_rabbitmq_sink(v);
    EXPECT_TRUE(s) << s.error().message();
    if (!s)
        return nullptr;
    auto st = (*s)->open(ctx);
    EXPECT_TRUE(st) << st.error().message();
    return st ? std::move(*s) : nullptr;
}

std::unique_ptr<source> open_source(const std::string& extra, connector_context& ctx,
                                    std::string_view state = {}) {
    auto v = spec_values(rabbitmq_source_spec(), conn_toml() + extra);
    auto s = make_rabbitmq_source(v);
    EXPECT_TRUE(s) << s.error().message();
    if (!s)
        return nullptr;
    auto st = (*s)->open(ctx, state);
    EXPECT_TRUE(st) << st.error().message();
    return st ? std::move(*s) : nullptr;
}

std::vector<amqp_msg> drain(amqp_client& c, const std::string& queue) {
    std::vector<amqp_msg> out;
    for (;;) {
        auto m = c.get(queue);
        EXPECT_TRUE(m) << m.error().message();
        if (!m || !*m)
            return out;
        out.push_back(std::move(**m));
    }
}

const header* find(const message& m, std::string_view k) {
    return m.find_header(k);
}

TEST(rabbitmq_connectors, specs_refuse_bad_options_naming_the_key) {
    auto src_problems = spec_problems(rabbitmq_source_spec(), "prefetch_count = 10\n");
    EXPECT_NE(src_problems.find("queue"), std::string::npos) << src_problems;
    auto url_problems =
        spec_problems(rabbitmq_sink_spec(), "amqp_url = \"http://secret-pw@host/\"\n");
    EXPECT_NE(url_problems.find("amqp_url"), std::string::npos) << url_problems;
    EXPECT_EQ(url_problems.find("secret-pw"), std::string::npos) << url_problems;
    auto tmpl = spec_problems(rabbitmq_sink_spec(), "routing_key = \"{nope}\"\n");
    EXPECT_NE(tmpl.find("routing_key"), std::string::npos) << tmpl;
    auto off = spec_problems(rabbitmq_source_spec(), "queue = \"q\"\nstream_offset = \"soon\"\n");
    EXPECT_NE(off.find("stream_offset"), std::string::npos) << off;
    EXPECT_EQ(spec_problems(rabbitmq_source_spec(), "queue = \"q\"\nstream_offset = \"42\"\n"), "");
}

TEST(rabbitmq_sink, publishes_with_confirms_templates_headers_and_message_ids) {
    REQUIRE_BROKER();
    auto c = client();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->declare_exchange("sink_x", "topic"));
    ASSERT_TRUE(c->declare_queue("sink_q"));
    ASSERT_TRUE(c->bind("sink_q", "sink_x", "shop.orders.#"));
    connector_context ctx;
    ctx.key = "sink1";
    auto s = open_sink(
        "exchange = \"sink_x\"\nrouting_key = \"{stream}.{topic}.{header:region}\"\n", ctx);
    ASSERT_TRUE(s);
    std::int32_t n = -42;
    std::string n_bytes(4, '\0');
    std::memcpy(n_bytes.data(), &n, 4);
    batch_fixture f(
        {{"{\"a\":1}",
          {header{"region", value_kind::string, "eu"}, header{"n", value_kind::int32, n_bytes}}},
         {"{\"a\":2}", {header{"region", value_kind::string, "us"}}},
         {"{\"a\":3}", {header{"region", value_kind::string, "eu"}}}},
        100);
    auto r = s->write(f.sb);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->rejected.empty());
    auto got = drain(*c, "sink_q");
    ASSERT_EQ(got.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(got[i].body, std::string(f.b.messages[i].payload));
        EXPECT_EQ(got[i].message_id, to_hex(f.b.messages[i].id));
        EXPECT_EQ(got[i].delivery_mode, 2);
        EXPECT_EQ(got[i].exchange, "sink_x");
        EXPECT_EQ(got[i].headers["iggy_offset"], std::to_string(100 + i));
        EXPECT_EQ(got[i].headers["iggy_stream"], "shop");
        EXPECT_EQ(got[i].headers["iggy_partition_id"], "2");
    }
    EXPECT_EQ(got[0].routing_key, "shop.orders.eu");
    EXPECT_EQ(got[1].routing_key, "shop.orders.us");
    EXPECT_EQ(got[0].headers["n"], "-42");
    EXPECT_EQ(got[0].kinds["n"], static_cast<char>(AMQP_FIELD_KIND_I32));
    s->close();
}

TEST(rabbitmq_sink, unroutable_and_unrenderable_messages_go_to_the_error_policy) {
    REQUIRE_BROKER();
    auto c = client();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->declare_exchange("ret_x", "direct"));
    ASSERT_TRUE(c->declare_queue("ret_q"));
    ASSERT_TRUE(c->bind("ret_q", "ret_x", "bound"));
    connector_context ctx;
    ctx.key = "sink2";
    auto s = open_sink(
        "exchange = \"ret_x\"\nexchange_type = \"direct\"\n"
        "routing_key = \"{header:rk}\"\n",
        ctx);
    ASSERT_TRUE(s);
    batch_fixture f({{"one", {header{"rk", value_kind::string, "bound"}}},
                     {"two", {header{"rk", value_kind::string, "nobody-listens"}}},
                     {"three", {}},
                     {"four", {header{"rk", value_kind::string, "bound"}}}});
    auto r = s->write(f.sb);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->rejected.size(), 2u);
    std::sort(r->rejected.begin(), r->rejected.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    EXPECT_EQ(r->rejected[0].index, 1u);
    EXPECT_NE(r->rejected[0].err.message().find("unroutable"), std::string::npos)
        << r->rejected[0].err.message();
    EXPECT_NE(r->rejected[0].err.message().find("nobody-listens"), std::string::npos);
    EXPECT_EQ(r->rejected[1].index, 2u);
    EXPECT_NE(r->rejected[1].err.message().find("header 'rk' is missing"), std::string::npos)
        << r->rejected[1].err.message();
    auto got = drain(*c, "ret_q");
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].body, "one");
    EXPECT_EQ(got[1].body, "four");
}

TEST(rabbitmq_sink, a_missing_exchange_is_a_fatal_error_at_open) {
    REQUIRE_BROKER();
    auto v = spec_values(rabbitmq_sink_spec(),
                         conn_toml() + "exchange = \"does_not_exist\"\ndeclare_exchange = false\n");
    auto s = make_rabbitmq_sink(v);
    ASSERT_TRUE(s);
    connector_context ctx;
    auto st = (*s)->open(ctx);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::not_found) << st.error().to_string();
    EXPECT_FALSE(st.error().retryable());
    (*s)->close();
}

TEST(rabbitmq_connectors, a_wrong_password_is_a_clear_error_without_the_password) {
    REQUIRE_BROKER();
    const std::string pw = "Wr0ng-Secret-Pw";
    auto v = spec_values(rabbitmq_source_spec(),
                         "amqp_url = \"" + g_broker->url("guest", pw) + "\"\nqueue = \"q\"\n");
    auto s = make_rabbitmq_source(v);
    ASSERT_TRUE(s);
    connector_context ctx;
    auto st = (*s)->open(ctx, "");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::unauthenticated) << st.error().to_string();
    EXPECT_FALSE(st.error().retryable());
    EXPECT_NE(st.error().message().find("guest"), std::string::npos);
    EXPECT_EQ(st.error().message().find(pw), std::string::npos) << st.error().message();
    (*s)->close();
}

// Polls until `n` messages (and rejects) came, acking nothing. A deque: batches never move once
// stored (a vector's growth copies them, and a copied batch's payload views point into the
// arena of the one destroyed).
std::deque<source_batch> poll_n(source& s, std::size_t n) {
    std::deque<source_batch> out;
    std::size_t got = 0;
    EXPECT_TRUE(wait_until(
        [&] {
            auto b = s.poll(100ms);
            EXPECT_TRUE(b) << b.error().message();
            if (b && (b->batch.size() + b->rejected.size()) > 0) {
                got += b->batch.size() + b->rejected.size();
                out.push_back(std::move(*b));
            }
            return got >= n;
        },
        30s));
    return out;
}

TEST(rabbitmq_source, acks_only_after_iggy_acknowledged_and_redelivers_otherwise) {
    REQUIRE_BROKER();
    auto c = client();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->declare_queue("src_q", "quorum"));
    std::vector<std::string> bodies;
    for (int i = 0; i < 20; ++i)
        bodies.push_back("msg-" + std::to_string(i));
    ASSERT_TRUE(c->publish_many("", "src_q", bodies, true));
    std::vector<message_id> first_ids;
    {
        connector_context ctx;
        ctx.key = "src1";
        auto s = open_source("queue = \"src_q\"\nprefetch_count = 50\n", ctx);
        ASSERT_TRUE(s);
        auto batches = poll_n(*s, 20);
        for (const auto& b : batches)
            for (const auto& m : b.batch.messages) {
                first_ids.push_back(m.id);
                EXPECT_FALSE(m.id.is_zero());
                auto* rd = find(m, "amqp_redelivered");
                ASSERT_NE(rd, nullptr);
                EXPECT_EQ(rd->value, std::string(1, '\0'));
            }
        // Unacknowledged: nothing is ready in the queue while the source holds them.
        auto ready = c->count("src_q");
        ASSERT_TRUE(ready);
        EXPECT_EQ(*ready, 0u);
        s->close();  // no ack: the broker requeues all 20
    }
    ASSERT_TRUE(wait_until([&] { return c->count("src_q").value_or(0) == 20; }, 10s));
    {
        connector_context ctx;
        ctx.key = "src1";
        auto s = open_source("queue = \"src_q\"\nprefetch_count = 50\n", ctx);
        ASSERT_TRUE(s);
        auto batches = poll_n(*s, 20);
        std::set<std::string> seen;
        std::vector<message_id> ids;
        std::uint64_t seq = 0;
        for (const auto& b : batches) {
            ++seq;
            for (const auto& m : b.batch.messages) {
                seen.insert(std::string(m.payload));
                ids.push_back(m.id);
                auto* rd = find(m, "amqp_redelivered");
                ASSERT_NE(rd, nullptr);
                EXPECT_EQ(rd->value, std::string(1, '\1'));  // counted as a redelivery
            }
        }
        EXPECT_EQ(seen.size(), 20u);
        // The message-id property makes the Iggy id deterministic across redeliveries.
        EXPECT_EQ(ids, first_ids);
        for (std::uint64_t i = 1; i <= seq; ++i)
            s->ack(i);
        (void)s->poll(10ms);  // the acks leave from the polling thread
        s->close();
    }
    ASSERT_TRUE(wait_until([&] { return c->count("src_q").value_or(99) == 0; }, 10s));
    // Still zero a moment later: nothing was requeued by the close.
    auto again = client();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->count("src_q").value_or(99), 0u);
}

TEST(rabbitmq_source, a_nacked_batch_is_requeued_and_comes_again) {
    REQUIRE_BROKER();
    auto c = client();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->declare_queue("nack_q"));
    ASSERT_TRUE(c->publish_many("", "nack_q", {"a", "b", "c"}, false));
    connector_context ctx;
    ctx.key = "src2";
    auto s = open_source("queue = \"nack_q\"\n", ctx);
    ASSERT_TRUE(s);
    auto first = poll_n(*s, 3);
    for (std::uint64_t i = 1; i <= first.size(); ++i)
        s->nack(i);
    auto second = poll_n(*s, 3);
    std::set<std::string> seen;
    for (const auto& b : second)
        for (const auto& m : b.batch.messages) {
            seen.insert(std::string(m.payload));
            EXPECT_EQ(find(m, "amqp_redelivered")->value, std::string(1, '\1'));
            EXPECT_TRUE(m.id.is_zero());  // no message-id property: Iggy draws one
        }
    EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "c"}));
    for (std::uint64_t i = first.size() + 1; i <= first.size() + second.size(); ++i)
        s->ack(i);
    s->close();
    EXPECT_TRUE(wait_until([&] { return c->count("nack_q").value_or(99) == 0; }, 10s));
}

TEST(rabbitmq_source, hostile_headers_and_empty_bodies_go_to_the_error_policy) {
    REQUIRE_BROKER();
    auto c = client();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->declare_queue("bad_q"));
    const std::string long_value(300, 'x'), k = "big";
    amqp_table_entry_t e{};
    e.key = amqp_bytes_t{k.size(), const_cast<char*>(k.data())};
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = amqp_bytes_t{long_value.size(), const_cast<char*>(long_value.data())};
    amqp_table_t t{1, &e};
    ASSERT_TRUE(c->publish("", "bad_q", "payload", "", &t));
    ASSERT_TRUE(c->publish("", "bad_q", "", ""));
    ASSERT_TRUE(c->publish("", "bad_q", "fine", ""));
    connector_context ctx;
    auto s = open_source("queue = \"bad_q\"\n", ctx);
    ASSERT_TRUE(s);
    auto batches = poll_n(*s, 3);
    std::vector<std::string> reasons;
    std::size_t good = 0;
    for (const auto& b : batches) {
        good += b.batch.size();
        for (const auto& r : b.rejected)
            reasons.push_back(r.err.message());
    }
    EXPECT_EQ(good, 1u);
    ASSERT_EQ(reasons.size(), 2u);
    EXPECT_NE(reasons[0].find("300 bytes"), std::string::npos) << reasons[0];
    EXPECT_NE(reasons[1].find("empty body"), std::string::npos) << reasons[1];
    for (std::uint64_t i = 1; i <= batches.size(); ++i)
        s->ack(i);
    s->close();
    EXPECT_TRUE(wait_until([&] { return c->count("bad_q").value_or(99) == 0; }, 10s));
}

TEST(rabbitmq_source, stream_queue_resumes_from_the_persisted_offset) {
    REQUIRE_BROKER();
    auto c = client();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->declare_queue("events_stream", "stream"));
    std::vector<std::string> bodies;
    for (int i = 0; i < 10; ++i)
        bodies.push_back("e" + std::to_string(i));
    ASSERT_TRUE(c->publish_many("", "events_stream", bodies, false));
    std::string state;
    std::vector<message_id> ids;
    {
        connector_context ctx;
        ctx.key = "st";
        auto s = open_source(
            "queue = \"events_stream\"\nqueue_type = \"stream\"\n"
            "prefetch_count = 4\n",
            ctx);
        ASSERT_TRUE(s);
        std::vector<std::string> got;
        std::uint64_t seq = 0;
        ASSERT_TRUE(wait_until(
            [&] {
                auto b = s->poll(100ms);
                if (b && !b->batch.empty()) {
                    s->ack(++seq);  // Iggy has it: the stream may send more (prefetch 4)
                    EXPECT_TRUE(b->has_state);
                    state = b->state;
                    for (const auto& m : b->batch.messages) {
                        got.push_back(std::string(m.payload));
                        ids.push_back(m.id);
                    }
                }
                return got.size() >= 10;
            },
            30s));
        EXPECT_EQ(got, bodies);
        s->close();
    }
    EXPECT_NE(state.find("\"stream_offset\":10"), std::string::npos) << state;
    ASSERT_TRUE(c->publish_many("", "events_stream", {"e10", "e11"}, false));
    connector_context ctx;
    ctx.key = "st";
    auto s = open_source("queue = \"events_stream\"\nqueue_type = \"stream\"\n", ctx, state);
    ASSERT_TRUE(s);
    auto batches = poll_n(*s, 2);
    std::vector<std::string> rest;
    for (const auto& b : batches)
        for (const auto& m : b.batch.messages) {
            rest.push_back(std::string(m.payload));
            EXPECT_FALSE(m.id.is_zero());  // from the stream offset
        }
    EXPECT_EQ(rest, (std::vector<std::string>{"e10", "e11"}));
    s->close();
}

TEST(rabbitmq_connectors, a_broker_restart_in_the_middle_loses_nothing) {
    REQUIRE_BROKER();
    auto c = client();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->declare_queue("restart_in", "quorum"));
    ASSERT_TRUE(c->declare_queue("restart_out", "quorum"));
    std::vector<std::string> bodies;
    for (int i = 0; i < 200; ++i)
        bodies.push_back("r" + std::to_string(i));
    ASSERT_TRUE(c->publish_many("", "restart_in", bodies, true));
    c.reset();

    connector_context sctx, kctx;
    sctx.key = "restart_src";
    kctx.key = "restart_sink";
    auto src = open_source("queue = \"restart_in\"\nprefetch_count = 50\n", sctx);
    auto snk = open_sink("exchange = \"\"\nrouting_key = \"restart_out\"\n", kctx);
    ASSERT_TRUE(src && snk);
    // Source -> sink as the runtime would run them: ack a batch only after the sink confirmed;
    // an error is retried (the runtime's backoff) and never skips a message.
    std::set<std::string> moved;
    std::uint64_t seq = 0, offset = 0;
    bool restarted = false;
    std::size_t source_errors = 0, sink_errors = 0;
    ASSERT_TRUE(wait_until(
        [&] {
            if (!restarted && moved.size() >= 60) {
                EXPECT_TRUE(g_broker->restart());  // graceful stop (rabbitmqctl stop), then a start
                restarted = true;
            }
            auto b = src->poll(100ms);
            if (!b) {
                ++source_errors;
                return false;
            }
            if (b->batch.empty())
                return moved.size() >= bodies.size();
            ++seq;
            batch_fixture f({});
            for (const auto& m : b->batch.messages) {
                message copy = m;
                copy.payload = f.b.own(std::string(m.payload));
                copy.offset = offset++;
                f.b.messages.push_back(std::move(copy));
            }
            for (const auto give_up = std::chrono::steady_clock::now() + 120s;;) {
                if (std::chrono::steady_clock::now() > give_up) {
                    ADD_FAILURE() << "the sink did not get this batch confirmed in 120 s";
                    return true;
                }
                auto w = snk->write(f.sb);
                if (w) {
                    EXPECT_TRUE(w->rejected.empty());
                    break;
                }
                ++sink_errors;
                if (!w.error().retryable()) {
                    ADD_FAILURE() << w.error().message();
                    return true;
                }
                snk->close();
                connector_context again;
                again.key = "restart_sink";
                EXPECT_TRUE(wait_until([&] { return snk->open(again).has_value(); }, 60s));
            }
            src->ack(seq);
            for (const auto& m : f.b.messages)
                moved.insert(std::string(m.payload));
            return moved.size() >= bodies.size();
        },
        120s));
    EXPECT_TRUE(restarted);
    src->close();
    snk->close();
    auto out = client();
    ASSERT_TRUE(out);
    auto got = drain(*out, "restart_out");
    std::set<std::string> distinct;
    for (const auto& m : got)
        distinct.insert(m.body);
    EXPECT_EQ(distinct.size(), bodies.size()) << "missing after the broker restart";
    std::cerr << "broker restart: " << got.size() << " delivered, " << distinct.size()
              << " distinct, " << (got.size() - distinct.size()) << " duplicate(s); "
              << source_errors << " source and " << sink_errors << " sink error(s) retried\n";
}

}  // namespace
}  // namespace trib::test
