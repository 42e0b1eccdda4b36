#pragma once
// A private PostgreSQL 15 cluster for integration tests: initdb into the peer's temp dir (as user
// postgres through setpriv when running as root), wal_level=logical, listening on 127.0.0.1 on a
// free port with its unix socket in the temp dir; stopped by PID. Also small libpq helpers for
// test assertions (run SQL, read one value).

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "harness/peer.h"

namespace trib::test {

struct pg_options {
    /// fsync and full_page_writes off: tests do not kill PostgreSQL itself, only the runtime, so
    /// durability of the server's own files is not what they check; benchmarks keep it on.
    bool durable = false;
    std::vector<std::string> extra_settings;  // more "-c name=value" settings
};

/// The peer spec of a private PostgreSQL 15 cluster (user postgres, password "postgres").
peer_spec postgres_spec(pg_options opts = {});

/// A libpq keyword/value connection string for database `db` of the peer (over TCP).
std::string pg_conninfo(const peer& pg, std::string_view db = "postgres");

/// Fast shutdown (SIGINT) and wait until the postmaster has exited.
status pg_stop_fast(peer& pg);
/// Fast shutdown, then start again on the same port and data directory.
status pg_restart(peer& pg);

/// A test-side connection that fails loudly: every call returns the error text on failure.
class pg_client {
  public:
    explicit pg_client(const std::string& conninfo);
    ~pg_client();
    pg_client(const pg_client&) = delete;
    pg_client& operator=(const pg_client&) = delete;

    bool ok() const;
    std::string error() const;
    /// Runs one or more statements; returns "" on success or the error message.
    std::string exec(const std::string& sql);
    /// Runs a query and returns the first column of the first row ("" for NULL/no row);
    /// on error returns "ERROR: ..." so that comparisons fail visibly.
    std::string value(const std::string& sql);
    /// All rows, each the tab-joined text of its columns.
    std::vector<std::string> rows(const std::string& sql);
    PGconn* raw() { return conn_; }

  private:
    PGconn* conn_ = nullptr;
};

/// Creates database `name` (dropping it first if it exists).
std::string pg_create_database(const peer& pg, const std::string& name);

/// A GoogleTest fixture with one PostgreSQL per test suite and a fresh database per test
/// (`db()`), reachable through `conninfo()` and `sql()`. In CI a server that cannot start fails
/// every test; elsewhere the tests are skipped with the reason.
class pg_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite();
    static void TearDownTestSuite();
    void SetUp() override;
    void TearDown() override;

    static peer& server() { return *server_; }
    const std::string& db() const { return db_; }
    std::string conninfo() const { return pg_conninfo(*server_, db_); }
    pg_client& sql() { return *client_; }
    /// Drops the test's client connection (before restarting the server).
    void drop_client() { client_.reset(); }
    void reconnect_client() { client_ = std::make_unique<pg_client>(conninfo()); }

  private:
    static peer* server_;
    static std::string* start_error_;
    static int counter_;
    std::string db_;
    std::unique_ptr<pg_client> client_;
};

}  // namespace trib::test
