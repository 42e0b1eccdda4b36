#include "mariadb_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace trib::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

bool running_as_root() {
    return ::geteuid() == 0;
}

std::string sh_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

// mariadb-install-db once per peer directory (a retry with new ports keeps the data).
void install_db(const peer& p) {
    fs::path data = p.dir() / "data";
    if (fs::exists(data / "mysql"))
        return;
    fs::path tool = find_program("mariadb-install-db");
    if (tool.empty())
        return;  // start() then fails with the log saying why
    std::string cmd = sh_quote(tool.string()) + " --no-defaults " +
                      (running_as_root() ? "--user=mysql " : "") +
                      "--datadir=" + sh_quote(data.string()) +
                      " --auth-root-authentication-method=socket --skip-test-db > " +
                      sh_quote((p.dir() / "install.log").string()) + " 2>&1";
    (void)std::system(cmd.c_str());
}

// Root over the unix socket (socket authentication: this process runs as root, or as the
// user that installed the data directory), then the TCP user the tests use.
bool bootstrap(const peer& p) {
    MYSQL* m = mysql_init(nullptr);
    unsigned timeout = 2;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    std::string sock = (p.dir() / "mysqld.sock").string();
    std::string user =
        running_as_root() ? "root" : (std::getenv("USER") ? std::getenv("USER") : "root");
    bool ok = mysql_real_connect(m, nullptr, user.c_str(), nullptr, nullptr, 0, sock.c_str(), 0) !=
              nullptr;
    if (ok) {
        for (const char* q : {"CREATE USER IF NOT EXISTS 'test'@'127.0.0.1' IDENTIFIED BY 'test'",
                              "GRANT ALL PRIVILEGES ON *.* TO 'test'@'127.0.0.1'"}) {
            if (mysql_query(m, q) != 0) {
                ok = false;
                break;
            }
        }
    }
    mysql_close(m);
    return ok;
}

}  // namespace

peer_spec mariadb_spec() {
    peer_spec s;
    s.name = "mariadb";
    s.program = "mariadbd";
    s.args = {"--no-defaults"};
    if (running_as_root())
        s.args.push_back("--user=mysql");
    for (const char* a :
         {"--datadir={dir}/data", "--bind-address=127.0.0.1", "--port={port}",
          "--socket={dir}/mysqld.sock", "--pid-file={dir}/mysqld.pid",
          "--log-error={dir}/error.log", "--server-id=1", "--log-bin={dir}/data/mysql-bin",
          "--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL",
          "--innodb-buffer-pool-size=64M", "--max-connections=200",
          // Tests kill the runtime, not the server (a restart test stops it cleanly).
          "--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0", "--skip-name-resolve",
          "--local-infile=1"}) {
        s.args.emplace_back(a);
    }
    s.prepare = install_db;
    s.ready = bootstrap;
    s.ready_timeout = 60000ms;
    return s;
}

std::string mariadb_url(const peer& p, std::string_view db) {
    return "mysql://test:test@127.0.0.1:" + std::to_string(p.port()) + "/" + std::string(db);
}

status mariadb_stop(peer& p) {
    if (!p.alive())
        return ok();
    ::kill(p.pid(), SIGTERM);
    if (!wait_until([&] { return !p.alive(); }, 60000ms))
        return fail(errc::timeout, "mariadbd did not stop after SIGTERM within 60 s");
    return ok();
}

status mariadb_restart(peer& p) {
    TRIB_TRY(mariadb_stop(p));
    return p.restart();
}

my_client::my_client(const peer& p, std::string_view db) : m_(mysql_init(nullptr)) {
    unsigned timeout = 5;
    mysql_optionsv(m_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    std::string d(db);
    ok_ = mysql_real_connect(m_, "127.0.0.1", "test", "test", d.empty() ? nullptr : d.c_str(),
                             p.port(), nullptr, 0) != nullptr;
}

my_client::~my_client() {
    mysql_close(m_);
}

std::string my_client::error() const {
    return mysql_error(m_);
}

std::string my_client::exec(const std::string& sql) {
    if (mysql_real_query(m_, sql.data(), sql.size()) != 0)
        return "ERROR: " + error();
    if (MYSQL_RES* r = mysql_store_result(m_))
        mysql_free_result(r);
    return "";
}

std::string my_client::value(const std::string& sql) {
    auto r = rows(sql);
    if (r.empty())
        return "";
    if (r[0].starts_with("ERROR: "))
        return r[0];
    std::string v = r[0].substr(0, r[0].find('\t'));
    return v == "\\N" ? "" : v;
}

std::vector<std::string> my_client::rows(const std::string& sql) {
    std::vector<std::string> out;
    if (mysql_real_query(m_, sql.data(), sql.size()) != 0)
        return {"ERROR: " + error()};
    MYSQL_RES* r = mysql_store_result(m_);
    if (r == nullptr)
        return out;
    unsigned n = mysql_num_fields(r);
    while (MYSQL_ROW row = mysql_fetch_row(r)) {
        unsigned long* len = mysql_fetch_lengths(r);
        std::string line;
        for (unsigned i = 0; i < n; ++i) {
            if (i)
                line += '\t';
            line += row[i] == nullptr ? std::string("\\N") : std::string(row[i], len[i]);
        }
        out.push_back(std::move(line));
    }
    mysql_free_result(r);
    return out;
}

peer* mariadb_test::server_ = nullptr;
std::string* mariadb_test::start_error_ = nullptr;
int mariadb_test::counter_ = 0;

void mariadb_test::SetUpTestSuite() {
    if (server_ != nullptr)
        return;
    auto r = peer::start(mariadb_spec());
    if (r) {
        server_ = std::move(r).value().release();
    } else {
        delete start_error_;
        start_error_ = new std::string(r.error().message());
    }
}

void mariadb_test::TearDownTestSuite() {
    if (server_ != nullptr) {
        (void)mariadb_stop(*server_);
        delete server_;
        server_ = nullptr;
    }
}

void mariadb_test::SetUp() {
    if (server_ == nullptr) {
        std::string why = start_error_ != nullptr ? *start_error_ : "unknown";
        if (in_ci())
            FAIL() << "mariadb could not start (CI=true): " << why;
        GTEST_SKIP() << "mariadb not available: " << why;
    }
    if (!server_->alive()) {
        ASSERT_TRUE(server_->restart().has_value()) << "mariadb did not come back";
    }
    db_ = "db_" + std::to_string(::getpid()) + "_" + std::to_string(++counter_);
    {
        my_client root(*server_);
        ASSERT_TRUE(root.ok()) << root.error();
        ASSERT_EQ(root.exec("DROP DATABASE IF EXISTS `" + db_ + "`"), "");
        ASSERT_EQ(root.exec("CREATE DATABASE `" + db_ + "`"), "");
    }
    client_ = std::make_unique<my_client>(*server_, db_);
    ASSERT_TRUE(client_->ok()) << client_->error();
}

void mariadb_test::TearDown() {
    client_.reset();
    if (server_ == nullptr || db_.empty() || !server_->alive())
        return;
    my_client root(*server_);
    if (root.ok())
        (void)root.exec("DROP DATABASE IF EXISTS `" + db_ + "`");
}

}  // namespace trib::test
