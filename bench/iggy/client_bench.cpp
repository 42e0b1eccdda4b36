// Produce and consume throughput of the C++ client against the embedded server on loopback:
// 100 B and 1 KiB messages, batches of 1, 100 and 1000, 1 and 4 connections, p50/p99 send (and
// poll) latency and peak RSS, with the official Python SDK (apache-iggy 0.9.0) running the same
// workload in the same run as the baseline. One JSON object per case.
//
//   bench_iggy_client [--seconds N] [--no-python] [--repeat N] [--only SIZE/BATCH/CONNS]
//                     [--server-threads N] [--data-dir DIR] [--serve-only]
//                     [--client-only --port P]
//
// TRIB_SOURCE_DIR names the checkout whose .venv holds the Python SDK (default: the current dir).
// The server's data dir is under /dev/shm when it exists (see main), else under $TMPDIR.
//
// Processes: the server runs in a child process of its own, so that the client's peak RSS and
// CPU are the client's alone; each case (C++ or Python) runs in a fresh child whose peak RSS
// comes from wait4(). Each connection produces to its own partition for `--seconds` (building
// every batch from scratch, as an application would: ids, timestamps, checksums, payload copy),
// then reads the same partition back with polls of `batch` messages until it saw everything or
// `--seconds` passed. The Python SDK runs the same loop with `send_messages` / `poll_messages`
// (one asyncio task per connection). For profiling, `--serve-only` runs the server alone (prints
// its port, stops when stdin closes) and `--client-only --port P` runs the C++ produce loop alone
// against it (no poll phase), e.g. under callgrind.

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "iggy/client.h"
#include "iggy/wire/batch.h"
#include "server/server.h"

extern char** environ;

using namespace trib;
using namespace trib::iggy;
using clock_type = std::chrono::steady_clock;

