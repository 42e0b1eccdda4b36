// The HTTP polling source against canned API responses served by receiver.py: item extraction by
// JSON path, the three pagination styles, cursor persistence across restarts, nack rewinds,
// error classes, and a run through the runtime's source pipeline.

#include <gtest/gtest.h>

#include "connectors/http/http.h"
#include "connectors/http/util.h"
#include "http_test_util.h"
#include "runtime/memory_iggy.h"
#include "runtime/source_pipeline.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using test::str_of;

class http_poll_test : public ::testing::Test {
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

    std::unique_ptr<source> open_source(const std::string& toml, const std::string& state = "") {
        auto v = test::values_of(http_poll_source_spec(), toml);
        auto s = make_http_poll_source(v);
        EXPECT_TRUE(s) << s.error().to_string();
        if (!s)
            return nullptr;
        ctx_.key = "poll_test";
        auto st = (*s)->open(ctx_, state);
        EXPECT_TRUE(st) << st.error().to_string();
        return std::move(*s);
    }

    /// Polls (acking every batch) until `n` messages came or `deadline`.
    std::vector<std::string> poll_n(source& s, std::size_t n, std::string* state = nullptr,
                                    std::chrono::milliseconds deadline = 5s) {
        std::vector<std::string> got;
        test::wait_until(
            [&] {
                auto r = s.poll(20ms);
                EXPECT_TRUE(r) << r.error().to_string();
                if (!r)
                    return true;
                if (r->has_state && state)
                    *state = r->state;
                for (const auto& m : r->batch.messages)
                    got.emplace_back(m.payload);
                if (!r->batch.empty())
                    s.ack(++seq_);
                return got.size() >= n;
            },
            deadline);
        return got;
    }

    /// The paths the source requested, in order.
    std::vector<std::string> paths() {
        std::vector<std::string> out;
        auto reqs = rc_->requests();
        for (const auto& q : reqs.GetArray())
            out.push_back(str_of(q, "path"));
        return out;
    }

    std::unique_ptr<test::peer> peer_;
    std::unique_ptr<test::receiver_client> rc_;
    connector_context ctx_;
    std::uint64_t seq_ = 0;
};

TEST(http_poll_spec, is_sound_and_checks_pagination_settings) {
    EXPECT_TRUE(config::check_spec(http_poll_source_spec()).empty());
    auto p = test::problems_of(http_poll_source_spec(),
                               "url = \"http://x/\"\npagination = \"cursor\"\n");
    EXPECT_NE(p.find("cursor_path"), std::string::npos) << p;
    EXPECT_NE(p.find("cursor_param"), std::string::npos) << p;
    p = test::problems_of(http_poll_source_spec(),
                          "url = \"http://x/\"\npagination = \"next_url\"\n");
    EXPECT_NE(p.find("next_url_path"), std::string::npos) << p;
    p = test::problems_of(http_poll_source_spec(), "url = \"http://x/\"\nitems_path = \"a[\"\n");
    EXPECT_NE(p.find("items_path"), std::string::npos) << p;
    p = test::problems_of(http_poll_source_spec(), "url = \"http://x/{page}\"\n");
    EXPECT_NE(p.find("unknown placeholder"), std::string::npos) << p;
    EXPECT_TRUE(test::problems_of(http_poll_source_spec(),
                                  "url = \"http://x/?after={cursor}\"\npagination = \"cursor\"\n"
                                  "cursor_path = \"next\"\n")
                    .empty());
}

TEST_F(http_poll_test, items_by_json_path_with_keys_then_waits_for_the_interval) {
    rc_->configure(R"({"routes": {"/orders": {"body":
        {"data": {"orders": [{"id": 1, "c": {"id": "a"}}, {"id": 2, "c": {"id": "b"}}]}}}}})");
    auto s = open_source("url = \"" + base() +
                         "/orders\"\nitems_path = \"data.orders\"\nkey_path = \"c.id\"\n"
                         "interval = \"1h\"\n[headers]\nX-Api = \"k1\"\n");
    ASSERT_TRUE(s);
    auto r = s->poll(100ms);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->batch.size(), 2u);
    EXPECT_EQ(r->batch.messages[0].payload, R"({"id":1,"c":{"id":"a"}})");
    EXPECT_EQ(r->batch.messages[1].key, "b");
    EXPECT_FALSE(r->has_state);  // no pagination, no position
    s->ack(1);
    auto again = s->poll(50ms);
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->batch.empty());
    auto reqs = rc_->requests();
    ASSERT_EQ(reqs.Size(), 1u);
    EXPECT_EQ(test::header_of(reqs[0], "X-Api"), "k1");
}

