// The Redis source. Threads: open()/poll()/close() on the runtime's poll thread use conn_;
// ack()/nack() come from its producer thread and use ack_conn_ (hiredis contexts are not
// thread-safe), both under ack_mu_; mu_ guards the in-flight records and the redelivery queue
// shared between the two threads.
//
// stream: XREADGROUP of the consumer's own pending entries first ("0": read before a crash, never
// acknowledged), then XAUTOCLAIM of entries other consumers left idle, then new entries (">").
// XACK after the ack of the batch. list: LMOVE to the processing list, LREM after the ack; the
// processing list is sent first on start. pubsub: SUBSCRIBE/PSUBSCRIBE, nothing to acknowledge.
// nack(): the batch's records are kept in memory and returned by the next poll.

#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "connectors/redis/client.h"
#include "connectors/redis/errors.h"
#include "connectors/redis/options.h"
#include "connectors/redis/redis.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using redis::reply_ptr;
using redis::source_mode;
using redis::stream_entry;
using clock_type = std::chrono::steady_clock;

// What one batch read: the entries (stream) or elements (list) to acknowledge after Iggy has it.
struct held_records {
    std::vector<stream_entry> entries;
    std::vector<std::string> elements;
    bool empty() const { return entries.empty() && elements.empty(); }
};

std::string seconds_text(std::chrono::milliseconds d) {
    const auto ms = std::max<std::int64_t>(d.count(), 1);
    return std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1);
}

class redis_source final : public source {
  public:
    explicit redis_source(redis::source_options o) : o_(std::move(o)) {}
    ~redis_source() override { close(); }

    status open(connector_context& ctx,
                std::string_view /*state: positions live in Redis*/) override {
        close();
        key_ = ctx.key;
        o_.conn.context = "redis source " + key_;
        group_ = redis::fill_names(o_.group, key_);
        consumer_ = redis::fill_names(o_.consumer, key_);
        if (o_.mode == source_mode::list)
            processing_ = redis::fill_names(o_.processing_key, key_, o_.keys.front());
        {
            std::lock_guard lk(mu_);
            inflight_.clear();
            inflight_ids_.clear();
            redeliver_.clear();
            seq_ = 0;
        }
        TRIB_TRY(connect());
        if (o_.mode != source_mode::pubsub) {
            std::lock_guard lk(ack_mu_);
            TRIB_ASSIGN_OR_RETURN(ack_conn_, redis::connection::connect(o_.conn));
        }
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        if (!conn_ || conn_->broken()) {
            conn_.reset();
            TRIB_TRY(connect());
        }
        source_batch out;
        held_records held;
        {
            std::lock_guard lk(mu_);
            if (!redeliver_.empty()) {
                held = std::move(redeliver_.front());
                redeliver_.pop_front();
            }
        }
        if (held.empty()) {
            switch (o_.mode) {
                case source_mode::stream:
                    TRIB_TRY(poll_stream(max_wait, held));
                    break;
                case source_mode::list:
                    TRIB_TRY(poll_list(max_wait, held));
                    break;
                case source_mode::pubsub:
                    TRIB_TRY(poll_pubsub(max_wait, out));
                    break;
            }
        }
        for (const auto& e : held.entries)
            out.batch.messages.push_back(redis::message_of(o_.entry, e, out.batch));
        for (const auto& el : held.elements) {
            message m;
            m.payload = out.batch.own(el);
            m.headers.push_back({"redis_key", value_kind::string, o_.keys.front()});
            out.batch.messages.push_back(std::move(m));
        }
        if (out.batch.empty())
            return out;
        std::lock_guard lk(mu_);
        ++seq_;
        if (!held.empty()) {
            for (const auto& e : held.entries)
                inflight_ids_.insert(e.key + '\0' + e.id);
            inflight_.emplace(seq_, std::move(held));
        }
        return out;
    }

    void ack(std::uint64_t seq) override {
        held_records h;
        {
            std::lock_guard lk(mu_);
            auto it = inflight_.find(seq);
            if (it == inflight_.end())
                return;
            h = std::move(it->second);
            inflight_.erase(it);
        }
        settle(h);
        std::lock_guard lk(mu_);
        for (const auto& e : h.entries)
            inflight_ids_.erase(e.key + '\0' + e.id);
    }

