#include "server/storage/message_deduplicator.h"

namespace trib::server::storage {

status validate(const dedup_options& o) {
    if (o.enabled && o.max_entries == 0 && o.expiry_us == 0) {
        return fail(errc::invalid_argument,
                    "message de-duplication needs max_entries > 0 or an expiry (with neither the "
                    "window would grow without bound)");
    }
    return ok();
}

message_deduplicator::message_deduplicator(dedup_options options) : options_(options) {}

void message_deduplicator::pop_oldest() {
    set_.erase(order_.front().id);
    order_.pop_front();
}

void message_deduplicator::expire(std::uint64_t now_us) {
    if (options_.expiry_us == 0)
        return;
    while (!order_.empty() && now_us - std::min(now_us, order_.front().ts_us) >= options_.expiry_us)
        pop_oldest();
}

bool message_deduplicator::try_insert(const iggy::u128& id, std::uint64_t ts_us) {
    if (id.is_zero())
        return true;
    if (!set_.insert(id).second)
        return false;
    order_.push_back({id, ts_us});
    if (options_.max_entries != 0 && order_.size() > options_.max_entries) {
        pop_oldest();
        ++evicted_;
    }
    return true;
}

void message_deduplicator::undo_last(std::size_t n) {
    for (; n > 0 && !order_.empty(); --n) {
        set_.erase(order_.back().id);
        order_.pop_back();
    }
}

void message_deduplicator::clear() {
    set_.clear();
    order_.clear();
    // Give the memory back: a purge or a disabled window should not keep a full table.
    set_.rehash(0);
    order_.shrink_to_fit();
}

}  // namespace trib::server::storage
