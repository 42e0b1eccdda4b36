// HTTP server benchmark: wrk against a trivial route of trib::http::server (sync and async
// handlers), and against nginx answering the same bytes from its config, in the same run, as the
// ceiling of what this machine does over loopback. Prints one JSON object per line.
//
// Usage: http_bench [seconds per run (5)] [connections (32)]
// Needs `wrk` and `nginx` in PATH (Debian packages wrk, nginx-light).

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_util.h"
#include "http/server.h"

namespace {

using namespace trib::bench;

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string run_capture(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return out;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    ::pclose(p);
    return out;
}

/// "123.45us" / "1.20ms" / "2.00s" to microseconds.
double to_us(const std::string& v) {
    double x = std::atof(v.c_str());
    if (v.ends_with("us"))
        return x;
    if (v.ends_with("ms"))
        return x * 1e3;
    if (v.ends_with("s"))
        return x * 1e6;
    return x;
}

/// "1.23MB" to megabytes.
double to_mb(const std::string& v) {
    double x = std::atof(v.c_str());
    if (v.ends_with("GB"))
        return x * 1024;
    if (v.ends_with("MB"))
        return x;
    if (v.ends_with("KB"))
        return x / 1024;
    return x / (1024 * 1024);
}

struct wrk_result {
    double rps = 0;
    double mb_per_s = 0;
    double p50_us = 0;
    double p99_us = 0;
    long long requests = 0;
    long long non2xx = 0;
    bool ok = false;
    std::string raw;
};

wrk_result run_wrk(std::uint16_t port, const std::string& path, int seconds, int conns) {
    wrk_result r;
    r.raw = run_capture("wrk -t1 -c" + std::to_string(conns) + " -d" + std::to_string(seconds) +
                        "s --latency http://127.0.0.1:" + std::to_string(port) + path);
    std::istringstream in(r.raw);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string first;
        ls >> first;
        if (first == "50%") {
            std::string v;
            ls >> v;
            r.p50_us = to_us(v);
        } else if (first == "99%") {
            std::string v;
            ls >> v;
            r.p99_us = to_us(v);
        } else if (first == "Requests/sec:") {
            ls >> r.rps;
            r.ok = true;
        } else if (first == "Transfer/sec:") {
            std::string v;
            ls >> v;
            r.mb_per_s = to_mb(v);
        } else if (first == "Non-2xx") {
            std::string rest;
            std::getline(ls, rest);
            r.non2xx = std::atoll(rest.substr(rest.find(':') + 1).c_str());
        } else if (line.find("requests in") != std::string::npos) {
            r.requests = std::atoll(first.c_str());
        }
    }
    return r;
}

long self_peak_rss_kb() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

void print(const std::string& name, const std::string& target, const wrk_result& r, long rss_kb,
           double baseline_rps, int seconds, int conns) {
    std::printf(
        "{\"bench\":\"http_server\",\"case\":\"%s\",\"target\":\"%s\",\"ok\":%s,"
        "\"connections\":%d,\"seconds\":%d,\"requests\":%lld,\"non_2xx\":%lld,"
        "\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
        "\"peak_rss_kb\":%ld,\"baseline\":\"nginx\",\"baseline_msgs_per_s\":%.0f,"
        "\"vs_baseline\":%.3f}\n",
        name.c_str(), target.c_str(), r.ok ? "true" : "false", conns, seconds, r.requests, r.non2xx,
        r.rps, r.mb_per_s, r.p50_us, r.p99_us, rss_kb, baseline_rps,
        baseline_rps > 0 ? r.rps / baseline_rps : 0.0);
    std::fflush(stdout);
}

