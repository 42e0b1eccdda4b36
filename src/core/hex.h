#pragma once
// Hex digits, hex text and percent-escapes: one decoder for the Iggy address, the HTTP client's
// SigV4 canonical query, the HTTP connector's signatures and the codecs' UUIDs.

#include <optional>
#include <string>
#include <string_view>

namespace trib {

/// The value of one hex digit (either case), or -1.
constexpr int hex_digit_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// Appends two lower-case hex digits per byte of `bytes` to `out`.
void append_hex(std::string& out, std::string_view bytes);
/// Lower-case hex of `bytes`.
std::string hex_encode(std::string_view bytes);
/// The bytes of `hex` (either case); nullopt on an odd length or a non-hex character.
std::optional<std::string> hex_decode(std::string_view hex);

/// `s` with every `%XX` replaced by its byte; nullopt on a truncated or non-hex escape.
/// `plus_is_space` (form encoding) turns '+' into ' '.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = false);
/// As percent_decode, but a malformed escape stays as it is (AWS SigV4 canonicalises what the
/// user wrote rather than refusing it).
std::string percent_decode_lenient(std::string_view s);

}  // namespace trib
