#pragma once
// Which Iggy offsets a sink may commit. Batches of a partition are registered in poll order and
// may complete in any order (several writers, dead-letter sends finishing late); the committable
// offset of a partition is the last offset of the longest completed prefix, so a commit never
// covers a message the sink has not durably accepted (DESIGN.md "Delivery guarantees").

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace trib::runtime {

/// Tracks in-flight offset ranges per partition. Not thread-safe (the sink pipeline holds its
/// lock).
class offset_tracker {
  public:
    /// Identifies one registered range.
    struct ticket {
        std::uint32_t partition = 0;
        std::uint64_t first = 0;
        std::uint64_t last = 0;
        friend bool operator==(const ticket&, const ticket&) = default;
    };

    /// Registers offsets [first, last] of `partition` as in flight, with `parts` outstanding
    /// completions (the write, plus e.g. one per dead-letter send added later with `hold`).
    /// Ranges of a partition must be registered in increasing order without overlap; a range at
    /// or below the last registered offset is a redelivery and is ignored (returns nullopt).
    std::optional<ticket> add(std::uint32_t partition, std::uint64_t first, std::uint64_t last,
                              std::uint32_t parts = 1);
    /// Adds one more outstanding completion to a registered range.
    void hold(const ticket& t);
    /// Completes one outstanding part of the range. Returns the partition's new committable
    /// offset when this completion advanced it.
    std::optional<std::uint64_t> complete(const ticket& t);

    /// The last offset of the completed prefix that has not been reported by `take_commits` yet.
    /// Returns (partition, offset) pairs, each partition at most once.
    std::vector<std::pair<std::uint32_t, std::uint64_t>> take_commits();
    /// The highest committable offset of `partition` so far (nullopt: nothing completed yet).
    std::optional<std::uint64_t> committable(std::uint32_t partition) const;
    /// Ranges registered and not yet part of a completed prefix, over all partitions.
    std::size_t in_flight() const;
    /// Forgets a partition (after it was revoked or its consumer restarted); its outstanding
    /// tickets then complete as no-ops.
    void reset(std::uint32_t partition);
    /// Forgets everything.
    void clear() { parts_.clear(); }

  private:
    struct range {
        std::uint64_t first;
        std::uint64_t last;
        std::uint32_t outstanding;
    };
    struct partition_state {
        std::deque<range> ranges;  // registration order == offset order
        std::optional<std::uint64_t> last_registered;
        std::optional<std::uint64_t> committable;
        bool reported = true;  // committable already handed out by take_commits
    };
    range* find(const ticket& t);

    std::map<std::uint32_t, partition_state> parts_;
};

}  // namespace trib::runtime
