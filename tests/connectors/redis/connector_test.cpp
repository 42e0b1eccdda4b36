// The Redis source and sink against a real redis-server 7.0 (one per test binary, with a
// password and an ACL user): every sink mode, offset ids refusing replays, a refused message
// going to the error policy while the rest is written; stream entries acknowledged only after
// ack(), re-read after a crash, claimed from a dead consumer, sent again after a nack; the list
// queue with its processing list; pub/sub; refused credentials.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "connectors/redis/redis.h"
#include "core/message_id.h"
#include "redis_fixture.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using test::redis_client;

constexpr const char* password = "env-pass";

// One redis-server for the whole suite, with a password and an ACL user.
class redis_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        test::redis_options o;
        o.requirepass = password;
        o.users = {{"app", "app-pass"}};
        auto p = test::peer::start(test::redis_spec(o));
        if (!p) {
            error_ = p.error().message();
            return;
        }
        server_ = std::move(*p);
    }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override {
        if (!server_) {
            if (test::in_ci())
                FAIL() << "redis-server could not start (CI=true): " << error_;
            GTEST_SKIP() << "redis-server not available: " << error_;
        }
        port_ = server_->port();
        client_ = std::make_unique<redis_client>(port_, password);
        ASSERT_TRUE(client_->ok());
        ctx_.key = "t";
        ctx_.routes = {{"s", "t"}};
    }
    std::string conn() const {
        return "connection_url = \"redis://127.0.0.1:" + std::to_string(port_) +
               "\"\npassword = \"" + password + "\"\n";
    }
    std::unique_ptr<sink> make_sink(const std::string& extra) {
        auto v = test::spec_values(redis_sink_spec(), conn() + extra);
        auto s = make_redis_sink(v);
        EXPECT_TRUE(s) << s.error().message();
        if (!s)
            return nullptr;
        auto st = (*s)->open(ctx_);
        EXPECT_TRUE(st) << st.error().message();
        return std::move(*s);
    }
    std::unique_ptr<source> make_source(const std::string& extra) {
        auto v = test::spec_values(redis_source_spec(), conn() + extra);
        auto s = make_redis_source(v);
        EXPECT_TRUE(s) << s.error().message();
        if (!s)
            return nullptr;
        auto st = (*s)->open(ctx_, "");
        EXPECT_TRUE(st) << st.error().message();
        return std::move(*s);
    }
    static message_batch batch_of(const std::vector<std::string>& payloads,
                                  std::uint64_t first_offset = 0) {
        message_batch b;
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            message m;
            m.payload = b.own(payloads[i]);
            m.offset = first_offset + i;
            m.id = {first_offset + i + 1, 77};
            b.messages.push_back(std::move(m));
        }
        return b;
    }
    static sink_batch view(const message_batch& b, std::uint32_t partition = 0) {
        sink_batch s;
        s.stream = "shop";
        s.topic = "orders";
        s.partition = partition;
        s.schema = "json";
        s.messages = &b;
        return s;
    }
    // Polls until `n` messages came (or the deadline); returns them with their batch sequences.
    struct polled {
        std::vector<std::string> payloads;
        std::vector<message_id> ids;
        std::vector<std::uint64_t> seqs;
    };
    static polled poll_n(source& s, std::size_t n, std::uint64_t& seq) {
        polled out;
        test::wait_until(
            [&] {
                auto b = s.poll(50ms);
                EXPECT_TRUE(b) << b.error().message();
                if (b && !b->batch.empty()) {
                    out.seqs.push_back(++seq);
                    for (const auto& m : b->batch.messages) {
                        out.payloads.emplace_back(m.payload);
                        out.ids.push_back(m.id);
                    }
                }
                return out.payloads.size() >= n;
            },
            20s);
        return out;
    }
    long long pending(const std::string& key, const std::string& group) {
        auto r = client_->cmd({"XPENDING", key, group});
        return r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? r->element[0]->integer : -1;
    }

    static inline std::unique_ptr<test::peer> server_;
    static inline std::string error_;
    std::uint16_t port_ = 0;
    std::unique_ptr<redis_client> client_;
    connector_context ctx_;
};

std::vector<std::string> numbered(std::size_t n, const std::string& prefix = "m") {
    std::vector<std::string> v;
    for (std::size_t i = 0; i < n; ++i)
        v.push_back(prefix + std::to_string(i));
    return v;
}

