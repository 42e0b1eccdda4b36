// The sink and source pipelines and the supervisor against memory_iggy and scripted connectors.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <sstream>

#include "core/log.h"
#include "harness/peer.h"
#include "runtime/fakes.h"
#include "runtime/memory_iggy.h"
#include "runtime/sink_pipeline.h"
#include "runtime/source_pipeline.h"
#include "runtime/supervisor.h"

namespace trib::runtime {
namespace {

using namespace std::chrono_literals;
using test::fake_sink;
using test::fake_sink_state;
using test::fake_source;
using test::fake_source_state;
using test::wait_until;
using clock = std::chrono::steady_clock;

error_policy fast_policy(policy_action a) {
    error_policy p;
    p.on_error = a;
    p.backoff = {1ms, 5ms, 2.0, 0.0};
    p.throttle_min = 1ms;
    return p;
}

sink_settings sink_cfg(policy_action a = policy_action::stop, std::uint32_t batch = 10) {
    sink_settings s;
    s.key = "test_sink";
    s.name = "Test sink";
    sink_stream_settings st;
    st.stream = "s";
    st.topics = {"t"};
    st.batch_length = batch;
    st.poll_interval = 1ms;
    s.streams.push_back(st);
    s.policy = fast_policy(a);
    if (a == policy_action::dead_letter)
        s.policy.dead_letter = stream_ref{"dlq", "sink_dlq"};
    return s;
}

struct sink_rig {
    memory_iggy iggy;
    connector_stats stats;
    std::shared_ptr<fake_sink_state> state = std::make_shared<fake_sink_state>();
    std::unique_ptr<sink_pipeline> p;

    void start(sink_settings s) {
        p = std::make_unique<sink_pipeline>(
            std::move(s),
            [st = state]() -> result<std::unique_ptr<sink>> {
                return std::unique_ptr<sink>(std::make_unique<fake_sink>(st));
            },
            nullptr, iggy, stats);
        auto r = p->start();
        ASSERT_TRUE(r) << r.error().to_string();
    }
    pipeline_outcome stop() {
        p->request_stop();
        return p->join(clock::now() + 5s);
    }
    std::optional<std::uint64_t> committed(std::uint32_t partition = 0) {
        return iggy.committed("s", "t", "iggy-connect-sink-test_sink", partition);
    }
};

TEST(sink_pipeline, delivers_everything_and_commits_the_last_offset) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 1000);
    r.start(sink_cfg());
    ASSERT_TRUE(wait_until([&] { return r.committed() == 999u; }, 10s));
    auto out = r.stop();
    EXPECT_EQ(out.what, pipeline_outcome::kind::stopped);
    ASSERT_EQ(r.state->written.size(), 1000u);
    for (std::size_t i = 0; i < 1000; ++i) {
        EXPECT_EQ(r.state->written[i], "m" + std::to_string(i + 1));
    }
    EXPECT_EQ(r.stats.messages_in.load(), 1000u);
    EXPECT_EQ(r.stats.messages_out.load(), 1000u);
    EXPECT_EQ(r.state->closes, 1u);
    // Commits only ever move forward.
    auto log = r.iggy.commit_log("iggy-connect-sink-test_sink");
    EXPECT_TRUE(std::is_sorted(log.begin(), log.end()));
}

TEST(sink_pipeline, creates_missing_topics) {
    sink_rig r;
    r.start(sink_cfg());
    EXPECT_EQ(r.iggy.count("s", "t"), 0u);
    test::fill_topic(r.iggy, "s", "t", 5);
    ASSERT_TRUE(wait_until([&] { return r.committed() == 4u; }, 10s));
    r.stop();
}

TEST(sink_pipeline, never_commits_what_the_sink_has_not_accepted) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 100);
    r.state->block = true;  // the sink hangs in write()
    r.start(sink_cfg());
    // All ten batches polled (the in-flight budget allows 32): the poller ran its commit round
    // before each poll, so nine rounds saw the first batch in flight and not accepted.
    ASSERT_TRUE(wait_until([&] { return r.stats.messages_in.load() == 100; }, 5s));
    EXPECT_FALSE(r.committed());
    {
        std::lock_guard lk(r.state->mu);
        r.state->block = false;
    }
    r.state->cv.notify_all();
    ASSERT_TRUE(wait_until([&] { return r.committed() == 99u; }, 10s));
    r.stop();
    EXPECT_EQ(r.state->count(), 100u);
}

TEST(sink_pipeline, a_sink_that_fails_for_a_while_loses_nothing) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 500);
    r.state->fail_writes = 25;  // retryable (unavailable) failures
    r.start(sink_cfg());
    ASSERT_TRUE(wait_until([&] { return r.committed() == 499u; }, 20s));
    r.stop();
    std::set<std::string> got(r.state->written.begin(), r.state->written.end());
    EXPECT_EQ(got.size(), 500u);
    EXPECT_EQ(r.stats.retries.load(), 25u);
    EXPECT_EQ(r.stats.errors_by_class[0].load(), 25u);
    EXPECT_GE(r.state->opens, 2u);  // unavailable -> the sink was reopened
}

