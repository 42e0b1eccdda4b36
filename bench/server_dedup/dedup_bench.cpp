// The cost of message de-duplication in the embedded server (issue 27):
//   - produce: P lockstep connections, each sending batches of B messages of S bytes with unique
//     ids to its own partition for T seconds; messages/s and p50/p99 send latency, for
//       tributary dedup=off (the baseline), tributary dedup=on (every id new: the check and the
//       window upkeep), tributary dedup=on with every batch sent twice (half the sends are
//       duplicates only), and the real Iggy server (shared/iggy-reference) in the same run.
//     Iggy 0.9's server-ng refuses `enabled = true`; the program tries it and prints the refusal
//     as a record, then measures Iggy with de-duplication off.
//   - window_memory: RSS of 1,000,000 remembered ids (message_deduplicator alone, in a child
//     process), bytes per id.
//   - rebuild: opening a partition log of 1,000,000 messages with de-duplication off and on
//     (max_entries 1,000,000 and 10,000): seconds, ids loaded, bytes read.
// Every server runs in its own process (the embedded one forked, Iggy exec'ed).
//
// Usage: dedup_bench [--seconds T] [--producers P] [--batch B] [--size S] [--dir PATH]
//                    [--iggy PATH/iggy-server] [--window N] [--rebuild N]
// Prints one JSON object per line.

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_util.h"
#include "common/wire_conn.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"
#include "server/server.h"
#include "server/storage/message_deduplicator.h"
#include "server/storage/partition_log.h"

namespace {

using namespace trib;
using namespace trib::iggy;
using clk = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct args_t {
    double seconds = 5;
    int producers = 2;
    std::uint32_t batch = 100;
    std::uint32_t size = 100;
    fs::path dir = fs::temp_directory_path() / "trib-dedup-bench";
    fs::path iggy = "/work/shared/iggy-reference/iggy-server";
    std::uint64_t window = 1'000'000;
    std::uint64_t rebuild = 1'000'000;
};

// ---- a minimal blocking client ----

using conn = trib::iggy::bench::conn;

double pct(std::vector<double>& v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

long status_kb(pid_t pid, const char* field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0)
            return std::stol(line.substr(std::strlen(field)));
    return 0;
}

// ---- servers ----

struct server_proc {
    pid_t pid = -1;
    std::uint16_t port = 0;
    std::string log_path;
    void stop() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            int st = 0;
            ::waitpid(pid, &st, 0);
            pid = -1;
        }
    }
};

