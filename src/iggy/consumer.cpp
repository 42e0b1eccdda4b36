#include "iggy/consumer.h"

#include <fmt/format.h>

#include <algorithm>

namespace trib::iggy {

using clock = std::chrono::steady_clock;

consumer_client::consumer_client(consumer_options options) : opts_(std::move(options)) {}

consumer_client::~consumer_client() {
    (void)close();
}

consumer consumer_client::kind() const {
    return is_group_ ? consumer::group(group_id_) : consumer::plain(opts_.consumer_id);
}

result<std::unique_ptr<consumer_client>> consumer_client::create(consumer_options options) {
    std::unique_ptr<consumer_client> c(new consumer_client(std::move(options)));
    auto& o = c->opts_;
    if (o.batch_size == 0)
        o.batch_size = 1;
    TRIB_ASSIGN_OR_RETURN(c->client_, client::connect(o.client));
    TRIB_ASSIGN_OR_RETURN(auto topic, c->client_->get_topic(o.stream, o.topic));
    if (!topic) {
        return fail(errc::not_found, fmt::format("consumer: topic {} in stream {} does not exist",
                                                 o.topic.to_string(), o.stream.to_string()));
    }
    if (o.group.empty()) {
        if (o.partitions.empty()) {
            for (const auto& p : topic->partitions)
                c->assigned_.push_back(p.id);
        } else {
            c->assigned_ = o.partitions;
        }
        return c;
    }
    c->is_group_ = true;
    c->group_id_ = identifier::named(o.group);
    TRIB_ASSIGN_OR_RETURN(auto g, c->client_->get_consumer_group(o.stream, o.topic, c->group_id_));
    if (!g) {
        if (!o.create_group)
            return fail(errc::not_found, "consumer: group '" + o.group + "' does not exist");
        auto created = c->client_->create_consumer_group(o.stream, o.topic, o.group);
        // Another member may have created it between our look-up and our create.
        if (!created && created.error().vendor_code() != code::consumer_group_name_already_exists)
            return unexpected(created.error());
    }
    TRIB_TRY(c->client_->join_consumer_group(o.stream, o.topic, c->group_id_));
    c->joined_ = true;
    TRIB_TRY(c->sync());
    return c;
}

status consumer_client::sync() {
    TRIB_ASSIGN_OR_RETURN(auto s,
                          client_->sync_consumer_group(opts_.stream, opts_.topic, group_id_));
    last_sync_ = clock::now();
    if (!s) {
        // Not a member (our session was replaced or evicted): join again, then sync.
        TRIB_TRY(client_->join_consumer_group(opts_.stream, opts_.topic, group_id_));
        TRIB_ASSIGN_OR_RETURN(s,
                              client_->sync_consumer_group(opts_.stream, opts_.topic, group_id_));
        if (!s)
            return fail(errc::unavailable, "consumer: still not a group member after re-join");
    }
    std::vector<std::uint32_t> next = s->partitions;
    std::sort(next.begin(), next.end());
    // A partition we gain may have been read by another member: start it from the committed
    // offset (Next), not from a stale local position. A partition we lose is forgotten.
    for (auto it = position_.begin(); it != position_.end();) {
        bool kept = std::binary_search(next.begin(), next.end(), it->first) &&
                    std::find(assigned_.begin(), assigned_.end(), it->first) != assigned_.end() &&
                    s->generation == generation_;
        it = kept ? std::next(it) : position_.erase(it);
    }
    assigned_ = std::move(next);
    generation_ = s->generation;
    return ok();
}

result<consumer_batch> consumer_client::poll() {
    if (is_group_ && (assigned_.empty() || clock::now() - last_sync_ >= opts_.resync_interval))
        TRIB_TRY(sync());
    consumer_batch out;
    for (std::size_t tries = 0; tries < assigned_.size(); ++tries) {
        std::uint32_t p = assigned_[next_index_++ % assigned_.size()];
        poll_messages_request req;
        req.who = kind();
        req.stream = opts_.stream;
        req.topic = opts_.topic;
        req.partition = p;
        req.count = opts_.batch_size;
        req.auto_commit = opts_.auto_commit;
        auto pos = position_.find(p);
        if (pos != position_.end()) {
            req.strategy = polling_strategy::offset(pos->second);
        } else if (opts_.start == consumer_options::start_at::next_new) {
            // Nothing read yet in this session: resume after a stored offset, or at the end.
            TRIB_ASSIGN_OR_RETURN(
                auto stored, client_->get_consumer_offset(kind(), opts_.stream, opts_.topic, p));
            if (stored) {
                position_[p] = stored->stored_offset + 1;
            } else {
                TRIB_ASSIGN_OR_RETURN(auto t, client_->get_topic(opts_.stream, opts_.topic));
                std::uint64_t end = 0;
                if (t) {
                    for (const auto& part : t->partitions) {
                        if (part.id == p && part.messages_count > 0)
                            end = part.current_offset + 1;
                    }
                }
                position_[p] = end;
            }
            req.strategy = polling_strategy::offset(position_[p]);
        } else {
            req.strategy = polling_strategy::next();
        }
        TRIB_TRY(client_->poll_messages(req, polled_));
        if (polled_.reply.resync_required()) {
            TRIB_TRY(sync());
            if (assigned_.empty())
                break;
            continue;
        }
        if (polled_.empty())
            continue;
        position_[p] = polled_.messages().back().offset + 1;
        out.partition = p;
        out.current_offset = polled_.current_offset();
        out.messages = polled_.messages();
        return out;
    }
    return out;
}

status consumer_client::commit(std::uint32_t partition, std::uint64_t offset) {
    auto st = client_->store_consumer_offset(kind(), opts_.stream, opts_.topic, partition, offset);
    if (st || !is_group_ || st.error().vendor_code() != code::resource_not_found)
        return st;
    // 20 from a group store: the partition may have moved. Re-sync; if it is still ours, the
    // store failed for another reason and one retry tells.
    TRIB_TRY(sync());
    if (std::find(assigned_.begin(), assigned_.end(), partition) != assigned_.end())
        return client_->store_consumer_offset(kind(), opts_.stream, opts_.topic, partition, offset);
    return error(
        errc::failed_precondition, retry_class::fatal,
        fmt::format("consumer: partition {} is no longer assigned to this member", partition),
        code::resource_not_found);
}

status consumer_client::close() {
    if (!joined_ || !client_)
        return ok();
    joined_ = false;
    return client_->leave_consumer_group(opts_.stream, opts_.topic, group_id_);
}

}  // namespace trib::iggy
