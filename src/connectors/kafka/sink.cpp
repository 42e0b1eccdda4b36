// The Kafka sink: Iggy -> Kafka through an idempotent librdkafka producer. A write produces the
// batch, then serves delivery reports until every record of it is settled; only then does it
// return, so the runtime commits Iggy offsets only for what the broker acknowledged. See
// README.md for the guarantees.

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <unordered_map>

#include "config/spec.h"
#include "connectors/kafka/common.h"
#include "connectors/kafka/errors.h"
#include "connectors/kafka/kafka.h"
#include "connectors/kafka/sink_record.h"
#include "core/connector_metrics.h"
#include "core/metrics.h"
#include "core/parse_number.h"
#include "core/sink_memo.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using namespace kafka_sink;

struct sink_settings {
    config::values values;  // for the shared options (common.h)
    record_options rec;
    std::optional<std::string> transactional_id;
    std::string offsets_topic = "tributary_sink_offsets";
    std::chrono::milliseconds delivery_timeout{0};
    std::chrono::milliseconds connect_timeout{10000};
};

/// How a librdkafka error concerns the record or the batch (the code and retry class are
/// errors.cpp's).
enum class fate {
    reject,  // this record will never be accepted: the error policy takes it
    retry,   // the batch fails; the runtime retries it or applies its policy (by retry class)
    reopen,  // the producer is unusable (fenced, sequence gap, _FATAL): open a new one
};