namespace {

struct case_spec {
    std::size_t size;
    std::uint32_t batch;
    unsigned conns;
};

// What one side (C++ or Python) measured for a case.
struct measured {
    double produced = 0, produce_s = 0, p50 = 0, p99 = 0;
    double consumed = 0, consume_s = 0, poll_p50 = 0, poll_p99 = 0;
    long peak_rss_kb = 0;
    double cpu_s = 0;  // user + system CPU of the client process in the two phases
    bool ok = false;
};

double pct(std::vector<double>& v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

client_options opts(std::uint16_t port) {
    client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.heartbeat_interval = std::chrono::milliseconds(0);
    return o;
}

// CPU time of all threads of this process.
double process_cpu_s() {
    timespec t{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

std::string load_average() {
    std::ifstream f("/proc/loadavg");
    double a = 0;
    f >> a;
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", a);
    return b;
}

// The C++ side of a case, run inside a forked child. Writes one line of numbers to `out_fd`.
int run_cpp_case(std::uint16_t port, const std::string& topic, const case_spec& c, double secs,
                 bool produce_only, int out_fd) {
    struct per_conn {
        std::uint64_t produced = 0, consumed = 0;
        long long produce_end_ns = 0, consume_end_ns = 0;
        std::vector<double> send_us, poll_us;
        bool ok = true;
    };
    std::vector<per_conn> parts(c.conns);
    for (auto& p : parts) {
        p.send_us.reserve(1 << 16);
        p.poll_us.reserve(1 << 16);
    }
    std::vector<std::thread> ts;
    std::atomic<int> ready{0}, producers_done{0};
    std::atomic<bool> go{false};
    clock_type::time_point start{};
    auto since_start_ns = [&] {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - start)
            .count();
    };
    for (unsigned i = 0; i < c.conns; ++i) {
        ts.emplace_back([&, i] {
            auto& r = parts[i];
            auto cl = client::connect(opts(port));
            ++ready;
            if (!cl) {
                std::fprintf(stderr, "connect: %s\n", cl.error().to_string().c_str());
                r.ok = false;
                ++producers_done;
                return;
            }
            while (!go.load())
                std::this_thread::yield();
            const std::string payload(c.size, 'x');
            const auto stream = identifier::named("bench");
            const auto tid = identifier::named(topic);
            batch_builder b;
            bytes built;
            auto end = start + std::chrono::duration<double>(secs);
            while (clock_type::now() < end) {
                for (std::uint32_t k = 0; k < c.batch; ++k)
                    b.add({{}, 0, as_bytes(payload), {}});
                b.finish(built);
                auto t0 = clock_type::now();
                auto s = (*cl)->send_messages(stream, tid, partitioning::partition_id(i), built);
                auto t1 = clock_type::now();
                if (!s) {
                    std::fprintf(stderr, "send: %s\n", s.error().to_string().c_str());
                    r.ok = false;
                    ++producers_done;
                    return;
                }
                r.produced += c.batch;
                r.send_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
            }
            r.produce_end_ns = since_start_ns();
            ++producers_done;
            if (produce_only)
                return;
            // Read the partition back once every producer is done (the phases do not overlap).
            while (producers_done.load() < static_cast<int>(c.conns))
                std::this_thread::yield();
            polled_messages out;
            std::uint64_t offset = 0, seen_bytes = 0;
            auto cend = clock_type::now() + std::chrono::duration<double>(secs);
            while (offset < r.produced && clock_type::now() < cend) {
                poll_messages_request req{consumer::plain(identifier::numeric(i + 1)),
                                          stream,
                                          tid,
                                          i,
                                          polling_strategy::offset(offset),
                                          c.batch,
                                          false};
                auto t0 = clock_type::now();
                auto st = (*cl)->poll_messages(req, out);
                auto t1 = clock_type::now();
                if (!st) {
                    std::fprintf(stderr, "poll: %s\n", st.error().to_string().c_str());
                    r.ok = false;
                    return;
                }
                if (out.empty())
                    break;
                r.poll_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
                for (const auto& m : out.messages())
                    seen_bytes += m.payload.size();
                offset = out.messages().back().offset + 1;
                r.consumed += out.messages().size();
            }
            if (seen_bytes != r.consumed * c.size)
                r.ok = false;
            r.consume_end_ns = since_start_ns();
        });
    }
    while (ready.load() < static_cast<int>(c.conns))
        std::this_thread::yield();
    const double cpu0 = process_cpu_s();
    start = clock_type::now();
    go = true;
    for (auto& t : ts)
        t.join();
    const double cpu_s = process_cpu_s() - cpu0;
    std::vector<double> send_us, poll_us;
    double produced = 0, consumed = 0;
    bool ok = true;
    long long produce_end = 0, consume_end = 0;
    for (auto& p : parts) {
        produce_end = std::max(produce_end, p.produce_end_ns);
        consume_end = std::max(consume_end, p.consume_end_ns);
        produced += static_cast<double>(p.produced);
        consumed += static_cast<double>(p.consumed);
        send_us.insert(send_us.end(), p.send_us.begin(), p.send_us.end());
        poll_us.insert(poll_us.end(), p.poll_us.begin(), p.poll_us.end());
        ok = ok && p.ok;
    }
    double produce_s = static_cast<double>(produce_end) / 1e9;
    double consume_s = static_cast<double>(std::max(0LL, consume_end - produce_end)) / 1e9;
    char line[512];
    int n = std::snprintf(line, sizeof line, "%d %.0f %.6f %.1f %.1f %.0f %.6f %.1f %.1f %.6f\n",
                          ok ? 1 : 0, produced, produce_s, pct(send_us, 0.5), pct(send_us, 0.99),
                          consumed, consume_s, pct(poll_us, 0.5), pct(poll_us, 0.99), cpu_s);
    if (::write(out_fd, line, static_cast<std::size_t>(n)) != n)
        return 1;
    return ok ? 0 : 1;
}

// Same workload with the official Python SDK: one client per connection, each an asyncio task,
// TCP_NODELAY on (as our client), partition i for connection i.
const char* python_bench = R"(
import asyncio, sys, time
from apache_iggy import IggyClient, TcpConfig, SendMessage, PollingStrategy, Consumer

async def connect(addr):
    c = IggyClient(TcpConfig(server_address=addr, nodelay=True))
    await c.connect()
    await c.login_user("iggy", "iggy")
    return c

async def produce(c, topic, part, payload, batch, end, lat):
    n = 0
    while time.perf_counter() < end:
        msgs = [SendMessage(payload) for _ in range(batch)]
        t0 = time.perf_counter()
        await c.send_messages("bench", topic, part, msgs)
        lat.append((time.perf_counter() - t0) * 1e6)
        n += batch
    return n

async def consume(c, topic, part, batch, expected, end, lat, size):
    got = 0
    off = 0
    while off < expected and time.perf_counter() < end:
        t0 = time.perf_counter()
        m = await c.poll_messages("bench", topic, consumer=Consumer.Single(100 + part),
            polling_strategy=PollingStrategy.Offset(off), count=batch, auto_commit=False,
            partition_id=part)
        if not m:
            break
        lat.append((time.perf_counter() - t0) * 1e6)
        for x in m:
            if len(x.payload()) != size:
                raise SystemExit("bad payload")
        got += len(m)
        off = m[-1].offset() + 1
    return got

def pct(v, p):
    if not v:
        return 0
    v.sort()
    return v[min(len(v) - 1, int(p * len(v)))]

async def main(addr, topic, size, batch, conns, secs):
    clients = [await connect(addr) for _ in range(conns)]
    payload = b"x" * size
    lat, plat = [], []
    cpu0 = time.process_time()
    start = time.perf_counter()
    ns = await asyncio.gather(*[produce(clients[i], topic, i, payload, batch, start + secs, lat)
                                for i in range(conns)])
    pend = time.perf_counter()
    gs = await asyncio.gather(*[consume(clients[i], topic, i, batch, ns[i], pend + secs, plat, size)
                                for i in range(conns)])
    cend = time.perf_counter()
    cpu = time.process_time() - cpu0  # all threads: the interpreter and the SDK's Tokio runtime
    print(1, sum(ns), pend - start, pct(lat, 0.5), pct(lat, 0.99), sum(gs), cend - pend,
          pct(plat, 0.5), pct(plat, 0.99), cpu, flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
                 float(sys.argv[6])))
)";

bool parse_line(const std::string& s, measured& m) {
    int ok = 0;
    int n = std::sscanf(s.c_str(), "%d %lf %lf %lf %lf %lf %lf %lf %lf %lf", &ok, &m.produced,
                        &m.produce_s, &m.p50, &m.p99, &m.consumed, &m.consume_s, &m.poll_p50,
                        &m.poll_p99, &m.cpu_s);
    m.ok = n == 10 && ok == 1;
    return n == 10;
}

// Reads `fd` to EOF.
std::string drain(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    return out;
}

// Waits for a child; its peak RSS (kB) comes from wait4.
void wait_child(pid_t pid, int& status, measured* m) {
    rusage u{};
    while (::wait4(pid, &status, 0, &u) < 0 && errno == EINTR) {
    }
    if (m)
        m->peak_rss_kb = u.ru_maxrss;
}

measured cpp_case(std::uint16_t port, const std::string& topic, const case_spec& c, double secs) {
    measured m;
    int fds[2];
    if (::pipe(fds) != 0)
        return m;
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        int rc = run_cpp_case(port, topic, c, secs, false, fds[1]);
        ::close(fds[1]);
        std::_Exit(rc);
    }
    ::close(fds[1]);
    std::string out = drain(fds[0]);
    ::close(fds[0]);
    int status = 0;
    parse_line(out, m);
    wait_child(pid, status, &m);
    return m;
}

