#pragma once
// Message helpers of the HTTP server that need no socket (message.cpp): header text, the request
// target split into path and query, the API key check and CORS. The Beast translation unit
// (server.cpp) calls them; tests call them directly (tests/http/router_test.cpp).

#include <string>
#include <string_view>
#include <vector>

#include "core/hex.h"
#include "core/text.h"
#include "http/server.h"

namespace trib::http {

/// The elements of `v` separated by `sep` ("GET, HEAD").
std::string join(const std::vector<std::string>& v, std::string_view sep);

/// Fills r.path, r.query_string and r.query from r.target: the path is the target up to '?'
/// (still percent-encoded); each '&'-separated query part is split at its first '=' and
/// percent-decoded with '+' as a space (a part that does not decode is kept as received; empty
/// parts are skipped).
void split_target(request& r);

/// True when `api_key` is empty or the request carries it (`api-key:` or `Authorization: Bearer`),
/// compared in constant time.
bool api_key_ok(std::string_view api_key, const request& r);

/// The answer to a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method): 204
/// with the allowed methods, headers and max age, or 403 for an origin not allowed.
response cors_preflight(const cors_config& cors, const request& r);

/// Adds the CORS response headers for an allowed Origin (unless the handler set them).
void apply_cors(const cors_config& cors, const request& r, response& res);

}  // namespace trib::http
