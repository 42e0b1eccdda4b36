#pragma once
// The de-duplication window of one partition: the message ids appended recently, so that a
// producer resending a batch (a retry after a lost acknowledgement, a source replaying after a
// crash) does not store the same message twice. Iggy's `[system.message_deduplication]`.
//
// Semantics (Iggy's, see src/server/README.md for where we differ):
// - An id is remembered from the append that stored it until `expiry` has passed (measured from
//   that append's timestamp; seeing the id again does not extend it) or until `max_entries`
//   newer ids have pushed it out (the oldest goes first).
// - Id 0 means "no id" and is never de-duplicated nor remembered.
// Time is an input (append timestamps in µs), so the class is tested without a clock.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include <boost/unordered/unordered_flat_set.hpp>

#include "core/error.h"
#include "iggy/wire/bytes.h"
#include "server/storage/dedup_options.h"

namespace trib::server::storage {

/// One partition's window. Not thread-safe: the partition log calls it under its writer lock.
class message_deduplicator {
  public:
    explicit message_deduplicator(dedup_options options);

    /// Forgets ids whose append is at least `expiry` before `now_us`.
    void expire(std::uint64_t now_us);
    /// True when `id` is new (or 0): records it with its append time `ts_us` (evicting the
    /// oldest id when full). False when it is in the window: the message is a duplicate.
    /// Call `expire(ts_us)` first; timestamps must not decrease from call to call.
    bool try_insert(const iggy::u128& id, std::uint64_t ts_us);
    bool contains(const iggy::u128& id) const { return set_.contains(id); }
    /// Forgets the `n` ids recorded last (an append that failed after its ids were checked).
    void undo_last(std::size_t n);
    void clear();

    std::size_t size() const { return order_.size(); }
    const dedup_options& options() const { return options_; }
    /// Ids evicted by count so far (not by expiry).
    std::uint64_t evicted() const { return evicted_; }

  private:
    struct id_hash {
        std::size_t operator()(const iggy::u128& v) const noexcept {
            // The set mixes the result further (the hash is not marked avalanching).
            return static_cast<std::size_t>(v.lo ^ (v.hi * 0x9E3779B97F4A7C15ull));
        }
    };
    struct entry {
        iggy::u128 id;
        std::uint64_t ts_us;
    };
    void pop_oldest();

    dedup_options options_;
    boost::unordered_flat_set<iggy::u128, id_hash> set_;
    std::deque<entry> order_;  // by append time, oldest first
    std::uint64_t evicted_ = 0;
};

}  // namespace trib::server::storage
