// RabbitMQ throughput, each way, beside a plain rabbitmq-c baseline on the same broker in the same
// run. One JSON object per line on stdout:
//   --mode publish: baseline. rabbitmq-c basic.publish of `batch` messages (persistent, confirm
//                   mode), then waits for their confirms; repeated up to N (what the sink does).
//   --mode sink:    the rabbitmq sink's write() on batches of `batch` Iggy messages in memory.
//   --mode consume: baseline. rabbitmq-c basic.consume, prefetch `batch`, basic.ack multiple
//                   after every `batch` deliveries (what the source does once Iggy acked).
//   --mode source:  the rabbitmq source's poll() + ack() (prefetch `batch`).
// Publish modes go to the default exchange with the queue as routing key; the queue is declared
// (durable, classic or quorum) and purged first. Consume modes read what the last publish mode
// left in the queue. The Iggy side is left out on purpose (no server here).
//
// usage: bench_rabbitmq --mode M --port P [--queue Q] [--queue-type classic|quorum]
//                       [--messages N] [--payload BYTES] [--batch N]

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/bench_util.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/rabbitmq/rabbitmq.h"

namespace {

using namespace trib;
using steady = std::chrono::steady_clock;

struct options {
    std::string mode;
    int port = 5672;
    std::string queue = "bench";
    std::string queue_type = "classic";
    std::size_t messages = 100'000;
    std::size_t payload = 1024;
    std::size_t batch = 500;
};

void report(const options& o, const char* impl, std::size_t n, double secs) {
    const double bytes = static_cast<double>(n) * static_cast<double>(o.payload);
    std::printf(
        "{\"bench\":\"rabbitmq\",\"impl\":\"%s\",\"op\":\"%s\",\"queue_type\":\"%s\","
        "\"payload\":%zu,\"messages\":%zu,\"batch\":%zu,\"bytes\":%.0f,"
        "\"seconds\":%.3f,\"records_per_s\":%.0f,\"mb_per_s\":%.2f,"
        "\"peak_rss_kb\":%ld}\n",
        impl, o.mode.c_str(), o.queue_type.c_str(), o.payload, n, o.batch, bytes, secs,
        static_cast<double>(n) / secs, bytes / secs / 1e6, bench::peak_rss_kb());
}

amqp_bytes_t b(const std::string& s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

// The baseline's connection; nullptr (and a message) on failure.
amqp_connection_state_t open_raw(const options& o) {
    auto c = amqp_new_connection();
    auto* sock = amqp_tcp_socket_new(c);
    timeval tv{10, 0};
    if (amqp_socket_open_noblock(sock, "127.0.0.1", o.port, &tv) != AMQP_STATUS_OK ||
        amqp_login(c, "/", 0, AMQP_DEFAULT_FRAME_SIZE, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest")
                .reply_type != AMQP_RESPONSE_NORMAL) {
        std::fprintf(stderr, "cannot connect to 127.0.0.1:%d\n", o.port);
        amqp_destroy_connection(c);
        return nullptr;
    }
    amqp_channel_open(c, 1);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
        return nullptr;
    return c;
}

bool prepare_queue(const options& o) {
    auto c = open_raw(o);
    if (c == nullptr)
        return false;
    amqp_table_entry_t arg{};
    arg.key = amqp_cstring_bytes("x-queue-type");
    arg.value.kind = AMQP_FIELD_KIND_UTF8;
    arg.value.value.bytes = b(o.queue_type);
    amqp_queue_declare(c, 1, b(o.queue), 0, 1, 0, 0, amqp_table_t{1, &arg});
    bool ok = amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL;
    if (ok) {
        amqp_queue_purge(c, 1, b(o.queue));
        ok = amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL;
    }
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    if (!ok)
        std::fprintf(stderr, "cannot declare/purge queue %s\n", o.queue.c_str());
    return ok;
}

int raw_publish(const options& o) {
    auto c = open_raw(o);
    if (c == nullptr)
        return 1;
    amqp_confirm_select(c, 1);
    (void)amqp_get_rpc_reply(c);
    const std::string body(o.payload, 'x');
    std::uint64_t tag = 0;
    const auto t0 = steady::now();
    for (std::size_t sent = 0; sent < o.messages;) {
        const std::size_t n = std::min(o.batch, o.messages - sent);
        for (std::size_t i = 0; i < n; ++i) {
            amqp_basic_properties_t p{};
            p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
            p.delivery_mode = 2;
            if (amqp_basic_publish(c, 1, amqp_empty_bytes, b(o.queue), 0, 0, &p, b(body)) !=
                AMQP_STATUS_OK)
                return 1;
            ++tag;
        }
        sent += n;
        for (std::uint64_t confirmed = 0; confirmed < tag;) {
            amqp_frame_t f{};
            if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
                return 1;
            if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_ACK_METHOD)
                confirmed = static_cast<amqp_basic_ack_t*>(f.payload.method.decoded)->delivery_tag;
            else if (f.frame_type == AMQP_FRAME_METHOD)
                return 1;  // a nack or a close: the baseline does not retry
        }
        amqp_maybe_release_buffers(c);
    }
    report(o, "rabbitmq-c", o.messages, std::chrono::duration<double>(steady::now() - t0).count());
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    return 0;
}

int raw_consume(const options& o) {
    auto c = open_raw(o);
    if (c == nullptr)
        return 1;
    amqp_basic_qos(c, 1, 0, static_cast<std::uint16_t>(o.batch), 0);
    (void)amqp_get_rpc_reply(c);
    amqp_basic_consume(c, 1, b(o.queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
        return 1;
    std::size_t got = 0, since_ack = 0;
    steady::time_point t0{};
    while (got < o.messages) {
        amqp_envelope_t env{};
        amqp_maybe_release_buffers(c);
        timeval tv{30, 0};
        if (amqp_consume_message(c, &env, &tv, 0).reply_type != AMQP_RESPONSE_NORMAL)
            return 1;
        if (got == 0)
            t0 = steady::now();
        ++got;
        // Ack a full prefetch window at once (or the last message).
        if (++since_ack == o.batch || got == o.messages) {
            amqp_basic_ack(c, 1, env.delivery_tag, 1);
            since_ack = 0;
        }
        amqp_destroy_envelope(&env);
    }
    report(o, "rabbitmq-c", got, std::chrono::duration<double>(steady::now() - t0).count());
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    return 0;
}

config::values spec_values(const config::spec& spec, const std::string& toml, bool& ok) {
    config::problems pr;
    config::values v;
    if (auto n = config::parse_toml(toml, "bench.toml"))
        v = config::validate(spec, *n, "bench.toml", "plugin_config", pr);
    ok = !pr.has_errors();
    if (!ok)
        std::fprintf(stderr, "%s\n", pr.to_string().c_str());
    return v;
}

int tributary_sink(const options& o) {
    bool ok = false;
    auto v = spec_values(connectors::rabbitmq_sink_spec(),
                         "amqp_url = \"amqp://guest:guest@127.0.0.1:" + std::to_string(o.port) +
                             "\"\nexchange = \"\"\nrouting_key = \"" + o.queue +
                             "\"\ninclude_metadata = false\n",
                         ok);
    if (!ok)
        return 2;
    auto s = connectors::make_rabbitmq_sink(v);
    connector_context ctx;
    ctx.key = "bench";
    if (!s || !(*s)->open(ctx)) {
        std::fprintf(stderr, "the sink does not open\n");
        return 1;
    }
    const std::string body(o.payload, 'x');
    message_batch batch;
    const auto t0 = steady::now();
    for (std::size_t sent = 0; sent < o.messages;) {
        const std::size_t n = std::min(o.batch, o.messages - sent);
        batch.clear();
        for (std::size_t i = 0; i < n; ++i) {
            message m;
            m.payload = body;
            m.offset = sent + i;
            m.id = message_id{sent + i + 1, 0};
            batch.messages.push_back(std::move(m));
        }
        sink_batch sb{"bench", "out", 1, "raw", &batch};
        auto w = (*s)->write(sb);
        if (!w || !w->rejected.empty()) {
            std::fprintf(stderr, "write failed: %s\n",
                         w ? "rejected messages" : w.error().to_string().c_str());
            return 1;
        }
        sent += n;
    }
    report(o, "tributary", o.messages, std::chrono::duration<double>(steady::now() - t0).count());
    (*s)->close();
    return 0;
}

int tributary_source(const options& o) {
    bool ok = false;
    auto v = spec_values(connectors::rabbitmq_source_spec(),
                         "amqp_url = \"amqp://guest:guest@127.0.0.1:" + std::to_string(o.port) +
                             "\"\nqueue = \"" + o.queue +
                             "\"\nprefetch_count = " + std::to_string(o.batch) + "\n",
                         ok);
    if (!ok)
        return 2;
    auto s = connectors::make_rabbitmq_source(v);
    connector_context ctx;
    ctx.key = "bench";
    if (!s || !(*s)->open(ctx, "")) {
        std::fprintf(stderr, "the source does not open\n");
        return 1;
    }
    std::size_t got = 0;
    std::uint64_t seq = 0;
    steady::time_point t0{};
    const auto deadline = steady::now() + std::chrono::minutes(10);
    while (got < o.messages && steady::now() < deadline) {
        auto r = (*s)->poll(std::chrono::milliseconds(100));
        if (!r) {
            std::fprintf(stderr, "poll: %s\n", r.error().to_string().c_str());
            return 1;
        }
        if (r->batch.empty())
            continue;
        if (got == 0)
            t0 = steady::now();
        got += r->batch.size();
        (*s)->ack(++seq);  // as the runtime does once Iggy took the batch
    }
    (*s)->close();
    if (got < o.messages)
        return 1;
    report(o, "tributary", got, std::chrono::duration<double>(steady::now() - t0).count());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], val = argv[i + 1];
        if (k == "--mode")
            o.mode = val;
        else if (k == "--port")
            o.port = std::atoi(val.c_str());
        else if (k == "--queue")
            o.queue = val;
        else if (k == "--queue-type")
            o.queue_type = val;
        else if (k == "--messages")
            o.messages = std::strtoull(val.c_str(), nullptr, 10);
        else if (k == "--payload")
            o.payload = std::strtoull(val.c_str(), nullptr, 10);
        else if (k == "--batch")
            o.batch = std::strtoull(val.c_str(), nullptr, 10);
    }
    if (o.batch == 0 || o.messages == 0 || o.batch > 65535) {
        std::fprintf(stderr,
                     "usage: bench_rabbitmq --mode publish|sink|consume|source --port P "
                     "[--queue Q] [--queue-type classic|quorum] [--messages N] "
                     "[--payload BYTES] [--batch N (1..65535)]\n");
        return 2;
    }
    if (o.mode == "publish" || o.mode == "sink") {
        if (!prepare_queue(o))
            return 1;
        return o.mode == "publish" ? raw_publish(o) : tributary_sink(o);
    }
    if (o.mode == "consume")
        return raw_consume(o);
    if (o.mode == "source")
        return tributary_source(o);
    std::fprintf(stderr, "unknown --mode %s\n", o.mode.c_str());
    return 2;
}