TEST_F(http_poll_test, id_path_gives_each_item_a_stable_id) {
    rc_->configure(R"({"routes": {"/ev": {"body":
        [{"id": 7, "v": "x"}, {"id": "7", "v": "y"}, {"id": 8, "v": "x"}, {"v": "none"}]}}})");
    std::vector<message_id> first;
    for (int run = 0; run < 2; ++run) {
        // Two instances (a restart): the same items, the same ids.
        auto s = open_source("url = \"" + base() + "/ev\"\nid_path = \"id\"\ninterval = \"1h\"\n");
        ASSERT_TRUE(s);
        auto r = s->poll(100ms);
        ASSERT_TRUE(r) << r.error().to_string();
        ASSERT_EQ(r->batch.size(), 4u);
        std::vector<message_id> ids;
        for (const auto& m : r->batch.messages)
            ids.push_back(m.id);
        if (run == 0)
            first = ids;
        else
            EXPECT_EQ(ids, first);
        s->close();
    }
    // 7 and "7" are the same text: the same identity. 8 differs; no id: random (0 here).
    EXPECT_EQ(first[0], first[1]);
    EXPECT_EQ(first[0], http_detail::item_id("7"));
    EXPECT_NE(first[0], first[2]);
    EXPECT_TRUE(first[3].is_zero());
}

TEST_F(http_poll_test, follows_link_headers_back_to_back) {
    rc_->configure(R"({"routes": {"/items": [
        {"body": [1, 2], "headers": {"Link": "</items?page=1>; rel=\"next\""}},
        {"body": [3], "headers": {"Link": "<)" +
                   base() + R"(/items?page=2>; rel=\"next\", </items?page=0>; rel=\"first\""}},
        {"body": [4, 5]}]}})");
    auto s = open_source("url = \"" + base() +
                         "/items\"\npagination = \"link_header\"\ninterval = \"1h\"\n");
    ASSERT_TRUE(s);
    std::string state;
    auto got = poll_n(*s, 5, &state);
    EXPECT_EQ(got, (std::vector<std::string>{"1", "2", "3", "4", "5"}));
    EXPECT_EQ(paths(), (std::vector<std::string>{"/items", "/items?page=1", "/items?page=2"}));
    // The last page had no next link: the next cycle starts from the base URL.
    EXPECT_NE(state.find("\"next_url\":\"\""), std::string::npos) << state;
}

TEST_F(http_poll_test, follows_a_next_url_field) {
    rc_->configure(R"({"routes": {"/feed": [
        {"body": {"results": [{"n": 1}], "links": {"next": "/feed?page=1"}}},
        {"body": {"results": [{"n": 2}], "links": {"next": null}}}]}})");
    auto s = open_source("url = \"" + base() +
                         "/feed\"\nitems_path = \"results\"\npagination = \"next_url\"\n"
                         "next_url_path = \"links.next\"\ninterval = \"1h\"\n");
    ASSERT_TRUE(s);
    auto got = poll_n(*s, 2);
    EXPECT_EQ(got, (std::vector<std::string>{R"({"n":1})", R"({"n":2})"}));
    EXPECT_EQ(paths(), (std::vector<std::string>{"/feed", "/feed?page=1"}));
}

