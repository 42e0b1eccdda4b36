// The RabbitMQ sink: one basic.publish per Iggy message on a channel in confirm mode; write()
// returns once the broker confirmed every message of the batch (or the message went to the error
// policy: returned as unroutable, or still nacked after max_retries attempts), so the runtime
// commits the offsets of confirmed messages only.

#include <amqp.h>
#include <amqp_framing.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/enum_option.h"
#include "connectors/rabbitmq/connection.h"
#include "connectors/rabbitmq/headers.h"
#include "connectors/rabbitmq/rabbitmq.h"
#include "core/connector_metrics.h"
#include "core/message_id.h"
#include "core/name_template.h"
#include "core/sink_memo.h"

namespace trib::connectors {
namespace {

using namespace rabbitmq;
using clock = std::chrono::steady_clock;

amqp_bytes_t bytes_of(std::string_view s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

struct sink_options {
    connection_options conn;
    name_template exchange;
    name_template routing_key;
    std::string exchange_type;
    bool durable_exchange = true;
    bool declare_exchange = true;
    std::uint8_t delivery_mode = 2;
    bool mandatory = true;
    bool include_metadata = true;
    int max_retries = 3;
    std::chrono::seconds retry_delay{1};
    std::chrono::seconds max_retry_delay{5};
};

// Where one message of the batch stands in the current write.
enum class state : std::uint8_t { pending, in_flight, confirmed, nacked, returned, rejected };

class rabbitmq_sink final : public sink {
  public:
    explicit rabbitmq_sink(sink_options o) : o_(std::move(o)) {}

    status open(connector_context& ctx) override {
        key_ = ctx.key;
        stop_ = ctx.stop;
        auto& r = metrics_of(ctx, own_metrics_);
        const metric_labels base{{"connector", key_}};
        settled_ = settled_counters::make(
            r, "trib_rabbitmq_sink_messages_total",
            "Messages the RabbitMQ sink settled, by outcome (skipped_duplicate: confirmed by an "
            "earlier attempt of the batch, not sent again).",
            base);
        returned_ = &r.counter("trib_rabbitmq_sink_returned_total",
                               "Messages the broker returned as unroutable (basic.return).", base);
        nacked_ = &r.counter("trib_rabbitmq_sink_nacked_total",
                             "Publisher-confirm nacks received (each is retried).", base);
        return connect();
    }

    result<write_outcome> write(const sink_batch& b) override {
        write_outcome out;
        const auto& msgs = b.messages->messages;
        if (msgs.empty())
            return out;
        memo_.prepare(b);
        const name_context nc{b.stream, b.topic, b.partition};
        targets_.assign(msgs.size(), {});
        states_.assign(msgs.size(), state::pending);
        reasons_.assign(msgs.size(), {});
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            if (memo_.delivered(msgs[i])) {
                states_[i] = state::confirmed;
                settled_.skipped->inc();
                continue;
            }
            payload_fields fields(msgs[i].payload);
            auto ex = render_name(o_.exchange, nc, msgs[i], fields, "exchange");
            auto rk = ex ? render_name(o_.routing_key, nc, msgs[i], fields, "routing_key") : ex;
            if (!ex || !rk) {
                states_[i] = state::rejected;
                reasons_[i] = (!ex ? ex : rk).error();
                continue;
            }
            targets_[i] = {std::move(*ex), std::move(*rk)};
        }
        std::optional<error> last;
        for (int attempt = 1; attempt <= o_.max_retries; ++attempt) {
            if (attempt > 1 && !backoff(attempt - 1))
                return fail(errc::cancelled, "rabbitmq sink " + key_ + ": stopped");
            if (!conn_.is_open()) {
                auto st = connect();
                if (!st) {
                    if (!st.error().retryable())
                        return st.error();
                    last = st.error();
                    continue;
                }
            }
            auto st = publish_pending(b);
            if (!st) {
                last = st.error();
                if (!st.error().retryable()) {
                    conn_.drop();
                    return st.error();
                }
            }
            const bool final_attempt = attempt == o_.max_retries;
            bool again = false;
            for (auto& s : states_) {
                if (s == state::in_flight)
                    s = state::pending;  // unconfirmed: publish again on the next attempt
                if (s == state::nacked && !final_attempt)
                    s = state::pending;
                again = again || s == state::pending;
            }
            if (!again)
                break;
            if (st)
                last = error(errc::unavailable, retry_class::retryable,
                             "the broker nacked messages (basic.nack)");
        }
        bool unsettled = false;
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            switch (states_[i]) {
                case state::confirmed:
                    break;
                case state::returned:
                case state::rejected:
                    out.rejected.push_back({i, reasons_[i]});
                    break;
                case state::nacked:
                    out.rejected.push_back(
                        {i, error(errc::unavailable, retry_class::fatal,
                                  "nacked by the broker (basic.nack) in each of " +
                                      std::to_string(o_.max_retries) + " attempt(s)")});
                    break;
                case state::pending:
                case state::in_flight:
                    unsettled = true;
                    break;
            }
        }
        if (unsettled) {
            // Confirmed messages are in the memo: the runtime's retry of the batch skips them.
            error e = last.value_or(error(errc::unavailable, "messages were not confirmed"));
            return e.wrap("rabbitmq sink " + key_ + ": after " + std::to_string(o_.max_retries) +
                          " attempt(s)");
        }
        settled_.rejected->inc(out.rejected.size());
        if (o_.conn.verbose)
            spdlog::info("rabbitmq sink {}: {} message(s) of {}/{}/{} confirmed, {} rejected", key_,
                         msgs.size() - out.rejected.size(), b.stream, b.topic, b.partition,
                         out.rejected.size());
        return out;
    }

