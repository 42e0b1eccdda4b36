// Benchmark of the embedded Iggy-compatible server over loopback TCP, with the protocol as
// official clients speak it (lockstep connections, 256-byte headers, 0.11 batches):
//   - produce: P connections each sending batches of B messages of 1 KiB to their own partition;
//     messages/s, MB/s, p50/p99 latency of a send (request written to acknowledgement read),
//     for fsync = never, interval and always;
//   - consume: the same number of connections polling the messages back by offset (1000 per poll);
//   - idle: peak RSS of a server process holding 1,000 topics (one partition each), idle.
// Every server runs in its own forked process (forked at the start, before this process has a
// thread), so that its RSS is the server's alone; peak_rss_kb is that process's VmHWM.
// Baselines, measured in the same run:
//   - baseline_loopback_echo: a loopback server that reads each send frame and answers a fixed
//     acknowledgement without parsing or storing anything (the ceiling of TCP + framing here);
//   - baseline_file_write / baseline_file_write_fsync: P threads appending the same bytes per
//     batch to their own file with write(2), and with write(2) + fdatasync(2) after each batch
//     (the ceiling of the disk for fsync = always), in the same directory as the servers' data;
//   - the server itself with fsync = never.
//
// Usage: server_bench [--seconds S] [--producers P] [--batch B[,B2...]] [--topics N] [--dir PATH]
// Prints one JSON object per line.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/wire_conn.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"
#include "server/server.h"

namespace {

using namespace trib;
using namespace trib::iggy;
using clk = std::chrono::steady_clock;

struct args_t {
    double seconds = 5;
    int producers = 4;
    std::vector<std::uint32_t> batches{100};
    std::uint32_t batch = 100;  // the batch of the current case
    std::uint32_t msg_size = 1024;
    int topics = 1000;
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "trib-server-bench";
};

// ---- a minimal blocking client ----

using conn = trib::iggy::bench::conn;

bytes make_batch(std::uint32_t count, std::uint32_t size) {
    std::string payload(size, 'x');
    batch_builder b;
    for (std::uint32_t i = 0; i < count; ++i)
        b.add({random_u128(), 0, as_bytes(payload), {}});
    return b.finish();
}

double pct(std::vector<double>& v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

long rss_kb(pid_t pid, const char* field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0)
            return std::stol(line.substr(std::strlen(field)));
    return 0;
}

struct phase_result {
    std::uint64_t messages = 0;
    double seconds = 0;
    std::vector<double> lat_us;
};

/// P producers, each sending `batch` messages per request to its own partition, for `seconds`.
phase_result produce(std::uint16_t port, const args_t& a, const std::string& stream,
                     bool login = true) {
    phase_result r;
    std::mutex mu;
    std::atomic<std::uint64_t> total{0};
    std::vector<std::thread> ts;
    const auto start = clk::now();
    const auto deadline = start + std::chrono::duration<double>(a.seconds);
    for (int p = 0; p < a.producers; ++p) {
        ts.emplace_back([&, p] {
            conn c;
            if (!c.open(port) || (login && !c.login()))
                return;
            auto batch = make_batch(a.batch, a.msg_size);
            send_messages_request req;
            req.stream = identifier::named(stream);
            req.topic = identifier::named("t");
            req.part = partitioning::partition_id(static_cast<std::uint32_t>(p));
            req.batch = batch;
            req.messages_count = a.batch;
            std::vector<double> lat;
            bytes reply;
            while (clk::now() < deadline) {
                auto t0 = clk::now();
                if (!c.call(req, reply))
                    break;
                lat.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
                total += a.batch;
            }
            std::lock_guard l(mu);
            r.lat_us.insert(r.lat_us.end(), lat.begin(), lat.end());
        });
    }
    for (auto& t : ts)
        t.join();
    r.seconds = std::chrono::duration<double>(clk::now() - start).count();
    r.messages = total;
    return r;
}

/// P consumers, each polling its partition by offset until `per_partition` messages were read.
phase_result consume(std::uint16_t port, const args_t& a, const std::string& stream,
                     std::uint64_t per_partition) {
    phase_result r;
    std::mutex mu;
    std::atomic<std::uint64_t> total{0};
    std::vector<std::thread> ts;
    const auto start = clk::now();
    for (int p = 0; p < a.producers; ++p) {
        ts.emplace_back([&, p] {
            conn c;
            if (!c.open(port) || !c.login())
                return;
            poll_messages_request req;
            req.who = consumer::plain(identifier::numeric(1));
            req.stream = identifier::named(stream);
            req.topic = identifier::named("t");
            req.partition = static_cast<std::uint32_t>(p);
            req.count = 1000;
            std::vector<double> lat;
            bytes reply;
            std::uint64_t next = 0;
            while (next < per_partition) {
                req.strategy = polling_strategy::offset(next);
                auto t0 = clk::now();
                if (!c.call(req, reply))
                    break;
                lat.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
                if (reply.size() < header_size + 16)
                    break;
                std::uint32_t n = load_u32(reply.data() + header_size + 12);
                if (n == 0)
                    break;
                next += n;
                total += n;
            }
            std::lock_guard l(mu);
            r.lat_us.insert(r.lat_us.end(), lat.begin(), lat.end());
        });
    }
    for (auto& t : ts)
        t.join();
    r.seconds = std::chrono::duration<double>(clk::now() - start).count();
    r.messages = total;
    return r;
}

/// The baseline server: reads each frame, answers a fixed send acknowledgement.
class echo_server {
  public:
    echo_server() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
        ::listen(fd_, 64);
        socklen_t len = sizeof(a);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] {
            for (;;) {
                int c = ::accept(fd_, nullptr, nullptr);
                if (c < 0)
                    return;
                int one2 = 1;
                ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one2, sizeof(one2));
                std::thread([c] {
                    bytes f;
                    bytes ack(header_size + 24, 0);
                    ack[60] = 8;
                    ack[208] = 160;
                    store_u32(ack.data() + 48, static_cast<std::uint32_t>(ack.size()));
                    store_u32(ack.data() + header_size, 1);
                    for (;;) {
                        f.resize(header_size);
                        std::size_t done = 0;
                        auto rd = [&](std::uint8_t* p, std::size_t n) {
                            done = 0;
                            while (done < n) {
                                auto r = ::recv(c, p + done, n - done, 0);
                                if (r <= 0)
                                    return false;
                                done += static_cast<std::size_t>(r);
                            }
                            return true;
                        };
                        if (!rd(f.data(), header_size))
                            break;
                        auto sz = load_u32(f.data() + 48);
                        f.resize(sz);
                        if (sz > header_size && !rd(f.data() + header_size, sz - header_size))
                            break;
                        if (::send(c, ack.data(), ack.size(), MSG_NOSIGNAL) <= 0)
                            break;
                    }
                    ::close(c);
                }).detach();
            }
        });
    }
    ~echo_server() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::uint16_t port() const { return port_; }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

