#pragma once
// Which Kafka offsets the source may commit: per partition, the offset after the longest run of
// batches Iggy acknowledged, in the order they were polled. Pure bookkeeping (no librdkafka, no
// locking: the source holds its mutex around every call), unit-tested in commit_tracker_test.

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace trib::connectors::kafka {

/// A topic partition.
struct topic_partition {
    std::string topic;
    std::int32_t partition = 0;
    friend auto operator<=>(const topic_partition&, const topic_partition&) = default;
};

/// The records of one partition in one batch: offsets first .. next-1 (with gaps, possibly).
struct partition_range {
    topic_partition tp;
    std::int64_t first = 0;
    std::int64_t next = 0;
};

/// An offset to commit (the next record to read) or to rewind to.
struct partition_offset {
    topic_partition tp;
    std::int64_t offset = 0;
};

class commit_tracker {
  public:
    /// The partition is ours from now on (assigned); forgets anything known about it.
    void assign(const topic_partition& tp);
    /// The partition is gone (revoked or lost). Returns the offset to commit for it when the
    /// acknowledged run went past the last commit, i.e. what is acknowledged but not committed;
    /// never an offset of a record in flight.
    std::vector<partition_offset> revoke(const std::vector<topic_partition>& tps);
    bool assigned(const topic_partition& tp) const { return parts_.count(tp) != 0; }

    /// Batch `seq` was polled with these ranges (ranges of partitions not assigned are ignored:
    /// their records go to Iggy, but their offsets belong to the partition's new owner).
    void add(std::uint64_t seq, const std::vector<partition_range>& ranges);
    /// Batch `seq` is in Iggy. Returns the partitions whose committable offset advanced.
    std::vector<partition_offset> ack(std::uint64_t seq);
    /// Batch `seq` was not delivered: returns, per partition of the batch, the offset to read
    /// again from; the batch and every later batch of those partitions are forgotten (their
    /// records are read again).
    std::vector<partition_offset> nack(std::uint64_t seq);
    /// The offsets acknowledged but not committed yet, per partition (at close).
    std::vector<partition_offset> uncommitted() const;
    /// `offset` of `tp` is committed (so uncommitted() and revoke() leave it out).
    void committed(const topic_partition& tp, std::int64_t offset);
    /// Batches polled but not acknowledged or nacked yet (for tests and metrics).
    std::size_t in_flight() const { return batches_.size(); }

  private:
    struct entry {
        std::uint64_t seq = 0;
        std::int64_t first = 0;
        std::int64_t next = 0;
        bool acked = false;
    };
    struct part {
        std::deque<entry> entries;   // in polling order
        std::int64_t acked_to = -1;  // offset after the acknowledged run; -1: none yet
        std::int64_t committed = -1;
    };
    std::map<topic_partition, part> parts_;
    std::map<std::uint64_t, std::vector<topic_partition>> batches_;
};

}  // namespace trib::connectors::kafka
