// Runtime benchmark. Prints one JSON object per case:
//   random_to_null   random source -> Iggy topic -> null sink
//   file_to_file     file source (tail) -> Iggy topic -> file sink (fsync per batch)
//   random_to_stdout random source -> Iggy topic -> stdout sink (Iggy's default: a line per
//                    batch), the pipeline of Iggy's own runtime figure; stdout goes to /dev/null
//   random_to_stdout_payload  the same, printing every payload
// for 100 B and 1 KiB payloads, against `tributary serve` running in a child process, plus two
// baselines measured in the same run: the same random -> null pipeline over memory_iggy (the
// runtime's own ceiling, no network) and the bare Iggy client producing and consuming (the
// ceiling set by client and server). Each case runs in a forked child, so peak_rss_kb is that
// case's runtime alone. Latency is end to end: from the source creating a message to the sink
// writing it (sampled), under full load.
//
// Usage: runtime_bench [--messages N] [--size 100,1024] [--case NAME]

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/bench_util.h"
#include "config/connector_config.h"
#include "config/runtime_config.h"
#include "iggy/consumer.h"
#include "iggy/producer.h"
#include "runtime/host.h"
#include "runtime/iggy_port.h"
#include "runtime/memory_iggy.h"

namespace {

using namespace trib::bench;

using namespace trib;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::uint64_t now_us() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

/// End-to-end latencies, sampled (every 8th message) by a sink decorator.
struct latency_book {
    std::mutex mu;
    std::vector<std::uint32_t> samples_us;
    void add(std::uint64_t us) {
        std::lock_guard lk(mu);
        samples_us.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(us, UINT32_MAX)));
    }
    double quantile_ms(double q) {
        std::lock_guard lk(mu);
        if (samples_us.empty())
            return 0;
        auto v = samples_us;
        const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
        std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
        return v[k] / 1000.0;
    }
};

latency_book g_latency;

// Small helpers of the test harness, here so that the release build (without tests) has them.

/// A loopback TCP port that was free a moment ago.
/// A fresh directory under the temporary directory, removed at exit.
struct temp_dir {
    fs::path path_;
    explicit temp_dir(const std::string& prefix) {
        std::string t = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (::mkdtemp(t.data()) == nullptr) {
            std::perror("mkdtemp");
            std::exit(1);
        }
        path_ = t;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
};

class timing_sink final : public sink {
  public:
    explicit timing_sink(std::unique_ptr<sink> inner) : inner_(std::move(inner)) {}
    status open(connector_context& ctx) override { return inner_->open(ctx); }
    result<write_outcome> write(const sink_batch& b) override {
        auto r = inner_->write(b);
        if (r) {
            const auto now = now_us();
            const auto& msgs = b.messages->messages;
            for (std::size_t i = 0; i < msgs.size(); i += 8) {
                if (msgs[i].origin_timestamp_us != 0 && now > msgs[i].origin_timestamp_us) {
                    g_latency.add(now - msgs[i].origin_timestamp_us);
                }
            }
        }
        return r;
    }
    void close() override { inner_->close(); }
    bool idempotent() const override { return inner_->idempotent(); }

  private:
    std::unique_ptr<sink> inner_;
};

/// The built-ins, with every sink wrapped by timing_sink.
std::shared_ptr<const connectors::registry> bench_registry() {
    auto base = connectors::registry::builtins();
    if (!base) {
        std::fprintf(stderr, "%s\n", base.error().to_string().c_str());
        std::exit(1);
    }
    auto r = std::make_shared<connectors::registry>();
    for (const auto& e : (*base)->sources())
        (void)r->add_source(e.spec, e.make_source);
    for (const auto& e : (*base)->sinks()) {
        auto make = e.make_sink;
        (void)r->add_sink(e.spec, [make](const config::values& v) -> result<std::unique_ptr<sink>> {
            TRIB_ASSIGN_OR_RETURN(auto s, make(v));
            return std::unique_ptr<sink>(std::make_unique<timing_sink>(std::move(s)));
        });
    }
    return r;
}

long vm_hwm_kb(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string k;
    while (f >> k) {
        long v = 0;
        if (k == "VmHWM:" && f >> v)
            return v;
    }
    return 0;
}

struct outcome {
    double seconds = 0;
    std::uint64_t messages = 0;
    bool ok = false;
    std::string error;
};

struct bench_env {
    std::uint16_t iggy_port = 0;
    fs::path work;
    pid_t server_pid = -1;
};

iggy::client_options client_for(std::uint16_t port) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    return o;
}

