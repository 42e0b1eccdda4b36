#pragma once
// Message timestamps (µs since the epoch) as UTC calendar text, the one formatter the SQL
// connectors share: "2024-01-02 03:04:05.000006" (MySQL DATETIME(6)), with "+00" (PostgreSQL
// timestamptz) or as RFC 3339 with 'T' and "Z" (Iggy's DatabaseRecord).

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace trib {

/// "YYYY-MM-DD" `sep` "HH:MM:SS.ffffff" `suffix`, in UTC.
inline std::string utc_text(std::uint64_t unix_us, char sep, std::string_view suffix = {}) {
    std::time_t secs = static_cast<std::time_t>(unix_us / 1000000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d%c%02d:%02d:%02d.%06u", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<unsigned>(unix_us % 1000000));
    return std::string(buf).append(suffix);
}

}  // namespace trib