    void close() override { conn_.close(); }

  private:
    status connect() {
        conn_.close();
        TRIB_TRY(conn_.open(o_.conn));
        amqp_confirm_select(conn_.get(), connection::channel);
        auto r = amqp_get_rpc_reply(conn_.get());
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            auto e = reply_error(r, "confirm.select");
            conn_.drop();
            return e;
        }
        next_tag_ = 1;
        // Only a literal exchange name is declared (or checked): a template names exchanges
        // only the messages know, and the default exchange ("") cannot be declared.
        const auto& parts = o_.exchange.parts();
        if (parts.size() == 1 && parts[0].what == name_template::part::kind::literal) {
            TRIB_TRY(conn_.declare_exchange(exchange_decl{
                parts[0].text, o_.exchange_type, o_.durable_exchange, !o_.declare_exchange}));
        }
        spdlog::info("rabbitmq sink {}: connected to {}:{} vhost \"{}\" (publisher confirms)", key_,
                     o_.conn.host, o_.conn.port, o_.conn.vhost);
        return ok();
    }

    bool backoff(int failures) {
        auto d = o_.retry_delay * (1 << std::min(failures - 1, 16));
        d = std::min(d, o_.max_retry_delay);
        std::mutex mu;
        std::condition_variable_any cv;
        std::unique_lock lock(mu);
        cv.wait_for(lock, stop_, d, [] { return false; });
        return !stop_.stop_requested();
    }

