// Redis connector throughput against a running redis-server, one JSON object per line on stdout:
//   sink:               batches of Iggy messages in memory -> the redis sink's write() (XADD,
//                       pipelined, returns after every reply) -> Redis.
//   hiredis-xadd:       the baseline: the same XADDs (same payload, same pipeline depth, no
//                       metadata fields) straight through hiredis.
//   source:             the redis source's poll() (XREADGROUP) until N entries came, each batch
//                       acknowledged at once (XACK), as the runtime does after Iggy took it.
//   hiredis-xreadgroup: the baseline: XREADGROUP COUNT batch + XACK of the batch, through hiredis.
// The Iggy side is left out on purpose: this measures the connector beside the client library.
//
// usage: bench_redis --mode M --port P [--messages N] [--payload BYTES] [--batch N] [--key K]

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/bench_util.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/redis/redis.h"

namespace {

using namespace trib;
using clock_type = std::chrono::steady_clock;

struct args {
    std::string mode = "sink";
    int port = 6379;
    std::size_t messages = 1'000'000;
    std::size_t payload = 100;
    std::size_t batch = 1000;
    std::string key = "bench";
};

config::values values_of(const config::spec& s, const std::string& toml) {
    auto n = config::parse_toml(toml, "bench.toml");
    if (!n) {
        std::fprintf(stderr, "%s\n", n.error().to_string().c_str());
        std::exit(2);
    }
    config::problems pr;
    auto v = config::validate(s, *n, "bench.toml", "plugin_config", pr);
    if (pr.has_errors()) {
        std::fprintf(stderr, "%s\n", pr.to_string().c_str());
        std::exit(2);
    }
    return v;
}

void print(const args& a, const char* impl, const char* op, double seconds) {
    const double rate = static_cast<double>(a.messages) / seconds;
    std::printf(
        "{\"bench\":\"redis\",\"impl\":\"%s\",\"op\":\"%s\",\"payload\":%zu,"
        "\"messages\":%zu,\"batch\":%zu,\"bytes\":%zu,\"seconds\":%.3f,"
        "\"records_per_s\":%.0f,\"mb_per_s\":%.2f,\"peak_rss_kb\":%ld}\n",
        impl, op, a.payload, a.messages, a.batch, a.messages * a.payload, seconds, rate,
        rate * static_cast<double>(a.payload) / 1e6, trib::bench::peak_rss_kb());
    std::fflush(stdout);
}

redisContext* connect_raw(int port) {
    redisContext* c = redisConnect("127.0.0.1", port);
    if (c == nullptr || c->err != 0) {
        std::fprintf(stderr, "cannot connect to 127.0.0.1:%d\n", port);
        std::exit(1);
    }
    return c;
}

void run_sink(const args& a) {
    auto v = values_of(connectors::redis_sink_spec(),
                       "connection_url = \"redis://127.0.0.1:" + std::to_string(a.port) +
                           "\"\nkey = \"" + a.key +
                           "\"\ninclude_metadata = false\ninclude_headers = false\nbatch_size = " +
                           std::to_string(a.batch) + "\n");
    auto s = connectors::make_redis_sink(v);
    connector_context ctx;
    ctx.key = "bench";
    if (!s || !(*s)->open(ctx)) {
        std::fprintf(stderr, "sink open failed\n");
        std::exit(1);
    }
    const std::string payload(a.payload, 'x');
    const auto t0 = clock_type::now();
    for (std::size_t done = 0; done < a.messages;) {
        message_batch b;
        const std::size_t n = std::min(a.batch, a.messages - done);
        for (std::size_t i = 0; i < n; ++i) {
            message m;
            m.payload = payload;
            m.offset = done + i;
            b.messages.push_back(std::move(m));
        }
        sink_batch sb{"s", "t", 0, "raw", &b};
        auto r = (*s)->write(sb);
        if (!r || !r->rejected.empty()) {
            std::fprintf(stderr, "write failed\n");
            std::exit(1);
        }
        done += n;
    }
    print(a, "tributary", "xadd", std::chrono::duration<double>(clock_type::now() - t0).count());
}

void run_raw_xadd(const args& a) {
    redisContext* c = connect_raw(a.port);
    const std::string payload(a.payload, 'x');
    const auto t0 = clock_type::now();
    for (std::size_t done = 0; done < a.messages;) {
        const std::size_t n = std::min(a.batch, a.messages - done);
        for (std::size_t i = 0; i < n; ++i) {
            const char* argv[] = {"XADD", a.key.c_str(), "*", "payload", payload.data()};
            const std::size_t len[] = {4, a.key.size(), 1, 7, payload.size()};
            redisAppendCommandArgv(c, 5, argv, len);
        }
        for (std::size_t i = 0; i < n; ++i) {
            void* r = nullptr;
            if (redisGetReply(c, &r) != REDIS_OK)
                std::exit(1);
            freeReplyObject(r);
        }
        done += n;
    }
    print(a, "hiredis", "xadd", std::chrono::duration<double>(clock_type::now() - t0).count());
    redisFree(c);
}

void run_source(const args& a) {
    auto v = values_of(connectors::redis_source_spec(),
                       "connection_url = \"redis://127.0.0.1:" + std::to_string(a.port) +
                           "\"\nkeys = [\"" + a.key +
                           "\"]\ngroup = \"bench-src\"\ncount = " + std::to_string(a.batch) + "\n");
    auto s = connectors::make_redis_source(v);
    connector_context ctx;
    ctx.key = "bench";
    if (!s || !(*s)->open(ctx, "")) {
        std::fprintf(stderr, "source open failed\n");
        std::exit(1);
    }
    std::size_t got = 0;
    std::uint64_t seq = 0;
    const auto t0 = clock_type::now();
    while (got < a.messages) {
        auto b = (*s)->poll(std::chrono::milliseconds(100));
        if (!b) {
            std::fprintf(stderr, "poll: %s\n", b.error().message().c_str());
            std::exit(1);
        }
        if (b->batch.empty())
            continue;
        got += b->batch.size();
        (*s)->ack(++seq);
    }
    print(a, "tributary", "xreadgroup",
          std::chrono::duration<double>(clock_type::now() - t0).count());
}

void run_raw_xreadgroup(const args& a) {
    redisContext* c = connect_raw(a.port);
    freeReplyObject(redisCommand(c, "XGROUP CREATE %s bench-raw 0 MKSTREAM", a.key.c_str()));
    std::size_t got = 0;
    const std::string count = std::to_string(a.batch);
    const auto t0 = clock_type::now();
    while (got < a.messages) {
        auto* r = static_cast<redisReply*>(
            redisCommand(c, "XREADGROUP GROUP bench-raw c COUNT %s BLOCK 100 STREAMS %s >",
                         count.c_str(), a.key.c_str()));
        if (r == nullptr)
            std::exit(1);
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            const redisReply* entries = r->element[0]->element[1];
            std::vector<const char*> argv{"XACK", a.key.c_str(), "bench-raw"};
            std::vector<std::size_t> len{4, a.key.size(), 9};
            for (std::size_t i = 0; i < entries->elements; ++i) {
                argv.push_back(entries->element[i]->element[0]->str);
                len.push_back(entries->element[i]->element[0]->len);
            }
            got += entries->elements;
            freeReplyObject(
                redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), len.data()));
        }
        freeReplyObject(r);
    }
    print(a, "hiredis", "xreadgroup",
          std::chrono::duration<double>(clock_type::now() - t0).count());
    redisFree(c);
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--mode")
            a.mode = v;
        else if (k == "--port")
            a.port = std::atoi(v.c_str());
        else if (k == "--messages")
            a.messages = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--payload")
            a.payload = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--batch")
            a.batch = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--key")
            a.key = v;
    }
    if (a.mode == "sink")
        run_sink(a);
    else if (a.mode == "hiredis-xadd")
        run_raw_xadd(a);
    else if (a.mode == "source")
        run_source(a);
    else if (a.mode == "hiredis-xreadgroup")
        run_raw_xreadgroup(a);
    else {
        std::fprintf(stderr, "unknown --mode %s\n", a.mode.c_str());
        return 2;
    }
    return 0;
}
