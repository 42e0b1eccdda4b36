#pragma once
// Durations ("5s", "250ms", "1h30m", "1 s"; Iggy writes both) and sizes ("4MiB", "512KB").

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trib::config {

/// Parses a duration: one or more <number><unit> parts, optional spaces between them.
/// Units: ns, us/µs, ms, s/sec/secs/second/seconds, m/min/mins/minute/minutes,
/// h/hr/hrs/hour/hours, d/day/days, w/week/weeks. A bare integer means milliseconds.
/// Fractions are allowed ("1.5s"). nullopt when malformed, negative or overflowing.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// Parses a size: <number>[unit], unit case-insensitive: B, KB/MB/GB/TB (powers of 1000),
/// KiB/MiB/GiB/TiB (powers of 1024), K/M/G/T (1000-based). A bare integer means bytes.
std::optional<std::uint64_t> parse_size(std::string_view text);

/// The shortest text parse_duration reads back as `d` ("1h30m", "250ms", "0s").
std::string format_duration(std::chrono::nanoseconds d);
/// A size as text: exact binary units when they fit ("4MiB"), otherwise bytes ("1000").
std::string format_size(std::uint64_t bytes);

/// Damerau-Levenshtein distance (optimal string alignment), ASCII case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate closest to `word` if it is close enough to be a plausible typo.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

}  // namespace trib::config
