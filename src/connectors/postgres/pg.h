#pragma once
// Thin RAII over libpq for the PostgreSQL connector (internal to connectors/postgres): a
// connection, a result, a small connection pool, identifier quoting and a binary COPY buffer.
// Blocking calls: used from the runtime's worker threads (sink write, source poll), never from an
// event loop.

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::connectors::postgres {

/// TLS settings passed to libpq; empty fields are left to the connection string / defaults.
struct tls_options {
    std::string sslmode;      // disable | allow | prefer | require | verify-ca | verify-full
    std::string sslrootcert;  // CA file
    std::string sslcert;      // client certificate
    std::string sslkey;       // client key
    std::string sslcrl;       // revocation list
};

/// How to reach the server. `connection_string` is a libpq URI or keyword/value string; the TLS
/// and timeout fields, when set, override what it says.
struct conn_settings {
    std::string connection_string;
    tls_options tls;
    std::chrono::seconds connect_timeout{10};
    std::string application_name = "tributary";
    bool replication = false;  // a logical replication connection (replication=database)
};

/// Owns a PGresult.
class pg_result {
  public:
    pg_result() = default;
    explicit pg_result(PGresult* r) : r_(r) {}
    PGresult* get() const { return r_.get(); }
    explicit operator bool() const { return r_ != nullptr; }
    int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
    int cols() const { return r_ ? PQnfields(r_.get()) : 0; }
    bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
    std::string_view value(int row, int col) const {
        return {PQgetvalue(r_.get(), row, col),
                static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
    }
    std::string str(int row, int col) const { return std::string(value(row, col)); }
    /// The number of rows a command affected (INSERT/UPDATE/DELETE/COPY).
    std::uint64_t affected() const;

  private:
    struct deleter {
        void operator()(PGresult* r) const { PQclear(r); }
    };
    std::unique_ptr<PGresult, deleter> r_;
};

/// One libpq connection. Not thread-safe; movable.
class db_conn {
  public:
    db_conn() = default;
    /// Connects (blocking, bounded by connect_timeout). Errors carry the retry class: refused or
    /// lost connections are retryable, bad credentials or a missing database are fatal.
    static result<db_conn> connect(const conn_settings& s);

    PGconn* get() const { return c_.get(); }
    bool ok() const { return c_ && PQstatus(c_.get()) == CONNECTION_OK; }
    explicit operator bool() const { return c_ != nullptr; }

    /// Runs `sql` (one or more statements, text protocol); the last result must be
    /// COMMAND_OK or TUPLES_OK.
    result<pg_result> exec(std::string_view sql);
    /// Runs a parameterised statement; values as text unless `formats` says binary (1).
    result<pg_result> exec_params(const std::string& sql, const std::vector<const char*>& values,
                                  const std::vector<int>& lengths = {},
                                  const std::vector<int>& formats = {});
    /// Runs a named prepared statement (see prepare()).
    result<pg_result> exec_prepared(const std::string& name, const std::vector<const char*>& values,
                                    const std::vector<int>& lengths = {},
                                    const std::vector<int>& formats = {});
    status prepare(const std::string& name, const std::string& sql);
    /// COPY ... FROM STDIN with the whole of `data`; returns the rows copied.
    result<std::uint64_t> copy_in(const std::string& copy_sql, std::string_view data);
    /// Best-effort ROLLBACK after a failed statement (ignored if the connection is gone).
    void rollback_quietly();
    /// Fixes the text output of values for the source (ISO dates in UTC, hex bytea, full float
    /// precision), so positions and JSON do not depend on server or role defaults.
    status set_output_defaults();
    /// The server's version number (150004 ...).
    int server_version() const { return c_ ? PQserverVersion(c_.get()) : 0; }

    /// State kept per connection by its user (prepared statement names, temp tables).
    std::map<std::string, std::string>& session() { return session_; }

  private:
    struct deleter {
        void operator()(PGconn* c) const { PQfinish(c); }
    };
    result<pg_result> check(PGresult* r, std::string_view what);
    std::unique_ptr<PGconn, deleter> c_;
    std::map<std::string, std::string> session_;
};

/// A bounded pool of connections (at most `max` open). acquire() reuses an idle healthy
/// connection, opens a new one below the limit, or waits for a release. Thread-safe.
class conn_pool {
  public:
    class lease {
      public:
        lease() = default;
        lease(conn_pool* pool, std::unique_ptr<db_conn> c) : pool_(pool), c_(std::move(c)) {}
        lease(lease&&) = default;
        lease& operator=(lease&& o) noexcept {
            release();
            pool_ = o.pool_;
            c_ = std::move(o.c_);
            return *this;
        }
        ~lease() { release(); }
        db_conn& operator*() { return *c_; }
        db_conn* operator->() { return c_.get(); }
        /// Closes the connection instead of returning it (after a connection error).
        void discard();

      private:
        void release();
        conn_pool* pool_ = nullptr;
        std::unique_ptr<db_conn> c_;
    };

    conn_pool(conn_settings s, std::size_t max);
    ~conn_pool();
    /// A connection, or the connect error (retryable when the server is unreachable).
    result<lease> acquire(std::chrono::milliseconds wait = std::chrono::seconds(30));
    /// Closes idle connections (open leases close theirs when released).
    void clear();
    std::size_t open_count() const;

  private:
    friend class lease;
    void give_back(std::unique_ptr<db_conn> c, bool keep);
    conn_settings settings_;
    std::size_t max_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<db_conn>> idle_;
    std::size_t open_ = 0;
};

/// "name" with embedded quotes doubled.
std::string quote_ident(std::string_view name);
/// 'text' with embedded quotes doubled (standard_conforming_strings is on since 9.1).
std::string quote_literal(std::string_view text);

/// A possibly schema-qualified table name as written in config: `t`, `s.t`, `"My S"."T"`.
struct qualified_name {
    std::string schema;  // empty: resolved through search_path
    std::string name;
    /// The quoted SQL form ("s"."t" or "t").
    std::string sql() const;
    /// The unquoted dotted form (s.t or t), as PostgreSQL shows it.
    std::string text() const { return schema.empty() ? name : schema + "." + name; }
};
/// Parses a table name; unquoted parts are folded to lower case like PostgreSQL does.
result<qualified_name> parse_qualified_name(std::string_view s);

/// Binary wire encodings (COPY BINARY fields and binary parameters), big-endian.
namespace binary {
/// The 19-byte PGCOPY header (signature, flags, extension length).
inline constexpr std::string_view copy_header{"PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19};
void put16(std::string& out, std::uint16_t v);
void put32(std::string& out, std::uint32_t v);
void put64(std::string& out, std::uint64_t v);
/// An unsigned 128-bit integer in numeric's binary form (the value bytes, no length word).
void numeric_u128(std::string& out, std::uint64_t hi, std::uint64_t lo);
/// µs since the Unix epoch to PostgreSQL's timestamp (µs since 2000-01-01 UTC).
std::int64_t pg_timestamp(std::uint64_t unix_us);
}  // namespace binary

/// Appends `v` to a COPY text-format field, escaping backslash, tab, newline and CR.
void copy_text_escape(std::string& out, std::string_view v);

/// The decimal text of an unsigned 128-bit integer.
std::string u128_to_decimal(std::uint64_t hi, std::uint64_t lo);

/// Parses an LSN "X/Y"; nullopt if malformed.
std::optional<std::uint64_t> parse_lsn(std::string_view s);
std::string format_lsn(std::uint64_t lsn);

}  // namespace trib::connectors::postgres
