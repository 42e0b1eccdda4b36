// Kafka connector throughput against a running broker, one JSON object per line on stdout:
//   sink:   batches of Iggy messages in memory -> the kafka sink's write() (idempotent producer,
//           acks=all, returns after the batch's delivery reports) -> Kafka. The time of each
//           write is one batch latency sample (p50/p99 reported).
//   source: the kafka source's poll() (consumer group, earliest) until N messages came, each batch
//           acknowledged at once (offset commit) as the runtime does after Iggy took it. The
//           time from a batch's poll() return to its ack() is not measured (no Iggy here).
// The Iggy side is left out on purpose: this measures the connector and librdkafka beside
// Kafka's own ProducerPerformance/ConsumerPerformance on the same broker (run.sh runs them).
//
// usage: bench_kafka [--mode sink|source] --bootstrap HOST:PORT --topic T [--messages N]
//                    [--payload BYTES] [--batch N] [--linger-ms N] [--compression none|lz4|...]

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/bench_util.h"
#include "common/spec_values.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/kafka/kafka.h"

namespace {

using namespace trib;
using clock_type = std::chrono::steady_clock;

struct args {
    std::string mode = "sink";
    std::string bootstrap;
    std::string topic;
    std::size_t messages = 1'000'000;
    std::size_t payload = 100;
    std::size_t batch = 1000;
    int linger_ms = 5;
    std::string compression = "none";
};

bool parse_args(int argc, char** argv, args& a) {
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--mode")
            a.mode = v;
        else if (k == "--bootstrap")
            a.bootstrap = v;
        else if (k == "--topic")
            a.topic = v;
        else if (k == "--messages")
            a.messages = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--payload")
            a.payload = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--batch")
            a.batch = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--linger-ms")
            a.linger_ms = std::atoi(v.c_str());
        else if (k == "--compression")
            a.compression = v;
        else
            return false;
    }
    return !a.bootstrap.empty() && !a.topic.empty() && a.batch > 0 && a.messages > 0;
}

int run_source(const args& a) {
    const std::string toml =
        "bootstrap_servers = [\"" + a.bootstrap + "\"]\ntopics = [\"" + a.topic +
        "\"]\ngroup_id = \"bench-" + a.topic + "-" + std::to_string(::getpid()) +
        "\"\nstart_position = \"earliest\"\nmax_batch_messages = " + std::to_string(a.batch) + "\n";
    auto v = bench::spec_values(connectors::kafka_source_spec(), toml);
    if (!v) {
        std::fprintf(stderr, "%s\n", v.error().to_string().c_str());
        return 2;
    }
    auto s = connectors::make_kafka_source(*v);
    if (!s) {
        std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
        return 1;
    }
    connector_context ctx;
    ctx.key = "bench";
    ctx.routes.push_back({"bench", "in"});
    if (auto o = (*s)->open(ctx, ""); !o) {
        std::fprintf(stderr, "open: %s\n", o.error().to_string().c_str());
        return 1;
    }
    std::size_t got = 0;
    std::uint64_t bytes = 0, seq = 0;
    std::vector<double> lat_ms;  // per poll() that returned messages
    clock_type::time_point t0{};
    const auto deadline = clock_type::now() + std::chrono::minutes(10);
    while (got < a.messages && clock_type::now() < deadline) {
        const auto p0 = clock_type::now();
        auto r = (*s)->poll(std::chrono::milliseconds(100));
        if (!r) {
            std::fprintf(stderr, "poll: %s\n", r.error().to_string().c_str());
            return 1;
        }
        if (r->batch.empty() && r->rejected.empty())
            continue;
        if (got == 0)
            t0 = p0;  // from the first poll that returned data (after the group join)
        lat_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - p0).count());
        got += r->batch.size();
        bytes += r->batch.payload_bytes();
        (*s)->ack(++seq);
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    (*s)->close();
    if (got < a.messages) {
        std::fprintf(stderr, "only %zu of %zu messages in 10 minutes\n", got, a.messages);
        return 1;
    }
    std::sort(lat_ms.begin(), lat_ms.end());
    auto pct = [&](double p) {
        return lat_ms[std::min(lat_ms.size() - 1, static_cast<std::size_t>(p * lat_ms.size()))];
    };
    std::printf(
        "{\"bench\":\"kafka\",\"impl\":\"tributary\",\"op\":\"source\",\"payload\":%zu,"
        "\"messages\":%zu,\"batch\":%zu,\"bytes\":%llu,\"seconds\":%.3f,\"records_per_s\":%.0f,"
        "\"mb_per_s\":%.2f,\"latency\":\"poll call\",\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
        "\"peak_rss_kb\":%ld}\n",
        a.payload, got, a.batch, static_cast<unsigned long long>(bytes), secs,
        static_cast<double>(got) / secs, static_cast<double>(bytes) / secs / 1e6, pct(0.50),
        pct(0.99), bench::peak_rss_kb());
    return 0;
}