TEST_F(http_poll_test, cursor_is_persisted_and_resumed_after_a_restart) {
    rc_->configure(R"({"routes": {"/events": [
        {"body": {"items": ["a", "b"], "next_cursor": "1"}},
        {"body": {"items": ["c"], "next_cursor": "2"}},
        {"body": {"items": ["d"], "next_cursor": "3"}},
        {"body": {"items": [], "next_cursor": "3"}}]}})");
    const std::string toml = "url = \"" + base() +
                             "/events?limit=2\"\nitems_path = \"items\"\npagination = "
                             "\"cursor\"\ncursor_path = \"next_cursor\"\ncursor_param = "
                             "\"page\"\ninterval = \"100ms\"\n";
    auto s = open_source(toml);
    ASSERT_TRUE(s);
    std::string state;
    auto got = poll_n(*s, 4, &state);
    EXPECT_EQ(got, (std::vector<std::string>{"\"a\"", "\"b\"", "\"c\"", "\"d\""}));
    EXPECT_NE(state.find("\"cursor\":\"3\""), std::string::npos) << state;
    // The feed has nothing new: later cycles ask for page 3 again and get nothing.
    auto more = poll_n(*s, 1, nullptr, 400ms);
    EXPECT_TRUE(more.empty());
    auto p = paths();
    ASSERT_GE(p.size(), 5u);
    EXPECT_EQ(p[0], "/events?limit=2");
    EXPECT_EQ(p[1], "/events?limit=2&page=1");
    EXPECT_EQ(p.back(), "/events?limit=2&page=3");
    s->close();

    // A new instance with the persisted state starts where the first one was.
    rc_->reset();
    rc_->configure(R"({"routes": {"/events": [{}, {}, {},
        {"body": {"items": ["e"], "next_cursor": "4"}}]}})");
    auto s2 = open_source(toml, state);
    ASSERT_TRUE(s2);
    auto resumed = poll_n(*s2, 1);
    EXPECT_EQ(resumed, std::vector<std::string>{"\"e\""});
    EXPECT_EQ(paths().front(), "/events?limit=2&page=3");
}

TEST_F(http_poll_test, a_nack_fetches_again_from_the_last_acknowledged_position) {
    rc_->configure(R"({"routes": {"/q": [
        {"body": {"items": [1], "cursor": "1"}},
        {"body": {"items": [2], "cursor": "2"}},
        {"body": {"items": [3], "cursor": "3"}}]}})");
    auto s = open_source("url = \"" + base() +
                         "/q?page={cursor}\"\ninitial_cursor = \"0\"\nitems_path = \"items\"\n"
                         "pagination = \"cursor\"\ncursor_path = \"cursor\"\ninterval = \"1h\"\n");
    ASSERT_TRUE(s);
    auto b1 = s->poll(50ms);
    ASSERT_TRUE(b1 && b1->batch.size() == 1);
    auto b2 = s->poll(50ms);
    ASSERT_TRUE(b2 && b2->batch.size() == 1);
    EXPECT_EQ(b2->batch.messages[0].payload, "2");
    s->ack(1);
    s->nack(2);
    auto again = s->poll(50ms);
    ASSERT_TRUE(again);
    ASSERT_EQ(again->batch.size(), 1u);
    EXPECT_EQ(again->batch.messages[0].payload, "2");  // page 1 again (cursor of batch 1)
    EXPECT_EQ(paths(), (std::vector<std::string>{"/q?page=0", "/q?page=1", "/q?page=1"}));
}

TEST_F(http_poll_test, http_errors_carry_their_retry_class) {
    auto s = open_source("url = \"" + base() + "/x\"\ninterval = \"10ms\"\n");
    ASSERT_TRUE(s);
    rc_->configure(R"({"script": ["500"]})");
    auto r = s->poll(50ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().retry(), retry_class::retryable);
    rc_->configure(R"({"script": ["429"], "retry_after": "7"})");
    r = s->poll(50ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().retry(), retry_class::throttled);
    EXPECT_EQ(r.error().retry_after(), 7s);
    rc_->configure(R"({"script": ["401"]})");
    r = s->poll(50ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().retry(), retry_class::fatal);
    rc_->configure(R"({"routes": {"/x": {"body": "<html>oops"}}})");
    r = s->poll(50ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::protocol_error);
    EXPECT_TRUE(r.error().retryable());
}

