#pragma once
// JSON text helpers shared by modules that write JSON by hand (config docs and dumps, the HTTP
// API's streaming writer): no DOM, no dependency.

#include <string>
#include <string_view>

namespace trib {

/// Appends `s` to `out` as a JSON string literal, quotes included. UTF-8 passes through
/// unchanged; '"', '\\' and control characters are escaped (\n, \t, ... or \u00XX).
void append_json_string(std::string& out, std::string_view s);

}  // namespace trib
