// The NATS sink: Iggy -> NATS. JetStream mode publishes a batch asynchronously with
// Nats-Msg-Id = the Iggy message id and returns only after the server acknowledged every message
// (so Iggy offsets move only for what the stream stored); core mode publishes and flushes (the
// server received the bytes; nothing is stored). See README.md for the guarantees.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <unordered_map>

#include "config/enum_option.h"
#include "config/spec.h"
#include "connectors/nats/connection.h"
#include "connectors/nats/errors.h"
#include "connectors/nats/mapping.h"
#include "connectors/nats/nats.h"
#include "core/connector_metrics.h"
#include "core/metrics.h"
#include "core/sink_memo.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using namespace nats;

enum class sink_mode { jetstream, core };

struct sink_settings {
    config::values values;  // the connection options, read at open (they name the key)
    stream_options stream;
    sink_mode mode = sink_mode::jetstream;
    name_template subject;
    header_out_options headers;
    bool msg_id = true;
    std::chrono::milliseconds ack_timeout{30000};
    std::int64_t max_in_flight = 4096;
};

/// One published message awaiting its JetStream ack.
struct slot {
    std::size_t index = 0;
    sink_memo::key key;
    bool done = false;
    bool duplicate = false;
    natsStatus err = NATS_OK;
    jsErrCode code = static_cast<jsErrCode>(0);
    std::string text;
};

struct msg_deleter {
    void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
using msg_ptr = std::unique_ptr<natsMsg, msg_deleter>;

class nats_sink_impl final : public sink {
  public:
    nats_sink_impl(sink_settings s, std::string subject_text)
        : s_(std::move(s)), subject_text_(std::move(subject_text)) {}
    ~nats_sink_impl() override { close(); }

    status open(connector_context& ctx) override {
        key_ = ctx.key;
        stop_ = ctx.stop;
        register_metrics(metrics_of(ctx, own_metrics_));
        const std::string log_name = fmt::format("nats sink {}", key_);
        const bool js = s_.mode == sink_mode::jetstream;
        auto c = connection::open(connection_options_from(s_.values, key_), log_name, js,
                                  [this](jsOptions& jo) {
                                      jo.PublishAsync.MaxPending = s_.max_in_flight;
                                      jo.PublishAsync.AckHandler = &nats_sink_impl::on_ack;
                                      jo.PublishAsync.AckHandlerClosure = this;
                                  });
        if (!c)
            return c.error();
        conn_ = std::move(*c);
        if (js)
            TRIB_TRY(ensure_stream(conn_->js(), s_.stream, log_name));
        spdlog::info("{}: publishing to {} ({}), subject '{}'", log_name, conn_->connected_url(),
                     js ? "JetStream, acks awaited, Nats-Msg-Id = Iggy id" : "core, at-most-once",
                     subject_text_);
        return ok();
    }

    void close() override {
        if (!conn_)
            return;
        if (s_.mode == sink_mode::jetstream && outstanding() > 0) {
            // A stop while acks were pending: drop them; the batch was not confirmed, so the
            // runtime writes it again (the server de-duplicates by Nats-Msg-Id).
            natsMsgList pending{};
            if (js_PublishAsyncGetPendingList(&pending, conn_->js()) == NATS_OK)
                natsMsgList_Destroy(&pending);
        }
        conn_.reset();
        std::lock_guard lk(mu_);
        slots_.clear();
        by_msg_.clear();
    }

    bool idempotent() const override { return s_.mode == sink_mode::jetstream && s_.msg_id; }

