#pragma once
// MySQL/MariaDB errors mapped to Tributary's retry classes (STYLE.md "Errors"): one table, in
// errors.cpp, by server and client error number.

#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::connectors::mysql {

/// The error for a MySQL error number (mysql_errno) and message; vendor_code holds the number.
///   client 2000-2999 connection errors (2002, 2003, 2006, 2013, 2055...), 1053 shutdown,
///   1152/1158-1161 aborted/network, 1205 lock wait timeout, 1213 deadlock, 1927 killed,
///   4031 idle disconnect -> unavailable, retryable;
///   1040 too many connections, 1041/1037/1038 out of memory, 1203 user connections -> throttled;
///   1045/1044/1698 access denied -> unauthenticated; 1142/1143/1227 -> permission_denied;
///   1049 unknown database, 1146 no such table, 1054 unknown column -> not_found, fatal;
///   row errors (see is_row_error) -> invalid_argument, fatal for the one message;
///   the rest fatal.
error classify(unsigned errnum, std::string message);

/// True for errors caused by the data of a row (bad value, out of range, too long, NULL in a
/// NOT NULL column, duplicate key, foreign key, CHECK constraint, invalid JSON): the sink
/// isolates the row and hands it to the error policy.
bool is_row_error(const error& e);
/// True when the connection is gone or unusable (reconnect, then retry).
bool is_connection_error(const error& e);

}  // namespace trib::connectors::mysql
