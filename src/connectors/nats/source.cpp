// The NATS source: NATS -> Iggy. JetStream mode fetches batches from a durable pull consumer and
// acknowledges each message only after Iggy acknowledged its batch; the message id is derived
// from (stream, stream sequence), so a redelivery after a crash carries the id it had and a
// de-duplicating Iggy server drops it. Core mode subscribes to subjects (at-most-once: the
// server keeps nothing). See README.md for the guarantees.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>

#include "config/enum_option.h"
#include "config/spec.h"
#include "connectors/nats/connection.h"
#include "connectors/nats/errors.h"
#include "connectors/nats/mapping.h"
#include "connectors/nats/nats.h"
#include "core/connector_metrics.h"
#include "core/metrics.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using namespace nats;

enum class source_mode { jetstream, core };

struct source_settings {
    config::values values;
    stream_options stream;
    source_mode mode = source_mode::jetstream;
    std::string consumer;
    bool create_consumer = true;
    std::vector<std::string> subjects;
    std::string queue_group;
    std::chrono::milliseconds ack_wait{30000};
    std::int64_t max_ack_pending = 10000;
    jsDeliverPolicy deliver = js_DeliverAll;
    std::uint64_t start_sequence = 0;
    int batch_size = 500;
    bool key_subject = true;
    bool metadata_headers = true;
    unfit_policy unfit = unfit_policy::reject;
    std::int64_t max_buffered = 65536;  // core: messages held before cnats drops (slow consumer)
};

struct msg_release {
    void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
using shared_msg = std::shared_ptr<natsMsg>;

/// The headers of `msg` as name -> values (views into the message, valid while it lives).
std::vector<nats_header> headers_of(natsMsg* msg) {
    std::vector<nats_header> out;
    const char** keys = nullptr;
    int n = 0;
    if (natsMsgHeader_Keys(msg, &keys, &n) != NATS_OK || keys == nullptr)
        return out;
    for (int i = 0; i < n; ++i) {
        nats_header h{keys[i], {}};
        const char** vals = nullptr;
        int vn = 0;
        if (natsMsgHeader_Values(msg, keys[i], &vals, &vn) == NATS_OK && vals != nullptr) {
            for (int j = 0; j < vn; ++j)
                h.values.emplace_back(vals[j]);
            std::free(static_cast<void*>(vals));
        }
        out.push_back(std::move(h));
    }
    std::free(static_cast<void*>(keys));
    return out;
}

class nats_source_impl final : public source {
  public:
    explicit nats_source_impl(source_settings s) : s_(std::move(s)) {}
    ~nats_source_impl() override { close(); }

    status open(connector_context& ctx, std::string_view) override {
        key_ = ctx.key;
        register_metrics(metrics_of(ctx, own_metrics_));
        log_name_ = fmt::format("nats source {}", key_);
        seq_ = 0;
        const bool js = s_.mode == source_mode::jetstream;
        auto opts = connection_options_from(s_.values, key_);
        auto c = connection::open(opts, log_name_, js);
        if (!c)
            return c.error();
        conn_ = std::move(*c);
        if (js)
            return open_consumer();
        return open_core();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        if (!conn_)
            return fail(errc::failed_precondition, "nats source: poll before open");
        return s_.mode == source_mode::jetstream ? poll_jetstream(max_wait) : poll_core(max_wait);
    }

    void ack(std::uint64_t seq) override {
        auto msgs = take(seq);
        for (const auto& m : msgs) {
            natsStatus st = natsMsg_Ack(m.get(), nullptr);
            if (st != NATS_OK) {
                // The server redelivers after ack_wait; the id it carries is the same, so a
                // de-duplicating Iggy server drops the copy.
                m_.ack_failed->inc();
                spdlog::warn("{}: ack failed: {}", log_name_, natsStatus_GetText(st));
            } else {
                m_.acked->inc();
            }
        }
    }

    void nack(std::uint64_t seq) override {
        auto msgs = take(seq);
        for (const auto& m : msgs)
            (void)natsMsg_Nak(m.get(), nullptr);  // redelivered at once
        m_.nacked->inc(msgs.size());
    }

