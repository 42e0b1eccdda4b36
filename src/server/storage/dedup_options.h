#pragma once
// The settings of message de-duplication (message_deduplicator.h), apart so that the headers
// that carry them (partition_log.h, server.h) stay light.

#include <cstdint>

#include "core/error.h"

namespace trib::server::storage {

/// `[system.message_deduplication]` (Iggy's keys and defaults).
struct dedup_options {
    bool enabled = false;
    /// Ids remembered per partition at most; 0 = no count limit (then `expiry_us` must be set).
    std::uint64_t max_entries = 10000;
    /// How long an id is remembered after its append, in µs; 0 = until evicted by count.
    std::uint64_t expiry_us = 60'000'000;

    friend bool operator==(const dedup_options&, const dedup_options&) = default;
};

/// Checks options: a window with neither a count limit nor an expiry would grow without bound.
[[nodiscard]] status validate(const dedup_options& o);

}  // namespace trib::server::storage
