#pragma once
// Text the MySQL connector sends or reads, built without a server: connection URLs, quoted
// identifiers, string literals, table names. Pure functions, tested without MariaDB
// (tests/connectors/mysql/sql_text_test.cpp).

#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/mysql/options.h"
#include "core/error.h"

namespace trib::connectors::mysql {

/// Parses Iggy's `mysql://user:pass@host:port/db` (also `mariadb://`; user, password and
/// database percent-decoded; `[::1]` for IPv6; `?socket=/path` for a unix socket). The error
/// (invalid_argument) never repeats the password.
result<conn_target> parse_url(std::string_view url);

/// `name` as a backquoted identifier (a backquote doubled). NUL bytes are refused upstream by
/// `check_identifier`.
std::string quote_ident(std::string_view name);
/// An error when `name` cannot be an identifier (empty, NUL, longer than 64 bytes).
status check_identifier(std::string_view name);

/// `db.table` or `table` as quoted SQL; each part checked.
struct table_name {
    std::string schema;  // empty: the connection's database
    std::string name;
    std::string sql() const;
    std::string text() const { return schema.empty() ? name : schema + "." + name; }
};
result<table_name> parse_table_name(std::string_view text);

/// Appends `bytes` as a quoted string literal: '...' with \0 \' \\ \n \r \Z escaped (the
/// connection runs without NO_BACKSLASH_ESCAPES; the sink sets its sql_mode). With `binary` the
/// literal gets the _binary introducer, so bytes that are not UTF-8 reach a BLOB unchanged.
void append_literal(std::string& out, std::string_view bytes, bool binary = false);

/// Appends one field of LOAD DATA's default format (tab-separated, \N for NULL, backslash
/// escapes for \0 \b \n \r \t \Z and \\).
void append_tsv_field(std::string& out, std::string_view bytes);

/// `unix_us` as a DATETIME(6) literal body: "2024-01-02 03:04:05.000006" (UTC).
std::string datetime_text(std::uint64_t unix_us);

}  // namespace trib::connectors::mysql