TEST(sink_pipeline, poison_messages_go_to_the_dead_letter_topic) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 200, 0, 1, "-poison", 37);  // m37, m74, ... poisoned
    r.state->poison = "poison";
    r.start(sink_cfg(policy_action::dead_letter, 50));
    ASSERT_TRUE(wait_until([&] { return r.committed() == 199u; }, 20s));
    r.stop();
    // Every good message reached the sink, once.
    std::multiset<std::string> got(r.state->written.begin(), r.state->written.end());
    EXPECT_EQ(got.size(), 200u - 5u);
    for (int i = 1; i <= 200; ++i) {
        const bool poison = i % 37 == 0;
        EXPECT_EQ(got.count("m" + std::to_string(i)), poison ? 0u : 1u) << i;
    }
    auto dlq = r.iggy.messages("dlq", "sink_dlq");
    ASSERT_EQ(dlq.size(), 5u);
    EXPECT_EQ(r.stats.dead_lettered.load(), 5u);
    for (std::size_t k = 0; k < dlq.size(); ++k) {
        const auto& d = dlq[k];
        const std::uint64_t n = 37 * (k + 1);
        EXPECT_EQ(d.payload, "m" + std::to_string(n) + "-poison");
        EXPECT_EQ(d.id.lo, n);  // the original message id
        auto find = [&](std::string_view key) -> const header* {
            for (const auto& h : d.headers) {
                if (h.key == key)
                    return &h;
            }
            return nullptr;
        };
        ASSERT_NE(find("origin"), nullptr);  // original headers kept
        ASSERT_NE(find(dlq_headers::error), nullptr);
        EXPECT_EQ(find(dlq_headers::error)->value, "poison message");
        EXPECT_EQ(find(dlq_headers::error_class)->value, "fatal");
        EXPECT_EQ(find(dlq_headers::stage)->value, "write");
        EXPECT_EQ(find(dlq_headers::connector)->value, "test_sink");
        EXPECT_EQ(find(dlq_headers::stream)->value, "s");
        EXPECT_EQ(find(dlq_headers::topic)->value, "t");
        std::uint64_t off = 0;
        std::memcpy(&off, find(dlq_headers::offset)->value.data(), 8);
        EXPECT_EQ(off, n - 1);
        ASSERT_NE(find(dlq_headers::failed_at), nullptr);
    }
}

TEST(sink_pipeline, per_message_rejections_go_straight_to_the_policy) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 100, 0, 1, "-bad", 10);
    r.state->reject = "-bad";
    r.start(sink_cfg(policy_action::dead_letter, 100));
    ASSERT_TRUE(wait_until([&] { return r.committed() == 99u; }, 10s));
    r.stop();
    EXPECT_EQ(r.state->count(), 90u);
    EXPECT_EQ(r.iggy.count("dlq", "sink_dlq"), 10u);
    EXPECT_EQ(r.state->write_calls, 1u);  // no bisection needed
}

TEST(sink_pipeline, skip_counts_and_moves_on) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 100, 0, 1, "-poison", 50);
    r.state->poison = "poison";
    r.start(sink_cfg(policy_action::skip, 100));
    ASSERT_TRUE(wait_until([&] { return r.committed() == 99u; }, 10s));
    r.stop();
    EXPECT_EQ(r.state->count(), 98u);
    EXPECT_EQ(r.stats.skipped.load(), 2u);
}

TEST(sink_pipeline, stop_halts_before_the_poison_message) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 100, 0, 1, "-poison", 55);
    r.state->poison = "poison";
    r.start(sink_cfg(policy_action::stop, 10));
    ASSERT_TRUE(r.p->wait_end(clock::now() + 10s));
    auto out = r.p->join(clock::now() + 5s);
    EXPECT_EQ(out.what, pipeline_outcome::kind::halted);
    ASSERT_TRUE(out.err);
    EXPECT_NE(out.err->message().find("offset 54"), std::string::npos) << out.err->message();
    // Batches before the poison one are committed; nothing at or after it.
    ASSERT_TRUE(r.committed());
    EXPECT_EQ(*r.committed(), 49u);
}

TEST(sink_pipeline, retry_policy_retries_the_isolated_message_and_lets_the_rest_through) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 20, 0, 1, "-poison", 15);
    r.state->poison = "poison";
    r.start(sink_cfg(policy_action::retry, 20));
    // Everything but the poison message gets written; the commit stays before it.
    ASSERT_TRUE(wait_until([&] { return r.state->count() == 19u; }, 10s));
    EXPECT_FALSE(r.committed());
    ASSERT_TRUE(wait_until([&] { return r.stats.retries.load() > 5; }, 10s));
    {
        std::lock_guard lk(r.state->mu);
        r.state->poison.clear();  // the target was fixed
    }
    ASSERT_TRUE(wait_until([&] { return r.committed() == 19u; }, 10s));
    r.stop();
    EXPECT_EQ(r.state->count(), 20u);
}