TEST_F(http_poll_test, ndjson_raw_and_post_bodies) {
    rc_->configure(R"({"routes": {"/nd": {"body": "{\"a\": {\"v\": 1}}\n{\"a\": {\"v\": 2}}\n"},
                                  "/raw": {"body": "just text"}}})");
    auto nd =
        open_source("url = \"" + base() +
                    "/nd\"\nresponse_format = \"ndjson\"\nitems_path = \"a.v\"\n"
                    "interval = \"1h\"\nmethod = \"POST\"\nbody = '{\"after\": \"{cursor}\"}'\n"
                    "initial_cursor = \"c0\"\nbearer_token = \"poll-token\"\n");
    ASSERT_TRUE(nd);
    auto r = nd->poll(50ms);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->batch.size(), 2u);
    EXPECT_EQ(r->batch.messages[1].payload, "2");
    auto reqs = rc_->requests();
    ASSERT_EQ(reqs.Size(), 1u);
    EXPECT_EQ(str_of(reqs[0], "method"), "POST");
    EXPECT_EQ(str_of(reqs[0], "body"), "{\"after\": \"c0\"}");
    EXPECT_EQ(test::header_of(reqs[0], "Content-Type"), "application/json");
    EXPECT_EQ(test::header_of(reqs[0], "Authorization"), "Bearer poll-token");

    auto raw =
        open_source("url = \"" + base() + "/raw\"\nresponse_format = \"raw\"\ninterval = \"1h\"\n");
    ASSERT_TRUE(raw);
    r = raw->poll(50ms);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->batch.size(), 1u);
    EXPECT_EQ(r->batch.messages[0].payload, "just text");
}

/// Source state in memory, as the runtime's file store would keep it.
class memory_state final : public runtime::state_store {
  public:
    result<std::optional<std::string>> load(std::string_view key) override {
        std::lock_guard lk(mu_);
        auto it = s_.find(std::string(key));
        if (it == s_.end())
            return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    }
    status save(std::string_view key, std::string_view state) override {
        std::lock_guard lk(mu_);
        s_[std::string(key)] = std::string(state);
        return ok();
    }
    std::optional<std::string> get(const std::string& key) {
        std::lock_guard lk(mu_);
        auto it = s_.find(key);
        return it == s_.end() ? std::nullopt : std::optional<std::string>(it->second);
    }

  private:
    std::mutex mu_;
    std::map<std::string, std::string> s_;
};

TEST_F(http_poll_test, through_the_source_pipeline_into_iggy) {
    rc_->configure(R"({"routes": {"/p": [
        {"body": {"items": [{"i": 0}, {"i": 1}], "next": "1"}},
        {"body": {"items": [{"i": 2}], "next": "2"}},
        {"body": {"items": [], "next": "2"}}]}})");
    auto values = test::values_of(http_poll_source_spec(),
                                  "url = \"" + base() +
                                      "/p\"\nitems_path = \"items\"\npagination = \"cursor\"\n"
                                      "cursor_path = \"next\"\ncursor_param = \"page\"\n"
                                      "interval = \"50ms\"\n");
    runtime::memory_iggy iggy;
    memory_state state;
    runtime::connector_stats stats;
    runtime::source_settings ss;
    ss.key = "poller";
    ss.streams.push_back(runtime::source_stream_settings{"s", "t", "json", 100, 1ms});
    runtime::source_pipeline p(
        ss, [&]() { return make_http_poll_source(values); }, nullptr, iggy, state, stats);
    ASSERT_TRUE(p.start());
    const bool all = test::wait_until([&] { return iggy.count("s", "t") >= 3; }, 10s);
    EXPECT_TRUE(test::wait_until(
        [&] { return state.get("poller").value_or("").find("\"2\"") != std::string::npos; }, 5s));
    p.request_stop();
    (void)p.join(std::chrono::steady_clock::now() + 5s);
    ASSERT_TRUE(all);
    auto msgs = iggy.messages("s", "t");
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_EQ(msgs[2].payload, R"({"i":2})");
}

}  // namespace
}  // namespace trib::connectors
