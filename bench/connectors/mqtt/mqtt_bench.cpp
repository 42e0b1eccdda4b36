// MQTT connector throughput, one JSON object per line:
//   - baseline: the broker's own limit, mosquitto_pub -> Mosquitto -> mosquitto_sub (QoS 0, 1)
//   - source:   our publisher -> Mosquitto -> mqtt source -> Iggy producer -> embedded Iggy
//               server, acknowledged back to the broker once Iggy accepted (QoS 0, 1)
//   - sink:     embedded Iggy -> Iggy consumer -> mqtt sink -> Mosquitto -> our subscriber,
//               Iggy offsets committed after each batch's PUBACKs (QoS 0, 1)
// 100-byte payloads by default. Mosquitto and the Iggy server run as child processes, so the
// peak RSS is the connector side's (this process: MQTT client, connector, Iggy client).
//
// usage: bench_mqtt [--messages N] [--payload BYTES] [--log debug]

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_util.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/mqtt/client.h"
#include "connectors/mqtt/mqtt.h"
#include "iggy/client.h"
#include "iggy/consumer.h"
#include "iggy/producer.h"
#include "server/server.h"

namespace {

using namespace trib::bench;

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;
using namespace trib;

std::size_t g_messages = 200'000;
std::size_t g_payload = 100;
std::string g_log = "warn";

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
            .count());
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty())
        return -1;
    std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
    return v[i];
}

struct outcome {
    std::string name;
    std::string path;
    int qos = 0;
    std::size_t sent = 0;
    std::size_t delivered = 0;
    double secs = 0;
    std::vector<double> latencies_ms;
    std::string latency_of;
    std::string note;
};

void print(outcome o) {
    double rate = o.secs > 0 ? static_cast<double>(o.delivered) / o.secs : 0;
    double p50 = percentile(o.latencies_ms, 0.5);
    double p99 = percentile(o.latencies_ms, 0.99);
    auto num = [](double x) {
        char b[32];
        if (x < 0)
            return std::string("null");
        std::snprintf(b, sizeof b, "%.3f", x);
        return std::string(b);
    };
    std::printf(
        "{\"bench\":\"mqtt\",\"case\":\"%s\",\"path\":\"%s\",\"qos\":%d,\"payload_bytes\":%zu,"
        "\"messages\":%zu,\"delivered\":%zu,\"seconds\":%.3f,\"msgs_per_s\":%.0f,"
        "\"mb_per_s\":%.2f,\"p50_ms\":%s,\"p99_ms\":%s,\"latency_of\":\"%s\",\"peak_rss_kb\":%ld"
        "%s}\n",
        o.name.c_str(), o.path.c_str(), o.qos, g_payload, o.sent, o.delivered, o.secs, rate,
        rate * static_cast<double>(g_payload) / 1e6, num(p50).c_str(), num(p99).c_str(),
        o.latency_of.c_str(), peak_rss_kb(),
        o.note.empty() ? "" : (",\"note\":\"" + o.note + "\"").c_str());
    std::fflush(stdout);
}

// Starts a program; stdin from `in_file` (or /dev/null), stdout to a pipe returned in `out_fd`
// (or /dev/null when null), stderr to `log`.
pid_t spawn(const std::vector<std::string>& args, const fs::path& in_file, int* out_fd,
            const fs::path& log) {
    int p[2] = {-1, -1};
    if (out_fd != nullptr && ::pipe(p) != 0)
        return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
        int in = ::open(in_file.empty() ? "/dev/null" : in_file.c_str(), O_RDONLY);
        ::dup2(in, 0);
        int lg = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(lg, 2);
        if (out_fd != nullptr) {
            ::dup2(p[1], 1);
            ::close(p[0]);
        } else {
            ::dup2(lg, 1);
        }
        std::vector<char*> argv;
        std::vector<std::string> store(args);
        for (auto& a : store)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        _exit(127);
    }
    if (out_fd != nullptr) {
        ::close(p[1]);
        *out_fd = p[0];
    }
    return pid;
}

