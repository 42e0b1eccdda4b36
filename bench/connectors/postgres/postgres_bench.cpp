// PostgreSQL connector throughput against a private PostgreSQL 15 (default durability: fsync and
// synchronous_commit on), one JSON line per case:
//   sink, append mode: COPY binary, COPY text and multi-row INSERT, one transaction per runtime
//     batch, beside `psql \copy` of the same rows into the same table shape (the ceiling);
//   sink, mapped upsert: COPY into a temp table + INSERT ... ON CONFLICT vs multi-row INSERT ...
//     ON CONFLICT;
//   CDC: changes/s through the pgoutput source (decode + Debezium JSON), beside pg_recvlogical
//     streaming the same changes from a twin slot (the ceiling);
//   end to end: the same rows pre-loaded into an Iggy topic (`tributary serve`), then drained by
//     `tributary run` (embedded server on that data dir, the append sink with COPY binary) into
//     PostgreSQL; timed from the exec of `tributary run` until the table holds every row, so
//     start-up is included (startup_ms: until the first row is visible).
// Usage: bench_postgres [rows=200000] [batch=1000] [path/to/tributary]. The tributary binary
// defaults to src/app/tributary of the build this bench belongs to; the end-to-end case is
// skipped (with a note on stderr) when it is missing. Needs root (postgres runs via setpriv) or
// a user that may run postgres; PG_BIN overrides /usr/lib/postgresql/15/bin.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_util.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/sink.h"
#include "connectors/postgres/source.h"
#include "iggy/client.h"
#include "iggy/producer.h"

namespace fs = std::filesystem;
using namespace trib;
using namespace trib::connectors::postgres;
using clk = std::chrono::steady_clock;

