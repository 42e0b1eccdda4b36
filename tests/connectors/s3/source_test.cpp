// The S3 source against a real MinIO: records of each format read back in key order, the saved
// position only after an ack, resuming mid-object in a new instance (as after kill -9), nack
// redelivery, pattern/start_after, delete and move after read.

#include <gtest/gtest.h>

#include "connectors/s3/s3.h"
#include "connectors/s3/s3_store.h"
#include "minio_fixture.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using test::minio_password;
using test::minio_user;

struct minio_holder {
    std::unique_ptr<test::peer> peer;
    std::string reason;
};
minio_holder* g_env = nullptr;

class s3_source_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        g_env = new minio_holder;
        auto p = test::peer::start(test::minio_spec());
        if (!p)
            g_env->reason = p.error().message();
        else
            g_env->peer = std::move(p).value();
    }
    static void TearDownTestSuite() {
        delete g_env;
        g_env = nullptr;
    }

    void SetUp() override {
        if (!g_env->peer) {
            if (test::in_ci())
                FAIL() << "MinIO could not start (CI=true): " << g_env->reason;
            GTEST_SKIP() << "MinIO not available: " << g_env->reason;
        }
        bucket_ = "source-" + std::to_string(++counter_);
        auto made = test::minio_make_bucket(*g_env->peer, bucket_);
        ASSERT_TRUE(made) << made.error().to_string();
        s3_detail::s3_settings st;
        st.bucket = bucket_;
        st.endpoint = test::minio_endpoint(*g_env->peer);
        st.path_style = true;
        st.credentials = {minio_user, minio_password, "", "t"};
        store_ = s3_detail::make_s3_store(st);
    }

    void put(const std::string& key, const std::string& body) {
        auto r = store_->put_if_absent(key, body, "text/plain");
        ASSERT_TRUE(r) << r.error().to_string();
    }

    std::unique_ptr<source> open_source(const std::string& extra, std::string_view state = {}) {
        auto v = test::spec_values(
            s3_source_spec(), "bucket = \"" + bucket_ + "\"\nendpoint = \"" +
                                  test::minio_endpoint(*g_env->peer) + "\"\naccess_key_id = \"" +
                                  minio_user + "\"\nsecret_access_key = \"" + minio_password +
                                  "\"\npoll_interval = \"50ms\"\n" + extra);
        auto s = make_s3_source(v);
        EXPECT_TRUE(s) << s.error().to_string();
        if (!s)
            return nullptr;
        auto st = (*s)->open(ctx_, state);
        EXPECT_TRUE(st) << st.error().to_string();
        return std::move(s).value();
    }

    struct polled {
        std::vector<std::string> payloads;
        std::vector<std::string> rejected;
        std::string state;  // the last persisted one (after acks)
    };

    /// Polls until `want` payloads came (or a deadline), acknowledging every batch as the runtime
    /// does once Iggy has it.
    static polled drain(source& s, std::size_t want, bool ack = true) {
        polled out;
        std::uint64_t seq = 0;
        test::wait_until(
            [&] {
                auto r = s.poll(100ms);
                EXPECT_TRUE(r) << r.error().to_string();
                if (!r)
                    return true;
                for (const auto& m : r->batch.messages)
                    out.payloads.emplace_back(m.payload);
                for (const auto& rj : r->rejected)
                    out.rejected.emplace_back(rj.err.message());
                if (!r->batch.empty() || !r->rejected.empty()) {
                    ++seq;
                    if (ack) {
                        if (r->has_state)
                            out.state = r->state;
                        s.ack(seq);
                    }
                } else if (r->has_state && ack) {
                    out.state = r->state;
                }
                return out.payloads.size() >= want;
            },
            20s);
        return out;
    }

    connector_context ctx_{"s3src", "S3 source", {}, nullptr, {}};
    std::string bucket_;
    std::unique_ptr<s3_detail::object_store> store_;
    static inline int counter_ = 0;
};

TEST_F(s3_source_test, given_line_objects_should_read_them_in_key_order_in_small_chunks) {
    put("in/b.txt", "b1\nb2");
    put("in/a.txt", "a1\n\na2\r\n" + std::string(5000, 'z') + "\n");
    put("other/c.txt", "not read\n");
    auto s = open_source("prefix = \"in/\"\nread_chunk_size = 4096\n");
    auto p = drain(*s, 5);
    ASSERT_EQ(p.payloads.size(), 5u);
    EXPECT_EQ(p.payloads[0], "a1");
    EXPECT_EQ(p.payloads[1], "a2\r");  // LF is the delimiter; CR stays (Iggy's rule)
    EXPECT_EQ(p.payloads[2], std::string(5000, 'z'));
    EXPECT_EQ(p.payloads[3], "b1");
    EXPECT_EQ(p.payloads[4], "b2");
}