// Issue 12: a message the sink refuses every time (fatal, per message) under mode = "retry"
// was re-deferred with no wait: hundreds of thousands of write calls and log lines a second.
// Every repeat is now an attempt with the backoff: each write after the first one is a counted
// retry that waited.
TEST(sink_pipeline, retry_policy_backs_off_on_a_message_the_sink_keeps_refusing) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 10, 0, 1, "-bad", 10);  // offset 9 carries "-bad"
    r.state->reject = "-bad";
    auto s = sink_cfg(policy_action::retry, 10);
    s.policy.backoff = {20ms, 20ms, 2.0, 0.0};
    r.start(s);
    ASSERT_TRUE(wait_until([&] { return r.stats.retries.load() >= 5; }, 20s))
        << "write calls: " << r.state->write_calls;
    const auto out = r.stop();
    EXPECT_EQ(out.what, pipeline_outcome::kind::stopped);
    // The first write of the batch, then one write per retry of the isolated message (a tight
    // loop would show many more writes than retries).
    EXPECT_LE(r.state->write_calls, r.stats.retries.load() + 2);
    EXPECT_FALSE(r.committed());  // nothing past the refused message
}

// The default policy (no mode, no dead-letter topic) stops the connector before the message
// that cannot succeed and commits nothing from it on; the supervisor leaves it down.
TEST(sink_pipeline, the_default_policy_stops_before_a_refused_message_and_does_not_restart) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 30, 0, 1, "-bad", 25);  // offset 24
    r.state->reject = "-bad";
    auto s = sink_cfg(policy_action::stop, 10);
    s.policy.on_error_defaulted = true;
    std::atomic<int> starts{0};
    supervisor sup(
        supervisor::settings{"test_sink", "sink", {1ms, 5ms, 2.0, 0.0}, 30s, 5s},
        [&]() -> std::unique_ptr<pipeline> {
            ++starts;
            return std::make_unique<sink_pipeline>(
                s,
                [st = r.state]() -> result<std::unique_ptr<sink>> {
                    return std::unique_ptr<sink>(std::make_unique<fake_sink>(st));
                },
                nullptr, r.iggy, r.stats);
        },
        r.stats);
    sup.start();
    ASSERT_TRUE(sup.wait_status(connector_status::error, clock::now() + 10s));
    auto e = sup.last_error();
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->halted);
    EXPECT_NE(e->message.find("s/t partition 0 offset 24"), std::string::npos) << e->message;
    EXPECT_NE(e->message.find("the default without a dead-letter topic"), std::string::npos)
        << e->message;
    ASSERT_TRUE(r.committed());
    EXPECT_EQ(*r.committed(), 19u);  // the batches before the refused message's batch
    // No restart loop: a restart would start a second pipeline (and fail the same way). Parked,
    // the supervisor has no timer armed: only restart() or stop() moves it.
    ASSERT_TRUE(wait_until([&] { return sup.parked(); }, 10s));
    EXPECT_EQ(starts.load(), 1);
    EXPECT_EQ(r.stats.restarts.load(), 0u);
    sup.stop();
}

// 100,000 failures of the same kind log a bounded number of lines (core/log.h rate limiting).
TEST(sink_pipeline, a_hundred_thousand_identical_failures_log_a_bounded_number_of_lines) {
    std::ostringstream captured;
    auto logger = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
    logger->set_pattern("%v");
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(logger);
    {
        sink_rig r;
        test::fill_topic(r.iggy, "s", "t", 100'000, 0, 1, "-bad", 1);  // every message
        r.state->reject = "-bad";
        r.start(sink_cfg(policy_action::skip, 1000));
        ASSERT_TRUE(wait_until([&] { return r.committed() == 99'999u; }, 120s));
        r.stop();
        EXPECT_EQ(r.stats.skipped.load(), 100'000u);
    }
    log::flush_suppressed();  // what `tributary run` does at exit: the counts are not lost
    spdlog::set_default_logger(previous);
    const std::string text = captured.str();
    std::size_t lines = 0;
    for (char c : text)
        lines += c == '\n' ? 1 : 0;
    // A burst of 10, then at most one line a second: far below one line per failure.
    EXPECT_LE(lines, 200u) << text.substr(0, 3000);
    EXPECT_NE(text.find("similar lines suppressed"), std::string::npos) << text.substr(0, 3000);
}

TEST(sink_pipeline, max_retries_then_isolation) {
    sink_rig r;
    auto s = sink_cfg(policy_action::dead_letter, 10);
    s.policy.max_retries = 2;
    test::fill_topic(r.iggy, "s", "t", 10);
    r.state->fail_writes = 1000;
    r.state->fail_error = error(errc::timeout, "always slow");
    r.start(s);
    // Retries exhausted everywhere: every message ends in the dead-letter topic, none lost.
    ASSERT_TRUE(wait_until([&] { return r.committed() == 9u; }, 20s));
    r.stop();
    EXPECT_EQ(r.iggy.count("dlq", "sink_dlq"), 10u);
    auto dlq = r.iggy.messages("dlq", "sink_dlq");
    for (const auto& d : dlq) {
        bool found = false;
        for (const auto& h : d.headers) {
            if (h.key == dlq_headers::error_class) {
                EXPECT_EQ(h.value, "retryable");
                found = true;
            }
        }
        EXPECT_TRUE(found);
    }
}

TEST(sink_pipeline, drains_queued_batches_on_stop) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 300);
    r.state->write_delay = 2ms;
    auto s = sink_cfg(policy_action::stop, 10);
    s.limits.max_in_flight_batches = 100;
    r.start(s);
    ASSERT_TRUE(wait_until([&] { return r.stats.messages_in.load() >= 100; }, 5s));
    r.p->request_stop();
    auto out = r.p->join(clock::now() + 10s);
    EXPECT_EQ(out.what, pipeline_outcome::kind::stopped);
    // Everything polled was written and committed before the pipeline ended.
    const auto polled = r.stats.messages_in.load();
    EXPECT_EQ(r.state->count(), polled);
    ASSERT_TRUE(r.committed());
    EXPECT_EQ(*r.committed() + 1, polled);
}

TEST(sink_pipeline, a_missed_drain_deadline_abandons_without_committing) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 50);
    r.state->fail_writes = 1u << 30;  // never succeeds
    r.start(sink_cfg(policy_action::stop, 10));
    ASSERT_TRUE(wait_until([&] { return r.stats.retries.load() > 2; }, 5s));
    r.p->request_stop();
    const auto t0 = clock::now();
    auto out = r.p->join(clock::now() + 200ms);
    EXPECT_LT(clock::now() - t0, 3s);
    EXPECT_EQ(out.what, pipeline_outcome::kind::stopped);
    EXPECT_FALSE(r.committed());
}

TEST(sink_pipeline, memory_in_flight_is_bounded) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 2000);
    r.state->write_delay = 1ms;
    auto s = sink_cfg(policy_action::stop, 10);
    s.limits.max_in_flight_bytes = 200;  // ~4 batches of 10 x ~5 bytes
    s.limits.max_in_flight_batches = 1000;
    r.start(s);
    std::uint64_t peak = 0;
    wait_until(
        [&] {
            peak = std::max(peak, r.stats.in_flight_bytes.load());
            return r.committed() == 1999u;
        },
        30s);
    r.stop();
    EXPECT_EQ(r.state->count(), 2000u);
    EXPECT_LE(peak, 200u + 60u);  // the limit plus at most one batch
    EXPECT_GT(peak, 0u);
}