measured python_case(const std::filesystem::path& python, const std::filesystem::path& script,
                     std::uint16_t port, const std::string& topic, const case_spec& c,
                     double secs) {
    measured m;
    int fds[2];
    if (::pipe(fds) != 0)
        return m;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    std::vector<std::string> args = {python.string(),
                                     script.string(),
                                     "127.0.0.1:" + std::to_string(port),
                                     topic,
                                     std::to_string(c.size),
                                     std::to_string(c.batch),
                                     std::to_string(c.conns),
                                     std::to_string(secs)};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        return m;
    }
    std::string out = drain(fds[0]);
    ::close(fds[0]);
    int status = 0;
    parse_line(out, m);
    wait_child(pid, status, &m);
    return m;
}

std::string to_json(const measured& m, std::size_t size) {
    double mps = m.produce_s > 0 ? m.produced / m.produce_s : 0;
    double cmps = m.consume_s > 0 ? m.consumed / m.consume_s : 0;
    auto sz = static_cast<double>(size);
    double total = m.produced + m.consumed;
    char b[768];
    std::snprintf(b, sizeof b,
                  "\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
                  "\"consume_msgs_per_s\":%.0f,\"consume_mb_per_s\":%.2f,\"poll_p50_us\":%.0f,"
                  "\"poll_p99_us\":%.0f,\"consumed_all\":%s,\"peak_rss_kb\":%ld,"
                  "\"cpu_s\":%.3f,\"cpu_us_per_msg\":%.3f,\"ok\":%s",
                  mps, mps * sz / 1e6, m.p50, m.p99, cmps, cmps * sz / 1e6, m.poll_p50, m.poll_p99,
                  m.consumed == m.produced ? "true" : "false", m.peak_rss_kb, m.cpu_s,
                  total > 0 ? m.cpu_s * 1e6 / total : 0, m.ok ? "true" : "false");
    return b;
}

