#pragma once
// Connector option values from TOML text, validated against a spec as the config loader does
// for a [plugin_config] table: the benchmarks' one way to configure a connector they drive.
// Header-only; a benchmark that includes it links trib::config.

#include <string>

#include "config/node.h"
#include "config/problems.h"
#include "config/spec.h"
#include "config/validate.h"
#include "core/error.h"

namespace trib::bench {

inline result<config::values> spec_values(const config::spec& spec, const std::string& toml) {
    auto n = config::parse_toml(toml, "bench.toml");
    if (!n)
        return n.error();
    config::problems pr;
    auto v = config::validate(spec, *n, "bench.toml", "plugin_config", pr);
    if (pr.has_errors())
        return error(errc::invalid_argument, pr.to_string());
    return v;
}

}  // namespace trib::bench
