#pragma once
// Iggy user headers as JSON: the one renderer the sinks share (file metadata lines, the HTTP
// sink's iggy_headers, the PostgreSQL iggy_headers column).

#include <string>
#include <vector>

#include "core/message.h"

namespace trib {

/// Appends the value of `h` as a JSON value: strings as strings, booleans as true/false, 8- to
/// 64-bit integers as numbers, floats as the shortest number that reads back the same (NaN and
/// the infinities, which JSON cannot write, as null), 128-bit integers as a string of 32 hex
/// digits (little-endian bytes as on the wire, so the lowest byte first), raw bytes as a base64
/// string. A numeric value shorter than its kind renders as 0.
void append_header_json_value(std::string& out, const header& h);

/// Appends `headers` as one JSON object, keys in the order given.
void append_headers_json(std::string& out, const std::vector<header>& headers);

}  // namespace trib