namespace {

using namespace trib::bench;

double secs(clk::duration d) {
    return std::chrono::duration<double>(d).count();
}

int sh(const std::string& cmd) {
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A private cluster in a temp dir, stopped by PID.
struct server {
    fs::path dir;
    std::string bin;
    std::uint16_t port = 0;
    pid_t pid = -1;
    std::string prefix;

    bool start() {
        bin = std::getenv("PG_BIN") ? std::getenv("PG_BIN") : "/usr/lib/postgresql/15/bin";
        char tmpl[] = "/tmp/trib-pgbench-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr)
            return false;
        dir = tmpl;
        fs::permissions(dir, fs::perms::all);
        prefix = ::geteuid() == 0 ? "setpriv --reuid=postgres --regid=postgres --init-groups " : "";
        std::ofstream(dir / "pw") << "postgres\n";
        if (sh(prefix + bin + "/initdb -D " + (dir / "data").string() +
               " -U postgres --auth-local=trust --auth-host=trust -E UTF8 --locale=C.UTF-8 "
               "--no-sync > " +
               (dir / "initdb.log").string() + " 2>&1") != 0)
            return false;
        port = free_port();
        pid = ::fork();
        if (pid == 0) {
            ::setpgid(0, 0);
            std::string log = (dir / "postgres.log").string();
            std::freopen(log.c_str(), "a", stdout);
            std::freopen(log.c_str(), "a", stderr);
            std::vector<std::string> args;
            if (::geteuid() == 0)
                args = {"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres",
                        "--init-groups"};
            args.push_back(bin + "/postgres");
            for (std::string kv : std::vector<std::string>{
                     "listen_addresses=127.0.0.1", "port=" + std::to_string(port),
                     "unix_socket_directories=" + dir.string(), "wal_level=logical",
                     "max_replication_slots=10", "max_wal_senders=10", "shared_buffers=256MB",
                     "max_wal_size=4GB",
                     "output_plugin_libraries=pgoutput,test_decoding,wal2json"}) {
                args.push_back("-c");
                args.push_back(kv);
            }
            args.insert(args.end(), {"-D", (dir / "data").string()});
            std::vector<char*> argv;
            for (auto& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            _exit(127);
        }
        for (int i = 0; i < 300; ++i) {
            if (PQping(conninfo().c_str()) == PQPING_OK)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }
    std::string conninfo(const std::string& db = "postgres") const {
        return "host=127.0.0.1 port=" + std::to_string(port) + " dbname=" + db + " user=postgres";
    }
    ~server() {
        if (pid > 0) {
            ::kill(pid, SIGINT);
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
        std::error_code ec;
        if (!dir.empty())
            fs::remove_all(dir, ec);
    }
};

bool run_sql(db_conn& c, const std::string& sql) {
    auto r = c.exec(sql);
    if (!r)
        std::fprintf(stderr, "sql failed: %s\n%s\n", r.error().to_string().c_str(), sql.c_str());
    return r.has_value();
}

std::string payload(std::size_t i) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"id\":%zu,\"user\":\"user-%zu\",\"amount\":%zu.%02zu,\"status\":\"%s\","
                  "\"note\":\"benchmark row payload\"}",
                  i, i % 1000, i % 997, i % 100, i % 3 == 0 ? "paid" : "open");
    return buf;
}

const char* append_table_sql =
    " (id DECIMAL(39, 0) PRIMARY KEY, iggy_offset BIGINT, iggy_timestamp TIMESTAMP WITH TIME "
    "ZONE, iggy_stream TEXT, iggy_topic TEXT, iggy_partition_id INTEGER, iggy_checksum BIGINT, "
    "iggy_origin_timestamp TIMESTAMP WITH TIME ZONE, payload JSONB, created_at TIMESTAMP WITH "
    "TIME ZONE DEFAULT NOW())";

struct result_line {
    std::string name;
    std::size_t rows = 0;
    double seconds = 0;
    std::size_t bytes = 0;
    std::vector<double> lat_ms;
};

void print(const result_line& r, const std::string& baseline_name, double baseline_rate,
           std::size_t batch) {
    std::vector<double> l = r.lat_ms;
    std::sort(l.begin(), l.end());
    auto pct = [&](double p) {
        return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(p * l.size()))];
    };
    double rate = r.rows / r.seconds;
    std::printf(
        "{\"bench\":\"postgres\",\"case\":\"%s\",\"rows\":%zu,\"batch\":%zu,"
        "\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
        "\"peak_rss_kb\":%ld,\"baseline\":\"%s\",\"baseline_msgs_per_s\":%.0f,"
        "\"ratio_to_baseline\":%.3f}\n",
        r.name.c_str(), r.rows, batch, rate, r.bytes / r.seconds / 1e6, pct(0.5), pct(0.99),
        peak_rss_kb(), baseline_name.c_str(), baseline_rate,
        baseline_rate > 0 ? rate / baseline_rate : 0.0);
    std::fflush(stdout);
}

// A child process (stdout and stderr to `log`), stopped by PID.
struct child {
    pid_t pid = -1;
    child(std::vector<std::string> args, const fs::path& log) {
        pid = ::fork();
        if (pid == 0) {
            ::setpgid(0, 0);
            std::freopen(log.c_str(), "a", stdout);
            std::freopen(log.c_str(), "a", stderr);
            std::vector<char*> argv;
            for (auto& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            _exit(127);
        }
    }
    bool alive() const {
        return pid > 0 && ::kill(pid, 0) == 0 && ::waitpid(pid, nullptr, WNOHANG) == 0;
    }
    void stop() {
        if (pid <= 0)
            return;
        ::kill(pid, SIGTERM);
        int st = 0;
        for (int i = 0; i < 300 && ::waitpid(pid, &st, WNOHANG) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (::waitpid(pid, &st, WNOHANG) == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &st, 0);
        }
        pid = -1;
    }
    ~child() { stop(); }
};

bool tcp_up(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

fs::path default_tributary() {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    // <build>/bench/connectors/postgres/bench_postgres -> <build>/src/app/tributary
    return self.parent_path().parent_path().parent_path().parent_path() / "src" / "app" /
           "tributary";
}

// Pre-loads `batches` into stream "bench", topic "rows" of a `tributary serve` on `data`, then
// times `tributary run` draining them into `table` with the append sink. Returns false (with a
// message) when something did not work.
bool e2e_case(const fs::path& trib, const fs::path& dir, const server& pg, db_conn& admin,
              const std::vector<message_batch>& batches, std::size_t rows, std::size_t batch,
              std::size_t payload_bytes, double psql_rate) {
    const fs::path data = dir / "iggy";
    const std::uint16_t port = free_port();
    const std::string addr = "127.0.0.1:" + std::to_string(port);
    {
        child serve({trib.string(), "serve", "--data-dir", data.string(), "--address", addr,
                     "--with-default-root-credentials", "--fsync", "interval"},
                    dir / "serve.log");
        for (int i = 0; i < 200 && !tcp_up(port); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        auto c = iggy::client::connect(addr);
        if (!c) {
            std::fprintf(stderr, "e2e: connect to serve: %s\n", c.error().to_string().c_str());
            return false;
        }
        if (auto r = (*c)->create_stream("bench"); !r) {
            std::fprintf(stderr, "e2e: create stream: %s\n", r.error().to_string().c_str());
            return false;
        }
        if (auto r = (*c)->create_topic(iggy::identifier::named("bench"), "rows", 1); !r) {
            std::fprintf(stderr, "e2e: create topic: %s\n", r.error().to_string().c_str());
            return false;
        }
        iggy::producer_options po;
        auto a = iggy::server_address::parse(addr);
        po.client.conn.address = *a;
        po.stream = iggy::identifier::named("bench");
        po.topic = iggy::identifier::named("rows");
        po.batch_max_messages = static_cast<std::uint32_t>(batch);
        auto prod = iggy::producer::create(po);
        if (!prod) {
            std::fprintf(stderr, "e2e: producer: %s\n", prod.error().to_string().c_str());
            return false;
        }
        std::vector<iggy::producer_message> pm;
        for (const auto& b : batches) {
            pm.clear();
            for (const auto& m : b.messages) {
                iggy::producer_message x;
                x.id = iggy::u128{m.id.lo, m.id.hi};  // 1..rows: the last id ends the run
                x.payload = iggy::bytes_view(
                    reinterpret_cast<const std::uint8_t*>(m.payload.data()), m.payload.size());
                pm.push_back(x);
            }
            if (auto st = (*prod)->send(pm, [](result<iggy::send_ack>) {}); !st) {
                std::fprintf(stderr, "e2e: send: %s\n", st.error().to_string().c_str());
                return false;
            }
        }
        if (auto st = (*prod)->flush(); !st) {
            std::fprintf(stderr, "e2e: flush: %s\n", st.error().to_string().c_str());
            return false;
        }
        (*prod)->close();
    }  // serve stopped (SIGTERM)
    run_sql(admin, "DROP TABLE IF EXISTS e2e_append; CREATE TABLE e2e_append" +
                       std::string(append_table_sql));
    run_sql(admin, "CHECKPOINT");
    const fs::path conf = dir / "run";
    fs::create_directories(conf / "connectors");
    std::ofstream(conf / "config.toml")
        << "[state]\npath = \"" << (conf / "state").string()
        << "\"\n\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
        << (conf / "connectors").string()
        << "\"\n\n[http]\nenabled = false\n\n[logging]\nlevel = \"warn\"\n\n[server]\naddress = \""
        << addr << "\"\ndata_dir = \"" << data.string() << "\"\nfsync = \"interval\"\n";
    std::ofstream(conf / "connectors" / "sink.toml")
        << "type = \"sink\"\nkey = \"pg\"\nenabled = true\nversion = 0\nname = \"bench\"\n"
           "path = \"target/release/libiggy_connector_postgres_sink\"\n\n[[streams]]\n"
           "stream = \"bench\"\ntopics = [\"rows\"]\nschema = \"json\"\nbatch_length = "
        << batch
        << "\npoll_interval = \"5ms\"\nconsumer_group = \"pg\"\n\n[plugin_config]\n"
           "connection_string = \""
        << pg.conninfo()
        << "\"\ntarget_table = \"e2e_append\"\npayload_format = \"json\"\n"
           "include_checksum = true\ninclude_origin_timestamp = true\n";
    // Completion by index lookups of the first and the last message's id (the primary key): the
    // one partition is written in order by one sink, so the last id means every row is there.
    // (A count(*) every few ms would scan the table and take PostgreSQL's CPU from the sink.)
    auto has_id = [&](std::size_t id) {
        auto r = admin.exec("SELECT count(*) FROM e2e_append WHERE id = " + std::to_string(id));
        return r && r->str(0, 0) == "1";
    };
    auto t0 = clk::now();
    child run({trib.string(), "run", (conf / "config.toml").string()}, dir / "run.log");
    double startup_ms = -1;
    bool done = false;
    auto deadline = t0 + std::chrono::minutes(5);
    while (!done && clk::now() < deadline && run.alive()) {
        if (startup_ms < 0 && has_id(1))
            startup_ms = secs(clk::now() - t0) * 1000;
        done = startup_ms >= 0 && has_id(rows);
        if (!done)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    double total = secs(clk::now() - t0);
    run.stop();
    auto counted = admin.exec("SELECT count(*) FROM e2e_append");
    std::size_t n = counted ? std::strtoull(counted->str(0, 0).c_str(), nullptr, 10) : 0;
    if (!done || n != rows) {
        std::fprintf(stderr, "e2e: %zu of %zu rows arrived (see %s)\n", n, rows,
                     (dir / "run.log").c_str());
        return false;
    }
    double rate = rows / total;
    std::printf(
        "{\"bench\":\"postgres\",\"case\":\"e2e_tributary_run_append_copy_binary\",\"rows\":%zu,"
        "\"batch\":%zu,\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"startup_ms\":%.1f,"
        "\"baseline\":\"psql_copy\",\"baseline_msgs_per_s\":%.0f,\"ratio_to_baseline\":%.3f}\n",
        rows, batch, rate, payload_bytes / total / 1e6, startup_ms, psql_rate,
        psql_rate > 0 ? rate / psql_rate : 0.0);
    std::fflush(stdout);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
    std::size_t batch = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
    server pg;
    if (!pg.start()) {
        std::fprintf(stderr, "could not start PostgreSQL (see %s)\n", pg.dir.c_str());
        return 1;
    }
    auto admin_r = db_conn::connect({pg.conninfo()});
    if (!admin_r) {
        std::fprintf(stderr, "connect: %s\n", admin_r.error().to_string().c_str());
        return 1;
    }
    db_conn admin = std::move(*admin_r);

    // The messages, built once (as the runtime hands them over: payload views into the batch).
    std::vector<message_batch> batches;
    // Reserved: message_batch's move is not noexcept (std::deque), so a growing vector would
    // copy batches and leave the payload views pointing into the destroyed originals.
    batches.reserve(rows / batch + 1);
    std::size_t payload_bytes = 0;
    const std::uint64_t t0 = 1700000000000000ULL;
    for (std::size_t start = 0; start < rows; start += batch) {
        message_batch b;
        for (std::size_t i = start; i < std::min(rows, start + batch); ++i) {
            message m;
            m.id = {i + 1, 0};
            m.offset = i;
            m.timestamp_us = t0 + i;
            m.origin_timestamp_us = t0 + i;
            m.payload = b.own(payload(i));
            payload_bytes += m.payload.size();
            b.messages.push_back(std::move(m));
        }
        batches.push_back(std::move(b));
    }

    // ---- ceiling: psql \copy of the same rows (text format, one transaction) ------------------
    fs::path file = pg.dir / "rows.tsv";
    {
        std::ofstream out(file);
        std::string line;
        for (const auto& b : batches) {
            for (const auto& m : b.messages) {
                line.clear();
                line += std::to_string(m.id.lo);
                line += '\t' + std::to_string(m.offset) +
                        "\t2023-11-14 22:13:20+00\torders\tcreated\t1";
                line += "\t\\N\t2023-11-14 22:13:20+00\t";
                copy_text_escape(line, m.payload);
                line += '\n';
                out << line;
            }
        }
    }
    run_sql(admin, "DROP TABLE IF EXISTS psql_copy; CREATE TABLE psql_copy" +
                       std::string(append_table_sql));
    run_sql(admin, "CHECKPOINT");
    auto ps = clk::now();
    int rc = sh("psql -X -q -h 127.0.0.1 -p " + std::to_string(pg.port) +
                " -U postgres -d postgres -c \"\\copy psql_copy (id, iggy_offset, iggy_timestamp, "
                "iggy_stream, iggy_topic, iggy_partition_id, iggy_checksum, "
                "iggy_origin_timestamp, payload) FROM '" +
                file.string() + "'\"");
    double psql_s = secs(clk::now() - ps);
    if (rc != 0) {
        std::fprintf(stderr, "psql \\copy failed (%d)\n", rc);
        return 1;
    }
    double psql_rate = rows / psql_s;
    result_line psql_line{"psql_copy_ceiling", rows, psql_s, payload_bytes, {}};
    print(psql_line, "psql_copy", psql_rate, rows);

    connector_context ctx;
    auto run_sink = [&](const std::string& name, sink_options o, const std::string& create_sql,
                        const std::string& table) -> double {
        run_sql(admin, "DROP TABLE IF EXISTS " + table + "; " + create_sql);
        run_sql(admin, "CHECKPOINT");
        o.conn.connection_string = pg.conninfo();
        o.target_table = table;
        postgres_sink s(o);
        if (auto st = s.open(ctx); !st) {
            std::fprintf(stderr, "%s open: %s\n", name.c_str(), st.error().to_string().c_str());
            return 0;
        }
        result_line r{name, rows, 0, payload_bytes, {}};
        auto start = clk::now();
        for (const auto& b : batches) {
            sink_batch sb;
            sb.stream = "orders";
            sb.topic = "created";
            sb.partition = 1;
            sb.messages = &b;
            auto w0 = clk::now();
            auto w = s.write(sb);
            r.lat_ms.push_back(secs(clk::now() - w0) * 1000);
            if (!w || !w->rejected.empty()) {
                std::fprintf(stderr, "%s write failed: %s\n", name.c_str(),
                             w ? "rows rejected" : w.error().to_string().c_str());
                return 0;
            }
        }
        r.seconds = secs(clk::now() - start);
        auto count = admin.exec("SELECT count(*) FROM " + table);
        if (!count || count->str(0, 0) != std::to_string(rows)) {
            std::fprintf(stderr, "%s: row count mismatch\n", name.c_str());
            return 0;
        }
        print(r, "psql_copy", psql_rate, batch);
        return rows / r.seconds;
    };

    std::string append_create = "CREATE TABLE bench_append" + std::string(append_table_sql);
    sink_options append;
    append.payload = payload_format::json;
    append.include_checksum = true;
    append.include_origin_timestamp = true;
    {
        auto o = append;
        o.method = write_method::copy;
        o.copy = copy_format::binary;
        run_sink("sink_append_copy_binary", o, append_create, "bench_append");
    }
    {
        auto o = append;
        o.method = write_method::copy;
        o.copy = copy_format::text;
        run_sink("sink_append_copy_text", o, append_create, "bench_append");
    }
    {
        auto o = append;
        o.method = write_method::insert;
        o.batch_size = 1000;
        run_sink("sink_append_insert", o, append_create, "bench_append");
    }

    // Mapped upsert: JSON fields to columns, ON CONFLICT (id) DO UPDATE. The table already holds
    // half of the keys, so half the rows update and half insert.
    std::string mapped_create =
        "CREATE TABLE bench_mapped (id bigint PRIMARY KEY, \"user\" text, amount numeric, status "
        "text, note text); INSERT INTO bench_mapped (id, \"user\", amount, status, note) SELECT "
        "g * 2, 'old', 0, 'old', 'old' FROM generate_series(0, " +
        std::to_string(rows / 2 - 1) + ") g";
    for (auto method : {write_method::copy, write_method::insert}) {
        sink_options o;
        o.mode = sink_mode::mapped;
        o.upsert = upsert_mode::key;
        o.method = method;
        o.batch_size = 1000;
        // The row count check wants exactly `rows` rows: the pre-filled ids are all < rows.
        run_sink(method == write_method::copy ? "sink_mapped_upsert_copy_stage"
                                              : "sink_mapped_upsert_insert",
                 o, mapped_create, "bench_mapped");
    }

    // ---- end to end through `tributary run` -------------------------------------------------
    const fs::path trib = argc > 3 ? fs::path(argv[3]) : default_tributary();
    bool e2e_ok = true;
    if (fs::exists(trib)) {
        e2e_ok = e2e_case(trib, pg.dir, pg, admin, batches, rows, batch, payload_bytes, psql_rate);
    } else {
        std::fprintf(stderr, "end-to-end case skipped: no tributary binary at %s\n", trib.c_str());
    }

    // ---- CDC: pgoutput source vs pg_recvlogical --------------------------------------------
    run_sql(admin,
            "DROP TABLE IF EXISTS cdc_src; CREATE TABLE cdc_src (id bigint PRIMARY KEY, "
            "\"user\" text, amount numeric, status text, note text)");
    run_sql(admin, "CREATE PUBLICATION bench_pub FOR TABLE cdc_src");
    run_sql(admin, "SELECT pg_create_logical_replication_slot('bench_src', 'pgoutput')");
    run_sql(admin, "SELECT pg_create_logical_replication_slot('bench_recv', 'pgoutput')");
    // One transaction per `batch` rows, like an application committing in chunks.
    for (std::size_t start = 0; start < rows; start += batch) {
        run_sql(admin,
                "INSERT INTO cdc_src SELECT g, 'user-' || (g % 1000), (g % 997) + 0.5, "
                "CASE WHEN g % 3 = 0 THEN 'paid' ELSE 'open' END, 'benchmark row "
                "payload' FROM generate_series(" +
                    std::to_string(start) + ", " +
                    std::to_string(std::min(rows, start + batch) - 1) + ") g");
    }
    auto end_lsn = admin.exec("SELECT pg_current_wal_lsn()::text");
    std::string endpos = end_lsn ? end_lsn->str(0, 0) : "0/0";
    run_sql(admin, "CHECKPOINT");

    auto rs = clk::now();
    rc = sh("pg_recvlogical -h 127.0.0.1 -p " + std::to_string(pg.port) +
            " -U postgres -d postgres --slot bench_recv --start --endpos " + endpos +
            " -o proto_version=1 -o publication_names=bench_pub -f /dev/null");
    double recv_s = secs(clk::now() - rs);
    double recv_rate = rc == 0 ? rows / recv_s : 0;
    result_line recv_line{"cdc_pg_recvlogical_ceiling", rows, recv_s, 0, {}};
    print(recv_line, "pg_recvlogical", recv_rate, batch);

    source_options so;
    so.conn.connection_string = pg.conninfo();
    so.mode = source_mode::cdc;
    so.tables = {"cdc_src"};
    so.replication_slot = "bench_src";
    so.publication_name = "bench_pub";
    so.batch_size = batch;
    cdc_source src(so);
    if (auto st = src.open(ctx, ""); !st) {
        std::fprintf(stderr, "cdc open: %s\n", st.error().to_string().c_str());
        return 1;
    }
    result_line cdc{"cdc_pgoutput_source", rows, 0, 0, {}};
    std::size_t got = 0;
    std::uint64_t seq = 0;
    auto cs = clk::now();
    auto deadline = cs + std::chrono::minutes(5);
    while (got < rows && clk::now() < deadline) {
        auto p0 = clk::now();
        auto r = src.poll(std::chrono::milliseconds(100));
        if (!r) {
            std::fprintf(stderr, "cdc poll: %s\n", r.error().to_string().c_str());
            continue;
        }
        if (r->batch.empty())
            continue;
        cdc.lat_ms.push_back(secs(clk::now() - p0) * 1000);
        got += r->batch.size();
        cdc.bytes += r->batch.payload_bytes();
        src.ack(++seq);
    }
    cdc.seconds = secs(clk::now() - cs);
    cdc.rows = got;
    print(cdc, "pg_recvlogical", recv_rate, batch);
    src.close();
    return got == rows && e2e_ok ? 0 : 1;
}