    void close() override {
        if (sub_ != nullptr) {
            // Destroy, not Unsubscribe: unsubscribing would delete a consumer cnats created.
            std::map<std::uint64_t, std::vector<shared_msg>> left;
            {
                std::lock_guard lk(mu_);
                left.swap(pending_);
            }
            for (auto& [seq, msgs] : left) {
                for (auto& m : msgs)
                    (void)natsMsg_Nak(m.get(), nullptr);
            }
            natsSubscription_Destroy(sub_);
            sub_ = nullptr;
        }
        for (auto* s : core_subs_) {
            natsSubscription_Unsubscribe(s);
            natsSubscription_Destroy(s);
        }
        core_subs_.clear();
        conn_.reset();
        std::lock_guard lk(mu_);
        pending_.clear();
        queue_.clear();
    }

  private:
    struct metric_set {
        counter* received = nullptr;
        counter* redelivered = nullptr;
        counter* acked = nullptr;
        counter* nacked = nullptr;
        counter* ack_failed = nullptr;
        counter* rejected = nullptr;
        counter* dropped = nullptr;
    };

    void register_metrics(metrics_registry& r) {
        const metric_labels base{{"connector", key_}};
        m_.received = &r.counter("trib_nats_source_messages_total",
                                 "Messages the NATS source received.", base);
        m_.redelivered = &r.counter(
            "trib_nats_source_redelivered_total",
            "JetStream messages delivered more than once (ack_wait passed, a nak, or a restart "
            "before the ack); each carries the id of its first delivery.",
            base);
        m_.acked = &r.counter("trib_nats_source_acked_total",
                              "JetStream messages acknowledged after Iggy took them.", base);
        m_.nacked = &r.counter("trib_nats_source_nacked_total",
                               "JetStream messages negatively acknowledged (Iggy refused the "
                               "batch) for redelivery.",
                               base);
        m_.ack_failed =
            &r.counter("trib_nats_source_ack_failures_total",
                       "Acks that could not be sent (redelivered after ack_wait).", base);
        m_.rejected =
            &r.counter("trib_nats_source_rejected_total",
                       "Messages handed to the error policy (headers Iggy cannot hold).", base);
        m_.dropped = &r.counter("trib_nats_source_core_dropped_total",
                                "Core messages cnats dropped because the source fell behind "
                                "(slow consumer; core NATS is at-most-once).",
                                base);
    }

    status open_consumer() {
        TRIB_TRY(ensure_stream(conn_->js(), s_.stream, log_name_));
        const std::string durable = with_key(s_.consumer, key_);
        const char* stream = s_.stream.name.c_str();
        jsErrCode code = static_cast<jsErrCode>(0);
        jsConsumerInfo* ci = nullptr;
        natsStatus st =
            js_GetConsumerInfo(&ci, conn_->js(), stream, durable.c_str(), nullptr, &code);
        if (ci != nullptr)
            jsConsumerInfo_Destroy(ci);
        const bool missing = st == NATS_NOT_FOUND || code == JSConsumerNotFoundErr;
        if (st != NATS_OK && !(missing && s_.create_consumer)) {
            return from_status(st,
                               fmt::format("{}: durable consumer '{}' of stream '{}'", log_name_,
                                           durable, s_.stream.name),
                               code);
        }
        if (st != NATS_OK) {
            // Created with our settings; an existing consumer is used as it is (its settings are
            // the operator's, or an earlier start's).
            jsConsumerConfig cc;
            jsConsumerConfig_Init(&cc);
            cc.Durable = durable.c_str();
            cc.AckPolicy = js_AckExplicit;
            cc.AckWait = static_cast<int64_t>(s_.ack_wait.count()) * 1000000;
            cc.MaxAckPending = s_.max_ack_pending;
            cc.DeliverPolicy = s_.deliver;
            cc.OptStartSeq = s_.start_sequence;
            cc.MaxDeliver = -1;
            if (!s_.subjects.empty())
                cc.FilterSubject = s_.subjects.front().c_str();
            code = static_cast<jsErrCode>(0);
            st = js_AddConsumer(&ci, conn_->js(), stream, &cc, nullptr, &code);
            if (ci != nullptr)
                jsConsumerInfo_Destroy(ci);
            if (st != NATS_OK && code != JSConsumerNameExistErr) {
                return from_status(st,
                                   fmt::format("{}: create durable consumer '{}' on stream '{}'",
                                               log_name_, durable, s_.stream.name),
                                   code);
            }
            spdlog::info("{}: created durable consumer '{}' on stream '{}'", log_name_, durable,
                         s_.stream.name);
        }
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = stream;
        so.Consumer = durable.c_str();  // bind to it
        so.ManualAck = true;
        code = static_cast<jsErrCode>(0);
        st = js_PullSubscribe(&sub_, conn_->js(), nullptr, durable.c_str(), nullptr, &so, &code);
        if (st != NATS_OK) {
            sub_ = nullptr;
            return from_status(st,
                               fmt::format("{}: pull consumer '{}' on stream '{}'", log_name_,
                                           durable, s_.stream.name),
                               code);
        }
        spdlog::info(
            "{}: fetching from stream '{}' with durable consumer '{}' on {} (ack after "
            "Iggy, ack_wait {} ms, max_ack_pending {})",
            log_name_, s_.stream.name, durable, conn_->connected_url(), s_.ack_wait.count(),
            s_.max_ack_pending);
        return ok();
    }