bool wait_connectable(std::uint16_t port, pid_t pid, double seconds) {
    const auto deadline = clk::now() + std::chrono::duration<double>(seconds);
    while (clk::now() < deadline) {
        if (trib::bench::connectable(port))
            return true;
        int st = 0;
        if (::waitpid(pid, &st, WNOHANG) == pid)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

/// The embedded server in a forked child (no threads run in this process while it forks).
std::optional<server_proc> start_embedded(const fs::path& data, bool dedup) {
    server_proc s;
    s.port = trib::bench::free_port();
    s.pid = ::fork();
    if (s.pid == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        server::server_options o;
        o.data_dir = data;
        o.address = fmt::format("127.0.0.1:{}", s.port);
        o.root_username = "iggy";
        o.root_password = "iggy";
        o.message_deduplication.enabled = dedup;
        auto srv = server::embedded_server::start(o);
        if (!srv)
            ::_exit(1);
        int sig = 0;
        sigwait(&set, &sig);
        (*srv)->stop();
        ::_exit(0);
    }
    if (!wait_connectable(s.port, s.pid, 30))
        return std::nullopt;
    return s;
}

/// Iggy's server, exec'ed with its environment overrides. `dedup`: also
/// IGGY_SYSTEM_MESSAGE_DEDUPLICATION_ENABLED=true.
std::optional<server_proc> start_iggy(const args_t& a, const fs::path& data, bool dedup,
                                      std::string& failure) {
    server_proc s;
    s.port = trib::bench::free_port();
    fs::create_directories(data);
    s.log_path = (data.parent_path() / (data.filename().string() + ".log")).string();
    s.pid = ::fork();
    if (s.pid == 0) {
        int fd = ::open(s.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::setenv("IGGY_ROOT_USERNAME", "iggy", 1);
        ::setenv("IGGY_ROOT_PASSWORD", "iggy", 1);
        ::setenv("IGGY_SYSTEM_PATH", data.c_str(), 1);
        ::setenv("IGGY_TCP_ADDRESS", fmt::format("127.0.0.1:{}", s.port).c_str(), 1);
        ::setenv("IGGY_HTTP_ENABLED", "false", 1);
        ::setenv("IGGY_QUIC_ENABLED", "false", 1);
        ::setenv("IGGY_WEBSOCKET_ENABLED", "false", 1);
        if (dedup)
            ::setenv("IGGY_SYSTEM_MESSAGE_DEDUPLICATION_ENABLED", "true", 1);
        ::execl(a.iggy.c_str(), a.iggy.c_str(), nullptr);
        ::_exit(127);
    }
    if (!wait_connectable(s.port, s.pid, 60)) {
        s.stop();
        std::ifstream in(s.log_path);
        std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        while (!all.empty() && (all.back() == '\n' || all.back() == '\r'))
            all.pop_back();
        failure = all.substr(all.size() > 300 ? all.size() - 300 : 0);
        return std::nullopt;
    }
    return s;
}

// ---- produce ----

bool make_topic(std::uint16_t port, int partitions) {
    conn c;
    if (!c.open(port) || !c.login())
        return false;
    if (!c.request(create_stream_request{"bench", {}}))
        return false;
    create_topic_request ct;
    ct.stream = identifier::named("bench");
    ct.partitions_count = static_cast<std::uint32_t>(partitions);
    ct.name = "t";
    return c.request(ct).has_value();
}

/// The batch of producer `p`, sequence `seq`: ids (seq * batch + k + 1, p + 1), unique.
bytes make_batch(const args_t& a, int p, std::uint64_t seq) {
    std::string payload(a.size, 'x');
    batch_builder b;
    for (std::uint32_t k = 0; k < a.batch; ++k) {
        u128 id{seq * a.batch + k + 1, static_cast<std::uint64_t>(p) + 1};
        b.add({id, 0, as_bytes(payload), {}});
    }
    return b.finish();
}

struct produce_result {
    std::uint64_t sent = 0;    // messages sent (acknowledged)
    std::uint64_t stored = 0;  // messages the server reported stored (by confirmations)
    double seconds = 0;
    std::vector<double> lat_us;
    std::string error;
};

produce_result produce(std::uint16_t port, const args_t& a, bool send_twice) {
    produce_result r;
    std::mutex mu;
    std::vector<std::thread> ts;
    const auto start = clk::now();
    const auto deadline = start + std::chrono::duration<double>(a.seconds);
    for (int p = 0; p < a.producers; ++p) {
        ts.emplace_back([&, p] {
            std::vector<double> lat;
            std::uint64_t sent = 0, stored = 0;
            std::string err;
            conn c;
            if (!c.open(port) || !c.login()) {
                std::lock_guard l(mu);
                r.error = "connect/login failed";
                return;
            }
            send_messages_request req;
            req.stream = identifier::named("bench");
            req.topic = identifier::named("t");
            req.part = partitioning::partition_id(static_cast<std::uint32_t>(p));
            req.messages_count = a.batch;
            bytes reply;
            for (std::uint64_t seq = 0, round = 0; clk::now() < deadline;) {
                bytes batch = make_batch(a, p, seq);
                req.batch = batch;
                const auto t0 = clk::now();
                if (!c.call(req, reply)) {
                    err = "send failed";
                    break;
                }
                auto payload = decode_reply(reply);
                if (!payload) {
                    // Iggy answers 58 while a new partition is not routable yet: resend.
                    if (payload.error().message().find("58") != std::string::npos)
                        continue;
                    err = payload.error().message();
                    break;
                }
                lat.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
                sent += a.batch;
                auto conf = send_messages_reply::decode(*payload);
                if (conf && !conf->confirmations.empty())
                    stored += a.batch;
                // Twice: each batch goes out once more before the next one.
                if (!send_twice || ++round % 2 == 0)
                    ++seq;
            }
            std::lock_guard l(mu);
            r.sent += sent;
            r.stored += stored;
            r.lat_us.insert(r.lat_us.end(), lat.begin(), lat.end());
            if (!err.empty())
                r.error = err;
        });
    }
    for (auto& t : ts)
        t.join();
    r.seconds = std::chrono::duration<double>(clk::now() - start).count();
    return r;
}

void print_produce(const char* server, const char* dedup, const char* mode, const args_t& a,
                   produce_result& r, long peak_rss_kb) {
    const double mps = r.seconds > 0 ? static_cast<double>(r.sent) / r.seconds : 0;
    fmt::print(
        "{{\"bench\":\"server_dedup\",\"case\":\"produce\",\"server\":\"{}\",\"dedup\":\"{}\","
        "\"mode\":\"{}\",\"producers\":{},\"batch\":{},\"msg_bytes\":{},\"messages\":{},"
        "\"stored\":{},\"seconds\":{:.2f},\"messages_per_s\":{:.0f},\"mb_per_s\":{:.1f},"
        "\"p50_us\":{:.0f},\"p99_us\":{:.0f},\"peak_rss_kb\":{}{}}}\n",
        server, dedup, mode, a.producers, a.batch, a.size, r.sent, r.stored, r.seconds, mps,
        mps * a.size / 1e6, pct(r.lat_us, 0.5), pct(r.lat_us, 0.99), peak_rss_kb,
        r.error.empty() ? "" : fmt::format(",\"error\":\"{}\"", r.error));
    std::fflush(stdout);
}

// ---- the same sends on each server: what is stored ----

/// The ids (low halves) stored after a fixed sequence of sends with duplicates and id 0, on
/// stream "conf"; empty with an error text when something failed.
std::string stored_after_fixed_sends(std::uint16_t port) {
    conn c;
    if (!c.open(port) || !c.login())
        return "\"error\":\"login\"";
    if (!c.request(create_stream_request{"conf", {}}))
        return "\"error\":\"create stream\"";
    create_topic_request ct;
    ct.stream = identifier::named("conf");
    ct.partitions_count = 1;
    ct.name = "t";
    if (!c.request(ct))
        return "\"error\":\"create topic\"";
    const std::vector<std::vector<std::uint64_t>> sends{{1, 2, 1, 3}, {1, 2, 3}, {3, 4, 4, 5},
                                                        {0, 0},       {0, 6},    {6}};
    std::string acks;
    for (const auto& ids : sends) {
        batch_builder b;
        for (std::size_t k = 0; k < ids.size(); ++k)
            b.add({u128{1, 1}, 0, as_bytes(std::string_view("x")), {}});
        bytes batch = b.finish();
        // Put the ids in as given (0 included) and fix both checksums.
        std::size_t pos = batch_header_size;
        for (auto id : ids) {
            std::uint8_t* f = batch.data() + pos;
            const std::size_t len =
                frame_header_size + std::size_t(load_u32(f + 32)) + load_u32(f + 36);
            store_u64(f + 8, id);
            store_u64(f + 16, 0);
            store_u64(f, frame_checksum(bytes_view(f, len)));
            pos += len;
        }
        auto h = read_batch_header(batch);
        h.batch_checksum = compute_batch_checksum(h, bytes_view(batch).subspan(batch_header_size));
        write_batch_header(batch.data(), h);
        send_messages_request req;
        req.stream = identifier::named("conf");
        req.topic = identifier::named("t");
        req.part = partitioning::partition_id(0);
        req.messages_count = static_cast<std::uint32_t>(ids.size());
        req.batch = batch;
        result<bytes> r = fail(errc::unavailable, "not sent");
        for (int attempt = 0; attempt < 100; ++attempt) {  // Iggy: 58 until routable
            r = c.request(req);
            if (r || r.error().message().find("58") == std::string::npos)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        acks += acks.empty() ? "" : ",";
        acks += r ? "\"ok\"" : "\"" + r.error().message() + "\"";
    }
    poll_messages_request p;
    p.who = consumer::plain(identifier::numeric(1));
    p.stream = identifier::named("conf");
    p.topic = identifier::named("t");
    p.partition = 0;
    p.strategy = polling_strategy::offset(0);
    p.count = 1000;
    auto polled = c.request(p);
    if (!polled)
        return "\"error\":\"poll\"";
    auto pr = poll_reply::decode(*polled);
    if (!pr)
        return "\"error\":\"poll decode\"";
    std::string ids;
    for (const auto& m : pr->messages)
        ids += fmt::format("{}{}", ids.empty() ? "" : ",", m.id.lo);
    return fmt::format(
        "\"sends\":\"[1,2,1,3] [1,2,3] [3,4,4,5] [0,0] [0,6] [6]\","
        "\"acks\":[{}],\"stored_ids\":[{}]",
        acks, ids);
}

void print_conformance(const char* server, const char* dedup, const std::string& body) {
    fmt::print(
        "{{\"bench\":\"server_dedup\",\"case\":\"same_sends\",\"server\":\"{}\","
        "\"dedup\":\"{}\",{}}}\n",
        server, dedup, body);
    std::fflush(stdout);
}

void run_embedded(const args_t& a, bool dedup, bool twice) {
    const auto data = a.dir / fmt::format("embedded-{}-{}", dedup ? "on" : "off", twice ? 2 : 1);
    fs::remove_all(data);
    auto s = start_embedded(data, dedup);
    if (!s || !make_topic(s->port, a.producers)) {
        fmt::print(
            "{{\"bench\":\"server_dedup\",\"case\":\"produce\",\"server\":\"tributary\","
            "\"error\":\"server did not start\"}}\n");
        if (s)
            s->stop();
        return;
    }
    if (!twice)
        print_conformance("tributary", dedup ? "on" : "off", stored_after_fixed_sends(s->port));
    auto r = produce(s->port, a, twice);
    const long rss = status_kb(s->pid, "VmHWM:");
    s->stop();
    print_produce("tributary", dedup ? "on" : "off", twice ? "every_batch_twice" : "unique", a, r,
                  rss);
    fs::remove_all(data);
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char ch : s) {
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (static_cast<unsigned char>(ch) < 0x20) {
            out += ' ';
        } else {
            out += ch;
        }
    }
    return out;
}

void run_iggy(const args_t& a) {
    if (!fs::exists(a.iggy)) {
        fmt::print(
            "{{\"bench\":\"server_dedup\",\"case\":\"produce\",\"server\":\"iggy\","
            "\"error\":\"{} not found\"}}\n",
            a.iggy.string());
        return;
    }
    std::string failure;
    {
        const auto data = a.dir / "iggy-on";
        fs::remove_all(data);
        auto s = start_iggy(a, data, true, failure);
        if (s) {
            // A later Iggy that accepts it: compare and measure it.
            print_conformance("iggy", "on", stored_after_fixed_sends(s->port));
            if (make_topic(s->port, a.producers)) {
                auto r = produce(s->port, a, false);
                const long rss = status_kb(s->pid, "VmHWM:");
                s->stop();
                print_produce("iggy", "on", "unique", a, r, rss);
            } else {
                s->stop();
            }
        } else {
            fmt::print(
                "{{\"bench\":\"server_dedup\",\"case\":\"produce\",\"server\":\"iggy\","
                "\"dedup\":\"on\",\"started\":false,\"output\":\"{}\"}}\n",
                json_escape(failure));
        }
        fs::remove_all(data);
    }
    const auto data = a.dir / "iggy-off";
    fs::remove_all(data);
    auto s = start_iggy(a, data, false, failure);
    if (!s || !make_topic(s->port, a.producers)) {
        fmt::print(
            "{{\"bench\":\"server_dedup\",\"case\":\"produce\",\"server\":\"iggy\","
            "\"dedup\":\"off\",\"error\":\"{}\"}}\n",
            json_escape(failure));
        if (s)
            s->stop();
        return;
    }
    print_conformance("iggy", "off", stored_after_fixed_sends(s->port));
    auto r = produce(s->port, a, false);
    const long rss = status_kb(s->pid, "VmHWM:");
    s->stop();
    print_produce("iggy", "off", "unique", a, r, rss);
    fs::remove_all(data);
}

// ---- the window's memory and the rebuild ----

void run_window_memory(const args_t& a) {
    int fds[2];
    if (::pipe(fds) != 0)
        return;
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        server::storage::message_deduplicator d({true, a.window, 0});
        const long before = status_kb(::getpid(), "VmRSS:");
        std::mt19937_64 rng(27);
        const auto t0 = clk::now();
        for (std::uint64_t i = 0; i < a.window; ++i)
            d.try_insert(u128{rng(), rng()}, i);  // random ids, as UUIDv4s are
        const double secs = std::chrono::duration<double>(clk::now() - t0).count();
        const long after = status_kb(::getpid(), "VmRSS:");
        const std::string line = fmt::format(
            "{{\"bench\":\"server_dedup\",\"case\":\"window_memory\",\"ids\":{},"
            "\"rss_delta_kb\":{},\"bytes_per_id\":{:.1f},\"insert_ns_per_id\":{:.0f}}}\n",
            d.size(), after - before,
            static_cast<double>(after - before) * 1024.0 / static_cast<double>(d.size()),
            secs * 1e9 / static_cast<double>(a.window));
        (void)!::write(fds[1], line.data(), line.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    char buf[1024];
    std::string out;
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    fmt::print("{}", out);
    std::fflush(stdout);
}

void run_rebuild(const args_t& a) {
    using namespace server::storage;
    const auto dir = a.dir / "rebuild";
    fs::remove_all(dir);
    log_options o;
    o.partition_id = 0;
    o.fsync = fsync_policy::never;
    o.segment_size = std::uint64_t{64} << 20;
    {
        auto log = partition_log::open(dir, o);
        if (!log)
            return;
        std::string payload(a.size, 'x');
        const std::uint32_t per = 1000;
        for (std::uint64_t n = 0; n < a.rebuild; n += per) {
            batch_builder b;
            for (std::uint32_t k = 0; k < per; ++k)
                b.add({u128{n + k + 1, 27}, 0, as_bytes(payload), {}});
            bytes batch = b.finish();
            if (!(*log)->append(batch))
                return;
        }
        (void)(*log)->sync();
    }
    struct variant {
        const char* name;
        bool on;
        std::uint64_t max_entries;
    };
    for (const variant& v :
         {variant{"off", false, 0}, variant{"on", true, a.rebuild}, variant{"on", true, 10000}}) {
        log_options lo = o;
        lo.dedup = {v.on, v.max_entries, 3600ull * 1'000'000};
        const auto t0 = clk::now();
        auto log = partition_log::open(dir, lo);
        const double secs = std::chrono::duration<double>(clk::now() - t0).count();
        if (!log)
            return;
        const auto& rec = (*log)->recovery();
        fmt::print(
            "{{\"bench\":\"server_dedup\",\"case\":\"rebuild\",\"dedup\":\"{}\","
            "\"log_messages\":{},\"log_bytes\":{},\"max_entries\":{},\"ids_loaded\":{},"
            "\"bytes_read\":{},\"open_seconds\":{:.3f}}}\n",
            v.name, (*log)->next_offset(), (*log)->stats().size_bytes, v.max_entries,
            rec.dedup_ids_loaded, rec.dedup_bytes_read, secs);
        std::fflush(stdout);
    }
    fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
    args_t a;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--seconds")
            a.seconds = std::stod(v);
        else if (k == "--producers")
            a.producers = std::stoi(v);
        else if (k == "--batch")
            a.batch = static_cast<std::uint32_t>(std::stoul(v));
        else if (k == "--size")
            a.size = static_cast<std::uint32_t>(std::stoul(v));
        else if (k == "--dir")
            a.dir = v;
        else if (k == "--iggy")
            a.iggy = v;
        else if (k == "--window")
            a.window = std::stoull(v);
        else if (k == "--rebuild")
            a.rebuild = std::stoull(v);
        else {
            fmt::print(stderr, "unknown option {}\n", k);
            return 2;
        }
    }
    ::signal(SIGPIPE, SIG_IGN);
    fs::create_directories(a.dir);
    spdlog::set_level(spdlog::level::warn);
    run_window_memory(a);
    run_rebuild(a);
    run_embedded(a, false, false);
    run_embedded(a, true, false);
    run_embedded(a, true, true);
    run_iggy(a);
    // The baseline once more at the end: the machine is shared, so its drift shows.
    run_embedded(a, false, false);
    fs::remove_all(a.dir);
    return 0;
}