TEST(sink_pipeline, a_new_pipeline_resumes_after_the_last_commit) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 100);
    r.state->fail_writes = 1u << 30;
    r.start(sink_cfg());
    ASSERT_TRUE(wait_until([&] { return r.stats.retries.load() > 0; }, 5s));
    r.p->request_stop();
    (void)r.p->join(clock::now() + 50ms);  // abandoned, like a crash
    EXPECT_FALSE(r.committed());
    r.state->fail_writes = 0;
    r.start(sink_cfg());
    ASSERT_TRUE(wait_until([&] { return r.committed() == 99u; }, 10s));
    r.stop();
    std::set<std::string> got(r.state->written.begin(), r.state->written.end());
    EXPECT_EQ(got.size(), 100u);
}

TEST(sink_pipeline, several_partitions_commit_independently) {
    sink_rig r;
    r.iggy.ensure_topic("s", "t", 3).value();
    for (std::uint32_t p = 0; p < 3; ++p)
        test::fill_topic(r.iggy, "s", "t", 100 + p, p);
    r.start(sink_cfg());
    ASSERT_TRUE(wait_until(
        [&] { return r.committed(0) == 99u && r.committed(1) == 100u && r.committed(2) == 101u; },
        10s));
    r.stop();
    EXPECT_EQ(r.state->count(), 303u);
}

TEST(sink_pipeline, poll_errors_are_retried) {
    sink_rig r;
    test::fill_topic(r.iggy, "s", "t", 20);
    r.iggy.fail_polls(3, error(errc::unavailable, "connection reset"));
    r.start(sink_cfg());
    ASSERT_TRUE(wait_until([&] { return r.committed() == 19u; }, 10s));
    r.stop();
    EXPECT_EQ(r.stats.errors.load(), 3u);
}

TEST(sink_pipeline, fatal_poll_errors_fail_the_pipeline) {
    sink_rig r;
    r.iggy.fail_polls(1, error(errc::permission_denied, "no read access"));
    r.start(sink_cfg());
    ASSERT_TRUE(r.p->wait_end(clock::now() + 5s));
    auto out = r.p->join(clock::now() + 5s);
    EXPECT_EQ(out.what, pipeline_outcome::kind::failed);
}

// ---- processors ---------------------------------------------------------------------------

/// Upper-cases payloads; drops "drop" payloads; rejects "bad" ones.
class upper_processor final : public message_processor {
  public:
    void process(message_batch& batch, process_report& rep) override {
        std::vector<message> kept;
        for (auto& m : batch.messages) {
            if (m.payload.find("drop") != std::string_view::npos) {
                ++rep.filtered;
                continue;
            }
            if (m.payload.find("bad") != std::string_view::npos) {
                rep.rejected.push_back(
                    {m, failure_stage::decode, error(errc::invalid_argument, "not json")});
                continue;
            }
            std::string up(m.payload);
            for (auto& c : up)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            m.payload = batch.own(std::move(up));
            kept.push_back(std::move(m));
        }
        batch.messages = std::move(kept);
    }
};