int run_sink(const args& a) {
    const std::string toml = "bootstrap_servers = [\"" + a.bootstrap + "\"]\ntopic = \"" + a.topic +
                             "\"\nkey_from = \"none\"\ntimestamp_from = \"iggy\"\n" +
                             "[properties]\n\"linger.ms\" = \"" + std::to_string(a.linger_ms) +
                             "\"\n\"compression.type\" = \"" + a.compression + "\"\n";
    auto n = config::parse_toml(toml, "bench.toml");
    if (!n) {
        std::fprintf(stderr, "%s\n", n.error().to_string().c_str());
        return 2;
    }
    config::problems pr;
    auto spec = connectors::kafka_sink_spec();
    auto v = config::validate(spec, *n, "bench.toml", "plugin_config", pr);
    if (pr.has_errors()) {
        std::fprintf(stderr, "%s\n", pr.to_string().c_str());
        return 2;
    }
    auto s = connectors::make_kafka_sink(v);
    if (!s) {
        std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
        return 1;
    }
    connector_context ctx;
    ctx.key = "bench";
    if (auto o = (*s)->open(ctx); !o) {
        std::fprintf(stderr, "open: %s\n", o.error().to_string().c_str());
        return 1;
    }
    // One payload buffer, views into it: the sink copies into librdkafka as the runtime's
    // batches would be copied.
    std::string payload(a.payload, 'x');
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>('a' + i % 26);
    std::vector<double> lat_ms;
    lat_ms.reserve(a.messages / a.batch + 1);
    std::uint64_t offset = 0;
    const auto t0 = clock_type::now();
    while (offset < a.messages) {
        message_batch b;
        const std::size_t n_msgs = std::min(a.batch, a.messages - offset);
        b.messages.reserve(n_msgs);
        for (std::size_t i = 0; i < n_msgs; ++i) {
            message m;
            m.payload = payload;
            m.offset = offset + i;
            m.id = {offset + i + 1, 7};
            m.timestamp_us = 1'700'000'000'000'000ull + offset + i;
            b.messages.push_back(std::move(m));
        }
        sink_batch sb{"bench", "in", 1, "raw", &b};
        const auto w0 = clock_type::now();
        auto r = (*s)->write(sb);
        lat_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - w0).count());
        if (!r || !r->rejected.empty()) {
            std::fprintf(
                stderr, "write failed: %s\n",
                r ? r->rejected[0].err.to_string().c_str() : r.error().to_string().c_str());
            return 1;
        }
        offset += n_msgs;
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    (*s)->close();
    std::sort(lat_ms.begin(), lat_ms.end());
    auto pct = [&](double p) {
        return lat_ms[std::min(lat_ms.size() - 1, static_cast<std::size_t>(p * lat_ms.size()))];
    };
    const double bytes = static_cast<double>(a.messages) * static_cast<double>(a.payload);
    std::printf(
        "{\"bench\":\"kafka\",\"impl\":\"tributary\",\"op\":\"sink\",\"payload\":%zu,"
        "\"messages\":%zu,\"batch\":%zu,\"bytes\":%.0f,\"seconds\":%.3f,\"records_per_s\":%.0f,"
        "\"mb_per_s\":%.2f,\"latency\":\"batch write\",\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
        "\"peak_rss_kb\":%ld}\n",
        a.payload, a.messages, a.batch, bytes, secs, static_cast<double>(a.messages) / secs,
        bytes / secs / 1e6, pct(0.50), pct(0.99), bench::peak_rss_kb());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    args a;
    if (!parse_args(argc, argv, a)) {
        std::fprintf(stderr,
                     "usage: bench_kafka [--mode sink|source] --bootstrap HOST:PORT --topic T "
                     "[--messages N] "
                     "[--payload BYTES] [--batch N] [--linger-ms N] [--compression C]\n");
        return 2;
    }
    spdlog::set_level(spdlog::level::warn);
    return a.mode == "source" ? run_source(a) : run_sink(a);
}
