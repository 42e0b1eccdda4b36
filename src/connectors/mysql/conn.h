#pragma once
// One client connection to MySQL/MariaDB through libmariadb (Connector/C): connect with TLS
// options, run statements, read results, feed LOAD DATA LOCAL INFILE from memory. Blocking;
// one thread at a time per connection.

#include <mysql.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mysql/options.h"
#include "core/error.h"

namespace trib::connectors::mysql {

/// A fully read result set: column names and types, and rows of optional cells (nullopt: NULL).
struct query_result {
    struct column {
        std::string name;
        enum_field_types type = MYSQL_TYPE_NULL;
        unsigned flags = 0;      // NOT_NULL_FLAG, UNSIGNED_FLAG, BINARY_FLAG, ...
        unsigned charsetnr = 0;  // 63: binary
    };
    std::vector<column> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::optional<std::string> value(std::size_t row = 0, std::size_t col = 0) const {
        if (row >= rows.size() || col >= rows[row].size())
            return std::nullopt;
        return rows[row][col];
    }
};

class db_conn {
  public:
    /// Connects (URL, TLS, timeouts) and sets the session for predictable errors: sql_mode
    /// STRICT_ALL_TABLES (bad values are errors, not warnings), utf8mb4, time_zone UTC.
    static result<std::unique_ptr<db_conn>> connect(const conn_settings& s);
    ~db_conn();
    db_conn(const db_conn&) = delete;
    db_conn& operator=(const db_conn&) = delete;

    MYSQL* get() { return m_; }
    /// False after a connection error (the caller discards the connection).
    bool ok() const { return ok_; }

    /// Runs one statement that returns no rows; the number of affected rows.
    result<std::uint64_t> exec(std::string_view sql);
    /// Runs one query and reads all its rows.
    result<query_result> query(std::string_view sql);
    /// Runs `LOAD DATA LOCAL INFILE ...` (`sql`) with `data` as the file's content.
    result<std::uint64_t> load_data(std::string_view sql, std::string_view data);
    /// ROLLBACK, ignoring errors (after a failed statement in a transaction).
    void rollback_quietly();
    /// The server's version text ("10.11.14-MariaDB-0+deb12u2").
    std::string server_version() const;

  private:
    explicit db_conn(MYSQL* m) : m_(m) {}
    error last_error(std::string_view context);

    MYSQL* m_ = nullptr;
    bool ok_ = true;
};

}  // namespace trib::connectors::mysql
