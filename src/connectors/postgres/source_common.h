#pragma once
// Small helpers shared by the polling and the CDC source (internal).

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "core/unix_time.h"

namespace trib::connectors::postgres::detail {

/// "2024-01-15T10:30:00.123456Z"
inline std::string rfc3339(std::uint64_t unix_us) {
    std::time_t secs = static_cast<std::time_t>(unix_us / 1000000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<unsigned>(unix_us % 1000000));
    return buf;
}

/// Iggy's snake_case_columns: "UserName" -> "user_name", "user-id" -> "user_id".
inline std::string snake_case(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            if (i > 0 && !out.empty() && out.back() != '_') {
                char p = s[i - 1];
                bool prev_lower = (p >= 'a' && p <= 'z') || (p >= '0' && p <= '9');
                bool next_lower = i + 1 < s.size() && s[i + 1] >= 'a' && s[i + 1] <= 'z';
                bool prev_upper = p >= 'A' && p <= 'Z';
                if (prev_lower || (prev_upper && next_lower))
                    out += '_';
            }
            out += static_cast<char>(c - 'A' + 'a');
        } else if (c == ' ' || c == '-' || c == '.') {
            out += '_';
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace trib::connectors::postgres::detail