    void nack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        auto it = inflight_.find(seq);
        if (it == inflight_.end())
            return;
        redeliver_.push_back(std::move(it->second));
        inflight_.erase(it);
    }

    void close() override {
        conn_.reset();
        std::lock_guard lk(ack_mu_);
        ack_conn_.reset();
    }

  private:
    status connect() {
        TRIB_ASSIGN_OR_RETURN(conn_, redis::connection::connect(o_.conn));
        switch (o_.mode) {
            case source_mode::stream:
                if (o_.create_group) {
                    for (const auto& k : o_.keys) {
                        TRIB_ASSIGN_OR_RETURN(auto r,
                                              conn_->command({"XGROUP", "CREATE", k, group_,
                                                              o_.group_start_id, "MKSTREAM"}));
                        if (auto e = redis::reply_error(
                                r.get(), o_.conn.context + ": XGROUP CREATE " + k + " " + group_);
                            e && e->code() != errc::already_exists)
                            return unexpected(*e);
                    }
                }
                // After every (re)connect: our own pending entries first.
                history_.clear();
                for (const auto& k : o_.keys)
                    history_[k] = "0-0";
                claim_cursor_.clear();
                next_claim_ = clock_type::now();
                break;
            case source_mode::list:
                recover_ = true;
                break;
            case source_mode::pubsub: {
                std::size_t confirmations = 0;
                if (!o_.keys.empty()) {
                    std::vector<std::string_view> argv{"SUBSCRIBE"};
                    argv.insert(argv.end(), o_.keys.begin(), o_.keys.end());
                    conn_->append(argv);
                    confirmations += o_.keys.size();
                }
                if (!o_.patterns.empty()) {
                    std::vector<std::string_view> argv{"PSUBSCRIBE"};
                    argv.insert(argv.end(), o_.patterns.begin(), o_.patterns.end());
                    conn_->append(argv);
                    confirmations += o_.patterns.size();
                }
                for (std::size_t i = 0; i < confirmations; ++i) {
                    TRIB_ASSIGN_OR_RETURN(auto r, conn_->read());
                    if (auto e = redis::reply_error(r.get(), o_.conn.context + ": SUBSCRIBE"))
                        return unexpected(*e);
                }
                break;
            }
        }
        return ok();
    }

    bool in_flight(const stream_entry& e) {
        std::lock_guard lk(mu_);
        return inflight_ids_.count(e.key + '\0' + e.id) != 0;
    }

    // Keeps the entries to send; entries deleted while pending are acknowledged at once.
    void take(std::vector<stream_entry>& got, held_records& held) {
        held_records gone;
        for (auto& e : got) {
            if (in_flight(e))
                continue;
            if (e.deleted)
                gone.entries.push_back(std::move(e));
            else
                held.entries.push_back(std::move(e));
        }
        if (!gone.empty())
            settle(gone);
    }

    status poll_stream(std::chrono::milliseconds max_wait, held_records& held) {
        const std::string count = std::to_string(o_.count);
        if (!history_.empty()) {
            std::vector<std::string_view> argv{"XREADGROUP", "GROUP", group_,   consumer_,
                                               "COUNT",      count,   "STREAMS"};
            for (const auto& [k, id] : history_)
                argv.push_back(k);
            for (const auto& [k, id] : history_)
                argv.push_back(id);
            TRIB_ASSIGN_OR_RETURN(auto r, conn_->command(argv));
            if (auto e = redis::reply_error(r.get(), o_.conn.context + ": XREADGROUP (pending)"))
                return unexpected(*e);
            TRIB_ASSIGN_OR_RETURN(auto got, redis::entries_of_xread(r.get()));
            std::map<std::string, std::string> next;
            for (const auto& e : got)
                next[e.key] = e.id;
            history_ = std::move(next);  // a key with nothing more pending is done
            take(got, held);
            if (!held.empty())
                return ok();
        }
        if (clock_type::now() >= next_claim_) {
            if (claim_cursor_.empty()) {
                for (const auto& k : o_.keys)
                    claim_cursor_[k] = "0-0";
            }
            const std::string idle = std::to_string(o_.claim_min_idle.count());
            for (auto it = claim_cursor_.begin(); it != claim_cursor_.end();) {
                TRIB_ASSIGN_OR_RETURN(
                    auto r, conn_->command({"XAUTOCLAIM", it->first, group_, consumer_, idle,
                                            it->second, "COUNT", count}));
                if (auto e =
                        redis::reply_error(r.get(), o_.conn.context + ": XAUTOCLAIM " + it->first))
                    return unexpected(*e);
                std::string cursor;
                TRIB_ASSIGN_OR_RETURN(auto got,
                                      redis::entries_of_xautoclaim(r.get(), it->first, &cursor));
                if (!got.empty())
                    spdlog::info("redis source {}: claimed {} pending entries of {}", key_,
                                 got.size(), it->first);
                take(got, held);
                if (cursor == "0-0")
                    it = claim_cursor_.erase(it);
                else
                    (it++)->second = cursor;
                if (!held.empty())
                    break;
            }
            if (claim_cursor_.empty())
                next_claim_ = clock_type::now() + o_.claim_interval;
            if (!held.empty())
                return ok();
        }
        const auto block = std::max<std::int64_t>(
            1, std::min<std::int64_t>(max_wait.count(), o_.conn.command_timeout.count() / 2));
        const std::string block_text = std::to_string(block);
        std::vector<std::string_view> argv{"XREADGROUP", "GROUP", group_,     consumer_, "COUNT",
                                           count,        "BLOCK", block_text, "STREAMS"};
        for (const auto& k : o_.keys)
            argv.push_back(k);
        for (std::size_t i = 0; i < o_.keys.size(); ++i)
            argv.push_back(">");
        TRIB_ASSIGN_OR_RETURN(auto r, conn_->command(argv));
        if (auto e = redis::reply_error(r.get(), o_.conn.context + ": XREADGROUP")) {
            // The stream or group was deleted under us: recreate it on the next poll.
            if (e->code() == errc::not_found && o_.create_group) {
                conn_.reset();
                return unexpected(error(errc::unavailable, retry_class::retryable, e->message()));
            }
            return unexpected(*e);
        }
        TRIB_ASSIGN_OR_RETURN(auto got, redis::entries_of_xread(r.get()));
        take(got, held);
        return ok();
    }

    status poll_list(std::chrono::milliseconds max_wait, held_records& held) {
        if (recover_) {
            TRIB_ASSIGN_OR_RETURN(auto r, conn_->command({"LRANGE", processing_, "0", "-1"}));
            if (auto e = redis::reply_error(r.get(), o_.conn.context + ": LRANGE " + processing_))
                return unexpected(*e);
            recovered_.clear();
            if (r && r->type == REDIS_REPLY_ARRAY) {
                // The processing list has the newest element at its head: oldest first.
                for (std::size_t i = r->elements; i-- > 0;)
                    recovered_.push_back(std::string(redis::text_of(r->element[i])));
            }
            if (!recovered_.empty())
                spdlog::info(
                    "redis source {}: {} elements left in {} by an earlier run are sent "
                    "again",
                    key_, recovered_.size(), processing_);
            recover_ = false;
        }
        if (!recovered_.empty()) {
            while (!recovered_.empty() && held.elements.size() < o_.count) {
                held.elements.push_back(std::move(recovered_.front()));
                recovered_.pop_front();
            }
            return ok();
        }
        const std::string_view from = o_.pop_left ? "LEFT" : "RIGHT";
        const std::string& src = o_.keys.front();
        TRIB_TRY(conn_->set_timeout(o_.conn.command_timeout + max_wait));
        auto first =
            conn_->command({"BLMOVE", src, processing_, from, "LEFT", seconds_text(max_wait)});
        if (!first)
            return unexpected(std::move(first).error());
        TRIB_TRY(conn_->set_timeout(o_.conn.command_timeout));
        if (auto e = redis::reply_error(first->get(), o_.conn.context + ": BLMOVE " + src))
            return unexpected(*e);
        if (!*first || (*first)->type != REDIS_REPLY_STRING)
            return ok();  // nothing came
        held.elements.push_back(std::string(redis::text_of(first->get())));
        while (held.elements.size() < o_.count) {
            const std::size_t n = std::min<std::size_t>(o_.count - held.elements.size(), 256);
            for (std::size_t i = 0; i < n; ++i)
                conn_->append({"LMOVE", src, processing_, from, "LEFT"});
            bool drained = false;
            std::optional<error> err;
            for (std::size_t i = 0; i < n; ++i) {
                TRIB_ASSIGN_OR_RETURN(auto r, conn_->read());
                if (auto e = redis::reply_error(r.get(), o_.conn.context + ": LMOVE " + src)) {
                    err = *e;
                } else if (r && r->type == REDIS_REPLY_STRING) {
                    held.elements.push_back(std::string(redis::text_of(r.get())));
                } else {
                    drained = true;
                }
            }
            // What was moved is in the processing list: send it, report the error next time.
            if (err && held.elements.empty())
                return unexpected(*err);
            if (drained || err)
                break;
        }
        return ok();
    }

    status poll_pubsub(std::chrono::milliseconds max_wait, source_batch& out) {
        auto wait = max_wait;
        while (out.batch.size() < o_.count) {
            TRIB_ASSIGN_OR_RETURN(auto r, conn_->read_within(wait));
            if (!r)
                break;
            wait = 0ms;
            const redisReply* p = r.get();
            if (p->type != REDIS_REPLY_ARRAY || p->elements < 3)
                continue;
            const auto kind = redis::text_of(p->element[0]);
            message m;
            if (kind == "message") {
                m.headers.push_back({"redis_channel", value_kind::string,
                                     std::string(redis::text_of(p->element[1]))});
                m.payload = out.batch.own(std::string(redis::text_of(p->element[2])));
            } else if (kind == "pmessage" && p->elements >= 4) {
                m.headers.push_back({"redis_channel", value_kind::string,
                                     std::string(redis::text_of(p->element[2]))});
                m.headers.push_back({"redis_pattern", value_kind::string,
                                     std::string(redis::text_of(p->element[1]))});
                m.payload = out.batch.own(std::string(redis::text_of(p->element[3])));
            } else {
                continue;  // (p)subscribe confirmations
            }
            out.batch.messages.push_back(std::move(m));
        }
        return ok();
    }

    // XACK the entries, LREM the elements (on ack_conn_). A failure leaves them pending in Redis:
    // entries are read again after a restart (same ids) or claimed; elements are in the
    // processing list, sent again on the next start.
    void settle(const held_records& h) {
        std::lock_guard lk(ack_mu_);
        if (!ack_conn_ || ack_conn_->broken()) {
            auto c = redis::connection::connect(o_.conn);
            if (!c) {
                spdlog::warn("{}: cannot acknowledge {} records: {}", o_.conn.context,
                             h.entries.size() + h.elements.size(), c.error().message());
                return;
            }
            ack_conn_ = std::move(*c);
        }
        std::size_t sent = 0;
        std::map<std::string_view, std::vector<std::string_view>> by_key;
        for (const auto& e : h.entries)
            by_key[e.key].push_back(e.id);
        for (const auto& [k, ids] : by_key) {
            std::vector<std::string_view> argv{"XACK", k, group_};
            argv.insert(argv.end(), ids.begin(), ids.end());
            ack_conn_->append(argv);
            ++sent;
        }
        for (const auto& el : h.elements) {
            ack_conn_->append({"LREM", processing_, "-1", el});
            ++sent;
        }
        for (std::size_t i = 0; i < sent; ++i) {
            auto r = ack_conn_->read();
            if (!r) {
                spdlog::warn("{}: acknowledging: {}", o_.conn.context, r.error().message());
                return;
            }
            if (auto e = redis::reply_error(r->get(), o_.conn.context + ": acknowledging"))
                spdlog::warn("{}", e->message());
        }
    }

    redis::source_options o_;
    std::string key_, group_, consumer_, processing_;
    std::unique_ptr<redis::connection> conn_;          // poll thread
    std::map<std::string, std::string> history_;       // stream key -> pending cursor
    std::map<std::string, std::string> claim_cursor_;  // stream key -> XAUTOCLAIM cursor
    clock_type::time_point next_claim_{};
    bool recover_ = false;
    std::deque<std::string> recovered_;

    std::mutex ack_mu_;
    std::unique_ptr<redis::connection> ack_conn_;

    std::mutex mu_;
    std::uint64_t seq_ = 0;
    std::map<std::uint64_t, held_records> inflight_;
    std::set<std::string> inflight_ids_;  // key NUL id of every entry in flight
    std::deque<held_records> redeliver_;
};

}  // namespace

result<std::unique_ptr<source>> make_redis_source(const config::values& v) {
    TRIB_ASSIGN_OR_RETURN(auto o, redis::source_options_from(v));
    return std::unique_ptr<source>(std::make_unique<redis_source>(std::move(o)));
}

}  // namespace trib::connectors
