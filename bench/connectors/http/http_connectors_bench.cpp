// HTTP connectors benchmark. Prints one JSON object per line.
//
//  1. Webhook source: wrk POSTs JSON bodies (one object, or an array of 10) to the webhook source
//     running in the runtime's source pipeline (answers after the pipeline's producer
//     acknowledged; the Iggy side is a port that acknowledges at once and discards, so the figure
//     is the connector's and the pipeline's cost, not a broker's). Baseline in the same run: nginx
//     answering the same POSTs with a fixed 200 from its config (the HTTP ceiling of this
//     machine over loopback), both with one event loop.
//  2. HTTP sink: write() of batches of JSON messages to nginx (a fast receiver answering 200), per
//     batch mode. Baseline: core/net's libcurl client POSTing prebuilt bodies of the same shape
//     in a loop (a request's cost without the sink's encoding and bookkeeping).
//
// Usage: http_connectors_bench [seconds per case (5)] [wrk connections (32)] [batch length (500)]
//                              [webhook I/O threads (1)]
// Needs `wrk` and `nginx` in PATH (Debian packages wrk, nginx-light).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/bench_util.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/http/http.h"
#include "core/net/http_client.h"
#include "runtime/ports.h"
#include "runtime/source_pipeline.h"

extern char** environ;

namespace {

using namespace trib::bench;

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::string capture(const std::string& cmd) {
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

trib::config::values values_of(const trib::config::spec& s, const std::string& toml) {
    auto n = trib::config::parse_toml(toml, "bench.toml");
    if (!n) {
        std::fprintf(stderr, "bench: %s\n", n.error().to_string().c_str());
        std::exit(2);
    }
    trib::config::problems pr;
    auto v = trib::config::validate(s, *n, "bench.toml", "plugin_config", pr);
    if (pr.has_errors()) {
        std::fprintf(stderr, "bench: %s\n", pr.to_string().c_str());
        std::exit(2);
    }
    return v;
}

// ---- nginx -----------------------------------------------------------------------------------

/// nginx in the foreground, one worker, answering POST /hook and /in with 200 from its config.
class nginx_proc {
  public:
    explicit nginx_proc(std::uint16_t port) : port_(port) {
        dir_ = fs::temp_directory_path() / ("trib-httpconn-bench-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        const std::string d = dir_.string();
        std::ofstream(dir_ / "nginx.conf")
            << "daemon off;\nmaster_process off;\nworker_processes 1;\npid " << d
            << "/nginx.pid;\nerror_log " << d << "/error.log warn;\n"
            << "events { worker_connections 4096; }\nhttp {\n  access_log off;\n"
            << "  client_body_temp_path " << d << "/cb;\n  proxy_temp_path " << d << "/px;\n"
            << "  fastcgi_temp_path " << d << "/fc;\n  uwsgi_temp_path " << d << "/uw;\n"
            << "  scgi_temp_path " << d << "/sc;\n  keepalive_requests 100000000;\n"
            << "  client_max_body_size 64m;\n  client_body_buffer_size 16m;\n"
            << "  server {\n    listen 127.0.0.1:" << port << ";\n"
            << "    location / { default_type application/json; return 200 "
               "'{\"accepted\":1}'; }\n  }\n}\n";
        const std::string conf = (dir_ / "nginx.conf").string();
        const std::string err = (dir_ / "error.log").string();
        std::vector<std::string> args{"nginx", "-p", d, "-e", err, "-c", conf};
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        if (posix_spawnp(&pid_, "nginx", &fa, nullptr, argv.data(), environ) != 0)
            pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
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
    bool wait_ready() {
        const auto until = clock_type::now() + 10s;
        while (pid_ > 0 && clock_type::now() < until) {
            if (connectable(port_))
                return true;
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                return false;
            }
            std::this_thread::sleep_for(10ms);  // polling a child's start-up
        }
        return false;
    }
    pid_t pid() const { return pid_; }

  private:
    std::uint16_t port_;
    fs::path dir_;
    pid_t pid_ = -1;
};

// ---- wrk -------------------------------------------------------------------------------------

double to_us(const std::string& v) {
    const double x = std::atof(v.c_str());
    if (v.ends_with("us"))
        return x;
    if (v.ends_with("ms"))
        return x * 1e3;
    if (v.ends_with("s"))
        return x * 1e6;
    return x;
}

struct wrk_result {
    double rps = 0;
    double p50_us = 0;
    double p99_us = 0;
    long long requests = 0;
    long long non2xx = 0;
    bool ok = false;
    std::string raw;
};

wrk_result run_wrk(const std::string& url, const fs::path& script, int seconds, int conns) {
    wrk_result r;
    r.raw = capture("wrk -t1 -c" + std::to_string(conns) + " -d" + std::to_string(seconds) +
                    "s --timeout 10s --latency -s " + script.string() + " " + url);
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
        } else if (first == "Non-2xx") {
            r.non2xx = std::atoll(line.substr(line.find(':') + 1).c_str());
        } else if (line.find("requests in") != std::string::npos) {
            r.requests = std::atoll(first.c_str());
        }
    }
    return r;
}

fs::path write_script(const fs::path& dir, const std::string& name, const std::string& body) {
    auto p = dir / (name + ".lua");
    std::string esc;
    for (char c : body) {
        if (c == '\\' || c == '\'')
            esc += '\\';
        esc += c;
    }
    std::ofstream(p) << "wrk.method = \"POST\"\nwrk.body = '" << esc
                     << "'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n";
    return p;
}

// ---- an Iggy side that acknowledges at once ---------------------------------------------------

class discard_producer final : public trib::runtime::producer_port {
  public:
    explicit discard_producer(std::atomic<std::uint64_t>& n) : n_(n) {}
    void send(std::shared_ptr<const trib::message_batch> b, completion done) override {
        n_.fetch_add(b->size(), std::memory_order_relaxed);
        done(trib::ok());
    }

