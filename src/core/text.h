#pragma once
// Small ASCII text helpers shared by the HTTP server, the HTTP client and the connectors: one
// trim and one case-insensitive compare instead of a copy per file. Header-only (hot paths:
// header parsing).

#include <string_view>

namespace trib {

/// Spaces and tabs: the optional whitespace of HTTP (RFC 9110).
inline constexpr std::string_view ows_chars = " \t";
/// Spaces, tabs, CR and LF: header lines and text bodies.
inline constexpr std::string_view line_ws_chars = " \t\r\n";

/// `s` without leading and trailing characters from `chars` (default: spaces and tabs).
constexpr std::string_view trim(std::string_view s, std::string_view chars = ows_chars) {
    auto first = s.find_first_not_of(chars);
    if (first == std::string_view::npos)
        return {};
    auto last = s.find_last_not_of(chars);
    return s.substr(first, last - first + 1);
}

/// ASCII lower case of one character (no locale).
constexpr char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// ASCII case-insensitive equality (header names, tokens such as "100-continue").
constexpr bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    }
    return true;
}

}  // namespace trib