TEST(sink_pipeline, processing_filters_rewrites_and_dead_letters_originals) {
    sink_rig r;
    std::vector<stored_message> msgs;
    for (std::string p : {"a", "drop1", "b-bad", "c"}) {
        stored_message m;
        m.payload = p;
        msgs.push_back(m);
    }
    r.iggy.append("s", "t", 0, msgs);
    r.p = std::make_unique<sink_pipeline>(
        sink_cfg(policy_action::dead_letter),
        [st = r.state]() -> result<std::unique_ptr<sink>> {
            return std::unique_ptr<sink>(std::make_unique<fake_sink>(st));
        },
        [](std::size_t, const stream_ref&,
           std::string_view) -> result<std::unique_ptr<message_processor>> {
            return std::unique_ptr<message_processor>(std::make_unique<upper_processor>());
        },
        r.iggy, r.stats);
    ASSERT_TRUE(r.p->start());
    ASSERT_TRUE(wait_until([&] { return r.committed() == 3u; }, 10s));
    r.stop();
    EXPECT_EQ(r.state->written, (std::vector<std::string>{"A", "C"}));
    EXPECT_EQ(r.stats.messages_filtered.load(), 1u);
    auto dlq = r.iggy.messages("dlq", "sink_dlq");
    ASSERT_EQ(dlq.size(), 1u);
    EXPECT_EQ(dlq[0].payload, "b-bad");  // the original, not a rewritten copy
}

// ---- sources ------------------------------------------------------------------------------

source_settings source_cfg(policy_action a = policy_action::stop) {
    source_settings s;
    s.key = "test_source";
    s.name = "Test source";
    source_stream_settings st;
    st.stream = "s";
    st.topic = "t";
    s.streams.push_back(st);
    s.policy = fast_policy(a);
    if (a == policy_action::dead_letter)
        s.policy.dead_letter = stream_ref{"dlq", "src_dlq"};
    s.poll_wait = 5ms;
    return s;
}

struct source_rig {
    memory_iggy iggy;
    connector_stats stats;
    test::memory_state_store store;
    std::shared_ptr<fake_source_state> state = std::make_shared<fake_source_state>();
    std::unique_ptr<source_pipeline> p;

    void start(source_settings s) {
        p = std::make_unique<source_pipeline>(
            std::move(s),
            [st = state]() -> result<std::unique_ptr<source>> {
                return std::unique_ptr<source>(std::make_unique<fake_source>(st));
            },
            nullptr, iggy, store, stats);
        auto r = p->start();
        ASSERT_TRUE(r) << r.error().to_string();
    }
    pipeline_outcome stop(std::chrono::milliseconds deadline = 5s) {
        p->request_stop();
        return p->join(clock::now() + deadline);
    }
    std::vector<std::uint64_t> acks() {
        std::lock_guard lk(state->mu);
        return state->acks;
    }
};

std::set<std::string> payloads(const std::vector<stored_message>& v) {
    std::set<std::string> out;
    for (const auto& m : v)
        out.insert(m.payload);
    return out;
}

TEST(source_pipeline, a_corrupt_state_stops_the_start_naming_where_it_is) {
    source_rig r;
    ASSERT_TRUE(r.store.save("test_source", "99999999999999999999999"));  // over 2^64
    r.p = std::make_unique<source_pipeline>(
        source_cfg(),
        [st = r.state]() -> result<std::unique_ptr<source>> {
            return std::unique_ptr<source>(std::make_unique<fake_source>(st));
        },
        nullptr, r.iggy, r.store, r.stats);
    auto st = r.p->start();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::data_loss);
    EXPECT_NE(st.error().message().find("refusing to start"), std::string::npos)
        << st.error().message();
    EXPECT_NE(st.error().message().find(r.store.where("test_source")), std::string::npos)
        << st.error().message();
    EXPECT_EQ(r.store.get("test_source"), "99999999999999999999999");  // left for a person
    EXPECT_TRUE(r.iggy.messages("s", "t").empty());
}

TEST(source_pipeline, delivers_persists_state_and_acks_in_order) {
    source_rig r;
    r.state->total = 1000;
    r.state->batch = 10;
    r.start(source_cfg());
    ASSERT_TRUE(wait_until([&] { return r.acks().size() == 100u; }, 10s));
    r.stop();
    EXPECT_EQ(r.iggy.count("s", "t"), 1000u);
    auto acks = r.acks();
    for (std::size_t i = 0; i < acks.size(); ++i)
        EXPECT_EQ(acks[i], i + 1);
    EXPECT_EQ(r.store.get("test_source"), "1000");
    EXPECT_TRUE(r.state->nacks.empty());
    EXPECT_EQ(r.stats.messages_in.load(), 1000u);
    EXPECT_EQ(r.stats.messages_out.load(), 1000u);
    // Persisted states only move forward.
    auto h = r.store.history();
    std::vector<std::uint64_t> nums;
    for (const auto& s : h)
        nums.push_back(std::stoull(s));
    EXPECT_TRUE(std::is_sorted(nums.begin(), nums.end()));
}