void stop_child(pid_t pid) {
    if (pid <= 0)
        return;
    ::kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100; ++i) {
        if (::waitpid(pid, &st, WNOHANG) == pid)
            return;
        std::this_thread::sleep_for(20ms);  // a child's exit has no other signal here
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
}

// The embedded Iggy server in a child process (forked before any thread exists).
pid_t start_iggy(const fs::path& dir, std::uint16_t& port) {
    int p[2];
    if (::pipe(p) != 0)
        return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(p[0]);
        ::dup2(2, 1);  // the server's log must not mix with the JSON lines
        server::server_options so;
        so.data_dir = dir;
        so.address = "127.0.0.1:0";
        so.default_root_credentials = true;
        so.fsync = server::fsync_policy::never;
        so.threads = 2;
        auto srv = server::embedded_server::start(so);
        std::uint16_t bound = srv ? (*srv)->port() : 0;
        (void)!::write(p[1], &bound, sizeof bound);
        if (!srv)
            _exit(1);
        for (;;)
            ::pause();  // until the parent's SIGTERM ends the process
    }
    ::close(p[1]);
    port = 0;
    (void)!::read(p[0], &port, sizeof port);
    ::close(p[0]);
    return pid;
}

config::values values_of(const config::spec& s, const std::string& toml) {
    auto n = config::parse_toml(toml, "bench.toml");
    if (!n) {
        std::fprintf(stderr, "bench config: %s\n", n.error().to_string().c_str());
        std::exit(1);
    }
    config::problems pr;
    auto v = config::validate(s, *n, "bench.toml", "plugin_config", pr);
    if (pr.has_errors()) {
        std::fprintf(stderr, "bench config: %s\n", pr.to_string().c_str());
        std::exit(1);
    }
    return v;
}

iggy::client_options iggy_opts(std::uint16_t port) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    return o;
}

std::unique_ptr<mqtt::client> mqtt_client(std::uint16_t port, const std::string& id) {
    mqtt::client_options o;
    o.urls = {"mqtt://127.0.0.1:" + std::to_string(port)};
    o.client_id = id;
    o.clean_start = true;
    auto c = mqtt::client::connect(o);
    if (!c) {
        std::fprintf(stderr, "mqtt connect: %s\n", c.error().message().c_str());
        std::exit(1);
    }
    return std::move(*c);
}

std::string payload_with_time(std::size_t i) {
    std::string p(g_payload, 'x');
    std::uint64_t t = now_ns();
    std::memcpy(p.data(), &t, std::min<std::size_t>(8, p.size()));
    if (p.size() >= 16)
        std::memcpy(p.data() + 8, &i, 8);
    return p;
}

std::uint64_t time_of(std::string_view payload) {
    std::uint64_t t = 0;
    if (payload.size() >= 8)
        std::memcpy(&t, payload.data(), 8);
    return t;
}

