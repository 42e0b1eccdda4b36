// NATS connector throughput against a running nats-server with JetStream; one JSON object per
// line on stdout. Four runs, the connector's and a plain cnats program's doing the same work:
//   sink          Iggy batches in memory -> the nats sink's write() (JetStream async publish with
//                 Nats-Msg-Id, returns after the batch's acks) -> stream
//   cnats-publish js_PublishAsync of the same batches with Nats-Msg-Id, js_PublishAsyncComplete
//                 after each batch (the baseline: what the sink does, minus the connector)
//   source        the nats source's poll() (durable pull consumer, fetch) until N came, each
//                 batch acked at once as the runtime does after Iggy took it
//   cnats-fetch   natsSubscription_Fetch of the same batch size on a durable pull consumer,
//                 natsMsg_Ack of every message (the baseline)
// The Iggy side is left out on purpose (no Iggy here): this measures the connector and cnats.
//
// usage: bench_nats --mode sink|cnats-publish|source|cnats-fetch --url nats://H:P --stream S
//                   [--messages N] [--payload BYTES] [--batch N]

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bench_util.h"
#include "common/spec_values.h"
#include "connectors/nats/nats.h"

namespace {

using namespace trib;
using steady = std::chrono::steady_clock;

struct options {
    std::string mode, url, stream;
    std::size_t messages = 200'000, payload = 1024, batch = 1000;
};

/// Times `step` (which handles one batch and returns the messages it handled, 0 when none came,
/// -1 on failure) until `total` messages; prints the record.
int measure(const options& o, const char* impl, const char* op, const std::function<long()>& step) {
    std::vector<double> ms;
    std::size_t done = 0;
    steady::time_point start{};
    const auto give_up = steady::now() + std::chrono::minutes(10);
    while (done < o.messages && steady::now() < give_up) {
        const auto t = steady::now();
        const long n = step();
        if (n < 0)
            return 1;
        if (n == 0)
            continue;
        if (done == 0)
            start = t;
        ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - t).count());
        done += static_cast<std::size_t>(n);
    }
    const double secs = std::chrono::duration<double>(steady::now() - start).count();
    if (done < o.messages) {
        std::fprintf(stderr, "%s %s: %zu of %zu messages in 10 minutes\n", impl, op, done,
                     o.messages);
        return 1;
    }
    std::sort(ms.begin(), ms.end());
    const auto at = [&](double q) {
        return ms[std::min(ms.size() - 1, std::size_t(q * ms.size()))];
    };
    const double bytes = double(done) * double(o.payload);
    std::printf(
        "{\"bench\":\"nats\",\"impl\":\"%s\",\"op\":\"%s\",\"payload\":%zu,"
        "\"messages\":%zu,\"batch\":%zu,\"bytes\":%.0f,\"seconds\":%.3f,"
        "\"records_per_s\":%.0f,\"mb_per_s\":%.2f,\"latency\":\"per batch\","
        "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"peak_rss_kb\":%ld}\n",
        impl, op, o.payload, done, o.batch, bytes, secs, double(done) / secs, bytes / secs / 1e6,
        at(0.5), at(0.99), bench::peak_rss_kb());
    return 0;
}

std::string payload_of(std::size_t n) {
    std::string p(n, 'x');
    for (std::size_t i = 0; i < n; ++i)
        p[i] = static_cast<char>('a' + i % 26);
    return p;
}

int sink_run(const options& o) {
    auto v =
        bench::spec_values(connectors::nats_sink_spec(),
                           "urls = [\"" + o.url + "\"]\nsubject = \"" + o.stream + ".sink\"\n");
    if (!v)
        return std::fprintf(stderr, "%s\n", v.error().to_string().c_str()), 2;
    auto s = connectors::make_nats_sink(*v);
    connector_context ctx;
    ctx.key = "bench";
    if (!s || !(*s)->open(ctx))
        return std::fprintf(stderr, "sink open failed\n"), 1;
    const std::string payload = payload_of(o.payload);
    std::uint64_t next = 0;
    const int rc = measure(o, "tributary", "sink", [&]() -> long {
        message_batch b;
        const std::size_t n = std::min(o.batch, o.messages - next);
        for (std::size_t i = 0; i < n; ++i) {
            message m;
            m.payload = payload;
            m.offset = next + i;
            m.id = {next + i + 1, 0x5151};
            b.messages.push_back(std::move(m));
        }
        sink_batch sb{"bench", "in", 1, "raw", &b};
        auto r = (*s)->write(sb);
        if (!r || !r->rejected.empty()) {
            std::fprintf(
                stderr, "write: %s\n",
                r ? r->rejected[0].err.to_string().c_str() : r.error().to_string().c_str());
            return -1;
        }
        next += n;
        return static_cast<long>(n);
    });
    (*s)->close();
    return rc;
}

struct cnats_conn {
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    explicit cnats_conn(const std::string& url) {
        if (natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK)
            natsConnection_JetStream(&js, nc, nullptr);
    }
    ~cnats_conn() {
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
    }
};

