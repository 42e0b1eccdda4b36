// The Kafka source: a librdkafka consumer in a group with cooperative-sticky rebalancing. poll()
// turns records into Iggy messages (record.cpp) and remembers the offsets of each batch
// (commit_tracker); ack() commits the acknowledged run per partition; a revoke commits what is
// acknowledged, never what is in flight. Threads: poll() and the rebalance callback (served
// inside rd_kafka_consumer_poll) run on the poll thread; ack()/nack() on the runtime's committer
// thread; mu_ guards the tracker and the pending rewinds between them.

#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "connectors/kafka/commit_tracker.h"
#include "connectors/kafka/common.h"
#include "connectors/kafka/errors.h"
#include "connectors/kafka/kafka.h"
#include "connectors/kafka/record.h"
#include "connectors/kafka/source_options.h"
#include "core/log.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using kafka::partition_offset;
using kafka::partition_range;
using kafka::topic_partition;

struct list_deleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const {
        if (l != nullptr)
            rd_kafka_topic_partition_list_destroy(l);
    }
};
using list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, list_deleter>;

list_ptr to_list(const std::vector<partition_offset>& offsets) {
    list_ptr l(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& o : offsets)
        rd_kafka_topic_partition_list_add(l.get(), o.tp.topic.c_str(), o.tp.partition)->offset =
            o.offset;
    return l;
}

std::vector<topic_partition> from_list(const rd_kafka_topic_partition_list_t* l) {
    std::vector<topic_partition> out;
    for (int i = 0; l != nullptr && i < l->cnt; ++i)
        out.push_back({l->elems[i].topic, l->elems[i].partition});
    return out;
}

// The messages of one batch, destroyed together when the batch is (the payloads view them).
struct held_messages {
    std::vector<rd_kafka_message_t*> msgs;
    held_messages() = default;
    held_messages(const held_messages&) = delete;
    held_messages& operator=(const held_messages&) = delete;
    ~held_messages() {
        for (auto* m : msgs)
            rd_kafka_message_destroy(m);
    }
};

class kafka_source final : public source {
  public:
    explicit kafka_source(kafka::source_options o) : o_(std::move(o)) {}
    ~kafka_source() override { close(); }

