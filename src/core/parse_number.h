#pragma once
// Checked conversions of text to numbers: the one way Tributary reads a number out of a state
// file, a file name, a peer's answer, /proc or any other text it did not produce itself in the
// same process. Whole-string match on std::from_chars: no exceptions (std::stoull throws on
// "abc" and on 2^64), no locale, no leading blanks or '+', no "0x" prefix, no silent wrap of
// "-1" to 2^64-1 (istream >> uint64_t does that), no partial match ("12abc").

#include <charconv>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace trib {

/// Parses all of `text` as an integer of type T in `base` (2..36; digits only, a leading '-'
/// only for signed T). nullopt when empty, when any character is not a digit, or when the value
/// does not fit T.
template <std::integral T>
std::optional<T> parse_int(std::string_view text, int base = 10) {
    if (text.empty())
        return std::nullopt;
    T v{};
    const char* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, v, base);
    if (r.ec != std::errc() || r.ptr != end)
        return std::nullopt;
    return v;
}

inline std::optional<std::uint64_t> parse_u64(std::string_view text, int base = 10) {
    return parse_int<std::uint64_t>(text, base);
}
inline std::optional<std::int64_t> parse_i64(std::string_view text, int base = 10) {
    return parse_int<std::int64_t>(text, base);
}
inline std::optional<std::uint32_t> parse_u32(std::string_view text, int base = 10) {
    return parse_int<std::uint32_t>(text, base);
}
inline std::optional<std::uint16_t> parse_u16(std::string_view text, int base = 10) {
    return parse_int<std::uint16_t>(text, base);
}

/// Parses all of `text` as a finite decimal floating-point number ("1", "-2.5", "1e-3").
/// nullopt when empty, malformed, out of range, or "inf"/"nan" (which std::strtod accepts).
std::optional<double> parse_double(std::string_view text);

}  // namespace trib
