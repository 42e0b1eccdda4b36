// The log rules of core/log.h: redaction of every line, and per-key rate limiting.

#include "core/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "core/redact.h"

namespace trib::log {
namespace {

using namespace std::chrono_literals;
using clock = rate_limiter::clock;

struct manual_clock {
    clock::time_point t{clock::duration(1'000'000'000)};
    std::function<clock::time_point()> fn() {
        return [this] { return t; };
    }
};

TEST(rate_limiter, a_hundred_thousand_identical_lines_admit_the_burst_only) {
    manual_clock c;
    rate_limiter r({.burst = 10, .refill = 1000ms}, c.fn());
    std::uint64_t admitted = 0;
    for (int i = 0; i < 100'000; ++i)
        admitted += r.check("sink pg: write failed").admit ? 1 : 0;
    EXPECT_EQ(admitted, 10u);
    // One refill later one line passes and reports what was suppressed.
    c.t += 1000ms;
    auto v = r.check("sink pg: write failed");
    EXPECT_TRUE(v.admit);
    EXPECT_EQ(v.suppressed, 99'990u);
    EXPECT_FALSE(r.check("sink pg: write failed").admit);
    // Other keys have their own budget.
    EXPECT_TRUE(r.check("sink other: write failed").admit);
    auto pending = r.take_pending();
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].second, 1u);
    EXPECT_TRUE(r.take_pending().empty());
}

TEST(rate_limiter, the_budget_refills_up_to_the_burst) {
    manual_clock c;
    rate_limiter r({.burst = 3, .refill = 100ms}, c.fn());
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(r.check("k").admit);
    EXPECT_FALSE(r.check("k").admit);
    c.t += 1h;  // a long quiet time refills to the burst, not beyond
    int admitted = 0;
    for (int i = 0; i < 100; ++i)
        admitted += r.check("k").admit ? 1 : 0;
    EXPECT_EQ(admitted, 3);
}

TEST(rate_limiter, distinct_keys_stay_bounded) {
    manual_clock c;
    rate_limiter r({.burst = 1, .refill = 1000ms, .max_keys = 64}, c.fn());
    for (int i = 0; i < 100'000; ++i) {
        c.t += 1us;
        EXPECT_TRUE(r.check("key " + std::to_string(i)).admit);
    }
    EXPECT_LE(r.take_pending().size(), 64u);
}

TEST(log_limited, lines_beyond_the_budget_are_suppressed_and_counted) {
    std::ostringstream out;
    auto logger = std::make_shared<spdlog::logger>(
        "capture", redacting_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
    logger->set_pattern("%v");
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(logger);
    for (int i = 0; i < 100'000; ++i)
        limited(spdlog::level::warn, "test: identical failure", "failure {}", i);
    flush_suppressed();
    spdlog::set_default_logger(previous);
    const std::string text = out.str();
    std::size_t lines = 0;
    for (char ch : text)
        lines += ch == '\n' ? 1 : 0;
    // The burst (10), perhaps a line per second of the run, and the closing summary.
    EXPECT_GE(lines, 11u);
    EXPECT_LE(lines, 100u) << text.substr(0, 2000);
    EXPECT_NE(text.find("similar lines suppressed"), std::string::npos);
}

TEST(log_redaction, every_line_of_the_default_logger_is_redacted) {
    std::ostringstream out;
    auto logger = std::make_shared<spdlog::logger>(
        "capture", redacting_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
    logger->set_pattern("%v");
    register_secret("s3cr3t-token-value");
    logger->warn("connecting to mqtt://bob:hunter2@broker:1883 failed");
    logger->error("connection to server failed: host=db user=app password=pw1234 dbname=x");
    logger->info("sending with header Authorization: Bearer s3cr3t-token-value");
    const std::string text = out.str();
    EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
    EXPECT_EQ(text.find("pw1234"), std::string::npos) << text;
    EXPECT_EQ(text.find("s3cr3t-token-value"), std::string::npos) << text;
    EXPECT_NE(text.find("mqtt://bob:***@broker:1883"), std::string::npos) << text;
    EXPECT_NE(text.find("password=***"), std::string::npos) << text;
    clear_registered_secrets();
}

}  // namespace
}  // namespace trib::log
