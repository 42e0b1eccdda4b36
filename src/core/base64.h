#pragma once
// Base64 (RFC 4648): one encoder and decoder for the codecs and the connectors.

#include <optional>
#include <string>
#include <string_view>

namespace trib {

/// Appends the standard base64 of `bytes` (with padding) to `out`.
void append_base64(std::string& out, std::string_view bytes);
/// Appends the bytes of standard or URL-safe base64 (padding optional) to `out`; false if
/// malformed (what was appended before the bad character stays).
[[nodiscard]] bool decode_base64(std::string_view in, std::string& out);

/// The standard base64 of `bytes`, with padding.
std::string base64_encode(std::string_view bytes);
/// The bytes of standard or URL-safe base64 (padding optional); nullopt if malformed.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace trib