    result<write_outcome> write(const sink_batch& b) override {
        write_outcome out;
        const auto& msgs = b.messages->messages;
        if (msgs.empty())
            return out;
        if (!conn_)
            return fail(errc::failed_precondition, "nats sink: write before open");
        memo_.prepare(b);
        {
            std::lock_guard lk(mu_);
            slots_.clear();
            by_msg_.clear();
        }
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            const message& m = msgs[i];
            if (memo_.delivered(m)) {
                m_.settled.skipped->inc();
                continue;
            }
            auto made = make_msg(b, m);
            if (!made) {
                m_.settled.rejected->inc();
                out.rejected.push_back(message_error{i, made.error()});
                continue;
            }
            auto st = s_.mode == sink_mode::jetstream ? publish_async(std::move(*made), i, m)
                                                      : publish_core(std::move(*made));
            if (!st) {
                if (st.error().retry() == retry_class::fatal &&
                    st.error().code() != errc::unauthenticated &&
                    st.error().code() != errc::permission_denied) {
                    m_.settled.rejected->inc();
                    out.rejected.push_back(message_error{i, st.error()});
                    continue;
                }
                (void)settle();  // the batch fails anyway; what did land is remembered
                remember_delivered();
                return st.error().wrap(fmt::format("nats sink {}", key_));
            }
        }
        auto settled = settle();
        if (!settled) {
            remember_delivered();
            return settled.error().wrap(fmt::format("nats sink {}", key_));
        }
        if (s_.mode == sink_mode::core) {
            m_.settled.delivered->inc(msgs.size() - out.rejected.size());
            sort_rejected(out);
            return out;
        }
        std::optional<error> failure;
        std::lock_guard lk(mu_);
        for (const auto& sl : slots_) {
            if (sl.err == NATS_OK) {
                m_.settled.delivered->inc();
                if (sl.duplicate)
                    m_.duplicates->inc();
                continue;
            }
            error e = from_status(sl.err, sl.text.empty() ? "publish ack" : sl.text, sl.code);
            if (is_message_fault(sl.err, sl.code)) {
                m_.settled.rejected->inc();
                out.rejected.push_back(
                    message_error{sl.index, error(errc::invalid_argument, retry_class::fatal,
                                                  e.message(), e.vendor_code())});
            } else if (!failure) {
                failure = std::move(e);
            }
        }
        if (failure) {
            for (const auto& sl : slots_) {
                if (sl.done && sl.err == NATS_OK)
                    memo_.remember(sl.key);
            }
            return failure->wrap(fmt::format("nats sink {}", key_));
        }
        sort_rejected(out);
        return out;
    }

  private:
    struct metric_set {
        settled_counters settled;
        counter* duplicates = nullptr;
    };

    void register_metrics(metrics_registry& r) {
        const metric_labels base{{"connector", key_}};
        m_.settled = settled_counters::make(
            r, "trib_nats_sink_messages_total",
            "Messages the NATS sink settled, by outcome (skipped_duplicate: delivered by an "
            "earlier attempt of the batch, not sent again).",
            base);
        m_.duplicates = &r.counter(
            "trib_nats_sink_server_duplicates_total",
            "JetStream acks that said the stream already held the Nats-Msg-Id (a replay within "
            "the duplicate window, stored once).",
            base);
    }

    result<msg_ptr> make_msg(const sink_batch& b, const message& m) {
        TRIB_ASSIGN_OR_RETURN(auto subject, render_subject(s_.subject, b, m));
        const bool with_id = s_.mode == sink_mode::jetstream && s_.msg_id;
        TRIB_ASSIGN_OR_RETURN(auto headers, nats_headers(s_.headers, m, with_id));
        natsMsg* raw = nullptr;
        natsStatus st = natsMsg_Create(&raw, subject.c_str(), nullptr, m.payload.data(),
                                       static_cast<int>(m.payload.size()));
        if (st != NATS_OK)
            return from_status(st, "message").with_retry(retry_class::fatal);
        msg_ptr msg(raw);
        for (const auto& [k, v] : headers) {
            st = natsMsgHeader_Add(msg.get(), k.c_str(), v.c_str());
            if (st != NATS_OK)
                return from_status(st, fmt::format("header '{}'", k))
                    .with_retry(retry_class::fatal);
        }
        return msg;
    }

    status publish_core(msg_ptr msg) {
        natsStatus st = natsConnection_PublishMsg(conn_->nc(), msg.get());
        if (st != NATS_OK)
            return from_status(st, "publish");
        return ok();
    }