    // Publishes the pending messages and waits for their confirms. An error means the connection
    // is gone (dropped); the states say what was settled before that.
    status publish_pending(const sink_batch& b) {
        const auto& msgs = b.messages->messages;
        std::unordered_map<std::uint64_t, std::size_t> by_tag;
        std::unordered_map<std::string, std::vector<std::size_t>> by_id;
        std::vector<header> extra;
        table_storage table;
        std::uint64_t first_tag = next_tag_;
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            if (states_[i] != state::pending)
                continue;
            const auto& m = msgs[i];
            extra.clear();
            if (o_.include_metadata) {
                extra.push_back(header{"iggy_stream", value_kind::string, std::string(b.stream)});
                extra.push_back(header{"iggy_topic", value_kind::string, std::string(b.topic)});
                extra.push_back(num_header("iggy_partition_id", value_kind::uint32,
                                           static_cast<std::uint32_t>(b.partition)));
                extra.push_back(num_header("iggy_offset", value_kind::int64,
                                           static_cast<std::int64_t>(m.offset)));
            }
            table_of(m.headers, extra, table);
            const std::string id = to_hex(m.id);
            amqp_basic_properties_t props{};
            props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
            props.delivery_mode = o_.delivery_mode;
            props.message_id = bytes_of(id);
            if (!table.entries.empty()) {
                props._flags |= AMQP_BASIC_HEADERS_FLAG;
                props.headers = table.table();
            }
            if (m.timestamp_us != 0) {
                props._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
                props.timestamp = m.timestamp_us / 1'000'000;
            }
            int st =
                amqp_basic_publish(conn_.get(), connection::channel, bytes_of(targets_[i].exchange),
                                   bytes_of(targets_[i].routing_key), o_.mandatory ? 1 : 0, 0,
                                   &props, bytes_of(m.payload));
            if (st != AMQP_STATUS_OK) {
                conn_.drop();
                return status_error(st, "basic.publish");
            }
            states_[i] = state::in_flight;
            by_tag.emplace(next_tag_++, i);
            by_id[id].push_back(i);
        }
        // Confirms: each tag once, in publish order (multiple = all up to it).
        std::uint64_t settled_below = first_tag;  // every tag < this one is settled
        auto settle = [&](std::uint64_t tag, bool multiple, bool acked) {
            std::uint64_t from = multiple ? settled_below : tag;
            for (std::uint64_t t = from; t <= tag; ++t) {
                auto it = by_tag.find(t);
                if (it == by_tag.end())
                    continue;
                auto& s = states_[it->second];
                if (s == state::in_flight) {
                    if (acked) {
                        s = state::confirmed;
                        memo_.remember(msgs[it->second]);
                        settled_.delivered->inc();
                    } else {
                        s = state::nacked;
                        nacked_->inc();
                    }
                }
                by_tag.erase(it);
            }
            while (settled_below < next_tag_ && !by_tag.contains(settled_below))
                ++settled_below;
        };
        const auto deadline = clock::now() + o_.conn.timeout;
        while (!by_tag.empty()) {
            if (stop_.stop_requested()) {
                conn_.drop();
                return fail(errc::cancelled, "stopped while waiting for confirms");
            }
            auto left =
                std::chrono::duration_cast<std::chrono::microseconds>(deadline - clock::now());
            if (left.count() <= 0) {
                conn_.drop();  // late confirms must not be taken for the next attempt's
                return error(errc::timeout, retry_class::retryable,
                             "no publisher confirm within " +
                                 std::to_string(o_.conn.timeout.count()) + " s");
            }
            left = std::min(left, std::chrono::microseconds(200'000));
            timeval tv{static_cast<time_t>(left.count() / 1'000'000),
                       static_cast<suseconds_t>(left.count() % 1'000'000)};
            amqp_frame_t frame{};
            int st = amqp_simple_wait_frame_noblock(conn_.get(), &frame, &tv);
            if (st == AMQP_STATUS_TIMEOUT)
                continue;
            if (st != AMQP_STATUS_OK) {
                conn_.drop();
                return status_error(st, "waiting for publisher confirms");
            }
            if (frame.frame_type != AMQP_FRAME_METHOD)
                continue;
            switch (frame.payload.method.id) {
                case AMQP_BASIC_ACK_METHOD: {
                    const auto* a = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
                    settle(a->delivery_tag, a->multiple != 0, true);
                    break;
                }
                case AMQP_BASIC_NACK_METHOD: {
                    const auto* n = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
                    settle(n->delivery_tag, n->multiple != 0, false);
                    break;
                }
                case AMQP_BASIC_RETURN_METHOD: {
                    const auto* rt =
                        static_cast<amqp_basic_return_t*>(frame.payload.method.decoded);
                    std::string why = std::string(static_cast<const char*>(rt->reply_text.bytes),
                                                  rt->reply_text.len) +
                                      " (AMQP " + std::to_string(rt->reply_code) + ")";
                    std::string ex(static_cast<const char*>(rt->exchange.bytes), rt->exchange.len);
                    std::string rk(static_cast<const char*>(rt->routing_key.bytes),
                                   rt->routing_key.len);
                    amqp_message_t returned{};
                    auto r = amqp_read_message(conn_.get(), frame.channel, &returned, 0);
                    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
                        conn_.drop();
                        return reply_error(r, "reading a returned message");
                    }
                    std::string id;
                    if (returned.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
                        id.assign(static_cast<const char*>(returned.properties.message_id.bytes),
                                  returned.properties.message_id.len);
                    amqp_destroy_message(&returned);
                    mark_returned(by_id, id,
                                  error(errc::not_found, retry_class::fatal,
                                        "returned by the broker as unroutable: exchange \"" + ex +
                                            "\", routing key \"" + rk + "\": " + why));
                    break;
                }
                case AMQP_CHANNEL_CLOSE_METHOD:
                case AMQP_CONNECTION_CLOSE_METHOD: {
                    auto e = close_error(frame.payload.method.id, frame.payload.method.decoded,
                                         "publish");
                    conn_.drop();
                    return e;
                }
                default:
                    break;
            }
        }
        amqp_maybe_release_buffers(conn_.get());
        return ok();
    }

    // A basic.return comes before the confirm of the same message (which is then an ack): the
    // message goes to the error policy instead of counting as delivered.
    void mark_returned(std::unordered_map<std::string, std::vector<std::size_t>>& by_id,
                       const std::string& id, error why) {
        auto it = by_id.find(id);
        if (it == by_id.end() || it->second.empty()) {
            spdlog::warn("rabbitmq sink {}: a returned message with unknown message-id \"{}\"",
                         key_, id);
            return;
        }
        const std::size_t i = it->second.front();
        it->second.erase(it->second.begin());
        if (states_[i] == state::in_flight) {
            // Mark it first, so that its ack does not confirm it; the ack still settles the tag.
            states_[i] = state::returned;
            reasons_[i] = std::move(why);
            returned_->inc();
        }
    }

    struct target {
        std::string exchange;
        std::string routing_key;
    };

    sink_options o_;
    std::string key_;
    std::stop_token stop_;
    connection conn_;
    std::uint64_t next_tag_ = 1;
    sink_memo memo_;
    std::vector<target> targets_;
    std::vector<state> states_;
    std::vector<error> reasons_;
    std::unique_ptr<metrics_registry> own_metrics_;
    settled_counters settled_;
    counter* returned_ = nullptr;
    counter* nacked_ = nullptr;
};

}  // namespace