void print_phase(const char* bench, const char* fsync, const args_t& a, phase_result& r,
                 double baseline_msgs_per_s, long peak_rss,
                 const char* baseline = "loopback frame echo (no parsing, no storage)") {
    const double mps = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
    const double mbps = mps * a.msg_size / 1e6;
    const double p50 = pct(r.lat_us, 0.50);
    const double p99 = pct(r.lat_us, 0.99);
    fmt::print(
        "{{\"bench\":\"{}\",\"fsync\":\"{}\",\"msg_size\":{},\"batch\":{},\"connections\":{},"
        "\"messages\":{},\"seconds\":{:.2f},\"msgs_per_s\":{:.0f},\"mb_per_s\":{:.1f},"
        "\"p50_us\":{:.0f},\"p99_us\":{:.0f},\"peak_rss_kb\":{},\"baseline_msgs_per_s\":{:.0f},"
        "\"baseline\":\"{}\"}}\n",
        bench, fsync, a.msg_size, a.batch, a.producers, r.messages, r.seconds, mps, mbps, p50, p99,
        peak_rss, baseline_msgs_per_s, baseline);
    std::fflush(stdout);
}

int run_server_child(const std::filesystem::path& dir, server::fsync_policy policy, int ready_fd,
                     int stop_fd) {
    server::server_options o;
    o.data_dir = dir;
    o.address = "127.0.0.1:0";
    o.default_root_credentials = true;
    o.fsync = policy;
    auto s = server::embedded_server::start(o);
    if (!s)
        return 1;
    std::uint16_t port = (*s)->port();
    if (::write(ready_fd, &port, sizeof(port)) != sizeof(port))
        return 1;
    char b;
    (void)::read(stop_fd, &b, 1);  // returns when the parent closes its end
    return 0;
}