// ---- the broker's own limit: mosquitto_pub -> Mosquitto -> mosquitto_sub ----
outcome baseline(std::uint16_t port, int qos, const fs::path& dir) {
    outcome o;
    o.name = "broker_baseline";
    o.path = "mosquitto_pub -> mosquitto -> mosquitto_sub";
    o.qos = qos;
    o.sent = g_messages;
    o.latency_of = "none";
    // mosquitto_pub -l is fed 25,000 lines per process, one process after the other: Mosquitto
    // 2.0.11 cuts a QoS 1 mosquitto_pub off ("disconnected due to out of memory") after about
    // 70,000 fast messages on one connection.
    constexpr std::size_t chunk = 25'000;
    std::vector<fs::path> chunks;
    {
        std::string line(g_payload, 'b');
        for (std::size_t i = 0; i < g_messages; i += chunk) {
            chunks.push_back(dir / ("lines" + std::to_string(chunks.size()) + ".txt"));
            std::ofstream f(chunks.back());
            for (std::size_t j = i; j < std::min(g_messages, i + chunk); ++j)
                f << line << '\n';
        }
    }
    const std::string topic = "bench/base/" + std::to_string(qos);
    int out = -1;
    pid_t sub = spawn({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(port), "-V", "5",
                       "-q", std::to_string(qos), "-t", topic},
                      {}, &out, dir / "sub.log");
    // Ready when a probe published by us comes out of mosquitto_sub.
    auto probe = mqtt_client(port, "probe");
    std::string buf;
    std::size_t payload_lines = 0;
    bool ready = false;
    auto read_some = [&](int timeout_ms) {
        pollfd p{out, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0)
            return false;
        char data[65536];
        ssize_t n = ::read(out, data, sizeof data);
        if (n <= 0)
            return false;
        buf.append(data, static_cast<std::size_t>(n));
        std::size_t pos = 0;
        for (;;) {
            auto nl = buf.find('\n', pos);
            if (nl == std::string::npos)
                break;
            if (buf.compare(pos, nl - pos, "probe") == 0)
                ready = true;
            else
                ++payload_lines;
            pos = nl + 1;
        }
        buf.erase(0, pos);
        return true;
    };
    auto deadline = clock_type::now() + 10s;
    while (!ready && clock_type::now() < deadline) {
        mqtt::publish_packet p;
        p.topic = topic;
        p.payload = "probe";
        p.qos = 0;
        (void)probe->publish(p, clock_type::now() + 1s);
        read_some(50);
    }
    const auto start = clock_type::now();
    std::thread publishers([&] {
        for (const auto& lines : chunks) {
            pid_t pub = spawn({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(port), "-V",
                               "5", "-q", std::to_string(qos), "-M", "1000", "-t", topic, "-l"},
                              lines, nullptr, dir / "pub.log");
            int st = 0;
            ::waitpid(pub, &st, 0);
        }
    });
    auto last = start;
    auto idle_limit = clock_type::now() + 30s;
    while (payload_lines < g_messages && clock_type::now() < idle_limit) {
        std::size_t before = payload_lines;
        read_some(200);
        if (payload_lines > before) {
            last = clock_type::now();
            idle_limit = last + 5s;
        }
    }
    o.delivered = payload_lines;
    o.secs = std::chrono::duration<double>(last - start).count();
    publishers.join();
    stop_child(sub);
    ::close(out);
    if (o.delivered < o.sent)
        o.note = "not every message reached mosquitto_sub";
    return o;
}

