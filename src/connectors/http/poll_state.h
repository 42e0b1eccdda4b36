#pragma once
// The HTTP polling source's persisted position, with a loader that checks it before use.
// Internal to connectors/http; public to its tests and fuzz target.

#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::connectors::http_detail {

/// Where the next request goes. Serialized as the source state: {"cursor":..,"next_url":..}.
struct poll_position {
    std::string cursor;
    std::string next_url;  // link_header / next_url: the page to fetch next ("" = the base URL)
    friend bool operator==(const poll_position&, const poll_position&) = default;
};

std::string to_state(const poll_position& p);
/// Parses a saved state: a JSON object whose `cursor` and `next_url`, when present, are strings
/// (other members are ignored). Anything else is errc::data_loss with the reason. The parse is
/// iterative (no recursion, so no nesting depth can exhaust the stack).
result<poll_position> from_state(std::string_view state);

}  // namespace trib::connectors::http_detail