    status open(connector_context& ctx,
                std::string_view /*state: offsets live in Kafka*/) override {
        close();
        key_ = ctx.key;
        // Routes first: the runtime needs the full list when open() returns.
        rules_.clear();
        route_cache_.clear();
        for (const auto& r : o_.routes) {
            compiled_rule c;
            c.match = r.match;
            c.route = ctx.add_route(r.dest);
            if (!r.match.empty() && r.match.front() == '^') {
                RE2::Options opts;
                opts.set_log_errors(false);
                c.re = std::make_shared<RE2>(r.match, opts);
                if (!c.re->ok())
                    return fail(errc::invalid_argument, "kafka source " + key_ + ": routes: \"" +
                                                            r.match + "\": " + c.re->error());
            }
            rules_.push_back(std::move(c));
        }
        auto common = kafka::common_options_from(o_.raw, ctx.key);
        if (common.sasl_mechanism.rfind("SCRAM", 0) == 0 && !kafka::scram_works_with_kafka4()) {
            spdlog::warn(
                "kafka source {}: librdkafka {} cannot log in with SCRAM to Kafka 4.x brokers "
                "(fixed in 2.6.1, confluentinc/librdkafka#4895); Kafka 3.x and Redpanda work",
                key_, kafka::librdkafka_version());
        }
        std::string group = o_.group_id;
        for (auto p = group.find("{key}"); p != std::string::npos; p = group.find("{key}"))
            group.replace(p, 5, ctx.key);
        kafka::property_list own = {
            {"group.id", group},
            {"partition.assignment.strategy", "cooperative-sticky"},
            {"enable.auto.commit", "false"},
            {"enable.auto.offset.store", "false"},
            {"enable.partition.eof", "false"},
            {"isolation.level", o_.read_committed ? "read_committed" : "read_uncommitted"},
            {"auto.offset.reset",
             o_.start == kafka::start_position::earliest ? "earliest" : "latest"},
            {"session.timeout.ms", std::to_string(o_.session_timeout.count())},
            // Heartbeats must come well inside the session (librdkafka's default is 3 s).
            {"heartbeat.interval.ms",
             std::to_string(std::max<std::int64_t>(100, o_.session_timeout.count() / 3))},
            // librdkafka >= 2.1 waits fetch.queue.backoff.ms (1 s) before the next fetch once
            // its queue holds queued.min.messages (100,000): with small records the consumer
            // then idles most of the time (bench/kafka: 100 B records at 0.26-0.36 of Kafka's
            // consumer-perf-test). `properties` may set it back.
            {"fetch.queue.backoff.ms", "10"},
        };
        const auto props = kafka::librdkafka_properties(common, own);
        TRIB_ASSIGN_OR_RETURN(auto conf, kafka::make_conf(props));
        rd_kafka_conf_set_opaque(conf.get(), this);
        rd_kafka_conf_set_rebalance_cb(conf.get(), &kafka_source::on_rebalance);
        rd_kafka_conf_set_error_cb(conf.get(), &kafka_source::on_error);
        rd_kafka_conf_set_log_cb(conf.get(), &kafka_source::on_log);
        rd_kafka_conf_set_offset_commit_cb(conf.get(), &kafka_source::on_commit);
        char err[512];
        rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
        if (rk == nullptr)
            return fail(errc::invalid_argument, "kafka source " + key_ + ": " + err);
        (void)conf.release();  // rd_kafka_new owns it now
        rk_.reset(rk);
        spdlog::info("kafka source {}: librdkafka {}, {}", key_, kafka::librdkafka_version(),
                     kafka::describe(props));
        // The cluster id names the records in their message ids, and asking for it checks that
        // the brokers answer (and accept our credentials) before the runtime counts us open.
        // Until the consumer queue takes over, rd_kafka_poll serves the error callback, so a
        // refused login ends the wait at once.
        {
            std::lock_guard lk(err_mu_);
            last_error_.reset();
        }
        char* cid = nullptr;
        const auto until = std::chrono::steady_clock::now() + 15s;
        while (cid == nullptr && std::chrono::steady_clock::now() < until &&
               !ctx.stop.stop_requested()) {
            cid = rd_kafka_clusterid(rk, 500);
            rd_kafka_poll(rk, 0);
            std::lock_guard lk(err_mu_);
            if (cid == nullptr && last_error_ && last_error_->retry() == retry_class::fatal)
                break;
        }
        if (cid == nullptr) {
            error e = last_error_or(errc::unavailable, "no broker answered within 15 s");
            rk_.reset();
            return e.wrap("kafka source " + key_ + ": connecting to " +
                          kafka::describe({props.front()}));
        }
        rd_kafka_poll_set_consumer(rk);
        cluster_id_ = cid;
        rd_kafka_mem_free(rk, cid);
        list_ptr topics(rd_kafka_topic_partition_list_new(static_cast<int>(o_.topics.size())));
        for (const auto& t : o_.topics)
            rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
        if (rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics.get()); e != 0) {
            rk_.reset();
            return kafka::from_code(e, "kafka source " + key_ + ": subscribe");
        }
        std::lock_guard lk(mu_);
        tracker_ = kafka::commit_tracker{};
        rewinds_.clear();
        carry_.clear();
        seq_ = 0;
        closing_ = false;
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        if (!rk_)
            return fail(errc::failed_precondition, "kafka source: poll before open");
        if (auto fe = fatal_error())
            return *fe;
        apply_rewinds();
        maybe_commit();
        source_batch out;
        auto held = std::make_shared<held_messages>();
        std::vector<topic_partition> msg_tp;  // the partition of each message (for the filter)
        std::vector<topic_partition> rej_tp;
        const auto deadline = std::chrono::steady_clock::now() + max_wait;
        std::size_t records = 0;
        while (records < o_.max_batch) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            // Wait for the first record only; then take what is there already.
            int wait_ms =
                records == 0 ? static_cast<int>(std::max<std::int64_t>(0, left.count())) : 0;
            rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), wait_ms);
            if (m == nullptr) {
                if (records > 0 || std::chrono::steady_clock::now() >= deadline)
                    break;
                continue;
            }
            if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                error e = kafka::from_code(m->err, "kafka source " + key_);
                if (m->rkt != nullptr)
                    e = e.wrap(std::string(rd_kafka_topic_name(m->rkt)) + " [" +
                               std::to_string(m->partition) + "]");
                rd_kafka_message_destroy(m);
                log::limited(spdlog::level::warn, "kafka source " + key_ + " consumer error", "{}",
                             e.to_string());
                if (auto fe = fatal_error())
                    return *fe;
                continue;
            }
            held->msgs.push_back(m);
            ++records;
            convert(m, out, msg_tp, rej_tp);
        }
        out.batch.hold(held);
        finish(out, msg_tp, rej_tp);
        return out;
    }

    // Only bookkeeping: the poll thread commits (maybe_commit), so that commits never race the
    // rebalance callback, which runs on that thread too.
    void ack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        (void)tracker_.ack(seq);
    }

    void nack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        for (auto& r : tracker_.nack(seq))
            rewinds_[r.tp] = r.offset;
    }

    void close() override {
        if (!rk_)
            return;
        std::vector<partition_offset> last;
        {
            std::lock_guard lk(mu_);
            closing_ = true;
            last = tracker_.uncommitted();
            for (const auto& o : last)
                tracker_.committed(o.tp, o.offset);
        }
        if (!last.empty()) {
            auto l = to_list(last);
            if (auto e = rd_kafka_commit(rk_.get(), l.get(), 0); e != 0)
                spdlog::warn("kafka source {}: final commit: {}", key_, rd_kafka_err2str(e));
        }
        // Leaves the group (the revoke in on_rebalance commits what was acknowledged since).
        rd_kafka_consumer_close(rk_.get());
        rk_.reset();
    }

  private:
    struct compiled_rule {
        std::string match;
        std::shared_ptr<RE2> re;  // for a ^regex match
        std::uint16_t route = 0;
    };
    struct carry_range {
        std::int64_t first = 0;
        std::int64_t next = 0;
    };

    std::uint16_t route_for(std::string_view topic) {
        auto it = route_cache_.find(std::string(topic));
        if (it != route_cache_.end())
            return it->second;
        std::uint16_t route = 0;
        for (const auto& r : rules_) {
            const bool hit = r.re ? RE2::PartialMatch(topic, *r.re) : r.match == topic;
            if (hit) {
                route = r.route;
                break;
            }
        }
        if (route_cache_.size() < 100'000)
            route_cache_.emplace(std::string(topic), route);
        return route;
    }

    void convert(rd_kafka_message_t* m, source_batch& out, std::vector<topic_partition>& msg_tp,
                 std::vector<topic_partition>& rej_tp) {
        kafka::record_view r;
        r.topic = rd_kafka_topic_name(m->rkt);
        r.partition = m->partition;
        r.offset = m->offset;
        if (m->key != nullptr)
            r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
        if (m->payload != nullptr)
            r.value = std::string_view(static_cast<const char*>(m->payload), m->len);
        rd_kafka_timestamp_type_t tt = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        r.timestamp_ms = rd_kafka_message_timestamp(m, &tt);
        rd_kafka_headers_t* hdrs = nullptr;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != nullptr) {
            const char* name = nullptr;
            const void* val = nullptr;
            size_t size = 0;
            for (size_t i = 0;
                 rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
                 ++i) {
                std::optional<std::string_view> v;
                if (val != nullptr)
                    v = std::string_view(static_cast<const char*>(val), size);
                r.headers.emplace_back(name, v);
            }
        }
        topic_partition tp{std::string(r.topic), r.partition};
        auto& c = carry_[tp];
        if (c.next == 0 && c.first == 0)
            c.first = r.offset;
        c.first = std::min(c.first, r.offset);
        c.next = std::max(c.next, r.offset + 1);

        auto res = kafka::map_record(r, cluster_id_, o_.mapping);
        switch (res.what) {
            case kafka::mapped::kind::message:
                res.msg.route = route_for(r.topic);
                out.batch.messages.push_back(std::move(res.msg));
                msg_tp.push_back(std::move(tp));
                break;
            case kafka::mapped::kind::rejected: {
                source_reject rej;
                rej.original.payload = r.value.value_or(std::string_view{});
                rej.original.route = route_for(r.topic);
                rej.original.id = kafka::record_id(cluster_id_, r.topic, r.partition, r.offset);
                if (r.key)
                    rej.original.key = std::string(*r.key);
                rej.err = std::move(res.why);
                out.rejected.push_back(std::move(rej));
                rej_tp.push_back(std::move(tp));
                break;
            }
            case kafka::mapped::kind::skipped:
                break;
        }
    }

    // Under the lock: drops records of partitions a nack rewound while this poll ran (they are
    // read again after the seek), gives the batch its sequence number and tells the tracker its
    // offsets. A batch that ends up empty keeps its ranges for the next one (skipped records
    // are committed with the next batch of their partition).
    void finish(source_batch& out, const std::vector<topic_partition>& msg_tp,
                const std::vector<topic_partition>& rej_tp) {
        std::lock_guard lk(mu_);
        if (!rewinds_.empty()) {
            auto drop = [&](auto& v, const std::vector<topic_partition>& tps) {
                std::size_t w = 0;
                for (std::size_t i = 0; i < v.size(); ++i) {
                    if (rewinds_.count(tps[i]) == 0)
                        v[w++] = std::move(v[i]);
                }
                v.resize(w);
            };
            drop(out.batch.messages, msg_tp);
            drop(out.rejected, rej_tp);
            for (const auto& [tp, off] : rewinds_)
                carry_.erase(tp);
        }
        if (out.batch.messages.empty() && out.rejected.empty())
            return;
        const std::uint64_t seq = ++seq_;
        std::vector<partition_range> ranges;
        for (const auto& [tp, c] : carry_)
            ranges.push_back({tp, c.first, c.next});
        carry_.clear();
        tracker_.add(seq, ranges);
    }

    // Seeks the partitions a nack rewound (poll thread).
    void apply_rewinds() {
        std::map<topic_partition, std::int64_t> todo;
        {
            std::lock_guard lk(mu_);
            todo.swap(rewinds_);
        }
        if (todo.empty())
            return;
        std::vector<partition_offset> offs;
        for (const auto& [tp, off] : todo)
            offs.push_back({tp, off});
        auto l = to_list(offs);
        if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_.get(), l.get(), 10000)) {
            spdlog::warn("kafka source {}: seek after nack: {}", key_, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        for (int i = 0; i < l->cnt; ++i) {
            if (l->elems[i].err != 0)
                spdlog::warn("kafka source {}: seek {} [{}]: {}", key_, l->elems[i].topic,
                             l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
        }
    }

    // Poll thread: commits what Iggy acknowledged, at most once per commit_interval. Fewer
    // commits than acks: a commit that meets a rebalance fails with a stale generation, and
    // librdkafka then counts the assignment as lost (the partitions are read again).
    void maybe_commit() {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_commit_ < o_.commit_interval)
            return;
        std::vector<partition_offset> offsets;
        {
            std::lock_guard lk(mu_);
            offsets = tracker_.uncommitted();
        }
        if (offsets.empty())
            return;
        last_commit_ = now;
        auto l = to_list(offsets);
        rd_kafka_resp_err_t e = rd_kafka_commit(rk_.get(), l.get(), 1);
        if (e != 0) {
            log::limited(spdlog::level::warn, "kafka source " + key_ + " commit",
                         "kafka source {}: commit: {}", key_, rd_kafka_err2str(e));
            return;
        }
        // tracker_.committed() follows in on_commit once the broker confirmed: a commit lost in
        // a rebalance is then made again at the revoke.
    }

    // Start positions for partitions the group has no offset for, when starting by timestamp.
    void resolve_timestamps(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* parts) {
        list_ptr committed(rd_kafka_topic_partition_list_copy(parts));
        if (rd_kafka_committed(rk, committed.get(), 10000) != 0)
            return;  // the reset policy (latest) applies
        list_ptr query(rd_kafka_topic_partition_list_new(parts->cnt));
        for (int i = 0; i < committed->cnt; ++i) {
            if (committed->elems[i].offset < 0)
                rd_kafka_topic_partition_list_add(query.get(), committed->elems[i].topic,
                                                  committed->elems[i].partition)
                    ->offset = o_.start_timestamp_ms;
        }
        if (query->cnt == 0)
            return;
        if (auto e = rd_kafka_offsets_for_times(rk, query.get(), 10000); e != 0) {
            spdlog::warn("kafka source {}: offsets for start_timestamp: {}", key_,
                         rd_kafka_err2str(e));
            return;
        }
        for (int i = 0; i < query->cnt; ++i) {
            auto* p = rd_kafka_topic_partition_list_find(parts, query->elems[i].topic,
                                                         query->elems[i].partition);
            if (p != nullptr && query->elems[i].err == 0)
                p->offset =
                    query->elems[i].offset >= 0 ? query->elems[i].offset : RD_KAFKA_OFFSET_END;
        }
    }

    void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                   rd_kafka_topic_partition_list_t* parts) {
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            if (o_.start == kafka::start_position::timestamp)
                resolve_timestamps(rk, parts);
            {
                std::lock_guard lk(mu_);
                for (const auto& tp : from_list(parts)) {
                    tracker_.assign(tp);
                    rewinds_.erase(tp);
                }
            }
            if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts)) {
                spdlog::error("kafka source {}: assign: {}", key_, rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
            spdlog::info("kafka source {}: {} partition(s) assigned", key_, parts->cnt);
            return;
        }
        // Revoked (or lost): commit what Iggy has, never what is in flight.
        std::vector<partition_offset> to_commit;
        {
            std::lock_guard lk(mu_);
            to_commit = tracker_.revoke(from_list(parts));
            for (const auto& tp : from_list(parts)) {
                rewinds_.erase(tp);
                carry_.erase(tp);
            }
        }
        if (!to_commit.empty() && !rd_kafka_assignment_lost(rk)) {
            auto l = to_list(to_commit);
            if (auto e = rd_kafka_commit(rk, l.get(), 0); e != 0)
                spdlog::warn("kafka source {}: commit at revoke: {}", key_, rd_kafka_err2str(e));
        }
        if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) {
            spdlog::error("kafka source {}: unassign: {}", key_, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        spdlog::info("kafka source {}: {} partition(s) revoked", key_, parts->cnt);
    }

    std::optional<error> fatal_error() {
        char buf[512];
        rd_kafka_resp_err_t e = rd_kafka_fatal_error(rk_.get(), buf, sizeof buf);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return std::nullopt;
        error out = kafka::from_code(e, "kafka source " + key_ + ": fatal: " + buf);
        out.with_retry(retry_class::fatal);
        return out;
    }

    error last_error_or(errc code, std::string text) {
        std::lock_guard lk(err_mu_);
        if (last_error_)
            return *last_error_;
        return error(code, std::move(text));
    }

    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* parts, void* opaque) {
        static_cast<kafka_source*>(opaque)->rebalance(rk, err, parts);
    }
    static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
        auto* self = static_cast<kafka_source*>(opaque);
        (void)rk;
        error e = kafka::from_code(static_cast<rd_kafka_resp_err_t>(err), reason);
        {
            // A refused login is followed by "all brokers down" in the same poll (librdkafka
            // 2.12 reports both at once): the fatal error must not be overwritten, or open()
            // waits its 15 s and names the wrong cause.
            std::lock_guard lk(self->err_mu_);
            if (!self->last_error_ || self->last_error_->retry() != retry_class::fatal ||
                e.retry() == retry_class::fatal)
                self->last_error_ = e;
        }
        log::limited(spdlog::level::warn, "kafka source " + self->key_ + " error",
                     "kafka source {}: {}", self->key_, e.to_string());
    }
    static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
        auto* self = static_cast<kafka_source*>(rd_kafka_opaque(rk));
        const auto lvl = level <= 3   ? spdlog::level::err
                         : level <= 4 ? spdlog::level::warn
                         : level <= 6 ? spdlog::level::info
                                      : spdlog::level::debug;
        log::limited(lvl, std::string("librdkafka ") + fac, "kafka source {}: librdkafka {}: {}",
                     self != nullptr ? self->key_ : std::string(), fac, buf);
    }
    static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* offsets, void* opaque) {
        auto* self = static_cast<kafka_source*>(opaque);
        if (offsets != nullptr) {
            std::lock_guard lk(self->mu_);
            for (int i = 0; i < offsets->cnt; ++i) {
                const auto& e = offsets->elems[i];
                if (e.err == 0 && e.offset >= 0)
                    self->tracker_.committed({e.topic, e.partition}, e.offset);
            }
        }
        if (err == 0 || err == RD_KAFKA_RESP_ERR__NO_OFFSET)
            return;
        log::limited(spdlog::level::warn, "kafka source " + self->key_ + " commit",
                     "kafka source {}: commit failed: {} (the records are read again after a "
                     "restart or rebalance)",
                     self->key_, rd_kafka_err2str(err));
    }

    kafka::source_options o_;
    std::string key_;
    std::string cluster_id_;
    kafka::handle_ptr rk_;
    std::vector<compiled_rule> rules_;
    std::unordered_map<std::string, std::uint16_t> route_cache_;  // poll thread

    std::mutex mu_;
    kafka::commit_tracker tracker_;
    std::map<topic_partition, std::int64_t> rewinds_;  // nacked: seek before reading on
    std::map<topic_partition, carry_range> carry_;     // offsets read, not yet in a batch
    std::uint64_t seq_ = 0;
    std::chrono::steady_clock::time_point last_commit_{};  // poll thread
    bool closing_ = true;  // until open() succeeds; ack() commits only while false

    std::mutex err_mu_;
    std::optional<error> last_error_;
};

}  // namespace

result<std::unique_ptr<source>> make_kafka_source(const config::values& v) {
    return std::unique_ptr<source>(std::make_unique<kafka_source>(kafka::source_options_from(v)));
}

}  // namespace trib::connectors