/// nginx with a temporary configuration, one worker, in the foreground.
class nginx_proc {
  public:
    explicit nginx_proc(std::uint16_t port) : port_(port) {
        dir_ = fs::temp_directory_path() / ("trib-bench-nginx-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        std::string d = dir_.string();
        std::ofstream(dir_ / "nginx.conf")
            << "daemon off;\nmaster_process off;\nworker_processes 1;\npid " << d
            << "/nginx.pid;\nerror_log " << d
            << "/error.log warn;\nevents { worker_connections 4096; }\nhttp {\n"
            << "  access_log off;\n  client_body_temp_path " << d << "/cb;\n  proxy_temp_path " << d
            << "/px;\n  fastcgi_temp_path " << d << "/fc;\n  uwsgi_temp_path " << d
            << "/uw;\n  scgi_temp_path " << d << "/sc;\n  keepalive_requests 10000000;\n"
            << "  server {\n    listen 127.0.0.1:" << port
            << ";\n    location = /ping { default_type text/plain; return 200 \"pong\"; }\n  "
               "}\n}\n";
        pid_ = ::fork();
        if (pid_ == 0) {
            int devnull = ::open("/dev/null", O_WRONLY);
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
            std::string conf = (dir_ / "nginx.conf").string();
            std::string err = (dir_ / "error.log").string();
            ::execlp("nginx", "nginx", "-p", d.c_str(), "-e", err.c_str(), "-c", conf.c_str(),
                     static_cast<char*>(nullptr));
            _exit(127);
        }
    }
    ~nginx_proc() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int st = 0;
            ::waitpid(pid_, &st, 0);
        }
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    /// Polls until nginx accepts connections (or exits, or 10 s pass).
    bool wait_ready() {
        auto until = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < until) {
            if (connectable(port_))
                return true;
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                return false;
            }
            std::this_thread::sleep_for(10ms);  // polling a child's start-up, not synchronizing
        }
        return false;
    }
    pid_t pid() const { return pid_; }

  private:
    std::uint16_t port_;
    fs::path dir_;
    pid_t pid_ = -1;
};

/// Completes async requests on another thread, as the webhook source does after Iggy's ack.
class completer {
  public:
    completer() : t_([this] { loop(); }) {}
    ~completer() {
        {
            std::lock_guard lk(mu_);
            done_ = true;
        }
        cv_.notify_all();
        t_.join();
    }
    void push(trib::http::responder r) {
        {
            std::lock_guard lk(mu_);
            q_.push_back(std::move(r));
        }
        cv_.notify_one();
    }

  private:
    void loop() {
        std::unique_lock lk(mu_);
        for (;;) {
            cv_.wait(lk, [&] { return done_ || !q_.empty(); });
            if (q_.empty())
                return;
            auto batch = std::move(q_);
            q_.clear();
            lk.unlock();
            for (auto& r : batch)
                r.send(trib::http::response::text(200, "pong"));
            lk.lock();
        }
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<trib::http::responder> q_;
    bool done_ = false;
    std::thread t_;
};

}  // namespace

int main(int argc, char** argv) {
    int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
    int conns = argc > 2 ? std::atoi(argv[2]) : 32;
    if (run_capture("command -v wrk").empty() || run_capture("command -v nginx").empty()) {
        std::fprintf(stderr, "http_bench: needs wrk and nginx in PATH\n");
        return 2;
    }

    // The baseline first: nginx's static 200 from its config.
    std::uint16_t nport = free_port();
    wrk_result base;
    long nginx_rss = 0;
    {
        nginx_proc ng(nport);
        if (!ng.wait_ready()) {
            std::fprintf(stderr, "http_bench: nginx did not start\n");
            return 2;
        }
        base = run_wrk(nport, "/ping", seconds, conns);
        nginx_rss = pid_peak_rss_kb(ng.pid());
    }
    print("static_200", "nginx", base, nginx_rss, base.rps, seconds, conns);

    completer done;
    trib::http::server_config cfg;
    cfg.name = "bench";
    cfg.threads = 1;  // nginx runs one worker: compare one event loop with one
    trib::http::server srv(cfg);
    srv.route("GET", "/ping",
              [](const trib::http::request&) { return trib::http::response::text(200, "pong"); });
    srv.route_async("GET", "/ping-async", [&](const trib::http::request&, trib::http::responder r) {
        done.push(std::move(r));
    });
    if (auto st = srv.start(); !st) {
        std::fprintf(stderr, "http_bench: %s\n", st.error().to_string().c_str());
        return 2;
    }
    auto sync = run_wrk(srv.port(), "/ping", seconds, conns);
    print("sync_handler", "tributary", sync, self_peak_rss_kb(), base.rps, seconds, conns);
    auto async = run_wrk(srv.port(), "/ping-async", seconds, conns);
    print("async_handler_other_thread", "tributary", async, self_peak_rss_kb(), base.rps, seconds,
          conns);
    srv.stop(5s);
    bool all_ok = base.ok && sync.ok && async.ok && sync.non2xx == 0 && async.non2xx == 0;
    if (!all_ok) {
        std::fprintf(stderr, "http_bench: a run failed:\n%s\n%s\n%s\n", base.raw.c_str(),
                     sync.raw.c_str(), async.raw.c_str());
    }
    return all_ok ? 0 : 1;
}
