#include "core/error.h"

#include <gtest/gtest.h>

#include <memory>

namespace trib {
namespace {

result<int> parse_positive(int v) {
    if (v <= 0)
        return fail(errc::invalid_argument, "not positive: " + std::to_string(v));
    return v;
}

result<int> doubled(int v) {
    TRIB_ASSIGN_OR_RETURN(int x, parse_positive(v));
    return x * 2;
}

status check(int v) {
    TRIB_TRY(parse_positive(v));
    return ok();
}

TEST(result, carries_value_or_error) {
    auto good = doubled(21);
    ASSERT_TRUE(good.has_value());
    EXPECT_EQ(*good, 42);
    auto bad = doubled(-1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), errc::invalid_argument);
    EXPECT_EQ(bad.error().message(), "not positive: -1");
    EXPECT_EQ(bad.value_or(7), 7);
}

TEST(result, status_propagates) {
    EXPECT_TRUE(check(1).has_value());
    auto s = check(0);
    ASSERT_FALSE(s.has_value());
    EXPECT_FALSE(s.error().retryable());
}

TEST(result, move_only_values) {
    result<std::unique_ptr<int>> r = std::make_unique<int>(5);
    ASSERT_TRUE(r);
    auto p = std::move(r).value();
    EXPECT_EQ(*p, 5);
}

TEST(error, retry_classes_follow_codes_and_can_be_overridden) {
    EXPECT_EQ(error(errc::unavailable, "x").retry(), retry_class::retryable);
    EXPECT_EQ(error(errc::resource_exhausted, "x").retry(), retry_class::throttled);
    EXPECT_EQ(error(errc::invalid_argument, "x").retry(), retry_class::fatal);
    auto e = error(errc::invalid_argument, "x").with_retry(retry_class::retryable);
    EXPECT_TRUE(e.retryable());
    EXPECT_EQ(e.wrap("sink pg").message(), "sink pg: x");
    EXPECT_EQ(e.to_string(), "invalid_argument (retryable): x");
}

}  // namespace
}  // namespace trib