result<std::unique_ptr<sink>> make_rabbitmq_sink(const config::values& v) {
    sink_options o;
    TRIB_ASSIGN_OR_RETURN(o.conn, connection_options_from(v));
    auto ex = name_template::parse(v.str("exchange"), "exchange", true);
    if (!ex)
        return ex.error().wrap("exchange");
    auto rk = name_template::parse(v.str("routing_key"), "routing_key", true);
    if (!rk)
        return rk.error().wrap("routing_key");
    o.exchange = std::move(*ex);
    o.routing_key = std::move(*rk);
    o.exchange_type = v.str("exchange_type");
    o.durable_exchange = v.boolean("durable_exchange");
    o.declare_exchange = v.boolean("declare_exchange");
    o.delivery_mode = config::enum_option<std::uint8_t>(
        v, "delivery_mode", {{"persistent", std::uint8_t{2}}, {"non_persistent", std::uint8_t{1}}});
    o.mandatory = v.boolean("mandatory");
    o.include_metadata = v.boolean("include_metadata");
    o.max_retries = static_cast<int>(v.integer("max_retries"));
    o.retry_delay = std::chrono::seconds(v.integer("retry_delay_secs"));
    o.max_retry_delay = std::chrono::seconds(v.integer("max_retry_delay_secs"));
    return std::unique_ptr<sink>(std::make_unique<rabbitmq_sink>(std::move(o)));
}

}  // namespace trib::connectors