/// `at_produce`: the error came from produce() itself (librdkafka's own checks against the
/// metadata it holds), not from a delivery report.
fate fate_of(rd_kafka_resp_err_t e, bool at_produce = false) {
    if (kafka::is_message_error(e) || e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
        e == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION)
        return fate::reject;
    // produce() says so only when the topic's metadata is known and has fewer partitions.
    if (at_produce && e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        return fate::reject;
    switch (e) {
        case RD_KAFKA_RESP_ERR__FATAL:
        case RD_KAFKA_RESP_ERR__FENCED:
        case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
        case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
        case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
        case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
        case RD_KAFKA_RESP_ERR__INCONSISTENT:
        case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
        case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING:
            return fate::reopen;
        default:
            return fate::retry;
    }
}

error kafka_error(rd_kafka_resp_err_t e, std::string_view what, bool at_produce = false) {
    error err = kafka::from_code(e, what);
    switch (fate_of(e, at_produce)) {
        case fate::reject:
            // The record's own fault: fatal, so the runtime hands it to the error policy.
            return error(err.code() == errc::unavailable ? errc::not_found : err.code(),
                         retry_class::fatal, err.message(), err.vendor_code());
        case fate::reopen:
            // errc::unavailable makes the runtime close and open the sink: a new producer.
            return error(errc::unavailable, retry_class::retryable, err.message(),
                         err.vendor_code());
        case fate::retry:
            return err;
    }
    return err;
}

/// One produced record awaiting its delivery report (the report's opaque points here).
struct slot {
    std::size_t index = 0;
    sink_memo::key key;
    bool done = false;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_msg_status_t status = RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
    std::size_t* outstanding = nullptr;
};

class kafka_sink_impl final : public sink {
  public:
    explicit kafka_sink_impl(sink_settings s) : s_(std::move(s)) {}
    ~kafka_sink_impl() override { close(); }

    status open(connector_context& ctx) override {
        register_metrics(adopt_context(ctx, key_, stop_, own_metrics_));
        fatal_ = false;

        kafka::common_options common = kafka::common_options_from(s_.values, key_);
        kafka::property_list own = {
            {"enable.idempotence", "true"},
            {"acks", "all"},
            {"message.timeout.ms", std::to_string(s_.delivery_timeout.count())},
            // Keeps the producer's queue to what a few batches need: bounded memory.
            {"queue.buffering.max.kbytes", "262144"},
        };
        if (s_.transactional_id)
            own.emplace_back("transactional.id", *s_.transactional_id);
        const auto props = kafka::librdkafka_properties(common, own);
        auto made = kafka::make_conf(props);
        if (!made)
            return made.error().wrap(fmt::format("kafka sink {}", key_));
        bootstrap_ = props.front().second;
        rd_kafka_conf_t* conf = made->release();
        rd_kafka_conf_set_opaque(conf, this);
        rd_kafka_conf_set_dr_msg_cb(conf, &kafka_sink_impl::on_delivery);
        rd_kafka_conf_set_error_cb(conf, &kafka_sink_impl::on_error);
        char errstr[512];
        rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (rk_ == nullptr) {
            rd_kafka_conf_destroy(conf);
            return error(errc::invalid_argument, retry_class::fatal,
                         fmt::format("kafka sink {}: {}", key_, errstr));
        }
        // The broker must answer once: a wrong address fails here, not at the first write.
        const rd_kafka_metadata_t* md = nullptr;
        auto e =
            rd_kafka_metadata(rk_, 0, nullptr, &md, static_cast<int>(s_.connect_timeout.count()));
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            close();
            return kafka_error(
                       e, fmt::format("kafka sink {}: no broker answered at {}", key_, bootstrap_))
                .with_retry(retry_class::retryable);
        }
        rd_kafka_metadata_destroy(md);
        if (s_.transactional_id) {
            rd_kafka_error_t* te =
                rd_kafka_init_transactions(rk_, static_cast<int>(s_.connect_timeout.count()));
            if (te != nullptr) {
                auto err = txn_error(te, "init_transactions");
                close();
                return err;
            }
            // init_transactions fenced an earlier instance and ended its open transaction: the
            // offsets topic now holds exactly what committed transactions wrote.
            auto st = load_offsets(common);
            if (!st) {
                close();
                return st.error().wrap(
                    fmt::format("kafka sink {}: offsets topic '{}'", key_, s_.offsets_topic));
            }
        }
        spdlog::info("kafka sink {}: producing to {} (idempotent{}); librdkafka {}: {}", key_,
                     bootstrap_, s_.transactional_id ? ", transactional" : "",
                     kafka::librdkafka_version(), kafka::describe(props));
        return ok();
    }

    void close() override {
        if (rk_ == nullptr)
            return;
        // Records still queued (a stop while the broker was down) are purged, so that no
        // delivery report refers to a slot of a write that returned.
        rd_kafka_flush(rk_, 2000);
        rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(rk_, 1000);
        for (auto& [name, rkt] : topics_)
            rd_kafka_topic_destroy(rkt);
        topics_.clear();
        rd_kafka_destroy(rk_);
        rk_ = nullptr;
        slots_.clear();
        outstanding_ = 0;
    }

    bool idempotent() const override { return false; }

    result<write_outcome> write(const sink_batch& b) override {
        write_outcome out;
        const auto& msgs = b.messages->messages;
        if (msgs.empty())
            return out;
        if (rk_ == nullptr)
            return fail(errc::failed_precondition, "kafka sink: write before open");
        if (fatal_) {
            return error(errc::unavailable, retry_class::retryable,
                         fmt::format("kafka sink {}: the producer hit a fatal error: {}", key_,
                                     fatal_text_));
        }
        // Records of a write that a stop ended may still be in flight: settle them first (their
        // slots must outlive their delivery reports).
        if (outstanding_ > 0) {
            TRIB_TRY(wait_all());
            remember_delivered();
        }
        if (s_.transactional_id)
            return write_transaction(b);
        memo_.prepare(b);

        // 1. Build and produce every record not delivered by an earlier attempt of this batch.
        slots_.clear();
        outstanding_ = 0;
        std::vector<std::size_t> produced;
        produced.reserve(msgs.size());
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            if (memo_.delivered(msgs[i])) {
                m_.settled.skipped->inc();
                continue;
            }
            auto rec = build_record(s_.rec, b, msgs[i]);
            if (!rec) {
                out.rejected.push_back(message_error{i, rec.error()});
                continue;
            }
            bool record_fault = false;
            auto st = produce(*rec, msgs[i], i, record_fault);
            if (!st) {
                if (record_fault) {
                    out.rejected.push_back(message_error{i, st.error()});
                    continue;
                }
                // A failure of the producer, not of this record: settle what is in flight,
                // remember it, and fail the batch.
                (void)wait_all();  // the batch fails anyway; what did land is remembered
                remember_delivered();
                return st.error();
            }
            produced.push_back(i);
        }

        // 2. Serve delivery reports until every record is settled.
        auto w = wait_all();
        if (!w) {
            remember_delivered();
            return w.error();
        }

        // 3. Collate.
        std::optional<error> failure;
        for (auto& sl : slots_) {
            if (sl.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                m_.settled.delivered->inc();
                continue;
            }
            error e = kafka_error(sl.err, "delivery");
            switch (fate_of(sl.err)) {
                case fate::reject:
                    m_.settled.rejected->inc();
                    out.rejected.push_back(message_error{sl.index, std::move(e)});
                    break;
                case fate::reopen:
                    fatal_ = true;
                    fatal_text_ = e.message();
                    failure = error(errc::unavailable, retry_class::retryable, e.message(),
                                    e.vendor_code());
                    break;
                case fate::retry:
                    if (!failure)
                        failure = std::move(e);
                    break;
            }
        }
        if (failure) {
            remember_delivered();
            return failure->wrap(fmt::format("kafka sink {}", key_));
        }
        sort_rejected(out);
        return out;
    }

  private:
    struct metric_set {
        settled_counters settled;
        counter* queue_full = nullptr;
        counter* transactions = nullptr;
    };

    void register_metrics(metrics_registry& r) {
        const metric_labels base{{"connector", key_}};
        m_.settled = settled_counters::make(
            r, "trib_kafka_sink_records_total",
            "Records the Kafka sink settled, by outcome (skipped_duplicate: delivered by an "
            "earlier attempt of the batch, not sent again).",
            base);
        m_.queue_full = &r.counter("trib_kafka_sink_queue_full_total",
                                   "Times the producer queue was full and the sink waited.", base);
        m_.transactions = &r.counter("trib_kafka_sink_transactions_total",
                                     "Transactions the Kafka sink committed.", base);
    }

    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
        auto* sl = static_cast<slot*>(m->_private);
        if (sl == nullptr)
            return;
        sl->done = true;
        sl->err = m->err;
        sl->status = rd_kafka_message_status(m);
        if (sl->outstanding != nullptr && *sl->outstanding > 0)
            --*sl->outstanding;
    }

    static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
        auto* self = static_cast<kafka_sink_impl*>(opaque);
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            char buf[512];
            rd_kafka_fatal_error(rk, buf, sizeof buf);
            self->fatal_ = true;
            self->fatal_text_ = buf;
            spdlog::error("kafka sink {}: fatal producer error: {}", self->key_, buf);
            return;
        }
        // Broker down, all brokers down, ...: librdkafka reconnects by itself.
        spdlog::warn("kafka sink {}: {} ({})", self->key_, reason,
                     rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
    }

    rd_kafka_topic_t* topic_handle(const std::string& name) {
        auto it = topics_.find(name);
        if (it != topics_.end())
            return it->second;
        if (topics_.size() >= 10000) {
            // A template fanning out to very many topics: keep the cache bounded.
            for (auto& [n, t] : topics_)
                rd_kafka_topic_destroy(t);
            topics_.clear();
        }
        rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
        if (t != nullptr)
            topics_.emplace(name, t);
        return t;
    }

    /// Produces one record; waits while the producer queue is full. A fatal error is the
    /// record's; anything else is the producer's.
    status produce(const record& r, const message& m, std::size_t index, bool& record_fault) {
        record_fault = false;
        rd_kafka_topic_t* rkt = topic_handle(r.topic);
        if (rkt == nullptr)
            return kafka_error(rd_kafka_last_error(), fmt::format("topic '{}'", r.topic));
        slots_.push_back(slot{index, sink_memo::key_of(m), false, RD_KAFKA_RESP_ERR_NO_ERROR,
                              RD_KAFKA_MSG_STATUS_NOT_PERSISTED, &outstanding_});
        slot* sl = &slots_.back();
        for (;;) {
            rd_kafka_headers_t* hdrs = nullptr;
            if (!r.headers.empty()) {
                hdrs = rd_kafka_headers_new(r.headers.size());
                for (const auto& [k, v] : r.headers) {
                    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                                        static_cast<ssize_t>(v.size()));
                }
            }
            // rd_kafka_produceva, not the producev macros (GNU statement expressions). The
            // payload is copied: a stop may end the write while the record still waits for a
            // broker, and the batch's memory does not outlive the write.
            rd_kafka_vu_t vu[8];
            std::size_t n = 0;
            vu[n].vtype = RD_KAFKA_VTYPE_RKT;
            vu[n++].u.rkt = rkt;
            vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
            vu[n++].u.i32 = r.partition;
            vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
            vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
            vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
            vu[n].u.mem.ptr = const_cast<char*>(m.payload.data());
            vu[n++].u.mem.size = m.payload.size();
            if (r.key) {  // absent: a null key
                vu[n].vtype = RD_KAFKA_VTYPE_KEY;
                vu[n].u.mem.ptr = const_cast<char*>(r.key->data());
                vu[n++].u.mem.size = r.key->size();
            }
            vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
            vu[n++].u.i64 = r.timestamp_ms;
            if (hdrs != nullptr) {
                vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
                vu[n++].u.headers = hdrs;
            }
            vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
            vu[n++].u.ptr = sl;
            rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
            if (rd_kafka_error_t* pe = rd_kafka_produceva(rk_, vu, n)) {
                e = rd_kafka_error_code(pe);
                rd_kafka_error_destroy(pe);
            }
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                ++outstanding_;
                return ok();
            }
            if (hdrs != nullptr)
                rd_kafka_headers_destroy(hdrs);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                m_.queue_full->inc();
                rd_kafka_poll(rk_, 50);
                if (stop_.stop_requested()) {
                    slots_.pop_back();
                    return fail(errc::cancelled, "kafka sink: stopped while the queue was full");
                }
                continue;
            }
            slots_.pop_back();
            if (e == RD_KAFKA_RESP_ERR__FATAL) {
                fatal_ = true;
                return error(errc::unavailable, retry_class::retryable,
                             "kafka sink: the producer hit a fatal error");
            }
            error err = kafka_error(e, "produce", true);
            if (fate_of(e, true) == fate::reject) {
                m_.settled.rejected->inc();
                record_fault = true;
            }
            return err;
        }
    }

    /// Serves delivery reports until nothing is outstanding; stops early (errc::cancelled) when
    /// the runtime stops the connector, or on a fatal producer error.
    status wait_all() {
        while (outstanding_ > 0) {
            rd_kafka_poll(rk_, 100);
            if (outstanding_ == 0)
                break;
            if (stop_.stop_requested())
                return fail(errc::cancelled, "kafka sink: stopped while records were in flight");
            if (fatal_) {
                return error(errc::unavailable, retry_class::retryable,
                             "kafka sink: the producer hit a fatal error: " + fatal_text_);
            }
        }
        return ok();
    }

    /// After a failed write: the records of this batch the broker did take are not produced
    /// again when the runtime retries the batch.
    void remember_delivered() {
        for (const auto& sl : slots_) {
            if (sl.done && sl.err == RD_KAFKA_RESP_ERR_NO_ERROR)
                memo_.remember(sl.key);
        }
    }

    /// A batch as one transaction: everything lands or nothing does. A record refused for good
    /// aborts the attempt; the batch is then written again without it.
    result<write_outcome> write_transaction(const sink_batch& b) {
        write_outcome out;
        const auto& msgs = b.messages->messages;
        const std::string okey = fmt::format("{}/{}/{}/{}", key_, b.stream, b.topic, b.partition);
        std::optional<std::uint64_t> done;
        if (auto it = offsets_.find(okey); it != offsets_.end())
            done = it->second;
        std::uint64_t batch_max = 0;
        for (const auto& m : msgs)
            batch_max = std::max(batch_max, m.offset);
        if (done && batch_max <= *done) {
            // A replay after a crash: a committed transaction holds the whole batch already.
            m_.settled.skipped->inc(msgs.size());
            return out;
        }
        std::vector<bool> excluded(msgs.size(), false);
        std::vector<record> recs;
        std::vector<std::size_t> idx;
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            if (done && msgs[i].offset <= *done) {
                m_.settled.skipped->inc();
                continue;
            }
            auto rec = build_record(s_.rec, b, msgs[i]);
            if (!rec) {
                out.rejected.push_back(message_error{i, rec.error()});
                excluded[i] = true;
                continue;
            }
            recs.push_back(std::move(*rec));
            idx.push_back(i);
        }
        for (int attempt = 0; attempt < 3; ++attempt) {
            if (auto* te = rd_kafka_begin_transaction(rk_))
                return txn_error(te, "begin_transaction");
            slots_.clear();
            outstanding_ = 0;
            bool refused = false;
            for (std::size_t k = 0; k < recs.size(); ++k) {
                if (excluded[idx[k]])
                    continue;
                bool record_fault = false;
                auto st = produce(recs[k], msgs[idx[k]], idx[k], record_fault);
                if (!st) {
                    if (record_fault) {
                        out.rejected.push_back(message_error{idx[k], st.error()});
                        excluded[idx[k]] = true;
                        continue;
                    }
                    abort_transaction();
                    return st.error();
                }
            }
            // The batch's last Iggy offset, in the same transaction as its records.
            record off;
            off.topic = s_.offsets_topic;
            off.partition = 0;
            off.key = okey;
            const std::string off_value = std::to_string(batch_max);
            message off_msg;
            off_msg.payload = off_value;
            off_msg.offset = batch_max;
            bool off_fault = false;
            auto ost = produce(off, off_msg, offsets_slot, off_fault);
            if (!ost) {
                abort_transaction();
                error e = ost.error();
                return e.with_retry(retry_class::retryable);
            }
            auto w = wait_all();
            if (!w) {
                abort_transaction();
                return w.error();
            }
            std::optional<error> failure;
            for (auto& sl : slots_) {
                if (sl.err == RD_KAFKA_RESP_ERR_NO_ERROR)
                    continue;
                if (sl.index == offsets_slot) {
                    if (!failure) {
                        failure = kafka_error(sl.err, "offsets record");
                        failure->with_retry(retry_class::retryable);
                    }
                    continue;
                }
                if (fate_of(sl.err) == fate::reject) {
                    out.rejected.push_back(
                        message_error{sl.index, kafka_error(sl.err, "delivery")});
                    excluded[sl.index] = true;
                    refused = true;
                } else if (!failure) {
                    failure = kafka_error(sl.err, "delivery");
                }
            }
            if (failure || refused) {
                abort_transaction();
                if (failure)
                    return failure->wrap(fmt::format("kafka sink {}", key_));
                continue;  // again without the refused records
            }
            TRIB_TRY(commit_transaction());
            offsets_[okey] = batch_max;
            m_.transactions->inc();
            m_.settled.delivered->inc(slots_.size() - 1);
            m_.settled.rejected->inc(out.rejected.size());
            std::sort(
                out.rejected.begin(), out.rejected.end(),
                [](const message_error& a, const message_error& c) { return a.index < c.index; });
            return out;
        }
        return error(errc::unavailable, retry_class::retryable,
                     "kafka sink: the transaction kept being refused");
    }

    /// Commits, retrying while the broker is away (a stop ends the wait: the transaction is
    /// then aborted by the next instance's init_transactions, and the batch comes again).
    status commit_transaction() {
        for (;;) {
            rd_kafka_error_t* te = rd_kafka_commit_transaction(rk_, 5000);
            if (te == nullptr)
                return ok();
            if (rd_kafka_error_is_retriable(te) && !stop_.stop_requested()) {
                rd_kafka_error_destroy(te);
                continue;
            }
            return txn_error(te, "commit_transaction");
        }
    }

    /// Reads the offsets topic (read_committed) into offsets_: the last Iggy offset of every
    /// partition this connector wrote in a committed transaction.
    status load_offsets(const kafka::common_options& common) {
        offsets_.clear();
        // The topic: compacted, one partition (created if missing).
        {
            char err[512];
            rd_kafka_NewTopic_t* nt =
                rd_kafka_NewTopic_new(s_.offsets_topic.c_str(), 1, -1, err, sizeof err);
            if (nt == nullptr)
                return fail(errc::invalid_argument, err);
            rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
            rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
            rd_kafka_CreateTopics(rk_, &nt, 1, nullptr, q);
            rd_kafka_event_t* ev =
                rd_kafka_queue_poll(q, static_cast<int>(s_.connect_timeout.count()));
            status st = fail(errc::timeout, "no answer to CreateTopics");
            if (ev != nullptr) {
                std::size_t n = 0;
                const rd_kafka_topic_result_t** tr =
                    rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
                rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR && n == 1)
                    e = rd_kafka_topic_result_error(tr[0]);
                st = e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
                         ? ok()
                         : status(kafka::from_code(e, "create"));
                rd_kafka_event_destroy(ev);
            }
            rd_kafka_queue_destroy(q);
            rd_kafka_NewTopic_destroy(nt);
            TRIB_TRY(st);
        }
        const auto props =
            kafka::librdkafka_properties(common, {{"group.id", "tributary-sink-offsets-" + key_},
                                                  {"enable.auto.commit", "false"},
                                                  {"isolation.level", "read_committed"},
                                                  {"enable.partition.eof", "true"}});
        TRIB_ASSIGN_OR_RETURN(auto conf, kafka::make_conf(props));
        char err[512];
        kafka::handle_ptr c(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
        if (!c)
            return fail(errc::invalid_argument, err);
        (void)conf.release();
        rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(list, s_.offsets_topic.c_str(), 0)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(c.get(), list);
        rd_kafka_topic_partition_list_destroy(list);
        const std::string prefix = key_ + "/";
        const auto deadline = std::chrono::steady_clock::now() + 4 * s_.connect_timeout;
        status st = ok();
        for (bool eof = false; !eof;) {
            if (stop_.stop_requested()) {
                st = fail(errc::cancelled, "stopped while reading");
                break;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                st = fail(errc::timeout, "not read to its end in time");
                break;
            }
            rd_kafka_message_t* m = rd_kafka_consumer_poll(c.get(), 200);
            if (m == nullptr)
                continue;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                eof = true;
            } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->key != nullptr &&
                       m->payload != nullptr) {
                std::string_view k(static_cast<const char*>(m->key), m->key_len);
                std::string_view v(static_cast<const char*>(m->payload), m->len);
                auto off = parse_u64(v);
                if (k.starts_with(prefix) && off)
                    offsets_[std::string(k)] = *off;
            } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                       kafka::from_code(m->err, "").retry() == retry_class::fatal) {
                st = kafka::from_code(m->err, "read");
                rd_kafka_message_destroy(m);
                break;
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(c.get());
        if (st)
            spdlog::info("kafka sink {}: {} partition offset(s) recorded in '{}'", key_,
                         offsets_.size(), s_.offsets_topic);
        return st;
    }

    void abort_transaction() {
        if (auto* te = rd_kafka_abort_transaction(rk_, 30000)) {
            spdlog::warn("kafka sink {}: abort_transaction: {}", key_, rd_kafka_error_string(te));
            if (rd_kafka_error_is_fatal(te))
                fatal_ = true;
            rd_kafka_error_destroy(te);
        }
    }

    error txn_error(rd_kafka_error_t* te, std::string_view what) {
        const auto code = rd_kafka_error_code(te);
        const bool fatal = rd_kafka_error_is_fatal(te) != 0;
        const bool abort = rd_kafka_error_txn_requires_abort(te) != 0;
        error e = kafka_error(
            code, fmt::format("kafka sink {}: {}: {}", key_, what, rd_kafka_error_string(te)));
        rd_kafka_error_destroy(te);
        if (abort)
            abort_transaction();
        if (fatal) {
            fatal_ = true;
            fatal_text_ = e.message();
            return error(errc::unavailable, retry_class::retryable, e.message(), e.vendor_code());
        }
        if (abort && e.code() != errc::permission_denied && e.code() != errc::unauthenticated)
            e.with_retry(retry_class::retryable);
        return e;
    }

    sink_settings s_;
    std::string key_;
    std::string bootstrap_;
    std::stop_token stop_;
    std::unique_ptr<metrics_registry> own_metrics_;
    metric_set m_;
    rd_kafka_t* rk_ = nullptr;
    std::unordered_map<std::string, rd_kafka_topic_t*> topics_;
    /// Transactions: the last Iggy offset per "<key>/<stream>/<topic>/<partition>" committed.
    std::unordered_map<std::string, std::uint64_t> offsets_;
    static constexpr std::size_t offsets_slot = static_cast<std::size_t>(-1);
    std::deque<slot> slots_;  // deque: a slot never moves while its record is in flight
    std::size_t outstanding_ = 0;
    bool fatal_ = false;
    std::string fatal_text_;
    sink_memo memo_;
};

}  // namespace