  private:
    std::atomic<std::uint64_t>& n_;
};

class discard_iggy final : public trib::runtime::iggy_port {
  public:
    trib::result<std::unique_ptr<trib::runtime::consumer_port>> open_consumer(
        const trib::runtime::consumer_options&) override {
        return trib::fail(trib::errc::unimplemented, "discard_iggy has no consumers");
    }
    trib::result<std::unique_ptr<trib::runtime::producer_port>> open_producer(
        const trib::runtime::producer_options&) override {
        return std::unique_ptr<trib::runtime::producer_port>(
            std::make_unique<discard_producer>(messages));
    }
    trib::result<bool> ensure_topic(std::string_view, std::string_view, std::uint32_t) override {
        return false;
    }
    std::atomic<std::uint64_t> messages{0};
};

class no_state final : public trib::runtime::state_store {
  public:
    trib::result<std::optional<std::string>> load(std::string_view) override {
        return std::optional<std::string>();
    }
    trib::status save(std::string_view, std::string_view) override { return trib::ok(); }
};

void print_webhook(const std::string& name, const std::string& target, const wrk_result& r,
                   int per_request, std::size_t body_bytes, long rss, const wrk_result& base,
                   int seconds, int conns) {
    std::printf(
        "{\"bench\":\"http_connectors\",\"case\":\"%s\",\"target\":\"%s\",\"ok\":%s,"
        "\"connections\":%d,\"seconds\":%d,\"requests\":%lld,\"non_2xx\":%lld,"
        "\"requests_per_s\":%.0f,\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"p50_us\":%.1f,"
        "\"p99_us\":%.1f,\"peak_rss_kb\":%ld,\"baseline\":\"nginx\","
        "\"baseline_requests_per_s\":%.0f,\"vs_baseline\":%.3f}\n",
        name.c_str(), target.c_str(), r.ok && r.non2xx == 0 ? "true" : "false", conns, seconds,
        r.requests, r.non2xx, r.rps, r.rps * per_request, r.rps * body_bytes / 1e6, r.p50_us,
        r.p99_us, rss, base.rps, base.rps > 0 ? r.rps / base.rps : 0.0);
    std::fflush(stdout);
}

// ---- sink ------------------------------------------------------------------------------------

struct sink_result {
    double msgs_per_s = 0;
    double mb_per_s = 0;
    double p50_us = 0;
    double p99_us = 0;
    std::uint64_t messages = 0;
    bool ok = true;
    std::string error;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

trib::message_batch make_batch(std::size_t n, std::uint64_t first) {
    trib::message_batch b;
    for (std::size_t i = 0; i < n; ++i) {
        trib::message m;
        m.offset = first + i;
        m.id = trib::message_id{first + i + 1, 7};
        m.timestamp_us = 1'700'000'000'000'000ull + i;
        m.payload = b.own("{\"order_id\":" + std::to_string(first + i) + ",\"customer\":\"c-" +
                          std::to_string(i % 97) +
                          "\",\"amount\":12.50,\"currency\":\"EUR\",\"items\":[1,2,3],"
                          "\"note\":\"benchmark payload\"}");
        b.messages.push_back(std::move(m));
    }
    return b;
}

sink_result run_sink(const std::string& toml, std::size_t batch_len, int seconds) {
    sink_result out;
    auto s = trib::connectors::make_http_sink(values_of(trib::connectors::http_sink_spec(), toml));
    if (!s) {
        out.ok = false;
        out.error = s.error().to_string();
        return out;
    }
    trib::connector_context ctx;
    ctx.key = "bench";
    if (auto st = (*s)->open(ctx); !st) {
        out.ok = false;
        out.error = st.error().to_string();
        return out;
    }
    std::vector<double> lat;
    std::uint64_t offset = 0, bytes = 0;
    const auto t0 = clock_type::now();
    const auto until = t0 + std::chrono::seconds(seconds);
    // One batch, written again and again with new offsets (the sink must see them increase).
    auto b = make_batch(batch_len, 0);
    while (clock_type::now() < until) {
        for (auto& m : b.messages) {
            m.offset = offset++;
            m.id.lo = offset;
        }
        const auto w0 = clock_type::now();
        auto r = (*s)->write(trib::sink_batch{"bench", "orders", 1, "json", &b});
        lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - w0).count());
        if (!r || !r->rejected.empty()) {
            out.ok = false;
            out.error = r ? "rejected messages" : r.error().to_string();
            break;
        }
        out.messages += b.size();
        bytes += b.payload_bytes();
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    (*s)->close();
    out.msgs_per_s = static_cast<double>(out.messages) / secs;
    out.mb_per_s = static_cast<double>(bytes) / secs / 1e6;
    out.p50_us = percentile(lat, 0.50);
    out.p99_us = percentile(lat, 0.99);
    return out;
}

/// The baseline: libcurl POSTs of prebuilt bodies, `per_request` messages each.
sink_result run_plain_client(const std::string& url, std::size_t batch_len, bool batched,
                             int seconds) {
    sink_result out;
    auto b = make_batch(batch_len, 0);
    std::vector<std::string> bodies;
    if (batched) {
        std::string body;
        for (const auto& m : b.messages) {
            body += m.payload;
            body += '\n';
        }
        bodies.push_back(std::move(body));
    } else {
        for (const auto& m : b.messages)
            bodies.emplace_back(m.payload);
    }
    trib::net::http_client c;
    std::uint64_t bytes = 0;
    std::vector<double> lat;
    const auto t0 = clock_type::now();
    const auto until = t0 + std::chrono::seconds(seconds);
    while (clock_type::now() < until) {
        const auto w0 = clock_type::now();
        for (const auto& body : bodies) {
            trib::net::http_request req;
            req.method = "POST";
            req.url = url;
            req.body = body;
            req.headers["Content-Type"] = "application/json";
            auto r = c.perform(req);
            if (!r || r->status != 200) {
                out.ok = false;
                out.error = r ? "status " + std::to_string(r->status) : r.error().to_string();
                return out;
            }
        }
        lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - w0).count());
        out.messages += batch_len;
        bytes += b.payload_bytes();
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    out.msgs_per_s = static_cast<double>(out.messages) / secs;
    out.mb_per_s = static_cast<double>(bytes) / secs / 1e6;
    out.p50_us = percentile(lat, 0.50);
    out.p99_us = percentile(lat, 0.99);
    return out;
}

