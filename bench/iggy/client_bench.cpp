// Produce and consume throughput of the C++ client against the embedded server on loopback:
// 100 B and 1 KiB messages, batches of 1, 100 and 1000, 1 and 4 connections, p50/p99 send
// latency and peak RSS, with the official Python SDK (apache-iggy 0.9.0) running the same
// workload in the same run as the baseline. One JSON object per line.
//
//   bench_iggy_client [--seconds N] [--no-python]

#include <sys/resource.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
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

using namespace trib;
using namespace trib::iggy;
using clock_type = std::chrono::steady_clock;

namespace {

long peak_rss_kb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

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

struct produce_result {
    std::uint64_t messages = 0;
    double seconds = 0;
    std::vector<double> latencies_us;
};

// Each connection sends pre-built batches of `batch` messages to its own partition for `secs`.
produce_result produce(std::uint16_t port, const std::string& topic, std::size_t size,
                       std::uint32_t batch, unsigned conns, double secs) {
    produce_result out;
    std::vector<std::thread> ts;
    std::vector<produce_result> parts(conns);
    auto start = clock_type::now();
    for (unsigned c = 0; c < conns; ++c) {
        ts.emplace_back([&, c] {
            auto cl = client::connect(opts(port));
            if (!cl)
                return;
            std::string payload(size, 'x');
            batch_builder b;
            bytes built;
            auto& r = parts[c];
            auto end = start + std::chrono::duration<double>(secs);
            while (clock_type::now() < end) {
                for (std::uint32_t i = 0; i < batch; ++i)
                    b.add({{}, 0, as_bytes(payload), {}});
                built = b.finish();
                auto t0 = clock_type::now();
                auto s = (*cl)->send_messages(identifier::named("bench"), identifier::named(topic),
                                              partitioning::partition_id(c), built);
                auto t1 = clock_type::now();
                if (!s) {
                    std::fprintf(stderr, "send: %s\n", s.error().to_string().c_str());
                    return;
                }
                r.messages += batch;
                r.latencies_us.push_back(
                    std::chrono::duration<double, std::micro>(t1 - t0).count());
            }
        });
    }
    for (auto& t : ts)
        t.join();
    out.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    for (auto& p : parts) {
        out.messages += p.messages;
        out.latencies_us.insert(out.latencies_us.end(), p.latencies_us.begin(),
                                p.latencies_us.end());
    }
    return out;
}

// Reads everything produced to the partitions, `batch` messages per poll.
std::pair<std::uint64_t, double> consume(std::uint16_t port, const std::string& topic,
                                         std::uint32_t batch, unsigned conns,
                                         std::uint64_t expected_per_partition) {
    std::atomic<std::uint64_t> total{0};
    std::vector<std::thread> ts;
    auto start = clock_type::now();
    for (unsigned c = 0; c < conns; ++c) {
        ts.emplace_back([&, c] {
            auto cl = client::connect(opts(port));
            if (!cl)
                return;
            polled_messages out;
            std::uint64_t offset = 0;
            std::uint64_t bytes_seen = 0;
            while (offset < expected_per_partition) {
                poll_messages_request req{consumer::plain(identifier::numeric(c + 1)),
                                          identifier::named("bench"),
                                          identifier::named(topic),
                                          c,
                                          polling_strategy::offset(offset),
                                          batch,
                                          false};
                if (!(*cl)->poll_messages(req, out) || out.empty())
                    break;
                for (const auto& m : out.messages())
                    bytes_seen += m.payload.size();
                offset = out.messages().back().offset + 1;
                total += out.messages().size();
            }
            (void)bytes_seen;
        });
    }
    for (auto& t : ts)
        t.join();
    return {total.load(), std::chrono::duration<double>(clock_type::now() - start).count()};
}

const char* python_bench = R"(
import asyncio, sys, time, json
from apache_iggy import IggyClient, SendMessage, PollingStrategy, Consumer
async def main(addr, topic, size, batch, secs):
    c = IggyClient(addr)
    await c.connect()
    await c.login_user("iggy", "iggy")
    payload = b"x" * size
    n = 0
    lat = []
    start = time.perf_counter()
    while time.perf_counter() - start < secs:
        msgs = [SendMessage(payload) for _ in range(batch)]
        t0 = time.perf_counter()
        await c.send_messages("bench", topic, 0, msgs)
        lat.append((time.perf_counter() - t0) * 1e6)
        n += batch
    el = time.perf_counter() - start
    got = 0
    off = 0
    cstart = time.perf_counter()
    while off < n:
        m = await c.poll_messages("bench", topic, consumer=Consumer.Single(99),
            polling_strategy=PollingStrategy.Offset(off), count=max(batch, 100),
            auto_commit=False, partition_id=0)
        if not m:
            break
        got += len(m)
        off = m[-1].offset() + 1
    cel = time.perf_counter() - cstart
    lat.sort()
    print(json.dumps({"n": n, "s": el, "p50": lat[len(lat)//2], "p99": lat[min(len(lat)-1, int(len(lat)*0.99))], "got": got, "cs": cel}))
asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
)";

}  // namespace

int main(int argc, char** argv) {
    double secs = 2.0;
    bool with_python = true;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc)
            secs = std::atof(argv[++i]);
        else if (a == "--no-python")
            with_python = false;
    }
    auto dir =
        std::filesystem::temp_directory_path() / ("trib-iggy-bench-" + std::to_string(::getpid()));
    server::server_options so;
    so.data_dir = dir;
    so.address = "127.0.0.1:0";
    so.default_root_credentials = true;
    so.fsync = server::fsync_policy::never;
    auto srv = server::embedded_server::start(so);
    if (!srv) {
        std::fprintf(stderr, "server: %s\n", srv.error().to_string().c_str());
        return 1;
    }
    auto port = (*srv)->port();
    auto admin = client::connect(opts(port));
    if (!admin || !(*admin)->create_stream("bench")) {
        std::fprintf(stderr, "setup failed\n");
        return 1;
    }
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    auto python = std::filesystem::path(src ? src : ".") / ".venv" / "bin" / "python";
    auto script = dir / "bench.py";
    std::ofstream(script) << python_bench;
    int run = 0;
    for (std::size_t size : {100u, 1024u}) {
        for (std::uint32_t batch : {1u, 100u, 1000u}) {
            for (unsigned conns : {1u, 4u}) {
                std::string topic = "t" + std::to_string(run++);
                if (!(*admin)->create_topic(identifier::named("bench"), topic, 4)) {
                    std::fprintf(stderr, "create topic failed\n");
                    return 1;
                }
                auto p = produce(port, topic, size, batch, conns, secs);
                auto [got, csecs] =
                    consume(port, topic, std::max(batch, 100u), conns, p.messages / conns);
                double mps = static_cast<double>(p.messages) / p.seconds;
                double cmps = csecs > 0 ? static_cast<double>(got) / csecs : 0;
                std::string baseline = "null";
                if (with_python && conns == 1 && std::filesystem::exists(python)) {
                    std::string ptopic = topic + "py";
                    if ((*admin)->create_topic(identifier::named("bench"), ptopic, 1)) {
                        std::string cmd = python.string() + " " + script.string() +
                                          " 127.0.0.1:" + std::to_string(port) + " " + ptopic +
                                          " " + std::to_string(size) + " " + std::to_string(batch) +
                                          " " + std::to_string(secs);
                        FILE* f = ::popen(cmd.c_str(), "r");
                        char buf[1024] = {0};
                        std::string out;
                        while (f && std::fgets(buf, sizeof buf, f))
                            out += buf;
                        if (f)
                            ::pclose(f);
                        // {"n":..,"s":..,"p50":..,"p99":..,"got":..,"cs":..}
                        auto num = [&](const char* k) {
                            auto at = out.find(std::string("\"") + k + "\": ");
                            return at == std::string::npos
                                       ? 0.0
                                       : std::atof(out.c_str() + at + std::strlen(k) + 4);
                        };
                        double pn = num("n"), ps = num("s"), pg = num("got"), pcs = num("cs");
                        char b[512];
                        std::snprintf(b, sizeof b,
                                      "{\"name\":\"python-sdk-0.9.0\",\"msgs_per_s\":%.0f,"
                                      "\"mb_per_s\":%.2f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
                                      "\"consume_msgs_per_s\":%.0f}",
                                      ps > 0 ? pn / ps : 0, ps > 0 ? pn * size / ps / 1e6 : 0,
                                      num("p50"), num("p99"), pcs > 0 ? pg / pcs : 0);
                        baseline = b;
                    }
                }
                std::printf(
                    "{\"bench\":\"iggy_client\",\"message_bytes\":%zu,\"batch\":%u,"
                    "\"connections\":%u,\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"p50_us\":%.0f,"
                    "\"p99_us\":%.0f,\"consume_msgs_per_s\":%.0f,\"consume_mb_per_s\":%.2f,"
                    "\"peak_rss_kb\":%ld,\"baseline\":%s}\n",
                    size, batch, conns, mps, mps * static_cast<double>(size) / 1e6,
                    pct(p.latencies_us, 0.5), pct(p.latencies_us, 0.99), cmps,
                    cmps * static_cast<double>(size) / 1e6, peak_rss_kb(), baseline.c_str());
                std::fflush(stdout);
                (void)(*admin)->delete_topic(identifier::named("bench"), identifier::named(topic));
            }
        }
    }
    (*srv)->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return 0;
}
