#pragma once
// Small ASCII text helpers shared by the HTTP server, the HTTP client and the connectors: one
// trim, one case-insensitive compare and one query-string splitter instead of a copy per file.
// Header-only (hot paths: header parsing).

#include <string>
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

/// Calls `fn(key, value)` for each parameter of a URL query string (without the `?`), split at
/// `&`; a parameter without `=` has an empty value, empty parts are skipped. Nothing is
/// decoded: the caller decides how strictly (HTTP server, SigV4 canonical query).
template <class F>
constexpr void for_each_query_param(std::string_view query, F&& fn) {
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (part.empty())
            continue;
        auto eq = part.find('=');
        fn(part.substr(0, eq),
           eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    }
}

/// ASCII lower case of one character (no locale).
constexpr char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// ASCII lower case of a text (option values, header and key names; no locale).
inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = ascii_lower(c);
    return out;
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