void print_sink(const std::string& name, const sink_result& r, const std::string& base_name,
                const sink_result& base, std::size_t batch_len, int seconds) {
    std::printf(
        "{\"bench\":\"http_connectors\",\"case\":\"%s\",\"target\":\"nginx\",\"ok\":%s,"
        "\"batch_length\":%zu,\"seconds\":%d,\"messages\":%llu,\"msgs_per_s\":%.0f,"
        "\"mb_per_s\":%.2f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"latency_of\":\"write() of one "
        "batch\",\"peak_rss_kb\":%ld,\"baseline\":\"%s\",\"baseline_msgs_per_s\":%.0f,"
        "\"vs_baseline\":%.3f%s%s%s}\n",
        name.c_str(), r.ok ? "true" : "false", batch_len, seconds,
        static_cast<unsigned long long>(r.messages), r.msgs_per_s, r.mb_per_s, r.p50_us, r.p99_us,
        peak_rss_kb(), base_name.c_str(), base.msgs_per_s,
        base.msgs_per_s > 0 ? r.msgs_per_s / base.msgs_per_s : 0.0, r.ok ? "" : ",\"error\":\"",
        r.ok ? "" : r.error.c_str(), r.ok ? "" : "\"");
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
    const int conns = argc > 2 ? std::atoi(argv[2]) : 32;
    const std::size_t batch_len = argc > 3 ? static_cast<std::size_t>(std::atoi(argv[3])) : 500;
    // The webhook's I/O threads (its `threads` option).
    const int webhook_threads = argc > 4 ? std::atoi(argv[4]) : 1;
    if (capture("command -v wrk").empty() || capture("command -v nginx").empty()) {
        std::fprintf(stderr, "http_connectors_bench: needs wrk and nginx in PATH\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    spdlog::set_level(spdlog::level::warn);  // stdout carries the JSON lines only
    const fs::path dir =
        fs::temp_directory_path() / ("trib-httpconn-bench-lua-" + std::to_string(::getpid()));
    fs::create_directories(dir);

    const std::string one =
        R"({"event":"order.created","id":12345,"amount":12.5,"tags":["a","b"]})";
    std::string ten = "[";
    for (int i = 0; i < 10; ++i)
        ten += (i ? "," : "") + one;
    ten += "]";
    const auto one_lua = write_script(dir, "one", one);
    const auto ten_lua = write_script(dir, "ten", ten);

    const std::uint16_t nport = free_port();
    nginx_proc ng(nport);
    if (!ng.wait_ready()) {
        std::fprintf(stderr, "http_connectors_bench: nginx did not start\n");
        return 2;
    }
    const std::string nurl = "http://127.0.0.1:" + std::to_string(nport);
    bool all_ok = true;

    // 1. Webhook source vs nginx.
    const auto base_one = run_wrk(nurl + "/hook", one_lua, seconds, conns);
    const auto base_ten = run_wrk(nurl + "/hook", ten_lua, seconds, conns);
    print_webhook("webhook_baseline_1_msg", "nginx", base_one, 1, one.size(),
                  pid_peak_rss_kb(ng.pid()), base_one, seconds, conns);
    print_webhook("webhook_baseline_10_msgs", "nginx", base_ten, 10, ten.size(),
                  pid_peak_rss_kb(ng.pid()), base_ten, seconds, conns);
    {
        const std::uint16_t wport = free_port();
        auto values = values_of(trib::connectors::webhook_source_spec(),
                                "port = " + std::to_string(wport) +
                                    "\nthreads = " + std::to_string(webhook_threads) +
                                    "\nmax_pending_requests = 100000\n"
                                    "max_pending_bytes = \"1GiB\"\n");
        discard_iggy iggy;
        no_state state;
        trib::runtime::connector_stats stats;
        trib::runtime::source_settings ss;
        ss.key = "bench";
        ss.streams.push_back(trib::runtime::source_stream_settings{"s", "t", "json", 1000, 1ms});
        ss.poll_wait = 5ms;
        trib::runtime::source_pipeline p(
            ss, [&]() { return trib::connectors::make_webhook_source(values); }, nullptr, iggy,
            state, stats);
        if (auto st = p.start(); !st) {
            std::fprintf(stderr, "webhook: %s\n", st.error().to_string().c_str());
            return 2;
        }
        const std::string wurl = "http://127.0.0.1:" + std::to_string(wport) + "/";
        const auto w1 = run_wrk(wurl, one_lua, seconds, conns);
        print_webhook("webhook_1_msg", "tributary webhook -> pipeline", w1, 1, one.size(),
                      peak_rss_kb(), base_one, seconds, conns);
        const auto w10 = run_wrk(wurl, ten_lua, seconds, conns);
        print_webhook("webhook_10_msgs", "tributary webhook -> pipeline", w10, 10, ten.size(),
                      peak_rss_kb(), base_ten, seconds, conns);
        p.request_stop();
        (void)p.join(clock_type::now() + 10s);
        all_ok = all_ok && w1.ok && w10.ok && w1.non2xx == 0 && w10.non2xx == 0;
        if (!w1.ok || !w10.ok)
            std::fprintf(stderr, "%s\n%s\n", w1.raw.c_str(), w10.raw.c_str());
    }

    // 2. HTTP sink per batch mode vs the plain client.
    const auto plain_single = run_plain_client(nurl + "/in", batch_len, false, seconds);
    const auto plain_batch = run_plain_client(nurl + "/in", batch_len, true, seconds);
    print_sink("plain_client_1_msg_per_request", plain_single, "itself", plain_single, batch_len,
               seconds);
    print_sink("plain_client_batch_per_request", plain_batch, "itself", plain_batch, batch_len,
               seconds);
    const std::string url = "url = \"" + nurl + "/in\"\n";
    struct sink_case {
        std::string name, toml;
        bool batched;
    };
    const std::vector<sink_case> cases{
        {"sink_individual", "batch_mode = \"individual\"\n", false},
        {"sink_individual_concurrency_8", "batch_mode = \"individual\"\nconcurrency = 8\n", false},
        {"sink_raw", "batch_mode = \"raw\"\n", false},
        {"sink_ndjson", "batch_mode = \"ndjson\"\n", true},
        {"sink_json_array", "batch_mode = \"json_array\"\n", true},
        {"sink_ndjson_no_metadata", "batch_mode = \"ndjson\"\ninclude_metadata = false\n", true},
    };
    for (const auto& c : cases) {
        auto r = run_sink(url + c.toml, batch_len, seconds);
        print_sink(c.name, r,
                   c.batched ? "plain_client_batch_per_request" : "plain_client_1_msg_per_request",
                   c.batched ? plain_batch : plain_single, batch_len, seconds);
        all_ok = all_ok && r.ok;
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return all_ok ? 0 : 1;
}
