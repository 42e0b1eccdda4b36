#pragma once
// Option values from TOML for the S3 connectors' tests.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/node.h"
#include "config/problems.h"
#include "config/spec.h"
#include "config/validate.h"

namespace trib::test {

/// Option values validated against `s` from the TOML body of a [plugin_config] table.
inline config::values s3_values(const config::spec& s, std::string_view toml) {
    auto n = config::parse_toml(toml, "test.toml");
    EXPECT_TRUE(n) << (n ? "" : n.error().to_string());
    if (!n)
        return config::values();
    config::problems pr;
    auto v = config::validate(s, *n, "test.toml", "plugin_config", pr);
    EXPECT_FALSE(pr.has_errors()) << pr.to_string();
    return v;
}

/// The validation errors of `toml` against `s` ("" when valid).
inline std::string s3_problems(const config::spec& s, std::string_view toml) {
    auto n = config::parse_toml(toml, "test.toml");
    if (!n)
        return n.error().to_string();
    config::problems pr;
    (void)config::validate(s, *n, "test.toml", "plugin_config", pr);
    return pr.errors_to_string();
}

}  // namespace trib::test