    status open_core() {
        for (const auto& subject : s_.subjects) {
            natsSubscription* sub = nullptr;
            natsStatus st = s_.queue_group.empty()
                                ? natsConnection_Subscribe(&sub, conn_->nc(), subject.c_str(),
                                                           &nats_source_impl::on_core, this)
                                : natsConnection_QueueSubscribe(&sub, conn_->nc(), subject.c_str(),
                                                                s_.queue_group.c_str(),
                                                                &nats_source_impl::on_core, this);
            if (st != NATS_OK)
                return from_status(st, fmt::format("{}: subscribe '{}'", log_name_, subject));
            (void)natsSubscription_SetPendingLimits(sub, static_cast<int>(s_.max_buffered), -1);
            core_subs_.push_back(sub);
        }
        natsStatus st = natsConnection_FlushTimeout(conn_->nc(), 5000);
        if (st != NATS_OK)
            return from_status(st, fmt::format("{}: subscribe", log_name_));
        spdlog::info("{}: subscribed (core NATS, at-most-once) to {} on {}", log_name_,
                     fmt::join(s_.subjects, ", "), conn_->connected_url());
        return ok();
    }

    static void on_core(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
        auto* self = static_cast<nats_source_impl*>(closure);
        {
            std::lock_guard lk(self->mu_);
            self->queue_.emplace_back(msg, msg_release{});
        }
        self->cv_.notify_one();
    }

    /// Turns one NATS message into an Iggy message (or a reject) of `out`.
    void add(source_batch& out, const shared_msg& msg, std::string_view stream,
             std::uint64_t stream_seq) {
        message m;
        const char* subject = natsMsg_GetSubject(msg.get());
        const std::string_view subj = subject != nullptr ? subject : "";
        m.payload = std::string_view(natsMsg_GetData(msg.get()),
                                     static_cast<std::size_t>(natsMsg_GetDataLength(msg.get())));
        if (!stream.empty())
            m.id = jetstream_message_id(stream, stream_seq);
        if (s_.key_subject)
            m.key = std::string(subj);
        auto hs = iggy_headers(headers_of(msg.get()), subj, stream, stream_seq, s_.metadata_headers,
                               s_.unfit);
        m_.received->inc();
        if (!hs) {
            m_.rejected->inc();
            out.rejected.push_back(source_reject{std::move(m), hs.error()});
            return;
        }
        m.headers = std::move(*hs);
        out.batch.messages.push_back(std::move(m));
    }

    result<source_batch> poll_jetstream(std::chrono::milliseconds max_wait) {
        source_batch out;
        natsMsgList list{};
        jsErrCode code = static_cast<jsErrCode>(0);
        const auto wait = std::max<std::int64_t>(max_wait.count(), 1);
        natsStatus st = natsSubscription_Fetch(&list, sub_, s_.batch_size, wait, &code);
        if (st == NATS_TIMEOUT)
            return out;  // nothing came
        if (st != NATS_OK) {
            natsMsgList_Destroy(&list);
            return from_status(st, fmt::format("{}: fetch", log_name_), code);
        }
        std::vector<shared_msg> held;
        held.reserve(static_cast<std::size_t>(list.Count));
        for (int i = 0; i < list.Count; ++i) {
            shared_msg msg(list.Msgs[i], msg_release{});
            list.Msgs[i] = nullptr;  // owned by `msg` now
            jsMsgMetaData* meta = nullptr;
            if (natsMsg_GetMetaData(&meta, msg.get()) != NATS_OK || meta == nullptr) {
                // Not a JetStream message (a status reply cnats passed on): nothing to ack.
                continue;
            }
            if (meta->NumDelivered > 1)
                m_.redelivered->inc();
            const std::string stream = meta->Stream != nullptr ? meta->Stream : s_.stream.name;
            const std::uint64_t seq = meta->Sequence.Stream;
            const std::int64_t ts = meta->Timestamp;
            jsMsgMetaData_Destroy(meta);
            add(out, msg, stream, seq);
            if (!out.batch.messages.empty() && ts > 0)
                out.batch.messages.back().origin_timestamp_us =
                    static_cast<std::uint64_t>(ts / 1000);
            out.batch.hold(msg);
            held.push_back(std::move(msg));
        }
        natsMsgList_Destroy(&list);
        if (held.empty())
            return out;
        std::lock_guard lk(mu_);
        pending_.emplace(++seq_, std::move(held));
        return out;
    }

