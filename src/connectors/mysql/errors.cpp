#include "connectors/mysql/errors.h"

#include <algorithm>
#include <array>

namespace trib::connectors::mysql {

namespace {

// Server errors that mean "this row's data" (ER_* numbers of MariaDB 10.11 / MySQL 8).
constexpr std::array<unsigned, 23> row_errors = {
    1048,  // ER_BAD_NULL_ERROR
    1364,  // ER_NO_DEFAULT_FOR_FIELD (a NOT NULL column the row leaves out)
    1062,  // ER_DUP_ENTRY
    1263,  // ER_WARN_NULL_TO_NOTNULL
    1264,  // ER_WARN_DATA_OUT_OF_RANGE
    1265,  // WARN_DATA_TRUNCATED
    1292,  // ER_TRUNCATED_WRONG_VALUE
    1366,  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    1367,  // ER_ILLEGAL_VALUE_FOR_TYPE
    1406,  // ER_DATA_TOO_LONG
    1411,  // ER_WRONG_VALUE_FOR_TYPE
    1416,  // ER_CANT_CREATE_GEOMETRY_OBJECT
    1451,  // ER_ROW_IS_REFERENCED_2
    1452,  // ER_NO_REFERENCED_ROW_2
    1557,  // ER_FOREIGN_DUPLICATE_KEY
    1586,  // ER_DUP_ENTRY_WITH_KEY_NAME
    1690,  // ER_DATA_OUT_OF_RANGE
    3140,  // ER_INVALID_JSON_TEXT (MySQL)
    3819,  // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
    4025,  // ER_CONSTRAINT_FAILED (MariaDB CHECK, also JSON_VALID of a JSON column)
    4038,  // ER_JSON_BAD_CHR (MariaDB)
    1300,  // ER_INVALID_CHARACTER_STRING
    1918,  // ER_BAD_DATA (MariaDB: a value not convertible)
};

constexpr std::array<unsigned, 12> connection_errors = {
    1053, 1152, 1158, 1159, 1160, 1161, 1927, 4031, 2006, 2013, 2055, 2003,
};

bool in(unsigned n, const auto& list) {
    return std::find(list.begin(), list.end(), n) != list.end();
}

}  // namespace

error classify(unsigned n, std::string message) {
    auto e = [&](errc c, retry_class r) {
        return error(c, r, std::move(message), static_cast<std::int64_t>(n));
    };
    if (n >= 2000 && n < 3000) {
        // Client-side errors: lost connections, failed connects, commands out of sync.
        if (n == 2014 || n == 2030 || n == 2031 || n == 2034 || n == 2036)
            return e(errc::internal, retry_class::fatal);
        return e(errc::unavailable, retry_class::retryable);
    }
    if (in(n, connection_errors) || n == 1205 || n == 1213)
        return e(errc::unavailable, retry_class::retryable);
    if (n == 1040 || n == 1041 || n == 1037 || n == 1038 || n == 1203 || n == 1226)
        return e(errc::resource_exhausted, retry_class::throttled);
    if (n == 1045 || n == 1044 || n == 1698)
        return e(errc::unauthenticated, retry_class::fatal);
    if (n == 1142 || n == 1143 || n == 1227 || n == 1370)
        return e(errc::permission_denied, retry_class::fatal);
    if (n == 1049 || n == 1146 || n == 1054)
        return e(errc::not_found, retry_class::fatal);
    if (in(n, row_errors))
        return e(errc::invalid_argument, retry_class::fatal);
    return e(errc::failed_precondition, retry_class::fatal);
}

bool is_row_error(const error& e) {
    return e.vendor_code() > 0 && in(static_cast<unsigned>(e.vendor_code()), row_errors);
}

bool is_connection_error(const error& e) {
    auto n = static_cast<unsigned>(e.vendor_code());
    return e.vendor_code() > 0 && ((n >= 2000 && n < 3000) || in(n, connection_errors));
}

}  // namespace trib::connectors::mysql
