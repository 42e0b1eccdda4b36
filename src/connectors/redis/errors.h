#pragma once
// Redis errors mapped to Tributary's codes and retry classes, in one place: the error replies by
// their first word (WRONGTYPE, NOAUTH, LOADING, ...) and hiredis' connection errors.

#include <string_view>

#include "core/error.h"

namespace trib::connectors::redis {

/// The error of an error reply ("WRONGTYPE Operation against a key ..."), with `context` in front.
/// Data errors (WRONGTYPE, a refused argument) are fatal for the message; a server that loads,
/// is busy, read-only or out of memory is retryable or throttled; refused credentials are fatal.
error from_reply_error(std::string_view text, std::string_view context);

/// The error of a failed hiredis context (its `err` and `errstr`).
error from_context_error(int err, std::string_view errstr, std::string_view context);

/// True for the reply XADD gives when an explicit id is not above the stream's last one: with
/// offset-derived ids this is a replay of an entry the stream already holds.
bool is_xadd_id_too_small(std::string_view text);

}  // namespace trib::connectors::redis