result<std::unique_ptr<sink>> make_kafka_sink(const config::values& v) {
    sink_settings s;
    s.values = v;
    auto t = topic_template::parse(v.str("topic"));
    if (!t)
        return t.error().wrap("topic");
    s.rec.topic = std::move(*t);
    s.rec.key = parse_key_source(v.str("key_from")).value_or(key_source::none);
    if (s.rec.key == key_source::header)
        s.rec.key_name = v.str("key_header");
    else if (s.rec.key == key_source::field)
        s.rec.key_name = v.opt_str("key_field").value_or("");
    s.rec.partition =
        parse_partition_source(v.str("partition_from")).value_or(partition_source::key);
    s.rec.partition_header = v.str("partition_header");
    s.rec.timestamp =
        parse_timestamp_source(v.str("timestamp_from")).value_or(timestamp_source::origin);
    s.rec.timestamp_header = v.str("timestamp_header");
    s.rec.include_headers = v.boolean("include_headers");
    s.rec.exclude_headers = v.list("exclude_headers");
    s.transactional_id = v.opt_str("transactional_id");
    s.offsets_topic = v.str("offsets_topic");
    s.delivery_timeout = v.duration("delivery_timeout");
    s.connect_timeout = v.duration("connect_timeout");
    return std::unique_ptr<sink>(std::make_unique<kafka_sink_impl>(std::move(s)));
}

}  // namespace trib::connectors