/// A server in a forked process: started by `fork_server` before the parent has threads, it
/// opens its data dir and listens at once; `port` waits for its port, `stop` ends it.
struct child_server {
    pid_t pid = -1;
    int ready_fd = -1;
    int stop_fd = -1;
    std::uint16_t port_ = 0;
    std::uint16_t port() {
        if (port_ == 0 && ::read(ready_fd, &port_, sizeof(port_)) != sizeof(port_))
            port_ = 0;
        return port_;
    }
    long peak_rss_kb() const { return rss_kb(pid, "VmHWM:"); }
    void stop() {
        if (pid < 0)
            return;
        ::close(stop_fd);
        ::close(ready_fd);
        int st = 0;
        ::waitpid(pid, &st, 0);
        pid = -1;
    }
};

/// The parent's ends of earlier children's pipes: a later child closes its copies, or an earlier
/// child would never see its stop pipe close.
std::vector<int> g_parent_fds;

child_server fork_server(const std::filesystem::path& dir, server::fsync_policy policy) {
    child_server c;
    int ready[2], stop[2];
    if (::pipe(ready) != 0 || ::pipe(stop) != 0)
        return c;
    c.pid = ::fork();
    if (c.pid == 0) {
        ::close(ready[0]);
        ::close(stop[1]);
        for (int fd : g_parent_fds)
            ::close(fd);
        ::dup2(STDERR_FILENO, STDOUT_FILENO);  // the server's log stays off the JSON lines
        ::_exit(run_server_child(dir, policy, ready[1], stop[0]));
    }
    ::close(ready[1]);
    ::close(stop[0]);
    c.ready_fd = ready[0];
    c.stop_fd = stop[1];
    g_parent_fds.push_back(ready[0]);
    g_parent_fds.push_back(stop[1]);
    return c;
}

