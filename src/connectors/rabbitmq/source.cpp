// The RabbitMQ source: basic.consume with manual acknowledgements. A delivery is acknowledged
// (basic.ack, multiple, up to the batch's last delivery tag) only after Iggy acknowledged its
// batch; acks are handed from the runtime's producer thread to the polling thread, which owns the
// (not thread-safe) rabbitmq-c connection.

#include <amqp.h>
#include <amqp_framing.h>
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/enum_option.h"
#include "connectors/rabbitmq/connection.h"
#include "connectors/rabbitmq/headers.h"
#include "connectors/rabbitmq/rabbitmq.h"
#include "core/connector_metrics.h"
#include "core/json_members.h"
#include "core/json_parse.h"
#include "core/message_id.h"

namespace trib::connectors {
namespace {

using namespace rabbitmq;
using clock = std::chrono::steady_clock;

amqp_bytes_t bytes_of(const std::string& s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string text_of(const amqp_bytes_t& b) {
    return std::string(static_cast<const char*>(b.bytes), b.len);
}

struct source_options {
    connection_options conn;
    std::string queue;
    std::string queue_type;
    bool declare = false;
    bool durable_queue = true;
    std::string exchange;
    std::string exchange_type;
    std::string routing_key;
    bool durable_exchange = true;
    int prefetch = 1000;
    std::string stream_offset = "first";
    std::string consumer_tag;
    bool requeue_on_nack = true;
    bool include_metadata = true;
    bool deterministic_ids = true;
    unfit_policy unfit = unfit_policy::reject;
};

// The source's persisted state: the stream offset after the last message Iggy acknowledged.
std::string state_text(const std::string& queue, std::uint64_t next_offset) {
    std::string out = "{";
    json_members(out).str("queue", queue).uint("stream_offset", next_offset);
    out += '}';
    return out;
}

result<std::optional<std::uint64_t>> read_state(std::string_view text, const std::string& queue) {
    if (text.empty())
        return std::optional<std::uint64_t>{};
    rapidjson::Document d;
    auto st = parse_json_document(text, d);
    if (!st || !d.IsObject())
        return fail(errc::data_loss, "rabbitmq source state is not a JSON object");
    auto q = d.FindMember("queue");
    auto o = d.FindMember("stream_offset");
    if (q == d.MemberEnd() || !q->value.IsString() || o == d.MemberEnd() || !o->value.IsUint64())
        return fail(errc::data_loss, "rabbitmq source state lacks queue or stream_offset");
    if (queue != q->value.GetString()) {
        spdlog::warn("rabbitmq source: the saved state is for queue \"{}\", not \"{}\": ignored",
                     q->value.GetString(), queue);
        return std::optional<std::uint64_t>{};
    }
    return std::optional<std::uint64_t>(o->value.GetUint64());
}

class rabbitmq_source final : public source {
  public:
    explicit rabbitmq_source(source_options o) : o_(std::move(o)) {}

    status open(connector_context& ctx, std::string_view state) override {
        key_ = ctx.key;
        stop_ = ctx.stop;
        auto& r = metrics_of(ctx, own_metrics_);
        const metric_labels base{{"connector", key_}};
        delivered_ = &r.counter("trib_rabbitmq_source_deliveries_total",
                                "Deliveries the RabbitMQ source received.", base);
        redelivered_ = &r.counter("trib_rabbitmq_source_redelivered_total",
                                  "Deliveries the broker flagged as redelivered (sent before, "
                                  "not acknowledged: duplicates AMQP allows).",
                                  base);
        acked_ = &r.counter("trib_rabbitmq_source_acked_total",
                            "Deliveries acknowledged to the broker after Iggy had them.", base);
        TRIB_ASSIGN_OR_RETURN(auto saved, read_state(state, o_.queue));
        if (saved)
            next_stream_offset_ = *saved;
        seq_ = 0;
        return connect();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        source_batch out;
        flush_settlements();
        if (!conn_.is_open()) {
            TRIB_TRY(connect());
        }
        const auto deadline = clock::now() + max_wait;
        batch_info info;
        info.generation = generation_;
        while (out.batch.size() + out.rejected.size() < static_cast<std::size_t>(o_.prefetch)) {
            if (stop_.stop_requested())
                break;
            flush_settlements();
            if (!conn_.is_open())
                break;
            // Wait for the first delivery; after that take only what is already here.
            const bool have = !out.batch.empty() || !out.rejected.empty();
            auto left =
                std::chrono::duration_cast<std::chrono::microseconds>(deadline - clock::now());
            if (have && !amqp_data_in_buffer(conn_.get()) && !amqp_frames_enqueued(conn_.get()))
                left = std::chrono::microseconds(0);
            if (left.count() < 0)
                left = std::chrono::microseconds(0);
            // Slices, so that acks from the producer thread leave while nothing arrives.
            left = std::min(left, std::chrono::microseconds(50'000));
            timeval tv{static_cast<time_t>(left.count() / 1'000'000),
                       static_cast<suseconds_t>(left.count() % 1'000'000)};
            amqp_envelope_t env{};
            amqp_maybe_release_buffers(conn_.get());
            auto r = amqp_consume_message(conn_.get(), &env, &tv, 0);
            if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
                r.library_error == AMQP_STATUS_TIMEOUT) {
                if (have || clock::now() >= deadline)
                    break;
                continue;
            }
            if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
                r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
                // A frame other than a delivery: a cancel or a close from the broker.
                auto st = other_frame();
                if (!st) {
                    if (out.batch.empty() && out.rejected.empty())
                        return st.error();
                    break;  // the deliveries so far are dropped with the connection (requeued)
                }
                continue;
            }
            if (r.reply_type != AMQP_RESPONSE_NORMAL) {
                auto e = reply_error(r, "rabbitmq source " + key_ + ": basic.consume");
                conn_.drop();
                ++generation_;
                return e;  // the broker requeues everything unacknowledged
            }
            take(env, out, info);
            amqp_destroy_envelope(&env);
        }
        if (!conn_.is_open() || info.generation != generation_) {
            // The connection went away during this poll: its deliveries are requeued by the
            // broker, so acking them later is impossible and sending them would duplicate.
            return source_batch{};
        }
        if (out.batch.empty() && out.rejected.empty())
            return out;
        info.seq = ++seq_;
        if (stream_queue()) {
            out.state = state_text(o_.queue, info.next_stream_offset);
            out.has_state = true;
        }
        {
            std::lock_guard lock(mu_);
            in_flight_.push_back(info);
        }
        if (o_.conn.verbose)
            spdlog::info("rabbitmq source {}: batch {} of {} message(s), last delivery tag {}",
                         key_, info.seq, out.batch.size() + out.rejected.size(), info.last_tag);
        return out;
    }

    void ack(std::uint64_t seq) override { settle(seq, true); }
    void nack(std::uint64_t seq) override { settle(seq, false); }

    void close() override {
        flush_settlements();
        conn_.close();
    }

  private:
    struct batch_info {
        std::uint64_t seq = 0;
        std::uint64_t generation = 0;
        std::uint64_t last_tag = 0;
        std::size_t count = 0;
        std::uint64_t next_stream_offset = 0;
        bool settled = false;
        bool acked = false;
    };

    bool stream_queue() const { return o_.queue_type == "stream"; }

    void settle(std::uint64_t seq, bool acked) {
        std::lock_guard lock(mu_);
        for (auto& b : in_flight_) {
            if (b.seq == seq) {
                b.settled = true;
                b.acked = acked;
                return;
            }
        }
    }

    // Sends the acks and nacks of settled batches, in batch order (poll thread only).
    void flush_settlements() {
        std::vector<batch_info> ready;
        {
            std::lock_guard lock(mu_);
            while (!in_flight_.empty() && in_flight_.front().settled) {
                ready.push_back(in_flight_.front());
                in_flight_.pop_front();
            }
        }
        for (const auto& b : ready) {
            if (b.acked && stream_queue())
                next_stream_offset_ =
                    std::max(next_stream_offset_.value_or(0), b.next_stream_offset);
            if (b.generation != generation_ || !conn_.is_open() || b.last_tag == 0)
                continue;  // that connection is gone; the broker requeued its deliveries
            int st = 0;
            if (b.acked) {
                st = amqp_basic_ack(conn_.get(), connection::channel, b.last_tag, 1);
                if (st == AMQP_STATUS_OK)
                    acked_->inc(b.count);
            } else if (stream_queue()) {
                // A stream keeps its messages: read again from the last acknowledged offset.
                spdlog::warn(
                    "rabbitmq source {}: Iggy refused batch {}: re-reading the stream "
                    "from offset {}",
                    key_, b.seq, next_stream_offset_.value_or(0));
                conn_.close();
                ++generation_;
                continue;
            } else {
                st = amqp_basic_nack(conn_.get(), connection::channel, b.last_tag, 1,
                                     o_.requeue_on_nack ? 1 : 0);
                spdlog::warn("rabbitmq source {}: Iggy refused batch {}: {} deliveries {}", key_,
                             b.seq, b.count,
                             o_.requeue_on_nack ? "requeued"
                                                : "rejected (dead-lettered if the "
                                                  "queue has a dead-letter exchange)");
            }
            if (st != AMQP_STATUS_OK) {
                spdlog::warn("rabbitmq source {}: {} failed: {}", key_,
                             b.acked ? "basic.ack" : "basic.nack", amqp_error_string2(st));
                conn_.drop();
                ++generation_;
            }
        }
    }

    status other_frame() {
        amqp_frame_t frame{};
        timeval tv{static_cast<time_t>(o_.conn.timeout.count()), 0};
        int st = amqp_simple_wait_frame_noblock(conn_.get(), &frame, &tv);
        if (st != AMQP_STATUS_OK) {
            conn_.drop();
            ++generation_;
            return status_error(st, "rabbitmq source " + key_);
        }
        if (frame.frame_type != AMQP_FRAME_METHOD)
            return ok();
        switch (frame.payload.method.id) {
            case AMQP_CHANNEL_CLOSE_METHOD:
            case AMQP_CONNECTION_CLOSE_METHOD: {
                auto e = close_error(frame.payload.method.id, frame.payload.method.decoded,
                                     "rabbitmq source " + key_ + ": queue \"" + o_.queue + "\"");
                conn_.drop();
                ++generation_;
                return e;
            }
            case AMQP_BASIC_CANCEL_METHOD:
                // The queue was deleted (or a quorum queue lost its leader): subscribe again.
                conn_.close();
                ++generation_;
                return error(errc::unavailable, retry_class::retryable,
                             "rabbitmq source " + key_ +
                                 ": the broker cancelled the consumer "
                                 "of queue \"" +
                                 o_.queue + "\"");
            default:
                return ok();
        }
    }

    void take(const amqp_envelope_t& env, source_batch& out, batch_info& info) {
        delivered_->inc();
        const bool redelivered = env.redelivered != 0;
        if (redelivered)
            redelivered_->inc();
        info.last_tag = env.delivery_tag;
        ++info.count;
        const auto& p = env.message.properties;
        const std::string body = text_of(env.message.body);
        message m;
        read_headers h;
        if (p._flags & AMQP_BASIC_HEADERS_FLAG)
            h = headers_from_table(p.headers, o_.unfit, o_.include_metadata ? "amqp_" : "");
        m.headers = std::move(h.headers);
        std::optional<std::uint64_t> stream_offset;
        for (const auto& x : m.headers) {
            if (x.key == "x-stream-offset" &&
                (x.kind == value_kind::int64 || x.kind == value_kind::uint64) &&
                x.value.size() == 8) {
                std::uint64_t v = 0;
                std::memcpy(&v, x.value.data(), 8);
                stream_offset = v;
            }
        }
        if (stream_offset)
            info.next_stream_offset = *stream_offset + 1;
        std::string msg_id;
        if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
            msg_id = text_of(p.message_id);
        if (o_.include_metadata) {
            auto add = [&](std::string k, std::string v) {
                if (!v.empty() && v.size() <= 255)
                    m.headers.push_back(header{std::move(k), value_kind::string, std::move(v)});
            };
            add("amqp_exchange", text_of(env.exchange));
            add("amqp_routing_key", text_of(env.routing_key));
            m.headers.push_back(
                header{"amqp_redelivered", value_kind::boolean, std::string(1, redelivered)});
            add("amqp_message_id", msg_id);
            if (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
                add("amqp_content_type", text_of(p.content_type));
            if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG)
                add("amqp_correlation_id", text_of(p.correlation_id));
            if (stream_offset)
                m.headers.push_back(
                    num_header("amqp_stream_offset", value_kind::uint64, *stream_offset));
        }
        if (o_.deterministic_ids) {
            if (stream_offset) {
                m.id = message_id_builder("rabbitmq")
                           .add(o_.conn.vhost)
                           .add(o_.queue)
                           .add_u64(*stream_offset)
                           .finish();
            } else if (!msg_id.empty()) {
                m.id = message_id_builder("rabbitmq")
                           .add(o_.conn.vhost)
                           .add(o_.queue)
                           .add(msg_id)
                           .finish();
            }
        }
        if ((p._flags & AMQP_BASIC_TIMESTAMP_FLAG) && p.timestamp > 0 &&
            p.timestamp < 253'402'300'800ull)  // before year 10000: seconds, not garbage
            m.origin_timestamp_us = p.timestamp * 1'000'000;
        std::string problem = std::move(h.problem);
        if (problem.empty() && body.empty())
            problem = "an empty body (Iggy messages cannot be empty)";
        if (!problem.empty()) {
            source_reject rj;
            rj.original = std::move(m);
            rj.original.payload = out.batch.own(body);
            rj.err = error(errc::invalid_argument, retry_class::fatal,
                           "delivery " + std::to_string(env.delivery_tag) + " from queue \"" +
                               o_.queue + "\": " + problem);
            out.rejected.push_back(std::move(rj));
            return;
        }
        m.payload = out.batch.own(body);
        out.batch.messages.push_back(std::move(m));
    }

    status connect() {
        conn_.close();
        ++generation_;
        TRIB_TRY(conn_.open(o_.conn));
        const bool passive = !o_.declare;
        if (!o_.exchange.empty()) {
            TRIB_TRY(conn_.declare_exchange(
                exchange_decl{o_.exchange, o_.exchange_type, o_.durable_exchange, passive}));
        }
        const bool durable = o_.queue_type != "classic" || o_.durable_queue;
        TRIB_TRY(conn_.declare_queue(o_.queue, passive, durable,
                                     o_.queue_type == "classic" ? "" : o_.queue_type));
        if (!o_.exchange.empty() && o_.declare) {
            TRIB_TRY(conn_.bind_queue(o_.queue, o_.exchange, o_.routing_key));
        }
        amqp_basic_qos(conn_.get(), connection::channel, 0, static_cast<std::uint16_t>(o_.prefetch),
                       0);
        auto r = amqp_get_rpc_reply(conn_.get());
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            auto e = reply_error(r, "basic.qos");
            conn_.drop();
            return e;
        }
        // x-stream-offset: the persisted position, else the configured start.
        amqp_table_entry_t arg{};
        arg.key = amqp_cstring_bytes("x-stream-offset");
        std::string start = o_.stream_offset;
        if (next_stream_offset_) {
            arg.value.kind = AMQP_FIELD_KIND_I64;
            arg.value.value.i64 = static_cast<std::int64_t>(*next_stream_offset_);
        } else if (!start.empty() && start.find_first_not_of("0123456789") == std::string::npos) {
            arg.value.kind = AMQP_FIELD_KIND_I64;
            arg.value.value.i64 = std::stoll(start);
        } else {
            arg.value.kind = AMQP_FIELD_KIND_UTF8;
            arg.value.value.bytes = bytes_of(start);
        }
        amqp_table_t args{stream_queue() ? 1 : 0, &arg};
        std::string tag = o_.consumer_tag;
        for (auto at = tag.find("{key}"); at != std::string::npos; at = tag.find("{key}", at))
            tag.replace(at, 5, key_);
        amqp_basic_consume(conn_.get(), connection::channel, bytes_of(o_.queue),
                           tag.empty() ? amqp_empty_bytes : bytes_of(tag), 0, 0, 0, args);
        r = amqp_get_rpc_reply(conn_.get());
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            auto e = reply_error(r, "basic.consume on queue \"" + o_.queue + "\"");
            conn_.drop();
            return e;
        }
        spdlog::info(
            "rabbitmq source {}: consuming queue \"{}\" on {}:{} vhost \"{}\" "
            "(prefetch {}, manual acks{})",
            key_, o_.queue, o_.conn.host, o_.conn.port, o_.conn.vhost, o_.prefetch,
            stream_queue() ? ", stream" : "");
        return ok();
    }

    source_options o_;
    std::string key_;
    std::stop_token stop_;
    connection conn_;
    std::uint64_t generation_ = 0;  // which connection a delivery tag belongs to
    std::uint64_t seq_ = 0;
    std::optional<std::uint64_t> next_stream_offset_;
    std::mutex mu_;
    std::deque<batch_info> in_flight_;  // polled batches not yet acked upstream, in order
    std::unique_ptr<metrics_registry> own_metrics_;
    counter* delivered_ = nullptr;
    counter* redelivered_ = nullptr;
    counter* acked_ = nullptr;
};

}  // namespace

result<std::unique_ptr<source>> make_rabbitmq_source(const config::values& v) {
    source_options o;
    TRIB_ASSIGN_OR_RETURN(o.conn, connection_options_from(v));
    o.queue = v.str("queue");
    o.queue_type = v.str("queue_type");
    o.declare = v.boolean("declare");
    o.durable_queue = v.boolean("durable_queue");
    o.exchange = v.str("exchange");
    o.exchange_type = v.str("exchange_type");
    o.routing_key = v.str("routing_key");
    o.durable_exchange = v.boolean("durable_exchange");
    o.prefetch = static_cast<int>(v.integer("prefetch_count"));
    o.stream_offset = v.str("stream_offset");
    o.consumer_tag = v.str("consumer_tag");
    o.requeue_on_nack = v.boolean("requeue_on_nack");
    o.include_metadata = v.boolean("include_metadata");
    o.deterministic_ids = v.str("message_ids") == "deterministic";
    o.unfit = config::enum_option<unfit_policy>(
        v, "unfit_headers", {{"reject", unfit_policy::reject}, {"skip", unfit_policy::skip}});
    return std::unique_ptr<source>(std::make_unique<rabbitmq_source>(std::move(o)));
}

}  // namespace trib::connectors
