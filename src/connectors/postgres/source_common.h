#pragma once
// Small helpers shared by the polling and the CDC source (internal).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/poll_ledger.h"
#include "core/unix_time.h"

namespace trib::connectors::postgres::detail {

/// "2024-01-15T10:30:00.123456Z"
inline std::string rfc3339(std::uint64_t unix_us) {
    return rfc3339_us(unix_us);
}

/// Iggy's snake_case_columns: "UserName" -> "user_name", "user-id" -> "user_id".
inline std::string snake_case(std::string_view s) {
    return trib::snake_case(s);
}

}  // namespace trib::connectors::postgres::detail