    status publish_async(msg_ptr msg, std::size_t index, const message& m) {
        // cnats hands the same natsMsg back to on_ack: its address finds the slot (registered
        // before the publish, as the ack may come before js_PublishMsgAsync returns).
        const natsMsg* key = msg.get();
        {
            std::lock_guard lk(mu_);
            slots_.push_back(slot{index, sink_memo::key_of(m)});
            by_msg_[key] = slots_.size() - 1;
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = s_.ack_timeout.count();
        const auto deadline = std::chrono::steady_clock::now() + s_.ack_timeout;
        for (;;) {
            natsMsg* raw = msg.get();
            natsStatus st = js_PublishMsgAsync(conn_->js(), &raw, &po);
            if (st == NATS_OK) {
                (void)msg.release();  // cnats owns it now and hands it to on_ack
                return ok();
            }
            // MaxPending acks outstanding (the stall wait passed): wait for some, then again.
            if (st == NATS_TIMEOUT && !stop_.stop_requested() &&
                std::chrono::steady_clock::now() < deadline) {
                jsPubOptions w;
                jsPubOptions_Init(&w);
                w.MaxWait = 200;
                (void)js_PublishAsyncComplete(conn_->js(), &w);
                continue;
            }
            std::lock_guard lk(mu_);
            by_msg_.erase(key);
            slots_.pop_back();
            if (stop_.stop_requested())
                return fail(errc::cancelled, "nats sink: stopped while publishing");
            return from_status(st, "publish");
        }
    }

    std::size_t outstanding() {
        std::lock_guard lk(mu_);
        std::size_t n = 0;
        for (const auto& sl : slots_)
            n += sl.done ? 0 : 1;
        return n;
    }

    /// Core: flush (the server has the bytes). JetStream: waits for every ack, up to ack_timeout;
    /// a stop ends the wait (errc::cancelled).
    status settle() {
        if (s_.mode == sink_mode::core) {
            natsStatus st = natsConnection_FlushTimeout(conn_->nc(), s_.ack_timeout.count());
            return st == NATS_OK ? ok() : status(from_status(st, "flush"));
        }
        const auto deadline = std::chrono::steady_clock::now() + s_.ack_timeout;
        for (;;) {
            jsPubOptions w;
            jsPubOptions_Init(&w);
            w.MaxWait = 200;
            natsStatus st = js_PublishAsyncComplete(conn_->js(), &w);
            if (st == NATS_OK && outstanding() == 0)
                return ok();
            if (stop_.stop_requested())
                return fail(errc::cancelled, "nats sink: stopped while acks were pending");
            if (std::chrono::steady_clock::now() >= deadline) {
                return error(errc::timeout, retry_class::retryable,
                             fmt::format("{} JetStream ack(s) not received within ack_timeout "
                                         "({} ms)",
                                         outstanding(), s_.ack_timeout.count()));
            }
            if (st != NATS_OK && st != NATS_TIMEOUT)
                return from_status(st, "waiting for acks");
        }
    }

    void remember_delivered() {
        std::lock_guard lk(mu_);
        for (const auto& sl : slots_) {
            if (sl.done && sl.err == NATS_OK)
                memo_.remember(sl.key);
        }
    }

    /// cnats's thread: one ack (or failure) of an async publish. Finds the slot by the message's
    /// address (an ack of a message of an earlier, failed write finds none and is dropped).
    static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
        auto* self = static_cast<nats_sink_impl*>(closure);
        {
            std::lock_guard lk(self->mu_);
            {
                auto it = self->by_msg_.find(msg);
                if (it != self->by_msg_.end()) {
                    slot& sl = self->slots_[it->second];
                    self->by_msg_.erase(it);
                    sl.done = true;
                    if (pa != nullptr) {
                        sl.duplicate = pa->Duplicate;
                    } else if (pae != nullptr) {
                        sl.err = pae->Err == NATS_OK ? NATS_ERR : pae->Err;
                        sl.code = pae->ErrCode;
                        if (pae->ErrText != nullptr)
                            sl.text = pae->ErrText;
                    }
                }
            }
        }
        natsMsg_Destroy(msg);
    }

    sink_settings s_;
    std::string key_;
    std::string subject_text_;
    std::stop_token stop_;
    std::unique_ptr<metrics_registry> own_metrics_;
    metric_set m_;
    std::unique_ptr<connection> conn_;
    std::mutex mu_;  // slots_ and by_msg_: written by write(), settled by cnats's ack thread
    std::vector<slot> slots_;
    std::unordered_map<const natsMsg*, std::size_t> by_msg_;
    sink_memo memo_;
};

}  // namespace

result<std::unique_ptr<sink>> make_nats_sink(const config::values& v) {
    sink_settings s;
    s.values = v;
    s.stream = stream_options_from(v);
    s.mode = config::enum_option<sink_mode>(
        v, "mode", {{"jetstream", sink_mode::jetstream}, {"core", sink_mode::core}});
    auto t = parse_subject(v.str("subject"));
    if (!t)
        return t.error().wrap("subject");
    s.subject = std::move(*t);
    s.headers.include = v.boolean("include_headers");
    s.headers.exclude = v.list("exclude_headers");
    s.msg_id = v.boolean("msg_id");
    s.ack_timeout = v.duration("ack_timeout");
    s.max_in_flight = v.integer("max_in_flight");
    return std::unique_ptr<sink>(std::make_unique<nats_sink_impl>(std::move(s), v.str("subject")));
}

}  // namespace trib::connectors