// ---- MQTT -> Iggy through the source connector ----
outcome source_case(std::uint16_t mqtt_port, std::uint16_t iggy_port, int qos) {
    outcome o;
    o.name = "source";
    o.path = "publisher -> mosquitto -> mqtt source -> iggy producer -> iggy server (ack back)";
    o.qos = qos;
    o.sent = g_messages;
    o.latency_of = "MQTT publish to Iggy acknowledgement, per message";
    const std::string itopic = "mqtt_in_q" + std::to_string(qos) + "_" + std::to_string(now_ns());
    auto admin = iggy::client::connect(iggy_opts(iggy_port));
    if (!admin || !(*admin)->create_topic(iggy::identifier::named("bench"), itopic, 1)) {
        std::fprintf(stderr, "iggy topic setup failed\n");
        std::exit(1);
    }
    const std::string mtopic = "bench/in/" + std::to_string(qos);
    auto src_made = connectors::make_mqtt_source(
        values_of(connectors::mqtt_source_spec(),
                  "urls = [\"mqtt://127.0.0.1:" + std::to_string(mqtt_port) + "\"]\ntopics = [\"" +
                      mtopic + "\"]\nqos = " + std::to_string(qos) + "\nclient_id = \"bench-src-" +
                      itopic + "\"\nmax_batch_messages = 1000\n"));
    if (!src_made) {
        std::fprintf(stderr, "source: %s\n", src_made.error().message().c_str());
        std::exit(1);
    }
    auto& src = **src_made;
    connector_context ctx;
    ctx.key = "bench";
    ctx.routes = {stream_ref{"bench", itopic}};
    if (auto st = src.open(ctx, ""); !st) {
        std::fprintf(stderr, "source open: %s\n", st.error().message().c_str());
        std::exit(1);
    }
    iggy::producer_options po;
    po.client = iggy_opts(iggy_port);
    po.stream = iggy::identifier::named("bench");
    po.topic = iggy::identifier::named(itopic);
    po.mode = iggy::partition_mode::messages_key;
    po.linger = std::chrono::microseconds(500);
    auto prod = iggy::producer::create(po);
    if (!prod) {
        std::fprintf(stderr, "producer: %s\n", prod.error().to_string().c_str());
        std::exit(1);
    }

    auto publisher = mqtt_client(mqtt_port, "bench-pub-" + itopic);
    std::atomic<std::size_t> acked{0};
    std::mutex lat_mu;
    const auto start = clock_type::now();
    std::thread pub_thread([&] {
        std::uint64_t last = 0;
        for (std::size_t i = 0; i < g_messages; ++i) {
            std::string payload = payload_with_time(i);
            mqtt::publish_packet p;
            p.topic = mtopic;
            p.payload = payload;
            p.qos = static_cast<std::uint8_t>(qos);
            auto t = publisher->publish(p, clock_type::now() + 30s);
            if (t)
                last = *t;
        }
        (void)publisher->wait_published(last, clock_type::now() + 60s);
    });

    std::size_t received = 0;
    std::uint64_t seq = 0;
    auto idle_limit = clock_type::now() + 30s;
    std::vector<iggy::producer_message> msgs;
    std::vector<iggy::bytes> header_blocks;
    auto last_ack = start;
    std::mutex last_mu;
    while (acked.load() < g_messages && clock_type::now() < idle_limit) {
        auto r = src.poll(20ms);
        if (!r) {
            std::fprintf(stderr, "poll: %s\n", r.error().message().c_str());
            break;
        }
        if (r->batch.empty()) {
            if (received >= g_messages)
                std::this_thread::yield();
            continue;
        }
        idle_limit = clock_type::now() + 5s;
        const std::uint64_t this_seq = ++seq;
        received += r->batch.size();
        msgs.clear();
        header_blocks.clear();
        header_blocks.reserve(r->batch.size());
        auto times = std::make_shared<std::vector<std::uint64_t>>();
        times->reserve(r->batch.size());
        for (const auto& m : r->batch.messages) {
            std::vector<iggy::user_header> hs;
            for (const auto& h : m.headers)
                hs.push_back({iggy::header_kind::string, h.key, h.kind, h.value});
            header_blocks.push_back(iggy::encode_user_headers(hs));
            iggy::producer_message pm;
            pm.payload = iggy::bytes_view(reinterpret_cast<const std::uint8_t*>(m.payload.data()),
                                          m.payload.size());
            pm.user_headers = header_blocks.back();
            pm.key = m.key;
            msgs.push_back(pm);
            times->push_back(time_of(m.payload));
        }
        const std::size_t n = r->batch.size();
        auto st = (*prod)->send(msgs, [&, this_seq, n, times](result<iggy::send_ack> a) {
            if (!a) {
                std::fprintf(stderr, "iggy send: %s\n", a.error().to_string().c_str());
                src.nack(this_seq);
                return;
            }
            const std::uint64_t t = now_ns();
            src.ack(this_seq);
            {
                std::lock_guard lk(lat_mu);
                for (auto ts : *times)
                    o.latencies_ms.push_back(static_cast<double>(t - ts) / 1e6);
            }
            {
                std::lock_guard lk(last_mu);
                last_ack = clock_type::now();
            }
            acked += n;
        });
        if (!st) {
            std::fprintf(stderr, "iggy send: %s\n", st.error().to_string().c_str());
            break;
        }
    }
    (void)(*prod)->flush();
    pub_thread.join();
    src.close();
    (*prod)->close();
    o.delivered = acked.load();
    std::lock_guard lk(last_mu);
    o.secs = std::chrono::duration<double>(last_ack - start).count();
    if (o.delivered < o.sent)
        o.note = "QoS 0 messages the broker dropped are not counted";
    return o;
}

