#pragma once
// Builds validated option values from TOML text for connector tests (as the config loader does
// for a [plugin_config] table).

#include <gtest/gtest.h>

#include <string_view>

#include "config/node.h"
#include "config/problems.h"
#include "config/spec.h"
#include "config/validate.h"

namespace trib::test {

inline config::values spec_values(const config::spec& s, std::string_view toml) {
    auto n = config::parse_toml(toml, "test.toml");
    EXPECT_TRUE(n) << (n ? "" : n.error().to_string());
    if (!n)
        return config::values();
    config::problems pr;
    auto v = config::validate(s, *n, "test.toml", "plugin_config", pr);
    EXPECT_FALSE(pr.has_errors()) << pr.to_string();
    return v;
}

/// The problems validating `toml` against `s` finds (empty: valid).
inline std::string spec_problems(const config::spec& s, std::string_view toml) {
    auto n = config::parse_toml(toml, "test.toml");
    if (!n)
        return n.error().to_string();
    config::problems pr;
    (void)config::validate(s, *n, "test.toml", "plugin_config", pr);
    return pr.errors_to_string();
}

}  // namespace trib::test
