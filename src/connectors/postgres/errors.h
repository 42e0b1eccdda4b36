#pragma once
// PostgreSQL errors mapped to Tributary's retry classes (STYLE.md "Errors"): one table, in
// errors.cpp, by SQLSTATE class.

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::connectors::postgres {

/// The SQLSTATE packed into an integer for error::vendor_code: the five ASCII characters
/// big-endian ("23505" -> 0x3233353035), so it reads back with `sqlstate_text`.
std::int64_t sqlstate_code(std::string_view sqlstate);
std::string sqlstate_text(std::int64_t code);

/// The error for a SQLSTATE and message:
///   08xxx (connection), 57P01-57P03 (shutdown), 40001 / 40P01 (serialization, deadlock),
///   55P03 (lock not available), 57014 (cancelled), 58xxx (system I/O) -> retryable;
///   53xxx (insufficient resources), 54xxx (program limit... only 54000) -> throttled;
///   22xxx (data), 23xxx (constraint) -> fatal, invalid_argument (per message: the sink isolates
///   the row); 28xxx -> unauthenticated; 42501 -> permission_denied; 3D000, 3F000, 42P01 ->
///   not_found; other 42xxx -> failed_precondition; XX001/XX002 -> data_loss; the rest fatal.
error classify(std::string_view sqlstate, std::string message);

/// The error of a failed result (or of the connection when `r` is null / has no SQLSTATE:
/// a lost connection is retryable).
error from_result(const PGconn* c, const PGresult* r, std::string_view context);
/// The error of a failed connect.
error from_connect(const PGconn* c, std::string_view context);

/// True for SQLSTATE classes 22 and 23: the data of one row is at fault, not the batch.
bool is_row_error(const error& e);
/// True when the error says the connection is gone (retry on a new connection).
bool is_connection_error(const error& e);

}  // namespace trib::connectors::postgres
