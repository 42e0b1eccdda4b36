// Unit tests of the runtime's building blocks: offset tracker, backoff, retry decisions,
// dead-letter message shape, latency histogram, file state store.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness/peer.h"
#include "runtime/backoff.h"
#include "runtime/error_policy.h"
#include "runtime/offset_tracker.h"
#include "runtime/ports.h"
#include "runtime/stats.h"

namespace trib::runtime {
namespace {

TEST(offset_tracker, in_order_completion_advances_commit) {
    offset_tracker t;
    auto a = t.add(0, 0, 9);
    auto b = t.add(0, 10, 19);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(t.in_flight(), 2u);
    EXPECT_FALSE(t.committable(0));
    EXPECT_EQ(t.complete(*a), 9u);
    EXPECT_EQ(t.complete(*b), 19u);
    EXPECT_EQ(t.in_flight(), 0u);
    auto commits = t.take_commits();
    ASSERT_EQ(commits.size(), 1u);
    EXPECT_EQ(commits[0], std::make_pair(0u, std::uint64_t{19}));
    EXPECT_TRUE(t.take_commits().empty());
}

TEST(offset_tracker, out_of_order_completion_waits_for_the_gap) {
    offset_tracker t;
    auto a = t.add(3, 100, 199);
    auto b = t.add(3, 200, 299);
    auto c = t.add(3, 300, 399);
    EXPECT_FALSE(t.complete(*c));
    EXPECT_FALSE(t.complete(*b));
    EXPECT_FALSE(t.committable(3));
    EXPECT_TRUE(t.take_commits().empty());
    EXPECT_EQ(t.complete(*a), 399u);  // the whole prefix at once
    EXPECT_EQ(t.take_commits(), (std::vector<std::pair<std::uint32_t, std::uint64_t>>{{3, 399}}));
}

TEST(offset_tracker, partitions_are_independent) {
    offset_tracker t;
    auto a0 = t.add(0, 0, 4);
    auto a1 = t.add(1, 0, 4);
    auto b0 = t.add(0, 5, 9);
    EXPECT_FALSE(t.complete(*b0));
    EXPECT_EQ(t.complete(*a1), 4u);
    EXPECT_FALSE(t.committable(0));
    EXPECT_EQ(t.committable(1), 4u);
    EXPECT_EQ(t.complete(*a0), 9u);
    auto c = t.take_commits();
    EXPECT_EQ(c.size(), 2u);
}

TEST(offset_tracker, held_parts_delay_completion) {
    offset_tracker t;
    auto a = t.add(0, 0, 9);
    t.hold(*a);  // e.g. a dead-letter send still in flight
    EXPECT_FALSE(t.complete(*a));
    EXPECT_FALSE(t.committable(0));
    EXPECT_EQ(t.complete(*a), 9u);
    EXPECT_FALSE(t.complete(*a));  // extra completions are ignored
}

TEST(offset_tracker, redelivered_ranges_are_trimmed_or_ignored) {
    offset_tracker t;
    auto a = t.add(0, 0, 9);
    EXPECT_FALSE(t.add(0, 0, 9));  // the same range again
    EXPECT_FALSE(t.add(0, 5, 9));
    auto b = t.add(0, 5, 14);  // overlaps: only 10..14 is new
    ASSERT_TRUE(b);
    EXPECT_EQ(b->first, 10u);
    EXPECT_EQ(b->last, 14u);
    EXPECT_FALSE(t.complete(*b));
    EXPECT_EQ(t.complete(*a), 14u);
}

TEST(offset_tracker, gaps_between_ranges_are_fine) {
    offset_tracker t;
    auto a = t.add(0, 0, 9);
    auto b = t.add(0, 20, 29);  // offsets 10..19 were never polled (e.g. deleted segment)
    EXPECT_EQ(t.complete(*a), 9u);
    EXPECT_EQ(t.complete(*b), 29u);
}

TEST(offset_tracker, reset_forgets_a_partition) {
    offset_tracker t;
    auto a = t.add(0, 0, 9);
    t.reset(0);
    EXPECT_FALSE(t.complete(*a));
    EXPECT_EQ(t.in_flight(), 0u);
    auto b = t.add(0, 0, 9);  // registrable again
    EXPECT_TRUE(b);
}

TEST(offset_tracker, random_completion_order_never_commits_past_an_incomplete_range) {
    std::mt19937 rng(42);
    for (int round = 0; round < 50; ++round) {
        offset_tracker t;
        std::vector<offset_tracker::ticket> tickets;
        for (std::uint64_t i = 0; i < 40; ++i)
            tickets.push_back(*t.add(0, i * 10, i * 10 + 9));
        std::vector<std::size_t> order(tickets.size());
        for (std::size_t i = 0; i < order.size(); ++i)
            order[i] = i;
        std::shuffle(order.begin(), order.end(), rng);
        std::set<std::size_t> done;
        for (auto i : order) {
            (void)t.complete(tickets[i]);
            done.insert(i);
            std::size_t prefix = 0;
            while (done.count(prefix) != 0)
                ++prefix;
            auto c = t.committable(0);
            if (prefix == 0) {
                EXPECT_FALSE(c);
            } else {
                ASSERT_TRUE(c);
                EXPECT_EQ(*c, prefix * 10 - 1);
            }
        }
    }
}

TEST(backoff, grows_exponentially_and_caps) {
    backoff b({std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 2.0, 0.0});
    EXPECT_EQ(b.next().count(), 100);
    EXPECT_EQ(b.next().count(), 200);
    EXPECT_EQ(b.next().count(), 400);
    EXPECT_EQ(b.next().count(), 800);
    EXPECT_EQ(b.next().count(), 1000);
    EXPECT_EQ(b.next().count(), 1000);
    EXPECT_EQ(b.attempts(), 6u);
    b.reset();
    EXPECT_EQ(b.next().count(), 100);
}

TEST(backoff, jitter_stays_within_bounds_and_varies) {
    backoff b({std::chrono::milliseconds(1000), std::chrono::milliseconds(1000), 2.0, 0.2}, 7);
    std::set<std::int64_t> seen;
    for (int i = 0; i < 200; ++i) {
        auto d = b.next().count();
        EXPECT_GE(d, 800);
        EXPECT_LE(d, 1000);  // never above the cap
        seen.insert(d);
    }
    EXPECT_GT(seen.size(), 20u);
}

TEST(backoff, survives_huge_attempt_counts) {
    backoff b({std::chrono::milliseconds(10), std::chrono::milliseconds(5000), 3.0, 0.0});
    for (int i = 0; i < 5000; ++i)
        (void)b.next();
    EXPECT_EQ(b.next().count(), 5000);
}

TEST(error_policy, fatal_errors_give_up_at_once) {
    error_policy p;
    backoff b(p.backoff);
    auto d = decide(p, error(errc::invalid_argument, "bad"), 1, b);
    EXPECT_TRUE(d.give_up);
    EXPECT_FALSE(d.retry);
}

TEST(error_policy, retryable_errors_retry_up_to_max_retries) {
    error_policy p;
    p.max_retries = 3;
    p.backoff.jitter = 0;
    backoff b(p.backoff);
    error e(errc::unavailable, "down");
    for (std::uint32_t a = 1; a <= 3; ++a) {
        auto d = decide(p, e, a, b);
        EXPECT_TRUE(d.retry) << a;
    }
    EXPECT_TRUE(decide(p, e, 4, b).give_up);
}

// Issue 12: no setting makes a retry immediate (a zero delay is a tight loop).
TEST(error_policy, no_settings_give_a_zero_retry_delay) {
    for (const auto& bs :
         {backoff_settings{std::chrono::milliseconds(0), std::chrono::milliseconds(0), 0.0, 1.0},
          backoff_settings{std::chrono::milliseconds(-5), std::chrono::milliseconds(0), 1.0, 0.0},
          backoff_settings{std::chrono::milliseconds(1), std::chrono::milliseconds(1), 2.0, 1.0}}) {
        error_policy p;
        p.backoff = bs;
        p.throttle_min = std::chrono::milliseconds(0);
        backoff b(p.backoff, 42);
        for (std::uint32_t attempt = 1; attempt <= 10000; ++attempt) {
            const auto d = decide(p, error(errc::unavailable, "down"), attempt, b);
            ASSERT_TRUE(d.retry);
            ASSERT_GE(d.delay.count(), 1) << "attempt " << attempt;
        }
    }
    // The default policy gives up on fatal errors at once (no retry, no wait).
    error_policy def;
    EXPECT_EQ(def.on_error, policy_action::stop);
    backoff b(def.backoff);
    const auto d = decide(def, error(errc::invalid_argument, "bad json"), 1, b);
    EXPECT_TRUE(d.give_up);
    EXPECT_FALSE(d.retry);
}

TEST(error_policy, zero_max_retries_means_forever) {
    error_policy p;
    p.max_retries = 0;
    backoff b(p.backoff);
    EXPECT_TRUE(decide(p, error(errc::timeout, "slow"), 100000, b).retry);
}

TEST(error_policy, throttled_errors_wait_at_least_throttle_min) {
    error_policy p;
    p.backoff = {std::chrono::milliseconds(10), std::chrono::milliseconds(100), 2.0, 0.0};
    p.throttle_min = std::chrono::milliseconds(700);
    backoff b(p.backoff);
    auto d = decide(p, error(errc::resource_exhausted, "429"), 1, b);
    EXPECT_TRUE(d.retry);
    EXPECT_EQ(d.delay.count(), 700);
}

TEST(error_policy, parses_actions) {
    EXPECT_EQ(parse_policy_action("dead_letter"), policy_action::dead_letter);
    EXPECT_EQ(parse_policy_action("dlq"), policy_action::dead_letter);
    EXPECT_EQ(parse_policy_action("skip"), policy_action::skip);
    EXPECT_EQ(parse_policy_action("stop"), policy_action::stop);
    EXPECT_EQ(parse_policy_action("retry"), policy_action::retry);
    EXPECT_FALSE(parse_policy_action("explode"));
}

std::uint64_t u64_of(const header& h) {
    std::uint64_t v = 0;
    EXPECT_EQ(h.value.size(), 8u);
    std::memcpy(&v, h.value.data(), 8);
    return v;
}

TEST(dead_letter, carries_payload_headers_and_failure_details) {
    message_batch src;
    message m;
    m.id = message_id{7, 9};
    m.offset = 1234;
    m.partition = 2;
    m.timestamp_us = 1700000000000000;
    m.payload = src.own("{\"a\":1}");
    m.headers.push_back(header{"trace", value_kind::string, "abc"});
    m.headers.push_back(header{"tributary.error", value_kind::string, "an older failure"});
    src.messages.push_back(m);

    message_batch out;
    failure_info info;
    info.stage = failure_stage::write;
    info.err = error(errc::invalid_argument, retry_class::fatal, "column x is not a number", 22);
    info.connector_key = "pg_sink";
    info.stream = "orders";
    info.topic = "created";
    info.partition = 2;
    info.offset = 1234;
    info.original_timestamp_us = m.timestamp_us;
    info.failed_at_us = 1800000000000000;
    append_dead_letter(out, src.messages[0], info);
    src.clear();  // the dead-letter copy owns its payload

    ASSERT_EQ(out.size(), 1u);
    const message& d = out.messages[0];
    EXPECT_EQ(d.payload, "{\"a\":1}");
    EXPECT_EQ(d.id, (message_id{7, 9}));
    auto str = [&](std::string_view k) {
        const header* h = d.find_header(k);
        EXPECT_NE(h, nullptr) << k;
        if (h == nullptr)
            return std::string();
        EXPECT_EQ(h->kind, value_kind::string) << k;
        return h->value;
    };
    EXPECT_EQ(str("trace"), "abc");
    EXPECT_EQ(str(dlq_headers::error), "column x is not a number");
    EXPECT_EQ(str(dlq_headers::error_class), "fatal");
    EXPECT_EQ(str(dlq_headers::error_code), "invalid_argument");
    EXPECT_EQ(str(dlq_headers::stage), "write");
    EXPECT_EQ(str(dlq_headers::connector), "pg_sink");
    EXPECT_EQ(str(dlq_headers::stream), "orders");
    EXPECT_EQ(str(dlq_headers::topic), "created");
    const header* part = d.find_header(dlq_headers::partition);
    ASSERT_NE(part, nullptr);
    EXPECT_EQ(part->kind, value_kind::uint32);
    ASSERT_EQ(part->value.size(), 4u);
    EXPECT_EQ(static_cast<unsigned char>(part->value[0]), 2);
    const header* off = d.find_header(dlq_headers::offset);
    ASSERT_NE(off, nullptr);
    EXPECT_EQ(off->kind, value_kind::uint64);
    EXPECT_EQ(u64_of(*off), 1234u);
    EXPECT_EQ(u64_of(*d.find_header(dlq_headers::timestamp)), 1700000000000000u);
    EXPECT_EQ(u64_of(*d.find_header(dlq_headers::failed_at)), 1800000000000000u);
    const header* vc = d.find_header(dlq_headers::vendor_code);
    ASSERT_NE(vc, nullptr);
    EXPECT_EQ(vc->kind, value_kind::int64);
    // The older failure header was replaced, not duplicated.
    int n = 0;
    for (const auto& h : d.headers)
        n += h.key == dlq_headers::error ? 1 : 0;
    EXPECT_EQ(n, 1);
}

TEST(dead_letter, header_values_fit_iggy_limits) {
    message_batch src;
    message m;
    m.payload = src.own("x");
    failure_info info;
    info.err = error(errc::internal, std::string(300, 'e') + "\xc3\xa9");  // long, UTF-8 at the end
    info.connector_key = "";  // empty values become "-"
    message_batch out;
    append_dead_letter(out, m, info);
    for (const auto& h : out.messages[0].headers) {
        EXPECT_GE(h.value.size(), 1u) << h.key;
        EXPECT_LE(h.value.size(), 255u) << h.key;
        EXPECT_GE(h.key.size(), 1u);
    }
    EXPECT_EQ(out.messages[0].find_header(dlq_headers::connector)->value, "-");
    EXPECT_FALSE(out.messages[0].find_header(dlq_headers::offset));  // sources have none
}

TEST(latency_histogram, quantiles_follow_the_data) {
    latency_histogram h;
    for (int i = 0; i < 99; ++i)
        h.observe(std::chrono::microseconds(300));    // 0.25..0.5 ms
    h.observe(std::chrono::microseconds(2'000'000));  // 1..2.5 s
    EXPECT_EQ(h.count(), 100u);
    EXPECT_GT(h.quantile_s(0.5), 0.00025);
    EXPECT_LE(h.quantile_s(0.5), 0.0005);
    EXPECT_GT(h.quantile_s(0.999), 1.0);
    auto c = h.counts();
    EXPECT_EQ(c.size(), latency_histogram::bounds_s.size() + 1);
}

TEST(file_state_store, round_trips_and_replaces_atomically) {
    test::temp_dir dir("trib-state");
    file_state_store s((dir.path() / "state").string());  // created on first save
    auto none = s.load("random");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(s.save("random", std::string("\x01\x02\x00\x03", 4)));
    ASSERT_TRUE(s.save("random", "second"));
    auto got = s.load("random");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->value(), "second");
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "state" / "source_random.state"));
    // Keys are turned into safe file names.
    EXPECT_EQ(std::filesystem::path(s.path_of("../evil key")).filename(),
              "source_.._evil_key.state");
}

TEST(file_state_store, refuses_a_state_file_larger_than_a_state_can_be) {
    test::temp_dir dir("trib-state");
    file_state_store s(dir.path().string());
    {
        // Sparse: no disk and, if it were read, an allocation of 1 GiB.
        std::ofstream f(s.path_of("big"), std::ios::binary);
        f.seekp((1ll << 30) - 1);
        f << 'x';
    }
    auto r = s.load("big");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::data_loss);
    EXPECT_NE(r.error().message().find(s.path_of("big")), std::string::npos) << r.error().message();
    EXPECT_FALSE(s.save("big", std::string(k_max_state_bytes + 1, 'x')));
    EXPECT_EQ(s.where("big"), s.path_of("big"));
}

}  // namespace
}  // namespace trib::runtime