// ---- Iggy -> MQTT through the sink connector ----
outcome sink_case(std::uint16_t mqtt_port, std::uint16_t iggy_port, int qos) {
    outcome o;
    o.name = "sink";
    o.path =
        "iggy server -> iggy consumer -> mqtt sink -> mosquitto -> subscriber (commit after "
        "PUBACK)";
    o.qos = qos;
    o.sent = g_messages;
    o.latency_of = "sink write() per batch of up to 1000 (until the broker acknowledged)";
    const std::string itopic = "mqtt_out_q" + std::to_string(qos) + "_" + std::to_string(now_ns());
    auto admin = iggy::client::connect(iggy_opts(iggy_port));
    if (!admin || !(*admin)->create_topic(iggy::identifier::named("bench"), itopic, 1)) {
        std::fprintf(stderr, "iggy topic setup failed\n");
        std::exit(1);
    }
    {
        iggy::producer_options po;
        po.client = iggy_opts(iggy_port);
        po.stream = iggy::identifier::named("bench");
        po.topic = iggy::identifier::named(itopic);
        auto prod = iggy::producer::create(po);
        if (!prod) {
            std::fprintf(stderr, "producer: %s\n", prod.error().to_string().c_str());
            std::exit(1);
        }
        std::string payload(g_payload, 's');
        std::vector<iggy::producer_message> msgs(1000);
        for (auto& m : msgs)
            m.payload = iggy::bytes_view(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                         payload.size());
        for (std::size_t i = 0; i < g_messages; i += 1000) {
            std::size_t n = std::min<std::size_t>(1000, g_messages - i);
            (void)(*prod)->send(std::span<const iggy::producer_message>(msgs.data(), n),
                                [](result<iggy::send_ack>) {});
        }
        (void)(*prod)->flush();
        (*prod)->close();
    }
    const std::string mtopic = "bench/out/" + std::to_string(qos);
    auto sub = mqtt_client(mqtt_port, "bench-watch-" + itopic);
    if (!sub->subscribe({{mtopic + "/#", {static_cast<std::uint8_t>(qos)}}}, 5s)) {
        std::fprintf(stderr, "subscribe failed\n");
        std::exit(1);
    }
    std::atomic<std::size_t> got{0};
    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> last_got_ns{0};
    std::thread watcher([&] {
        std::vector<mqtt::message> ms;
        std::vector<std::uint64_t> h;
        while (!stop.load()) {
            ms.clear();
            h.clear();
            sub->receive(ms, 10'000, 50ms);
            for (auto& m : ms)
                if (m.handle != 0)
                    h.push_back(m.handle);
            sub->acknowledge(h);
            if (!ms.empty()) {
                got += ms.size();
                last_got_ns = clock_type::now().time_since_epoch().count();
            }
        }
    });
    auto snk_made = connectors::make_mqtt_sink(values_of(
        connectors::mqtt_sink_spec(), "urls = [\"mqtt://127.0.0.1:" + std::to_string(mqtt_port) +
                                          "\"]\ntopic = \"" + mtopic +
                                          "/{$partition}\"\nqos = " + std::to_string(qos) +
                                          "\nclient_id = \"bench-sink-" + itopic + "\"\n"));
    if (!snk_made) {
        std::fprintf(stderr, "sink: %s\n", snk_made.error().message().c_str());
        std::exit(1);
    }
    auto& snk = **snk_made;
    connector_context ctx;
    ctx.key = "bench";
    if (auto st = snk.open(ctx); !st) {
        std::fprintf(stderr, "sink open: %s\n", st.error().message().c_str());
        std::exit(1);
    }
    iggy::consumer_options co;
    co.client = iggy_opts(iggy_port);
    co.stream = iggy::identifier::named("bench");
    co.topic = iggy::identifier::named(itopic);
    co.group = "bench-sink";
    co.batch_size = 1000;
    auto cons = iggy::consumer_client::create(co);
    if (!cons) {
        std::fprintf(stderr, "consumer: %s\n", cons.error().to_string().c_str());
        std::exit(1);
    }
    const auto start = clock_type::now();
    std::size_t written = 0;
    message_batch batch;
    auto idle_limit = clock_type::now() + 30s;
    while (written < g_messages && clock_type::now() < idle_limit) {
        auto r = (*cons)->poll();
        if (!r) {
            std::fprintf(stderr, "consumer poll: %s\n", r.error().to_string().c_str());
            break;
        }
        if (r->messages.empty())
            continue;
        idle_limit = clock_type::now() + 10s;
        batch.clear();
        for (const auto& pm : r->messages) {
            message m;
            m.payload = std::string_view(reinterpret_cast<const char*>(pm.payload.data()),
                                         pm.payload.size());
            m.offset = pm.offset;
            m.partition = r->partition;
            batch.messages.push_back(std::move(m));
        }
        sink_batch sb{"bench", itopic, r->partition, "raw", &batch};
        const auto t0 = clock_type::now();
        auto w = snk.write(sb);
        o.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
        if (!w) {
            std::fprintf(stderr, "sink write: %s\n", w.error().message().c_str());
            break;
        }
        (void)(*cons)->commit(r->partition, r->last_offset());
        written += batch.size();
    }
    const auto written_at = clock_type::now();
    auto wait_until = clock_type::now() + 10s;
    while (got.load() < written && clock_type::now() < wait_until)
        std::this_thread::sleep_for(5ms);  // the watcher thread counts; nothing to wait on here
    stop = true;
    watcher.join();
    snk.close();
    (void)(*cons)->close();
    o.delivered = std::min(written, got.load());
    auto end =
        std::max(written_at, clock_type::time_point(clock_type::duration(last_got_ns.load())));
    o.secs = std::chrono::duration<double>(end - start).count();
    if (got.load() < written)
        o.note =
            "subscriber received " + std::to_string(got.load()) + " of " + std::to_string(written);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--messages")
            g_messages = std::stoull(argv[i + 1]);
        else if (a == "--log")
            g_log = argv[i + 1];
        else if (a == "--payload")
            g_payload = std::max<std::size_t>(16, std::stoull(argv[i + 1]));
    }
    ::signal(SIGPIPE, SIG_IGN);
    const fs::path dir =
        fs::temp_directory_path() / ("trib-mqtt-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::uint16_t iggy_port = 0;
    pid_t iggy = start_iggy(dir / "iggy", iggy_port);  // before any thread
    if (iggy <= 0 || iggy_port == 0) {
        std::fprintf(stderr, "embedded Iggy server did not start\n");
        return 1;
    }
    spdlog::set_level(spdlog::level::from_str(g_log));
    const std::uint16_t mport = free_port();
    {
        std::ofstream conf(dir / "mosquitto.conf");
        conf << "listener " << mport << " 127.0.0.1\nallow_anonymous true\npersistence false\n"
             << "max_queued_messages 0\nmax_inflight_messages 0\nlog_dest stderr\n";
        if (::geteuid() == 0)
            conf << "user root\n";
    }
    pid_t mosq = spawn({"mosquitto", "-c", (dir / "mosquitto.conf").string()}, {}, nullptr,
                       dir / "mosquitto.log");
    auto deadline = clock_type::now() + 10s;
    while (!connectable(mport) && clock_type::now() < deadline)
        std::this_thread::sleep_for(10ms);  // polling the port is the readiness check
    {
        auto admin = iggy::client::connect(iggy_opts(iggy_port));
        if (!admin || !(*admin)->create_stream("bench")) {
            std::fprintf(stderr, "iggy set-up failed\n");
            stop_child(mosq);
            stop_child(iggy);
            return 1;
        }
    }
    for (int qos : {0, 1}) {
        print(baseline(mport, qos, dir));
        print(source_case(mport, iggy_port, qos));
        print(sink_case(mport, iggy_port, qos));
    }
    stop_child(mosq);
    stop_child(iggy);
    std::error_code ec;
    fs::remove_all(dir, ec);
    return 0;
}