TEST(source_pipeline, state_is_persisted_only_after_iggy_acknowledged) {
    source_rig r;
    r.state->total = 30;
    r.iggy.ensure_topic("s", "t", 1).value();
    r.iggy.hold_sends(true);
    r.start(source_cfg());
    ASSERT_TRUE(wait_until([&] { return r.stats.messages_in.load() == 30; }, 5s));
    // Two more polls: the poll loop has come round after handing out the last batch, past
    // where a state save that does not wait for Iggy would have happened.
    auto polls = [&] {
        std::lock_guard lk(r.state->mu);
        return r.state->polls;
    };
    const std::size_t seen = polls();
    ASSERT_TRUE(wait_until([&] { return polls() >= seen + 2; }, 5s));
    EXPECT_EQ(r.store.saves(), 0u);
    EXPECT_TRUE(r.acks().empty());
    r.iggy.hold_sends(false);
    ASSERT_TRUE(wait_until([&] { return r.acks().size() == 3u; }, 5s));
    r.stop();
    EXPECT_EQ(r.store.get("test_source"), "30");
}

TEST(source_pipeline, resumes_from_the_persisted_state) {
    source_rig r;
    r.state->total = 50;
    r.start(source_cfg());
    ASSERT_TRUE(wait_until([&] { return r.acks().size() == 5u; }, 5s));
    r.stop();
    r.state->total = 80;
    r.start(source_cfg());
    EXPECT_EQ(r.state->opened_with, "50");
    ASSERT_TRUE(wait_until([&] { return r.iggy.count("s", "t") == 80u; }, 5s));
    r.stop();
    EXPECT_EQ(payloads(r.iggy.messages("s", "t")).size(), 80u);
}

TEST(source_pipeline, send_failures_are_retried_without_loss) {
    source_rig r;
    r.state->total = 200;
    r.iggy.ensure_topic("s", "t", 1).value();
    r.iggy.fail_sends(7, error(errc::unavailable, "server restarting"));
    r.start(source_cfg());
    ASSERT_TRUE(wait_until([&] { return r.acks().size() == 20u; }, 10s));
    r.stop();
    EXPECT_EQ(payloads(r.iggy.messages("s", "t")).size(), 200u);
    auto acks = r.acks();
    for (std::size_t i = 0; i < acks.size(); ++i)
        EXPECT_EQ(acks[i], i + 1);
    EXPECT_GE(r.stats.retries.load(), 7u);
    EXPECT_EQ(r.store.get("test_source"), "200");
}

TEST(source_pipeline, poison_messages_are_dead_lettered_and_the_rest_delivered) {
    source_rig r;
    r.state->total = 100;
    r.state->poison_mod = 30;
    r.iggy.ensure_topic("s", "t", 1).value();
    r.iggy.reject_sends_if([](const message& m) -> std::optional<error> {
        // Reject the poison messages, but not their dead-letter copies.
        if (m.payload.find("poison") != std::string_view::npos &&
            m.find_header(dlq_headers::error) == nullptr) {
            return error(errc::invalid_argument, "message too large");
        }
        return std::nullopt;
    });
    r.start(source_cfg(policy_action::dead_letter));
    ASSERT_TRUE(wait_until([&] { return r.acks().size() == 10u; }, 10s));
    r.stop();
    EXPECT_EQ(r.iggy.count("s", "t"), 97u);
    auto dlq = r.iggy.messages("dlq", "src_dlq");
    ASSERT_EQ(dlq.size(), 3u);
    EXPECT_EQ(dlq[0].payload, "m30-poison");
    bool has_stage = false;
    for (const auto& h : dlq[0].headers) {
        if (h.key == dlq_headers::stage) {
            EXPECT_EQ(h.value, "send");
            has_stage = true;
        }
    }
    EXPECT_TRUE(has_stage);
    EXPECT_EQ(r.store.get("test_source"), "100");
}

// Records a source could not produce (source_batch::rejected) go to the error policy as
// decode failures, with their raw bytes; a batch of rejects only still moves the state.
TEST(source_pipeline, rejected_records_of_the_source_go_to_the_error_policy) {
    source_rig r;
    r.state->total = 40;
    r.state->reject_mod = 7;  // r7, r14, r21, r28, r35
    r.state->batch = 1;       // so that some batches hold only a reject
    r.start(source_cfg(policy_action::dead_letter));
    ASSERT_TRUE(wait_until([&] { return r.store.get("test_source") == "40"; }, 10s));
    r.stop();
    EXPECT_EQ(r.iggy.count("s", "t"), 35u);
    auto dlq = r.iggy.messages("dlq", "src_dlq");
    ASSERT_EQ(dlq.size(), 5u);
    EXPECT_EQ(r.stats.dead_lettered.load(), 5u);
    for (std::size_t k = 0; k < dlq.size(); ++k) {
        EXPECT_EQ(dlq[k].payload, "r" + std::to_string(7 * (k + 1)));
        std::string stage, err;
        for (const auto& h : dlq[k].headers) {
            if (h.key == dlq_headers::stage)
                stage = h.value;
            if (h.key == dlq_headers::error)
                err = h.value;
        }
        EXPECT_EQ(stage, "decode");
        EXPECT_EQ(err, "cannot read " + dlq[k].payload);
    }
    // Every batch was acknowledged, rejects-only ones included.
    EXPECT_EQ(r.acks().size(), 40u);
}

