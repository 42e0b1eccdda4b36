#pragma once
// SQLite result codes mapped to Tributary's error codes and retry classes, in one place.

#include <string_view>

#include "core/error.h"

struct sqlite3;

namespace trib::connectors::sqlite {

/// The error for result code `rc` (extended codes too) of the call `what` on `db` (may be null):
/// busy/locked, I/O, full disk and out-of-memory are retryable; a constraint or type mismatch
/// is the message's fault (fatal, invalid_argument); a corrupt file, a read-only database or a
/// refused permission is fatal. The vendor code is the extended result code.
error sqlite_error(sqlite3* db, int rc, std::string_view what);

/// True when `rc` is the fault of one row's values (the rest of the batch can go on).
bool row_fault(int rc);

}  // namespace trib::connectors::sqlite
