#pragma once
// A private MariaDB server for integration tests: mariadb-install-db into the peer's temp dir,
// mariadbd (--no-defaults, as user mysql when running as root) on 127.0.0.1 and a free port,
// ROW binlog with full row images and metadata (for CDC), a TCP user `test`/`test` with all
// privileges; stopped by PID. Also a small libmariadb client for test assertions.

#include <gtest/gtest.h>
#include <mysql.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "harness/peer.h"

namespace trib::test {

/// The peer spec of a private MariaDB server (binlog on, ROW format).
peer_spec mariadb_spec();

/// `mysql://test:test@127.0.0.1:PORT/db` for the peer.
std::string mariadb_url(const peer& p, std::string_view db = "");

/// SIGTERM (clean shutdown) and wait until mariadbd has exited.
status mariadb_stop(peer& p);
/// Clean shutdown, then start again on the same port and data directory.
status mariadb_restart(peer& p);

/// A test-side connection (user test over TCP) that fails loudly.
class my_client {
  public:
    my_client(const peer& p, std::string_view db = "");
    ~my_client();
    my_client(const my_client&) = delete;
    my_client& operator=(const my_client&) = delete;

    bool ok() const { return ok_; }
    std::string error() const;
    /// Runs one statement; "" on success or "ERROR: ...".
    std::string exec(const std::string& sql);
    /// The first column of the first row ("" for NULL or no row; "ERROR: ..." on failure).
    std::string value(const std::string& sql);
    /// All rows, each the tab-joined text of its columns (\N for NULL).
    std::vector<std::string> rows(const std::string& sql);
    MYSQL* raw() { return m_; }

  private:
    MYSQL* m_ = nullptr;
    bool ok_ = false;
};

/// A GoogleTest fixture with one MariaDB per test suite and a fresh database per test (`db()`,
/// `url()`, `sql()`). In CI a server that cannot start fails every test; elsewhere they skip.
class mariadb_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite();
    static void TearDownTestSuite();
    void SetUp() override;
    void TearDown() override;

    static peer& server() { return *server_; }
    const std::string& db() const { return db_; }
    std::string url() const { return mariadb_url(*server_, db_); }
    my_client& sql() { return *client_; }
    void drop_client() { client_.reset(); }
    void reconnect_client() { client_ = std::make_unique<my_client>(*server_, db_); }

  private:
    static peer* server_;
    static std::string* start_error_;
    static int counter_;
    std::string db_;
    std::unique_ptr<my_client> client_;
};

}  // namespace trib::test