TEST(source_pipeline, a_source_reject_under_the_stop_policy_halts_before_its_state) {
    source_rig r;
    r.state->total = 30;
    r.state->reject_mod = 15;
    r.start(source_cfg(policy_action::stop));
    ASSERT_TRUE(r.p->wait_end(clock::now() + 10s));
    auto out = r.p->join(clock::now() + 5s);
    EXPECT_EQ(out.what, pipeline_outcome::kind::halted);
    ASSERT_TRUE(out.err);
    EXPECT_NE(out.err->to_string().find("cannot read r15"), std::string::npos)
        << out.err->to_string();
    // Batches m1..m10 went through; the batch with r15 did not move the state past it.
    EXPECT_EQ(r.store.get("test_source"), "10");
}

TEST(source_pipeline, stop_policy_nacks_what_was_not_delivered) {
    source_rig r;
    r.state->total = 100;
    r.state->poison_mod = 45;
    r.iggy.ensure_topic("s", "t", 1).value();
    r.iggy.reject_sends_if([](const message& m) -> std::optional<error> {
        if (m.payload.find("poison") != std::string_view::npos) {
            return error(errc::invalid_argument, "rejected");
        }
        return std::nullopt;
    });
    r.start(source_cfg(policy_action::stop));
    ASSERT_TRUE(r.p->wait_end(clock::now() + 10s));
    auto out = r.p->join(clock::now() + 5s);
    EXPECT_EQ(out.what, pipeline_outcome::kind::halted);
    auto acks = r.acks();
    ASSERT_EQ(acks.size(), 4u);  // batches 1..4 (m1..m40) went through
    EXPECT_EQ(r.store.get("test_source"), "40");
    std::lock_guard lk(r.state->mu);
    ASSERT_FALSE(r.state->nacks.empty());
    EXPECT_EQ(r.state->nacks.front(), 5u);  // the poison batch first, then later ones in order
    EXPECT_TRUE(std::is_sorted(r.state->nacks.begin(), r.state->nacks.end()));
}

TEST(source_pipeline, a_missed_drain_deadline_nacks_unacknowledged_batches) {
    source_rig r;
    r.state->total = 50;
    r.iggy.ensure_topic("s", "t", 1).value();
    r.start(source_cfg());
    ASSERT_TRUE(wait_until([&] { return r.acks().size() == 5u; }, 5s));
    r.state->total = 100;
    r.iggy.hold_sends(true);
    ASSERT_TRUE(wait_until([&] { return r.stats.messages_in.load() >= 60; }, 5s));
    r.p->request_stop();
    std::thread release([&] {
        // Once the missed deadline made the pipeline nack, let the producer's worker finish so
        // that close() returns.
        (void)wait_until(
            [&] {
                std::lock_guard lk(r.state->mu);
                return !r.state->nacks.empty();
            },
            10s);
        r.iggy.hold_sends(false);
    });
    auto out = r.p->join(clock::now() + 100ms);
    release.join();
    EXPECT_EQ(out.what, pipeline_outcome::kind::stopped);
    EXPECT_EQ(r.store.get("test_source"), "50");
    std::lock_guard lk(r.state->mu);
    EXPECT_FALSE(r.state->nacks.empty());
    EXPECT_EQ(r.state->nacks.front(), 6u);
}

TEST(source_pipeline, routes_split_batches_by_destination) {
    source_rig r;
    r.state->total = 100;
    r.state->route = [](std::uint64_t n) -> std::uint16_t { return n % 2 == 0 ? 1 : 0; };
    auto s = source_cfg();
    source_stream_settings second;
    second.stream = "s";
    second.topic = "even";
    s.streams.push_back(second);
    r.start(s);
    ASSERT_TRUE(wait_until([&] { return r.acks().size() == 10u; }, 5s));
    r.stop();
    EXPECT_EQ(r.iggy.count("s", "t"), 50u);
    EXPECT_EQ(r.iggy.count("s", "even"), 50u);
    for (const auto& m : r.iggy.messages("s", "even")) {
        EXPECT_EQ(std::stoi(m.payload.substr(1)) % 2, 0);
    }
}

TEST(source_pipeline, poll_errors_are_retried) {
    source_rig r;
    r.state->total = 20;
    r.state->fail_polls = 3;
    r.start(source_cfg());
    ASSERT_TRUE(wait_until([&] { return r.acks().size() == 2u; }, 5s));
    r.stop();
    EXPECT_EQ(r.stats.errors.load(), 3u);
}

// ---- supervisor ---------------------------------------------------------------------------

