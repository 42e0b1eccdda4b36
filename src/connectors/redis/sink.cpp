// The Redis sink: each message becomes one command (plus a PEXPIRE for a TTL), sent pipelined in
// rounds of `batch_size` commands; write() returns only after every reply of the batch was read,
// so the runtime commits offsets only for what Redis accepted. A reply refusing one message sends
// it to the error policy; a transient error (server loading, busy, read-only, connection lost)
// fails the batch after the round's replies were read, and sink_memo keeps the retry from writing
// again what the failed attempt already wrote.

#include <spdlog/spdlog.h>

#include <memory>

#include "connectors/redis/client.h"
#include "connectors/redis/errors.h"
#include "connectors/redis/options.h"
#include "connectors/redis/redis.h"
#include "core/connector_metrics.h"
#include "core/sink_memo.h"

namespace trib::connectors {
namespace {

using redis::reply_ptr;

class redis_sink final : public sink {
  public:
    explicit redis_sink(redis::sink_options o) : o_(std::move(o)) {}

    status open(connector_context& ctx) override {
        close();
        key_ = ctx.key;
        o_.conn.context = "redis sink " + key_;
        const metric_labels base{{"connector", key_}};
        settled_ = settled_counters::make(
            metrics_of(ctx, own_metrics_), "trib_redis_sink_messages_total",
            "Messages the Redis sink settled, by outcome (skipped_duplicate: written by an "
            "earlier attempt of the batch, or an offset id Redis already holds).",
            base);
        TRIB_ASSIGN_OR_RETURN(conn_, redis::connection::connect(o_.conn));
        return ok();
    }

    result<write_outcome> write(const sink_batch& b) override {
        write_outcome out;
        if (b.messages == nullptr || b.messages->empty())
            return out;
        if (!conn_ || conn_->broken()) {
            conn_.reset();
            TRIB_ASSIGN_OR_RETURN(conn_, redis::connection::connect(o_.conn));
        }
        memo_.prepare(b);
        const auto& msgs = b.messages->messages;
        struct sent {
            std::size_t index;
            std::size_t commands;
        };
        std::vector<sent> round;
        std::optional<error> transient;
        std::size_t i = 0;
        while (i < msgs.size()) {
            round.clear();
            std::size_t queued = 0;
            for (; i < msgs.size() && queued < o_.batch_size; ++i) {
                const message& m = msgs[i];
                if (memo_.delivered(m)) {
                    settled_.skipped->inc();
                    continue;
                }
                auto cmds = redis::commands_for(o_.layout, b, m);
                if (!cmds) {
                    out.rejected.push_back({i, std::move(cmds).error()});
                    settled_.rejected->inc();
                    continue;
                }
                for (const auto& c : *cmds) {
                    std::vector<std::string_view> argv(c.begin(), c.end());
                    conn_->append(argv);
                }
                queued += cmds->size();
                round.push_back({i, cmds->size()});
            }
            // Every reply of the round is read, whatever they say, so that the connection stays
            // in step with the commands.
            for (const auto& s : round) {
                std::optional<error> refused;
                bool duplicate = false;
                for (std::size_t c = 0; c < s.commands; ++c) {
                    auto r = conn_->read();
                    if (!r)
                        return unexpected(std::move(r).error());  // nothing more can be read
                    const redisReply* rep = r->get();
                    if (rep == nullptr || rep->type != REDIS_REPLY_ERROR)
                        continue;
                    if (o_.layout.offset_ids && redis::is_xadd_id_too_small(redis::text_of(rep))) {
                        duplicate = true;
                        continue;
                    }
                    error e = redis::from_reply_error(redis::text_of(rep), o_.conn.context);
                    if (e.retry() == retry_class::fatal) {
                        if (!refused)
                            refused = std::move(e);
                    } else if (!transient) {
                        transient = std::move(e);
                    }
                }
                if (refused) {
                    out.rejected.push_back({s.index, std::move(*refused)});
                    settled_.rejected->inc();
                } else if (!transient) {
                    memo_.remember(msgs[s.index]);
                    (duplicate ? settled_.skipped : settled_.delivered)->inc();
                }
            }
            if (transient)
                return unexpected(std::move(*transient));
        }
        sort_rejected(out);
        return out;
    }

    void close() override { conn_.reset(); }

    bool idempotent() const override {
        switch (o_.layout.mode) {
            case redis::sink_mode::hash:
            case redis::sink_mode::set:
            case redis::sink_mode::zset:
            case redis::sink_mode::string:
                return true;
            case redis::sink_mode::stream:
                return o_.layout.offset_ids;
            default:
                return false;
        }
    }

  private:
    redis::sink_options o_;
    std::string key_;
    std::unique_ptr<redis::connection> conn_;
    sink_memo memo_;
    std::unique_ptr<metrics_registry> own_metrics_;
    settled_counters settled_;
};

}  // namespace

result<std::unique_ptr<sink>> make_redis_sink(const config::values& v) {
    TRIB_ASSIGN_OR_RETURN(auto o, redis::sink_options_from(v));
    return std::unique_ptr<sink>(std::make_unique<redis_sink>(std::move(o)));
}

}  // namespace trib::connectors