TEST_F(redis_test, sink_stream_writes_every_message_with_metadata) {
    auto s = make_sink("mode = \"stream\"\nkey = \"st1:{stream}:{topic}\"\nmax_len = 100000\n");
    ASSERT_TRUE(s);
    auto b = batch_of(numbered(2500));
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->rejected.empty());
    EXPECT_EQ(client_->integer({"XLEN", "st1:shop:orders"}), 2500);
    auto last = client_->cmd({"XREVRANGE", "st1:shop:orders", "+", "-", "COUNT", "1"});
    ASSERT_TRUE(last && last->elements == 1);
    std::map<std::string, std::string> f;
    const redisReply* fields = last->element[0]->element[1];
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2)
        f[fields->element[i]->str] = fields->element[i + 1]->str;
    EXPECT_EQ(f["payload"], "m2499");
    EXPECT_EQ(f["iggy_offset"], "2499");
    EXPECT_FALSE(s->idempotent());
}

TEST_F(redis_test, sink_stream_offset_ids_refuse_replays) {
    auto s = make_sink(
        "key = \"st2:{stream}:{topic}:{partition}\"\nentry_id = \"offset\"\n"
        "include_metadata = false\n");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->idempotent());
    auto b = batch_of(numbered(300));
    ASSERT_TRUE(s->write(view(b, 1)));
    // A crash before the commit: the runtime delivers an overlapping range again.
    auto again = batch_of(numbered(400), 0);
    auto r = s->write(view(again, 1));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->rejected.empty());
    EXPECT_EQ(client_->integer({"XLEN", "st2:shop:orders:1"}), 400);
    auto first = client_->cmd({"XRANGE", "st2:shop:orders:1", "-", "+", "COUNT", "1"});
    ASSERT_TRUE(first && first->elements == 1);
    EXPECT_EQ(std::string(first->element[0]->element[0]->str), "0-2");
}

TEST_F(redis_test, sink_refused_message_goes_to_error_policy_and_others_are_written) {
    client_->cmd({"SET", "bad:q", "a string, not a list"});
    auto s = make_sink("mode = \"list\"\nkey = \"{field:q}:q\"\n");
    ASSERT_TRUE(s);
    auto b = batch_of({R"({"q":"good"})", R"({"q":"bad"})", "not json", R"({"q":"good"})"});
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->rejected.size(), 2u);
    EXPECT_EQ(r->rejected[0].index, 1u);
    EXPECT_NE(r->rejected[0].err.message().find("WRONGTYPE"), std::string::npos);
    EXPECT_EQ(r->rejected[0].err.retry(), retry_class::fatal);
    EXPECT_EQ(r->rejected[1].index, 2u);
    EXPECT_EQ(client_->integer({"LLEN", "good:q"}), 2);
}

TEST_F(redis_test, sink_keyed_modes_are_idempotent_and_set_ttl) {
    auto h = make_sink("mode = \"hash\"\nkey = \"user:{field:id}\"\nttl = \"1h\"\n");
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->idempotent());
    auto b = batch_of({R"({"id":"1","name":"Ann"})", R"({"id":"2","name":"Bob","n":3})"});
    ASSERT_TRUE(h->write(view(b)));
    ASSERT_TRUE(h->write(view(b)));  // a replay
    EXPECT_EQ(client_->str({"HGET", "user:2", "name"}), "Bob");
    EXPECT_EQ(client_->integer({"HLEN", "user:2"}), 3);
    EXPECT_GT(client_->integer({"PTTL", "user:1"}), 0);

    auto z = make_sink(
        "mode = \"zset\"\nkey = \"board\"\nmember = \"{field:name}\"\n"
        "score_field = \"n\"\n");
    ASSERT_TRUE(z);
    auto zb = batch_of({R"({"name":"a","n":5})", R"({"name":"b","n":1.5})"});
    ASSERT_TRUE(z->write(view(zb)));
    ASSERT_TRUE(z->write(view(zb)));
    EXPECT_EQ(client_->strings({"ZRANGE", "board", "0", "-1"}),
              (std::vector<std::string>{"b", "a"}));

    auto st = make_sink("mode = \"set\"\nkey = \"tags\"\n");
    ASSERT_TRUE(st);
    auto sb = batch_of({"x", "y", "x"});
    ASSERT_TRUE(st->write(view(sb)));
    EXPECT_EQ(client_->integer({"SCARD", "tags"}), 2);

    auto kv = make_sink("mode = \"string\"\nkey = \"kv:{offset}\"\nttl = \"10m\"\n");
    ASSERT_TRUE(kv);
    auto kb = batch_of({"v0", "v1"}, 10);
    ASSERT_TRUE(kv->write(view(kb)));
    EXPECT_EQ(client_->str({"GET", "kv:11"}), "v1");
    EXPECT_GT(client_->integer({"PTTL", "kv:11"}), 0);
}

