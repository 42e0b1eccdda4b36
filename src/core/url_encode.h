#pragma once
// Percent-encoding of URL parts (RFC 3986), the counterpart of core/hex.h's percent_decode.

#include <string>
#include <string_view>

namespace trib {

/// `s` with every byte other than RFC 3986's unreserved characters (letters, digits, `-._~`)
/// written `%XX` (upper-case hex): a URL path segment or query value.
std::string percent_encode(std::string_view s);

}  // namespace trib
