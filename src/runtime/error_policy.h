#pragma once
// What the runtime does with a message that failed (DESIGN.md "Delivery guarantees"): retry with
// capped exponential backoff and jitter, send it to a dead-letter Iggy topic with the error in
// headers, skip it (counted and logged), or stop the connector. Nothing is dropped silently.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/connector.h"
#include "core/error.h"
#include "core/message.h"
#include "runtime/backoff.h"

namespace trib::runtime {

/// The action for a message that failed for good.
enum class policy_action : std::uint8_t { retry, dead_letter, skip, stop };

std::string_view to_string(policy_action a);
/// Parses "retry" | "dead_letter" | "skip" | "stop" (also "dlq" and "dead-letter").
std::optional<policy_action> parse_policy_action(std::string_view s);

/// Where in the pipeline a message failed (a dead-letter header, a metrics label).
enum class failure_stage : std::uint8_t { decode, transform, encode, write, send };
std::string_view to_string(failure_stage s);

/// A connector's error policy.
struct error_policy {
    /// What happens to a message that failed for good: a fatal error, a rejection by the sink,
    /// a decode/transform failure, or a retryable error after `max_retries`. The default (no
    /// `mode` in the config) is dead_letter with a dead-letter destination and stop without:
    /// never retry for ever what cannot succeed, never drop it.
    policy_action on_error = policy_action::stop;
    /// on_error was chosen by default, not by the user (for the log and API texts).
    bool on_error_defaulted = false;
    /// Attempts of a retryable or throttled error before it counts as failed for good
    /// (0: retry for ever; a sink that is down for an hour loses nothing).
    std::uint32_t max_retries = 0;
    backoff_settings backoff{};
    /// Throttled errors wait at least this long between attempts.
    std::chrono::milliseconds throttle_min{1000};
    /// The dead-letter destination (required when on_error is dead_letter).
    std::optional<stream_ref> dead_letter;
};

/// The decision for one failed attempt.
struct retry_decision {
    bool retry = false;  // try the same thing again after `delay`
    std::chrono::milliseconds delay{0};
    bool give_up = false;  // treat as failed for good: isolate, then apply on_error
};

/// Decides between retrying and giving up for the `attempt`-th failure (1-based) of an
/// operation, given the error's retry class. Advances `b`.
retry_decision decide(const error_policy& p, const error& e, std::uint32_t attempt, backoff& b);

/// What the runtime knows about a failed message, for the dead-letter headers.
struct failure_info {
    failure_stage stage = failure_stage::write;
    error err;
    std::string_view connector_key;
    std::string_view stream;  // the original Iggy stream/topic/partition/offset (sinks)
    std::string_view topic;
    std::optional<std::uint32_t> partition;
    std::optional<std::uint64_t> offset;
    std::uint64_t original_timestamp_us = 0;
    std::uint64_t failed_at_us = 0;  // 0: now
};

/// Header keys added to dead-lettered messages.
namespace dlq_headers {
inline constexpr std::string_view error = "tributary.error";  // the error message
inline constexpr std::string_view error_class =
    "tributary.error.class";                                            // retryable|throttled|fatal
inline constexpr std::string_view error_code = "tributary.error.code";  // errc name
inline constexpr std::string_view vendor_code = "tributary.error.vendor_code";  // int64, if set
inline constexpr std::string_view stage = "tributary.error.stage";    // decode|transform|...|write
inline constexpr std::string_view connector = "tributary.connector";  // the connector key
inline constexpr std::string_view stream = "tributary.original.stream";
inline constexpr std::string_view topic = "tributary.original.topic";
inline constexpr std::string_view partition = "tributary.original.partition";  // uint32
inline constexpr std::string_view offset = "tributary.original.offset";        // uint64
inline constexpr std::string_view timestamp = "tributary.original.timestamp";  // uint64 µs
inline constexpr std::string_view failed_at = "tributary.failed_at";  // uint64 µs since epoch
}  // namespace dlq_headers

/// Builds the dead-letter copy of `original` into `out` (payload kept alive by `out`): the
/// original payload, id and headers (a previous dead-letter's tributary.* headers are replaced),
/// plus the failure headers above.
void append_dead_letter(message_batch& out, const message& original, const failure_info& info);

/// Microseconds since the Unix epoch.
std::uint64_t now_us();

}  // namespace trib::runtime