/// The disk baseline: P threads each appending one batch's bytes (as the send carries them) per
/// write to their own file, with fdatasync after each write when `sync`.
phase_result file_write(const args_t& a, const std::filesystem::path& dir, bool sync) {
    phase_result r;
    std::mutex mu;
    std::atomic<std::uint64_t> total{0};
    std::vector<std::thread> ts;
    const auto batch = make_batch(a.batch, a.msg_size);
    const auto start = clk::now();
    const auto deadline = start + std::chrono::duration<double>(a.seconds);
    for (int p = 0; p < a.producers; ++p) {
        ts.emplace_back([&, p] {
            auto path = dir / ("baseline-" + std::to_string(p) + (sync ? "-sync" : ""));
            int fd =
                ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
            if (fd < 0)
                return;
            std::vector<double> lat;
            while (clk::now() < deadline) {
                auto t0 = clk::now();
                if (::write(fd, batch.data(), batch.size()) != static_cast<ssize_t>(batch.size()))
                    break;
                if (sync && ::fdatasync(fd) != 0)
                    break;
                lat.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
                total += a.batch;
            }
            ::close(fd);
            std::error_code ec;
            std::filesystem::remove(path, ec);
            std::lock_guard l(mu);
            r.lat_us.insert(r.lat_us.end(), lat.begin(), lat.end());
        });
    }
    for (auto& t : ts)
        t.join();
    r.seconds = std::chrono::duration<double>(clk::now() - start).count();
    r.messages = total;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    args_t a;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        if (k == "--seconds")
            a.seconds = std::stod(argv[i + 1]);
        else if (k == "--producers")
            a.producers = std::stoi(argv[i + 1]);
        else if (k == "--batch") {
            a.batches.clear();
            std::string v = argv[i + 1];
            for (std::size_t pos = 0; pos <= v.size();) {
                auto comma = std::min(v.find(',', pos), v.size());
                a.batches.push_back(
                    static_cast<std::uint32_t>(std::stoul(v.substr(pos, comma - pos))));
                pos = comma + 1;
            }
        } else if (k == "--topics")
            a.topics = std::stoi(argv[i + 1]);
        else if (k == "--dir")
            a.dir = argv[i + 1];
    }
    ::signal(SIGPIPE, SIG_IGN);
    std::error_code ec;
    std::filesystem::remove_all(a.dir, ec);
    std::filesystem::create_directories(a.dir, ec);

    // Every server process is forked now, before this process starts any thread.
    const server::fsync_policy policies[] = {
        server::fsync_policy::never, server::fsync_policy::interval, server::fsync_policy::always};
    auto policy_name = [](server::fsync_policy p) {
        return p == server::fsync_policy::never      ? "never"
               : p == server::fsync_policy::interval ? "interval"
                                                     : "always";
    };
    child_server idle = fork_server(a.dir / "idle", server::fsync_policy::interval);
    std::vector<std::vector<child_server>> servers;  // [batch case][policy]
    for (std::size_t b = 0; b < a.batches.size(); ++b) {
        servers.emplace_back();
        for (auto p : policies)
            servers.back().push_back(
                fork_server(a.dir / fmt::format("b{}-{}", a.batches[b], policy_name(p)), p));
    }

    // Peak RSS with 1,000 idle topics.
    {
        const std::uint16_t port = idle.port();
        if (port == 0)
            return 1;
        const long idle_rss_empty = rss_kb(idle.pid, "VmRSS:");
        conn c;
        if (!c.open(port) || !c.login())
            return 1;
        bytes reply;
        c.call(create_stream_request{"idle", {}}, reply);
        const auto t0 = clk::now();
        for (int t = 0; t < a.topics; ++t) {
            create_topic_request ct;
            ct.stream = identifier::named("idle");
            ct.partitions_count = 1;
            ct.name = "t" + std::to_string(t);
            if (!c.call(ct, reply) || !decode_reply(reply))
                return 1;
        }
        const double create_s = std::chrono::duration<double>(clk::now() - t0).count();
        std::this_thread::sleep_for(std::chrono::seconds(2));  // idle: the housekeeping ticks
        const long idle_rss = idle.peak_rss_kb();
        const long now_rss = rss_kb(idle.pid, "VmRSS:");
        idle.stop();
        fmt::print(
            "{{\"bench\":\"idle_topics\",\"topics\":{},\"create_seconds\":{:.2f},"
            "\"topics_per_s\":{:.0f},\"peak_rss_kb\":{},\"rss_kb\":{},"
            "\"baseline_rss_kb\":{},\"baseline\":\"the same server process with no topics\","
            "\"msgs_per_s\":0,\"mb_per_s\":0,\"p50_us\":0,\"p99_us\":0}}\n",
            a.topics, create_s, a.topics / create_s, idle_rss, now_rss, idle_rss_empty);
        std::fflush(stdout);
    }

    for (std::size_t b = 0; b < a.batches.size(); ++b) {
        a.batch = a.batches[b];
        double baseline = 0;
        {
            echo_server echo;
            auto r = produce(echo.port(), a, "t", false);
            baseline = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
            print_phase("baseline_loopback_echo", "n/a", a, r, baseline, 0);
        }
        {
            auto r = file_write(a, a.dir, false);
            print_phase("baseline_file_write", "never", a, r, baseline, 0,
                        "write(2) of each batch to a file, no server");
            r = file_write(a, a.dir, true);
            print_phase("baseline_file_write_fsync", "always", a, r, baseline, 0,
                        "write(2) + fdatasync(2) of each batch to a file, no server");
        }
        for (std::size_t i = 0; i < std::size(policies); ++i) {
            auto& srv = servers[b][i];
            const char* name = policy_name(policies[i]);
            const auto port = srv.port();
            if (port == 0) {
                fmt::print(stderr, "server ({}) did not start\n", name);
                return 1;
            }
            {
                conn c;
                if (!c.open(port) || !c.login())
                    return 1;
                bytes reply;
                c.call(create_stream_request{"bench", {}}, reply);
                create_topic_request ct;
                ct.stream = identifier::named("bench");
                ct.partitions_count = static_cast<std::uint32_t>(a.producers);
                ct.name = "t";
                if (!c.call(ct, reply) || !decode_reply(reply))
                    return 1;
            }
            auto pr = produce(port, a, "bench");
            print_phase("produce", name, a, pr, baseline, srv.peak_rss_kb());
            auto cr = consume(port, a, "bench", UINT64_MAX);
            print_phase("consume", name, a, cr, baseline, srv.peak_rss_kb());
            srv.stop();
        }
    }
    std::filesystem::remove_all(a.dir, ec);
    return 0;
}