TEST_F(s3_source_test, given_a_restart_mid_object_should_resume_after_the_acked_records) {
    std::string body;
    for (int i = 0; i < 10; ++i)
        body += "rec" + std::to_string(i) + "||";
    put("data/x.log", body);
    auto s = open_source("custom_delimiter = \"||\"\nmax_batch_messages = 3\n");
    auto r1 = s->poll(2s);
    ASSERT_TRUE(r1);
    ASSERT_EQ(r1->batch.size(), 3u);
    ASSERT_TRUE(r1->has_state);
    s->ack(1);
    auto r2 = s->poll(2s);  // polled but never acknowledged: the process dies here
    ASSERT_TRUE(r2);
    ASSERT_EQ(r2->batch.size(), 3u);
    s.reset();
    // The runtime persisted r1's state only: a new process resumes at rec3.
    auto s2 = open_source("custom_delimiter = \"||\"\nmax_batch_messages = 3\n", r1->state);
    auto p = drain(*s2, 7);
    ASSERT_EQ(p.payloads.size(), 7u);
    EXPECT_EQ(p.payloads.front(), "rec3");
    EXPECT_EQ(p.payloads.back(), "rec9");
}

TEST_F(s3_source_test, given_a_nack_should_deliver_the_batch_again) {
    put("n.txt", "1\n2\n3\n4\n");
    auto s = open_source("max_batch_messages = 2\n");
    auto r1 = s->poll(2s);
    ASSERT_TRUE(r1);
    ASSERT_EQ(r1->batch.size(), 2u);
    s->nack(1);
    auto p = drain(*s, 4);
    ASSERT_EQ(p.payloads.size(), 4u);
    EXPECT_EQ(p.payloads[0], "1");
    EXPECT_EQ(p.payloads[3], "4");
}

TEST_F(s3_source_test, given_json_array_and_csv_objects_should_split_them) {
    put("j/1.json", R"([{"a":1}, {"b":[1,2]}, "s"])");
    auto sj = open_source("prefix = \"j/\"\nformat = \"json_array\"\n");
    auto pj = drain(*sj, 3);
    ASSERT_EQ(pj.payloads.size(), 3u);
    EXPECT_EQ(pj.payloads[1], R"({"b":[1,2]})");
    EXPECT_EQ(sj->schema(), "json");
    put("c/1.csv", "id,name\n1,\"x,y\"\n2,\"multi\nline\"\n");
    auto sc = open_source("prefix = \"c/\"\nformat = \"csv\"\n");
    auto pc = drain(*sc, 2);
    ASSERT_EQ(pc.payloads.size(), 2u);
    EXPECT_EQ(pc.payloads[0], R"({"id":"1","name":"x,y"})");
    EXPECT_EQ(pc.payloads[1], R"({"id":"2","name":"multi\nline"})");
}

TEST_F(s3_source_test, given_a_too_long_record_should_reject_it_and_go_on) {
    put("t.txt", "ok1\n" + std::string(3000, 'L') + "\nok2\n");
    auto s =
        open_source("max_record_bytes = 1024\nmax_batch_bytes = 4096\nread_chunk_size = 4096\n");
    auto p = drain(*s, 2);
    ASSERT_EQ(p.payloads.size(), 2u);
    EXPECT_EQ(p.payloads[1], "ok2");
    ASSERT_EQ(p.rejected.size(), 1u);
    EXPECT_NE(p.rejected[0].find("max_record_bytes"), std::string::npos);
}

TEST_F(s3_source_test, given_after_read_delete_and_move_should_act_after_the_ack) {
    put("d/1.txt", "x\n");
    auto s = open_source("prefix = \"d/\"\nafter_read = \"delete\"\n");
    auto p = drain(*s, 1);
    ASSERT_EQ(p.payloads.size(), 1u);
    // The delete happens on the poll after the ack.
    EXPECT_TRUE(test::wait_until(
        [&] {
            (void)s->poll(10ms);
            auto l = store_->list("d/", {}, {}, 10);
            return l && l->objects.empty();
        },
        10s));
    put("m/1.txt", "y\n");
    auto s2 = open_source("prefix = \"m/\"\nafter_read = \"move\"\nmove_prefix = \"m/done/\"\n");
    auto p2 = drain(*s2, 1);
    ASSERT_EQ(p2.payloads.size(), 1u);
    EXPECT_TRUE(test::wait_until(
        [&] {
            (void)s2->poll(10ms);
            auto l = store_->list("m/", {}, {}, 10);
            return l && l->objects.size() == 1 && l->objects[0].key == "m/done/m/1.txt";
        },
        10s));
}

TEST_F(s3_source_test, given_pattern_and_start_after_should_read_only_matching_keys) {
    put("k/a.csv", "no\n");
    put("k/b.log", "no\n");
    put("k/c.log", "yes\n");
    auto s = open_source("start_after = \"k/b.log\"\npattern = \"k/*.log\"\n");
    auto p = drain(*s, 1);
    ASSERT_EQ(p.payloads.size(), 1u);
    EXPECT_EQ(p.payloads[0], "yes");
    auto extra = s->poll(200ms);
    ASSERT_TRUE(extra);
    EXPECT_TRUE(extra->batch.empty());
}

}  // namespace
}  // namespace trib::connectors