    result<source_batch> poll_core(std::chrono::milliseconds max_wait) {
        source_batch out;
        std::vector<shared_msg> got;
        {
            std::unique_lock lk(mu_);
            cv_.wait_for(lk, max_wait, [&] { return !queue_.empty(); });
            while (!queue_.empty() && got.size() < static_cast<std::size_t>(s_.batch_size)) {
                got.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        for (auto* s : core_subs_) {
            int64_t dropped = 0;
            if (natsSubscription_GetDropped(s, &dropped) == NATS_OK && dropped > dropped_seen_) {
                m_.dropped->inc(static_cast<std::uint64_t>(dropped - dropped_seen_));
                dropped_seen_ = dropped;
            }
        }
        for (auto& msg : got) {
            add(out, msg, {}, 0);
            out.batch.hold(msg);
        }
        if (!got.empty())
            ++seq_;
        return out;
    }

    std::vector<shared_msg> take(std::uint64_t seq) {
        std::lock_guard lk(mu_);
        auto it = pending_.find(seq);
        if (it == pending_.end())
            return {};
        auto v = std::move(it->second);
        pending_.erase(it);
        return v;
    }

    source_settings s_;
    std::string key_;
    std::string log_name_;
    std::unique_ptr<metrics_registry> own_metrics_;
    metric_set m_;
    std::unique_ptr<connection> conn_;
    natsSubscription* sub_ = nullptr;
    std::vector<natsSubscription*> core_subs_;
    std::int64_t dropped_seen_ = 0;
    std::uint64_t seq_ = 0;
    std::mutex mu_;  // pending_ (poll and ack/nack threads), queue_ (cnats's delivery thread)
    std::condition_variable cv_;
    std::map<std::uint64_t, std::vector<shared_msg>> pending_;
    std::deque<shared_msg> queue_;
};

}  // namespace

result<std::unique_ptr<source>> make_nats_source(const config::values& v) {
    source_settings s;
    s.values = v;
    s.stream = stream_options_from(v);
    s.mode = config::enum_option<source_mode>(
        v, "mode", {{"jetstream", source_mode::jetstream}, {"core", source_mode::core}});
    s.consumer = v.str("consumer");
    s.create_consumer = v.boolean("create_consumer");
    s.subjects = v.list("subjects");
    s.queue_group = v.opt_str("queue_group").value_or("");
    s.ack_wait = v.duration("ack_wait");
    s.max_ack_pending = v.integer("max_ack_pending");
    s.deliver =
        config::enum_option<jsDeliverPolicy>(v, "deliver_policy",
                                             {{"all", js_DeliverAll},
                                              {"last", js_DeliverLast},
                                              {"new", js_DeliverNew},
                                              {"by_start_sequence", js_DeliverByStartSequence},
                                              {"last_per_subject", js_DeliverLastPerSubject}});
    s.start_sequence = static_cast<std::uint64_t>(v.opt_integer("start_sequence").value_or(0));
    s.batch_size = static_cast<int>(v.integer("batch_size"));
    s.key_subject = v.str("key") == "subject";
    s.metadata_headers = v.boolean("metadata_headers");
    s.unfit = config::enum_option<unfit_policy>(
        v, "unfit_headers", {{"reject", unfit_policy::reject}, {"skip", unfit_policy::skip}});
    s.max_buffered = v.integer("max_buffered");
    return std::unique_ptr<source>(std::make_unique<nats_source_impl>(std::move(s)));
}

}  // namespace trib::connectors
