#include "pg_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace trib::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The server binaries of Debian's postgresql-15 live outside PATH.
const std::vector<std::string> pg_bin_dirs = {"/usr/lib/postgresql/15/bin"};

bool running_as_root() {
    return ::geteuid() == 0;
}

// Runs a command line through /bin/sh, returning its exit status (-1 if it did not run).
int run_shell(const std::string& cmd) {
    int rc = std::system(cmd.c_str());
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
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

// initdb once per peer directory (prepare() runs again on a retry with new ports; the cluster
// does not depend on the port, so an existing one is kept).
void init_cluster(const peer& p) {
    fs::path data = p.dir() / "data";
    if (fs::exists(data / "PG_VERSION"))
        return;
    fs::path pw = p.dir() / "pw";
    {
        std::ofstream out(pw);
        out << "postgres\n";
    }
    fs::permissions(pw, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
    fs::path initdb = find_program("initdb", pg_bin_dirs);
    if (initdb.empty())
        return;  // start() then fails with the postgres binary missing or the log saying why
    std::string prefix = running_as_root() ? "setpriv --reuid=postgres --regid=postgres "
                                             "--init-groups "
                                           : "";
    std::string cmd = prefix + sh_quote(initdb.string()) + " -D " + sh_quote(data.string()) +
                      " -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile=" +
                      sh_quote(pw.string()) + " -E UTF8 --locale=C.UTF-8 --no-sync > " +
                      sh_quote((p.dir() / "initdb.log").string()) + " 2>&1";
    (void)run_shell(cmd);
}

// Whether the installed server has a configuration parameter (`postgres --describe-config`
// lists them, and runs as root too).
bool server_knows_setting(const fs::path& postgres, const std::string& name) {
    if (postgres.empty())
        return false;
    return run_shell(sh_quote(postgres.string()) +
                     " --describe-config 2>/dev/null | cut -f1 | "
                     "grep -qx " +
                     sh_quote(name)) == 0;
}

}  // namespace

peer_spec postgres_spec(pg_options opts) {
    peer_spec s;
    s.name = "postgres";
    fs::path postgres = find_program("postgres", pg_bin_dirs);
    std::vector<std::string> args;
    if (running_as_root()) {
        // postgres refuses to run as root; setpriv execs, so the peer's PID is the postmaster.
        s.program = "setpriv";
        args = {"--reuid=postgres", "--regid=postgres", "--init-groups",
                postgres.empty() ? std::string("postgres") : postgres.string()};
    } else {
        s.program = postgres.empty() ? std::string("postgres") : postgres.string();
    }
    std::vector<std::string> settings = {
        "listen_addresses=127.0.0.1",    "port={port}",
        "unix_socket_directories={dir}", "wal_level=logical",
        "max_replication_slots=20",      "max_wal_senders=20",
        "max_connections=100",           "log_min_messages=warning",
        "shared_buffers=128MB",
    };
    // Debian's 15.20 only loads output plugins listed here (pgoutput, test_decoding by default);
    // earlier 15.x releases do not know the setting and refuse to start with it.
    if (server_knows_setting(postgres, "output_plugin_libraries"))
        settings.push_back("output_plugin_libraries=pgoutput,test_decoding,wal2json");
    if (!opts.durable) {
        settings.insert(settings.end(), {"fsync=off", "full_page_writes=off"});
    }
    settings.insert(settings.end(), opts.extra_settings.begin(), opts.extra_settings.end());
    args.insert(args.end(), {"-D", "{dir}/data"});
    for (const auto& kv : settings) {
        args.push_back("-c");
        args.push_back(kv);
    }
    s.args = std::move(args);
    s.prepare = init_cluster;
    s.ready = [](const peer& p) { return PQping(pg_conninfo(p).c_str()) == PQPING_OK; };
    s.ready_timeout = 30000ms;
    return s;
}

std::string pg_conninfo(const peer& pg, std::string_view db) {
    return "host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=" + std::string(db) +
           " user=postgres password=postgres connect_timeout=5";
}

status pg_stop_fast(peer& pg) {
    if (!pg.alive())
        return ok();
    ::kill(pg.pid(), SIGINT);
    if (!wait_until([&] { return !pg.alive(); }, 30000ms)) {
        return fail(errc::timeout, "postgres did not stop after SIGINT within 30 s");
    }
    return ok();
}

status pg_restart(peer& pg) {
    TRIB_TRY(pg_stop_fast(pg));
    return pg.restart();
}

pg_client::pg_client(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {}

pg_client::~pg_client() {
    if (conn_ != nullptr)
        PQfinish(conn_);
}

bool pg_client::ok() const {
    return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

std::string pg_client::error() const {
    return conn_ == nullptr ? "no connection" : PQerrorMessage(conn_);
}

std::string pg_client::exec(const std::string& sql) {
    if (!ok() && conn_ != nullptr)
        PQreset(conn_);
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string err;
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        err = std::string("ERROR: ") + PQerrorMessage(conn_);
    PQclear(r);
    return err;
}

std::string pg_client::value(const std::string& sql) {
    if (!ok() && conn_ != nullptr)
        PQreset(conn_);
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string out;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        out = std::string("ERROR: ") + PQerrorMessage(conn_);
    } else if (PQntuples(r) > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0)) {
        out = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
    return out;
}

std::vector<std::string> pg_client::rows(const std::string& sql) {
    std::vector<std::string> out;
    PGresult* r = PQexec(conn_, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        out.push_back(std::string("ERROR: ") + PQerrorMessage(conn_));
    } else {
        for (int i = 0; i < PQntuples(r); ++i) {
            std::string line;
            for (int j = 0; j < PQnfields(r); ++j) {
                if (j > 0)
                    line += '\t';
                line += PQgetisnull(r, i, j) ? "\\N" : PQgetvalue(r, i, j);
            }
            out.push_back(std::move(line));
        }
    }
    PQclear(r);
    return out;
}

std::string pg_create_database(const peer& pg, const std::string& name) {
    pg_client c(pg_conninfo(pg));
    if (!c.ok())
        return c.error();
    std::string e = c.exec("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
    if (!e.empty())
        return e;
    return c.exec("CREATE DATABASE \"" + name + "\"");
}

peer* pg_test::server_ = nullptr;
std::string* pg_test::start_error_ = nullptr;
int pg_test::counter_ = 0;

void pg_test::SetUpTestSuite() {
    if (server_ != nullptr)
        return;
    auto r = peer::start(postgres_spec());
    if (r) {
        server_ = std::move(r).value().release();
    } else {
        delete start_error_;
        start_error_ = new std::string(r.error().message());
    }
}

void pg_test::TearDownTestSuite() {
    if (server_ != nullptr) {
        (void)pg_stop_fast(*server_);
        delete server_;
        server_ = nullptr;
    }
}

void pg_test::SetUp() {
    if (server_ == nullptr) {
        std::string why = start_error_ != nullptr ? *start_error_ : "unknown";
        if (in_ci())
            FAIL() << "postgres could not start (CI=true): " << why;
        GTEST_SKIP() << "postgres not available: " << why;
    }
    // Keep the server up across tests even if one of them stopped it.
    if (!server_->alive()) {
        ASSERT_TRUE(server_->restart().has_value()) << "postgres did not come back";
    }
    db_ = "db_" + std::to_string(++counter_);
    ASSERT_EQ(pg_create_database(*server_, db_), "");
    client_ = std::make_unique<pg_client>(conninfo());
    ASSERT_TRUE(client_->ok()) << client_->error();
}

void pg_test::TearDown() {
    client_.reset();
    if (server_ == nullptr || db_.empty())
        return;
    // Slots hold WAL and block DROP DATABASE: drop this test's slots, then the database.
    pg_client c(pg_conninfo(*server_));
    if (c.ok()) {
        // A walsender outlives its client for a moment.
        (void)wait_until(
            [&] {
                return c.value("SELECT count(*) FROM pg_replication_slots WHERE database = '" +
                               db_ + "' AND active") == "0";
            },
            std::chrono::milliseconds(5000));
        (void)c.exec(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
            "database = '" +
            db_ + "' AND NOT active");
        (void)c.exec("DROP DATABASE IF EXISTS \"" + db_ + "\" WITH (FORCE)");
    }
}

}  // namespace trib::test
