#pragma once
// Name lists with prefix patterns, as the sinks' `exclude_headers` options take them.

#include <string>
#include <string_view>
#include <vector>

namespace trib {

/// True when `name` equals one of `patterns`, or starts with what comes before the final `*` of
/// one (a prefix pattern).
inline bool matches_name_pattern(std::string_view name, const std::vector<std::string>& patterns) {
    for (const auto& p : patterns) {
        const std::string_view pv(p);
        if (pv.ends_with('*') ? name.starts_with(pv.substr(0, pv.size() - 1)) : name == pv)
            return true;
    }
    return false;
}

}  // namespace trib