/// Runs connector files in a host until every sink processed `n` messages.
outcome run_host(const bench_env& env, runtime::iggy_port* iggy, const fs::path& dir,
                 const std::vector<std::string>& files, std::uint64_t n) {
    outcome out;
    auto reg = bench_registry();
    const auto cat = runtime::make_catalog(reg);
    const config::environment cenv;
    auto rc = config::parse_runtime_config("[state]\npath = \"" + (dir / "state").string() +
                                               "\"\n[connectors]\nconfig_dir = \"" +
                                               (dir / "connectors").string() + "\"\n",
                                           "bench.toml", cenv);
    if (!rc) {
        out.error = rc.issues.to_string();
        return out;
    }
    runtime::host_options ho;
    ho.runtime = *rc;
    ho.registry = reg;
    ho.iggy = iggy;
    if (iggy == nullptr)
        ho.client = client_for(env.iggy_port);
    for (std::size_t i = 0; i < files.size(); ++i) {
        auto c = config::parse_connector_config(files[i], fmt::format("c{}.toml", i), cat, cenv);
        if (!c) {
            out.error = c.issues.to_string();
            return out;
        }
        ho.connectors.push_back(*c);
    }
    runtime::host h(std::move(ho));
    const auto t0 = clock_type::now();
    if (auto st = h.start(); !st) {
        out.error = st.error().to_string();
        return out;
    }
    const auto deadline = t0 + 600s;
    for (;;) {
        bool done = true;
        for (const auto& s : h.connectors()) {
            if (s->kind == runtime::connector_kind::sink && s->stats.messages_out.load() < n) {
                done = false;
            }
        }
        if (done)
            break;
        if (clock_type::now() > deadline) {
            out.error = "timed out";
            break;
        }
        std::this_thread::sleep_for(2ms);
    }
    out.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    out.messages = n;
    out.ok = out.error.empty();
    h.stop();
    return out;
}

constexpr const char* k_delivery = "[delivery]\nmax_in_flight_batches = 32\n";

std::string random_source_toml(std::size_t size, std::uint64_t n, const std::string& topic) {
    return fmt::format(
        "type = \"source\"\nkey = \"random\"\nname = \"random\"\nplugin = \"random\"\n"
        "[[streams]]\nstream = \"bench\"\ntopic = \"{}\"\nschema = \"raw\"\nbatch_length = 1000\n"
        "linger_time = \"1ms\"\n"
        "[plugin_config]\ninterval = \"0ms\"\nmessages_range = [1000, 1000]\nmax_count = {}\n"
        "payload_size = {}\nformat = \"raw\"\n{}",
        topic, n, size, k_delivery);
}

std::string null_sink_toml(const std::string& topic) {
    return fmt::format(
        "type = \"sink\"\nkey = \"null\"\nname = \"null\"\nplugin = \"null\"\n"
        "[[streams]]\nstream = \"bench\"\ntopics = [\"{}\"]\nschema = \"raw\"\n"
        "batch_length = 1000\npoll_interval = \"1ms\"\n{}",
        topic, k_delivery);
}

outcome case_random_to_null(const bench_env& env, std::size_t size, std::uint64_t n, bool memory) {
    const fs::path dir = env.work / fmt::format("r2n-{}-{}", size, memory ? "mem" : "iggy");
    fs::create_directories(dir);
    const std::string topic = fmt::format("r2n_{}_{}", size, memory ? "mem" : "iggy");
    std::unique_ptr<runtime::memory_iggy> mem;
    if (memory)
        mem = std::make_unique<runtime::memory_iggy>();
    return run_host(env, mem.get(), dir,
                    {random_source_toml(size, n, topic), null_sink_toml(topic)}, n);
}

/// random -> topic -> stdout sink, with the case's stdout (fd 1) sent to /dev/null meanwhile so
/// that the sink's lines do not mix with the JSON results.
outcome case_random_to_stdout(const bench_env& env, std::size_t size, std::uint64_t n,
                              bool payload) {
    const fs::path dir = env.work / fmt::format("r2s-{}-{}", size, payload ? "p" : "b");
    fs::create_directories(dir);
    const std::string topic = fmt::format("r2s_{}_{}", size, payload ? "p" : "b");
    const std::string sink = fmt::format(
        "type = \"sink\"\nkey = \"stdout\"\nname = \"stdout\"\nplugin = \"stdout\"\n"
        "[[streams]]\nstream = \"bench\"\ntopics = [\"{}\"]\nschema = \"raw\"\n"
        "batch_length = 1000\npoll_interval = \"1ms\"\n{}[plugin_config]\nprint_payload = {}\n",
        topic, k_delivery, payload ? "true" : "false");
    std::fflush(stdout);
    const int saved = ::dup(1);
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (saved < 0 || devnull < 0) {
        outcome o;
        o.error = "cannot redirect stdout";
        return o;
    }
    ::dup2(devnull, 1);
    ::close(devnull);
    outcome o = run_host(env, nullptr, dir, {random_source_toml(size, n, topic), sink}, n);
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    return o;
}