TEST_F(redis_test, source_stream_acks_only_after_ack_and_has_stable_ids) {
    for (int i = 0; i < 300; ++i)
        client_->cmd({"XADD", "in1", "*", "payload", "e" + std::to_string(i), "kind", "k"});
    auto s = make_source("keys = [\"in1\"]\ngroup = \"g1\"\nconsumer = \"c1\"\ncount = 100\n");
    ASSERT_TRUE(s);
    std::uint64_t seq = 0;
    auto got = poll_n(*s, 300, seq);
    ASSERT_EQ(got.payloads.size(), 300u);
    EXPECT_EQ(got.payloads.front(), "e0");
    EXPECT_EQ(pending("in1", "g1"), 300);  // read, not yet acknowledged
    for (auto q : got.seqs)
        s->ack(q);
    EXPECT_EQ(pending("in1", "g1"), 0);
    // Same entries read by another group: the same ids (key and entry id, not the reader).
    auto other = make_source("keys = [\"in1\"]\ngroup = \"g1b\"\nconsumer = \"c1\"\n");
    ASSERT_TRUE(other);
    std::uint64_t seq2 = 0;
    auto again = poll_n(*other, 300, seq2);
    EXPECT_EQ(again.ids, got.ids);
    std::set<std::string> distinct;
    for (const auto& id : got.ids)
        distinct.insert(to_hex(id));
    EXPECT_EQ(distinct.size(), 300u);
}

TEST_F(redis_test, source_stream_rereads_its_pending_entries_after_a_crash) {
    for (int i = 0; i < 50; ++i)
        client_->cmd({"XADD", "in2", "*", "payload", "p" + std::to_string(i)});
    std::vector<message_id> first_ids;
    {
        auto s = make_source("keys = [\"in2\"]\ngroup = \"g2\"\nconsumer = \"c2\"\n");
        ASSERT_TRUE(s);
        std::uint64_t seq = 0;
        auto got = poll_n(*s, 50, seq);
        ASSERT_EQ(got.payloads.size(), 50u);
        first_ids = got.ids;
        // "Crash": closed without ack.
    }
    client_->cmd({"XADD", "in2", "*", "payload", "new"});
    auto s = make_source("keys = [\"in2\"]\ngroup = \"g2\"\nconsumer = \"c2\"\n");
    ASSERT_TRUE(s);
    std::uint64_t seq = 0;
    auto got = poll_n(*s, 51, seq);
    ASSERT_EQ(got.payloads.size(), 51u);
    EXPECT_EQ(std::vector<message_id>(got.ids.begin(), got.ids.begin() + 50), first_ids);
    EXPECT_EQ(got.payloads.back(), "new");
    for (auto q : got.seqs)
        s->ack(q);
    EXPECT_EQ(pending("in2", "g2"), 0);
}

TEST_F(redis_test, source_stream_claims_entries_a_dead_consumer_left_pending) {
    for (int i = 0; i < 20; ++i)
        client_->cmd({"XADD", "in3", "*", "payload", "c" + std::to_string(i)});
    {
        auto dead = make_source("keys = [\"in3\"]\ngroup = \"g3\"\nconsumer = \"dead\"\n");
        ASSERT_TRUE(dead);
        std::uint64_t seq = 0;
        ASSERT_EQ(poll_n(*dead, 20, seq).payloads.size(), 20u);
    }
    auto s = make_source(
        "keys = [\"in3\"]\ngroup = \"g3\"\nconsumer = \"alive\"\n"
        "claim_min_idle = \"1ms\"\nclaim_interval = \"10ms\"\n");
    ASSERT_TRUE(s);
    std::uint64_t seq = 0;
    auto got = poll_n(*s, 20, seq);
    ASSERT_EQ(got.payloads.size(), 20u);
    for (auto q : got.seqs)
        s->ack(q);
    EXPECT_EQ(pending("in3", "g3"), 0);
}

TEST_F(redis_test, source_stream_sends_a_nacked_batch_again) {
    for (int i = 0; i < 10; ++i)
        client_->cmd({"XADD", "in4", "*", "payload", "n" + std::to_string(i)});
    auto s = make_source("keys = [\"in4\"]\ngroup = \"g4\"\nconsumer = \"c4\"\n");
    ASSERT_TRUE(s);
    std::uint64_t seq = 0;
    auto got = poll_n(*s, 10, seq);
    ASSERT_EQ(got.payloads.size(), 10u);
    for (auto q : got.seqs)
        s->nack(q);
    auto again = poll_n(*s, 10, seq);
    EXPECT_EQ(again.ids, got.ids);
    EXPECT_EQ(pending("in4", "g4"), 10);
    for (auto q : again.seqs)
        s->ack(q);
    EXPECT_EQ(pending("in4", "g4"), 0);
}