// The server child: starts the embedded server, reports the port on `port_fd`, and stops when
// the parent closes `stop_fd` (or dies).
[[noreturn]] void run_server(const std::filesystem::path& dir, unsigned threads, int port_fd,
                             int stop_fd) {
    server::server_options so;
    so.data_dir = dir;
    so.address = "127.0.0.1:0";
    so.default_root_credentials = true;
    so.fsync = server::fsync_policy::never;
    so.threads = threads;
    // The server logs to stdout, which carries the JSON lines (or the port): send it to stderr.
    std::fflush(stdout);
    const int out = ::dup(1);
    ::dup2(2, 1);
    auto srv = server::embedded_server::start(so);
    std::uint16_t port = srv ? (*srv)->port() : 0;
    if (!srv)
        std::fprintf(stderr, "server: %s\n", srv.error().to_string().c_str());
    if (port_fd == 1) {
        auto line = std::to_string(port) + "\n";
        (void)!::write(out, line.data(), line.size());
    } else {
        (void)!::write(port_fd, &port, sizeof port);
        ::close(port_fd);
    }
    if (srv) {
        char c;
        for (;;) {
            ssize_t n = ::read(stop_fd, &c, 1);
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        (*srv)->stop();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::_Exit(srv ? 0 : 1);
}

}  // namespace

int main(int argc, char** argv) {
    double secs = 2.0;
    bool with_python = true, client_only = false, serve_only = false;
    int repeat = 1;
    unsigned server_threads = 0;
    std::string only;
    std::uint16_t port = 0;
    std::filesystem::path base_dir;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc)
            secs = std::atof(argv[++i]);
        else if (a == "--no-python")
            with_python = false;
        else if (a == "--repeat" && i + 1 < argc)
            repeat = std::max(1, std::atoi(argv[++i]));
        else if (a == "--only" && i + 1 < argc)
            only = argv[++i];
        else if (a == "--server-threads" && i + 1 < argc)
            server_threads = static_cast<unsigned>(std::atoi(argv[++i]));
        else if (a == "--client-only")
            client_only = true;
        else if (a == "--serve-only")
            serve_only = true;
        else if (a == "--port" && i + 1 < argc)
            port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
        else if (a == "--data-dir" && i + 1 < argc)
            base_dir = argv[++i];
        else {
            std::fprintf(stderr,
                         "usage: %s [--seconds N] [--no-python] [--repeat N] "
                         "[--only SIZE/BATCH/CONNS] [--server-threads N] [--data-dir DIR] "
                         "[--serve-only] [--client-only --port P --only SIZE/BATCH/CONNS]\n",
                         argv[0]);
            return 2;
        }
    }
    if (client_only) {
        // Profiling mode: produce only against a server that is already running.
        case_spec c{100, 100, 1};
        std::sscanf(only.c_str(), "%zu/%u/%u", &c.size, &c.batch, &c.conns);
        auto admin = client::connect(opts(port));
        if (!admin)
            return 1;
        (void)(*admin)->create_stream("bench");
        std::string topic = "p" + std::to_string(::getpid());
        if (!(*admin)->create_topic(identifier::named("bench"), topic, c.conns))
            return 1;
        int rc = run_cpp_case(port, topic, c, secs, true, 1);
        (void)(*admin)->delete_topic(identifier::named("bench"), identifier::named(topic));
        return rc;
    }

    // The server's data goes to tmpfs when there is one: with fsync off, a disk-backed dir makes
    // the numbers depend on page-cache writeback of earlier cases (and of other processes), which
    // throttles the server's writes at unpredictable moments.
    if (base_dir.empty()) {
        std::error_code ec;
        base_dir = std::filesystem::is_directory("/dev/shm", ec)
                       ? std::filesystem::path("/dev/shm")
                       : std::filesystem::temp_directory_path();
    }
    auto dir = base_dir / ("trib-iggy-bench-" + std::to_string(::getpid()));
    if (serve_only) {
        // Profiling mode: prints the port, serves until stdin closes.
        run_server(dir, server_threads, 1, 0);
    }
    int port_pipe[2], stop_pipe[2];
    if (::pipe(port_pipe) != 0 || ::pipe(stop_pipe) != 0)
        return 1;
    std::fflush(stdout);
    pid_t server_pid = ::fork();
    if (server_pid == 0) {
        ::close(port_pipe[0]);
        ::close(stop_pipe[1]);
        run_server(dir, server_threads, port_pipe[1], stop_pipe[0]);
    }
    ::close(port_pipe[1]);
    ::close(stop_pipe[0]);
    // The Python children must not hold the stop pipe open.
    ::fcntl(stop_pipe[1], F_SETFD, FD_CLOEXEC);
    if (::read(port_pipe[0], &port, sizeof port) != sizeof port || port == 0) {
        std::fprintf(stderr, "server did not start\n");
        return 1;
    }
    ::close(port_pipe[0]);
    // The parent stays single-threaded (no heartbeat) so that forking case children is safe.
    auto admin = client::connect(opts(port));
    if (!admin || !(*admin)->create_stream("bench")) {
        std::fprintf(stderr, "setup failed\n");
        return 1;
    }
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    auto python = std::filesystem::path(src ? src : ".") / ".venv" / "bin" / "python";
    auto script = dir / "bench.py";
    std::ofstream(script) << python_bench;
    if (with_python && !std::filesystem::exists(python)) {
        std::fprintf(stderr, "no %s (set TRIB_SOURCE_DIR): running without the baseline\n",
                     python.c_str());
        with_python = false;
    }
    int run = 0, failures = 0;
    for (int rep = 0; rep < repeat; ++rep) {
        for (std::size_t size : {100u, 1024u}) {
            for (std::uint32_t batch : {1u, 100u, 1000u}) {
                for (unsigned conns : {1u, 4u}) {
                    case_spec c{size, batch, conns};
                    char name[64];
                    std::snprintf(name, sizeof name, "%zu/%u/%u", size, batch, conns);
                    if (!only.empty() && only != name)
                        continue;
                    std::string load = load_average();
                    std::string topic = "t" + std::to_string(run++);
                    if (!(*admin)->create_topic(identifier::named("bench"), topic, 4)) {
                        std::fprintf(stderr, "create topic failed\n");
                        return 1;
                    }
                    // Alternate which client goes first, so that neither always inherits the
                    // other's after-effects (page cache writeback, server caches).
                    auto run_cpp = [&] {
                        measured m = cpp_case(port, topic, c, secs);
                        (void)(*admin)->delete_topic(identifier::named("bench"),
                                                     identifier::named(topic));
                        return m;
                    };
                    std::string baseline = "null";
                    auto run_python = [&] {
                        std::string ptopic = topic + "py";
                        if (!(*admin)->create_topic(identifier::named("bench"), ptopic, 4))
                            return;
                        measured py = python_case(python, script, port, ptopic, c, secs);
                        baseline = "{\"name\":\"python-sdk-0.9.0\"," + to_json(py, size) + "}";
                        failures += py.ok ? 0 : 1;
                        (void)(*admin)->delete_topic(identifier::named("bench"),
                                                     identifier::named(ptopic));
                    };
                    const bool python_first = with_python && (run + rep) % 2 == 0;
                    if (python_first)
                        run_python();
                    measured cpp = run_cpp();
                    if (with_python && !python_first)
                        run_python();
                    failures += cpp.ok ? 0 : 1;
                    std::printf(
                        "{\"bench\":\"iggy_client\",\"case\":\"%s\",\"message_bytes\":%zu,"
                        "\"batch\":%u,\"connections\":%u,\"load_avg\":%s,%s,\"baseline\":%s}\n",
                        name, size, batch, conns, load.c_str(), to_json(cpp, size).c_str(),
                        baseline.c_str());
                    std::fflush(stdout);
                }
            }
        }
    }
    ::close(stop_pipe[1]);
    int status = 0;
    wait_child(server_pid, status, nullptr);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return failures == 0 ? 0 : 1;
}