outcome case_file_to_file(const bench_env& env, std::size_t size, std::uint64_t n) {
    const fs::path dir = env.work / fmt::format("f2f-{}", size);
    fs::create_directories(dir);
    {
        // Lines of `size` letters: the payload is exactly `size` bytes.
        std::ofstream f(dir / "in.txt", std::ios::binary);
        std::string line(size, 'x');
        line.push_back('\n');
        for (std::uint64_t i = 0; i < n; ++i) {
            const auto id = std::to_string(i);
            std::memcpy(line.data(), id.data(), std::min(id.size(), size));
            f.write(line.data(), static_cast<std::streamsize>(line.size()));
        }
    }
    const std::string topic = fmt::format("f2f_{}", size);
    return run_host(
        env, nullptr, dir,
        {fmt::format("type = \"source\"\nkey = \"tail\"\nname = \"tail\"\nplugin = \"file\"\n"
                     "[[streams]]\nstream = \"bench\"\ntopic = \"{}\"\nschema = \"text\"\n"
                     "batch_length = 1000\nlinger_time = \"1ms\"\n"
                     "[plugin_config]\npath = \"{}\"\npoll_interval = \"2ms\"\n{}",
                     topic, (dir / "in.txt").string(), k_delivery),
         fmt::format("type = \"sink\"\nkey = \"out\"\nname = \"out\"\nplugin = \"file\"\n"
                     "[[streams]]\nstream = \"bench\"\ntopics = [\"{}\"]\nschema = \"text\"\n"
                     "batch_length = 1000\npoll_interval = \"1ms\"\n"
                     "[plugin_config]\npath = \"{}\"\nformat = \"raw\"\nfsync = true\n{}",
                     topic, (dir / "out.txt").string(), k_delivery)},
        n);
}

/// The bare client: a producer thread and a consumer, no runtime in between.
outcome case_raw_client(const bench_env& env, std::size_t size, std::uint64_t n) {
    outcome out;
    const std::string topic = fmt::format("raw_{}", size);
    auto admin = runtime::iggy_client_port::connect(client_for(env.iggy_port));
    if (!admin) {
        out.error = admin.error().to_string();
        return out;
    }
    if (auto c = (*admin)->ensure_topic("bench", topic, 1); !c) {
        out.error = c.error().to_string();
        return out;
    }
    iggy::consumer_options co;
    co.client = client_for(env.iggy_port);
    co.stream = iggy::identifier::named("bench");
    co.topic = iggy::identifier::named(topic);
    co.group = "raw_bench";
    co.batch_size = 1000;
    auto consumer = iggy::consumer_client::create(co);
    if (!consumer) {
        out.error = consumer.error().to_string();
        return out;
    }
    const auto t0 = clock_type::now();
    std::thread producer([&] {
        iggy::producer_options po;
        po.client = client_for(env.iggy_port);
        po.stream = iggy::identifier::named("bench");
        po.topic = iggy::identifier::named(topic);
        po.batch_max_messages = 1000;
        po.linger = 1000us;
        auto p = iggy::producer::create(po);
        if (!p)
            return;
        std::string payload(size, 'x');
        std::vector<iggy::producer_message> msgs(1000);
        for (auto& m : msgs) {
            m.payload = iggy::bytes_view(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                         payload.size());
        }
        for (std::uint64_t sent = 0; sent < n; sent += msgs.size()) {
            const auto ts = now_us();
            for (auto& m : msgs)
                m.origin_timestamp = ts;
            (void)(*p)->send(msgs, [](result<iggy::send_ack>) {});
        }
        (void)(*p)->flush();
        (*p)->close();
    });
    std::uint64_t got = 0;
    while (got < n && clock_type::now() - t0 < 600s) {
        auto b = (*consumer)->poll();
        if (!b)
            continue;
        if (b->messages.empty()) {
            std::this_thread::sleep_for(1ms);
            continue;
        }
        got += b->messages.size();
        const auto now = now_us();
        for (std::size_t i = 0; i < b->messages.size(); i += 8) {
            const auto o = b->messages[i].origin_timestamp;
            if (o != 0 && now > o)
                g_latency.add(now - o);
        }
        (void)(*consumer)->commit(b->partition, b->last_offset());
    }
    out.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    producer.join();
    (void)(*consumer)->close();
    out.messages = got;
    out.ok = got >= n;
    if (!out.ok)
        out.error = "consumed " + std::to_string(got);
    return out;
}