/// A pipeline whose start fails a number of times, then runs until stopped or told to fail.
class scripted_pipeline final : public pipeline {
  public:
    struct script {
        std::atomic<int> start_failures{0};
        std::atomic<int> starts{0};
        std::atomic<int> stops{0};
        std::mutex mu;
        scripted_pipeline* current = nullptr;
    };
    explicit scripted_pipeline(script& s) : s_(s) {}
    status start() override {
        ++s_.starts;
        if (s_.start_failures.load() > 0) {
            --s_.start_failures;
            return error(errc::unavailable, "cannot connect");
        }
        std::lock_guard lk(s_.mu);
        s_.current = this;
        return ok();
    }
    void request_stop() override { ++s_.stops; }
    pipeline_outcome join(clock::time_point) override {
        std::lock_guard lk(s_.mu);
        s_.current = nullptr;
        return outcome_;
    }
    void end(pipeline_outcome o) {
        outcome_ = std::move(o);
        signal_end();
    }

  private:
    script& s_;
    pipeline_outcome outcome_;
};

supervisor::settings sup_settings() {
    supervisor::settings s;
    s.key = "k";
    s.kind = "sink";
    s.restart = {5ms, 20ms, 2.0, 0.0};
    s.drain_timeout = 1s;
    return s;
}

TEST(supervisor, retries_a_failing_start_with_backoff) {
    scripted_pipeline::script sc;
    sc.start_failures = 3;
    connector_stats stats;
    supervisor sup(
        sup_settings(), [&] { return std::make_unique<scripted_pipeline>(sc); }, stats);
    sup.start();
    ASSERT_TRUE(sup.wait_status(connector_status::running, clock::now() + 5s));
    EXPECT_EQ(sc.starts.load(), 4);
    EXPECT_EQ(stats.restarts.load(), 3u);
    ASSERT_TRUE(sup.last_error());
    EXPECT_NE(sup.last_error()->message.find("cannot connect"), std::string::npos);
    sup.stop();
    EXPECT_EQ(sup.status(), connector_status::stopped);
    EXPECT_EQ(sc.stops.load(), 1);
}

TEST(supervisor, restarts_a_failed_pipeline_and_leaves_a_halted_one_down) {
    scripted_pipeline::script sc;
    connector_stats stats;
    supervisor sup(
        sup_settings(), [&] { return std::make_unique<scripted_pipeline>(sc); }, stats);
    sup.start();
    ASSERT_TRUE(sup.wait_status(connector_status::running, clock::now() + 5s));
    auto end_current = [&](pipeline_outcome o) {
        scripted_pipeline* p = nullptr;
        {
            std::lock_guard lk(sc.mu);
            p = sc.current;
        }
        ASSERT_NE(p, nullptr);
        p->end(std::move(o));
    };
    end_current({pipeline_outcome::kind::failed, error(errc::unavailable, "lost iggy")});
    ASSERT_TRUE(wait_until([&] { return sc.starts.load() == 2; }, 5s));
    ASSERT_TRUE(sup.wait_status(connector_status::running, clock::now() + 5s));

    end_current({pipeline_outcome::kind::halted, error(errc::invalid_argument, "poison")});
    ASSERT_TRUE(sup.wait_status(connector_status::error, clock::now() + 5s));
    // Parked: no restart timer is armed, it stays down until asked.
    ASSERT_TRUE(wait_until([&] { return sup.parked(); }, 5s));
    EXPECT_EQ(sc.starts.load(), 2);
    EXPECT_EQ(sup.status(), connector_status::error);

    sup.restart();
    ASSERT_TRUE(sup.wait_status(connector_status::running, clock::now() + 5s));
    EXPECT_FALSE(sup.parked());
    EXPECT_EQ(sc.starts.load(), 3);
    sup.stop();
}

TEST(supervisor, restart_on_request_drains_and_starts_again) {
    scripted_pipeline::script sc;
    connector_stats stats;
    supervisor sup(
        sup_settings(), [&] { return std::make_unique<scripted_pipeline>(sc); }, stats);
    sup.start();
    ASSERT_TRUE(sup.wait_status(connector_status::running, clock::now() + 5s));
    sup.restart();
    ASSERT_TRUE(wait_until([&] { return sc.starts.load() == 2; }, 5s));
    ASSERT_TRUE(sup.wait_status(connector_status::running, clock::now() + 5s));
    EXPECT_EQ(sc.stops.load(), 1);
    sup.stop();
}

TEST(supervisor, runs_a_real_sink_pipeline_end_to_end) {
    memory_iggy iggy;
    connector_stats stats;
    auto st = std::make_shared<fake_sink_state>();
    test::fill_topic(iggy, "s", "t", 100);
    supervisor sup(
        sup_settings(),
        [&]() -> std::unique_ptr<pipeline> {
            return std::make_unique<sink_pipeline>(
                sink_cfg(),
                [st]() -> result<std::unique_ptr<sink>> {
                    return std::unique_ptr<sink>(std::make_unique<fake_sink>(st));
                },
                nullptr, iggy, stats);
        },
        stats);
    sup.start();
    ASSERT_TRUE(wait_until(
        [&] { return iggy.committed("s", "t", "iggy-connect-sink-test_sink", 0) == 99u; }, 5s));
    sup.stop();
    EXPECT_EQ(st->count(), 100u);
}

}  // namespace
}  // namespace trib::runtime
