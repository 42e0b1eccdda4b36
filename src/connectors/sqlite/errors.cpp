// SQLite result codes -> errc and retry class (see errors.h).

#include "connectors/sqlite/errors.h"

#include <sqlite3.h>

#include <string>

namespace trib::connectors::sqlite {

bool row_fault(int rc) {
    switch (rc & 0xff) {
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_TOOBIG:
        case SQLITE_RANGE:
            return true;
        default:
            return false;
    }
}

error sqlite_error(sqlite3* db, int rc, std::string_view what) {
    errc code = errc::internal;
    retry_class rclass = retry_class::fatal;
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            code = errc::unavailable;
            rclass = retry_class::throttled;
            break;
        case SQLITE_NOMEM:
        case SQLITE_FULL:
            code = errc::resource_exhausted;
            rclass = retry_class::retryable;
            break;
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_PROTOCOL:
            code = errc::io_error;
            rclass = retry_class::retryable;
            break;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
            code = errc::permission_denied;
            break;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            code = errc::data_loss;
            break;
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_TOOBIG:
        case SQLITE_RANGE:
            code = errc::invalid_argument;
            break;
        case SQLITE_ERROR:  // SQL error: a missing table or column, a bad statement
        case SQLITE_SCHEMA:
            code = errc::failed_precondition;
            break;
        default:
            break;
    }
    std::string msg(what);
    msg += ": ";
    // The connection's message is the specific one ("no such table: t"), when it is about rc.
    if (db != nullptr && sqlite3_extended_errcode(db) == rc)
        msg += sqlite3_errmsg(db);
    else
        msg += sqlite3_errstr(rc);
    error e(code, rclass, std::move(msg));
    e.with_vendor_code(rc);
    return e;
}

}  // namespace trib::connectors::sqlite