void report(const char* name, std::size_t size, const outcome& o, const char* what,
            const bench_env& env) {
    const double mps = o.seconds > 0 ? static_cast<double>(o.messages) / o.seconds : 0;
    std::printf(
        "{\"bench\":\"runtime\",\"case\":\"%s\",\"what\":\"%s\",\"payload_bytes\":%zu,"
        "\"messages\":%llu,\"seconds\":%.3f,\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,"
        "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"peak_rss_kb\":%ld,\"server_peak_rss_kb\":%ld,"
        "\"target_msgs_per_s\":40000,\"ok\":%s%s}\n",
        name, what, size, static_cast<unsigned long long>(o.messages), o.seconds, mps,
        mps * static_cast<double>(size) / 1e6, g_latency.quantile_ms(0.5),
        g_latency.quantile_ms(0.99), peak_rss_kb(),
        env.server_pid > 0 ? vm_hwm_kb(env.server_pid) : 0L, o.ok ? "true" : "false",
        o.ok ? "" : fmt::format(",\"error\":\"{}\"", o.error).c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t messages = 0;
    std::vector<std::size_t> sizes = {100, 1024};
    std::string only;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--messages") == 0)
            messages = std::strtoull(argv[i + 1], nullptr, 10);
        if (std::strcmp(argv[i], "--case") == 0)
            only = argv[i + 1];
        if (std::strcmp(argv[i], "--size") == 0) {
            sizes.clear();
            std::string s = argv[i + 1];
            for (std::size_t at = 0; at < s.size();) {
                auto c = s.find(',', at);
                sizes.push_back(std::stoul(s.substr(at, c - at)));
                at = c == std::string::npos ? s.size() : c + 1;
            }
        }
    }
    spdlog::set_level(spdlog::level::warn);
    temp_dir work("trib-runtime-bench");
    bench_env env;
    env.work = work.path();

    // `tributary serve` beside this program's build: bench/runtime/ -> src/app/tributary.
    const auto exe = fs::canonical("/proc/self/exe");
    const auto tributary =
        exe.parent_path().parent_path().parent_path() / "src" / "app" / "tributary";
    env.iggy_port = free_port();
    env.server_pid = fork();
    if (env.server_pid == 0) {
        const auto data = (work.path() / "server").string();
        const auto addr = "127.0.0.1:" + std::to_string(env.iggy_port);
        ::execl(tributary.c_str(), "tributary", "serve", "--data-dir", data.c_str(), "--address",
                addr.c_str(), "--with-default-root-credentials", static_cast<char*>(nullptr));
        std::_Exit(127);
    }
    const auto until = clock_type::now() + 20s;
    while (!connectable(env.iggy_port) && clock_type::now() < until)
        std::this_thread::sleep_for(5ms);
    if (!connectable(env.iggy_port)) {
        std::fprintf(stderr, "tributary serve (%s) did not start\n", tributary.c_str());
        kill(env.server_pid, SIGKILL);
        return 1;
    }

    struct bench_case {
        const char* name;
        const char* what;
        std::function<outcome(std::size_t, std::uint64_t)> run;
    };
    std::vector<bench_case> cases = {
        {"random_to_null", "random source -> topic -> null sink",
         [&](std::size_t s, std::uint64_t n) { return case_random_to_null(env, s, n, false); }},
        {"random_to_stdout", "random source -> topic -> stdout sink (a line per batch)",
         [&](std::size_t s, std::uint64_t n) { return case_random_to_stdout(env, s, n, false); }},
        {"random_to_stdout_payload", "random source -> topic -> stdout sink (every payload)",
         [&](std::size_t s, std::uint64_t n) { return case_random_to_stdout(env, s, n, true); }},
        {"file_to_file", "file source -> topic -> file sink (fsync per batch)",
         [&](std::size_t s, std::uint64_t n) { return case_file_to_file(env, s, n); }},
        {"baseline_memory_iggy", "random -> memory_iggy -> null: the runtime alone, no network",
         [&](std::size_t s, std::uint64_t n) { return case_random_to_null(env, s, n, true); }},
        {"baseline_raw_client", "bare client producer -> topic -> consumer, no runtime",
         [&](std::size_t s, std::uint64_t n) { return case_raw_client(env, s, n); }},
    };
    for (const auto size : sizes) {
        const std::uint64_t n = messages != 0 ? messages : (size <= 128 ? 1'000'000 : 400'000);
        for (const auto& c : cases) {
            if (!only.empty() && only != c.name)
                continue;
            // One process per case: peak RSS and latency samples are that case's alone.
            const pid_t pid = fork();
            if (pid == 0) {
                const auto o = c.run(size, n);
                report(c.name, size, o, c.what, env);
                std::_Exit(o.ok ? 0 : 1);
            }
            int st = 0;
            waitpid(pid, &st, 0);
        }
    }
    kill(env.server_pid, SIGTERM);
    int st = 0;
    waitpid(env.server_pid, &st, 0);
    return 0;
}