int cnats_publish_run(const options& o) {
    cnats_conn c(o.url);
    if (c.js == nullptr)
        return std::fprintf(stderr, "connect failed\n"), 1;
    const std::string payload = payload_of(o.payload);
    const std::string subject = o.stream + ".base";
    std::uint64_t next = 0;
    return measure(o, "cnats", "publish", [&]() -> long {
        const std::size_t n = std::min(o.batch, o.messages - next);
        for (std::size_t i = 0; i < n; ++i) {
            natsMsg* m = nullptr;
            natsMsg_Create(&m, subject.c_str(), nullptr, payload.data(), int(payload.size()));
            char id[40];
            std::snprintf(id, sizeof id, "%032llx", static_cast<unsigned long long>(next + i + 1));
            natsMsgHeader_Set(m, "Nats-Msg-Id", id);
            if (js_PublishMsgAsync(c.js, &m, nullptr) != NATS_OK) {
                natsMsg_Destroy(m);
                return -1;
            }
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 30000;
        if (js_PublishAsyncComplete(c.js, &po) != NATS_OK)
            return -1;
        next += n;
        return static_cast<long>(n);
    });
}

int source_run(const options& o) {
    auto v = bench::spec_values(connectors::nats_source_spec(),
                                "urls = [\"" + o.url + "\"]\nstream = \"" + o.stream +
                                    "\"\nconsumer = \"bench-src\"\nbatch_size = " +
                                    std::to_string(o.batch) + "\nmax_ack_pending = 100000\n");
    if (!v)
        return std::fprintf(stderr, "%s\n", v.error().to_string().c_str()), 2;
    auto s = connectors::make_nats_source(*v);
    connector_context ctx;
    ctx.key = "bench";
    ctx.routes.push_back({"bench", "in"});
    if (!s || !(*s)->open(ctx, ""))
        return std::fprintf(stderr, "source open failed\n"), 1;
    std::uint64_t seq = 0;
    const int rc = measure(o, "tributary", "source", [&]() -> long {
        auto r = (*s)->poll(std::chrono::milliseconds(500));
        if (!r)
            return std::fprintf(stderr, "poll: %s\n", r.error().to_string().c_str()), -1;
        if (r->batch.empty())
            return 0;
        (*s)->ack(++seq);
        return static_cast<long>(r->batch.size());
    });
    (*s)->close();
    return rc;
}

int cnats_fetch_run(const options& o) {
    cnats_conn c(o.url);
    if (c.js == nullptr)
        return std::fprintf(stderr, "connect failed\n"), 1;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = "bench-base";
    cc.AckPolicy = js_AckExplicit;
    cc.MaxAckPending = 100000;
    if (js_AddConsumer(nullptr, c.js, o.stream.c_str(), &cc, nullptr, nullptr) != NATS_OK)
        return std::fprintf(stderr, "add consumer failed\n"), 1;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = o.stream.c_str();
    so.Consumer = "bench-base";
    natsSubscription* sub = nullptr;
    if (js_PullSubscribe(&sub, c.js, nullptr, "bench-base", nullptr, &so, nullptr) != NATS_OK)
        return std::fprintf(stderr, "pull subscribe failed\n"), 1;
    const int rc = measure(o, "cnats", "fetch", [&]() -> long {
        natsMsgList list{};
        natsStatus st = natsSubscription_Fetch(&list, sub, int(o.batch), 500, nullptr);
        if (st == NATS_TIMEOUT)
            return 0;
        if (st != NATS_OK)
            return -1;
        for (int i = 0; i < list.Count; ++i)
            natsMsg_Ack(list.Msgs[i], nullptr);
        const long n = list.Count;
        natsMsgList_Destroy(&list);
        return n;
    });
    natsSubscription_Destroy(sub);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    const std::pair<std::string_view, std::string*> texts[] = {
        {"--mode", &o.mode}, {"--url", &o.url}, {"--stream", &o.stream}};
    const std::pair<std::string_view, std::size_t*> counts[] = {
        {"--messages", &o.messages}, {"--payload", &o.payload}, {"--batch", &o.batch}};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        for (const auto& [name, field] : texts)
            if (flag == name)
                *field = argv[i + 1];
        for (const auto& [name, field] : counts)
            if (flag == name)
                *field = std::strtoull(argv[i + 1], nullptr, 10);
    }
    if (o.url.empty() || o.stream.empty() || o.batch == 0) {
        std::fprintf(stderr,
                     "usage: bench_nats --mode sink|cnats-publish|source|cnats-fetch "
                     "--url nats://H:P --stream S [--messages N] [--payload B] "
                     "[--batch N]\n");
        return 2;
    }
    spdlog::set_level(spdlog::level::warn);
    if (o.mode == "sink")
        return sink_run(o);
    if (o.mode == "cnats-publish")
        return cnats_publish_run(o);
    if (o.mode == "source")
        return source_run(o);
    if (o.mode == "cnats-fetch")
        return cnats_fetch_run(o);
    std::fprintf(stderr, "unknown mode %s\n", o.mode.c_str());
    return 2;
}