TEST_F(redis_test, source_list_keeps_elements_in_the_processing_list_until_ack) {
    for (int i = 0; i < 40; ++i)
        client_->cmd({"LPUSH", "q1", "l" + std::to_string(i)});
    std::vector<std::string> crashed;
    {
        auto s = make_source("mode = \"list\"\nkeys = [\"q1\"]\ncount = 25\n");
        ASSERT_TRUE(s);
        std::uint64_t seq = 0;
        auto got = poll_n(*s, 25, seq);
        ASSERT_EQ(got.payloads.size(), 25u);
        EXPECT_EQ(got.payloads.front(), "l0");  // first in, first out
        EXPECT_EQ(client_->integer({"LLEN", "q1:processing:t"}), 25);
        s->ack(got.seqs.front());
        EXPECT_EQ(client_->integer({"LLEN", "q1:processing:t"}), 0);
        auto more = poll_n(*s, 15, seq);
        ASSERT_EQ(more.payloads.size(), 15u);
        crashed = more.payloads;  // not acknowledged: a crash
    }
    EXPECT_EQ(client_->integer({"LLEN", "q1"}), 0);
    auto s = make_source("mode = \"list\"\nkeys = [\"q1\"]\n");
    ASSERT_TRUE(s);
    std::uint64_t seq = 0;
    auto got = poll_n(*s, 15, seq);
    EXPECT_EQ(got.payloads, crashed);
    for (auto q : got.seqs)
        s->ack(q);
    EXPECT_EQ(client_->integer({"LLEN", "q1:processing:t"}), 0);
}

TEST_F(redis_test, pubsub_sink_to_pubsub_source) {
    auto src = make_source("mode = \"pubsub\"\nkeys = [\"ch.a\"]\npatterns = [\"news.*\"]\n");
    ASSERT_TRUE(src);
    auto snk = make_sink("mode = \"publish\"\nkey = \"{field:to}\"\n");
    ASSERT_TRUE(snk);
    auto b = batch_of(
        {R"({"to":"ch.a","n":1})", R"({"to":"news.x","n":2})", R"({"to":"elsewhere","n":3})"});
    ASSERT_TRUE(snk->write(view(b)));
    std::uint64_t seq = 0;
    auto got = poll_n(*src, 2, seq);
    ASSERT_EQ(got.payloads.size(), 2u);
    EXPECT_EQ(got.payloads[0], R"({"to":"ch.a","n":1})");
    EXPECT_EQ(got.payloads[1], R"({"to":"news.x","n":2})");
}

TEST_F(redis_test, acl_user_works_and_wrong_credentials_are_fatal) {
    auto v = test::spec_values(redis_sink_spec(),
                               "connection_url = \"redis://app:app-pass@127.0.0.1:" +
                                   std::to_string(port_) + "/2\"\nmode = \"string\"\n");
    auto s = make_redis_sink(v);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->open(ctx_));
    auto b = batch_of({"acl"});
    ASSERT_TRUE((*s)->write(view(b)));
    client_->cmd({"SELECT", "2"});
    EXPECT_EQ(client_->str({"GET", "shop:orders"}), "acl");
    client_->cmd({"SELECT", "0"});

    auto bad =
        test::spec_values(redis_source_spec(), "connection_url = \"redis://app:wrong@127.0.0.1:" +
                                                   std::to_string(port_) + "\"\nkeys = [\"x\"]\n");
    auto src = make_redis_source(bad);
    ASSERT_TRUE(src);
    auto st = (*src)->open(ctx_, "");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::unauthenticated);
    EXPECT_EQ(st.error().retry(), retry_class::fatal);
    EXPECT_EQ(st.error().message().find("wrong"), std::string::npos);  // no secret in the text
}

TEST(redis_spec, bad_options_are_reported_with_their_key) {
    auto p = test::spec_problems(redis_sink_spec(),
                                 "entry_id = \"offset\"\nkey = \"{stream}\"\nttl = \"1s\"\n");
    EXPECT_NE(p.find("plugin_config.key"), std::string::npos) << p;
    EXPECT_NE(p.find("plugin_config.ttl"), std::string::npos) << p;
    auto q = test::spec_problems(redis_source_spec(),
                                 "mode = \"list\"\nkeys = [\"a\", \"b\"]\n"
                                 "connection_url = \"rediss//x\"\n");
    EXPECT_NE(q.find("plugin_config.keys"), std::string::npos) << q;
    EXPECT_NE(q.find("plugin_config.connection_url"), std::string::npos) << q;
    EXPECT_NE(
        test::spec_problems(redis_sink_spec(), "key = \"{nope}\"").find("unknown placeholder"),
        std::string::npos);
}

}  // namespace
}  // namespace trib::connectors
