#pragma once
// The durable log of one partition of the embedded Iggy server: an append-only sequence of
// segments, each a `.log` file holding stamped Iggy 0.11 batches back to back (the exact bytes a
// poll returns) and an `.index` file with one 16-byte entry per batch.
//
// On-disk layout of a partition directory:
//   00000000000000000000.log     batches; the name is the segment's base offset (20 digits)
//   00000000000000000000.index   per batch: [rel_offset:u32][position:u32][append_timestamp:u64]
//                                 (little-endian): the offset index and the time index in one
//                                 file, the entry layout Iggy uses for its own `.index` files.
// The log files are the truth; an index is a cache that `open` checks and rebuilds when it is
// missing, shorter or longer than its log, or inconsistent with it.
//
// Durability: a batch is written with one pwrite. With fsync `always` it is fdatasync'ed before
// `append` returns and before readers can see it (concurrent appenders share one fdatasync:
// group commit). A sealed segment is always synced when it is rolled, so after a crash only the
// last segment can hold a torn or unsynced tail; `open` validates every batch of the last segment
// (length, offsets, both checksums) and truncates at the first bad one.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "iggy/wire/bytes.h"
#include "server/storage/dedup_options.h"

namespace trib::server::storage {

/// When appended data is fsynced (the server-wide policy; see `append_sync` for the per-call
/// override that topics with `durability = persisted` use).
enum class fsync_policy : std::uint8_t {
    always,    // before append returns; readers see only synced batches
    interval,  // at most `fsync_interval` after the write (lazily on append, or `sync_if_due`)
    never,     // left to the OS (segments are still synced when they are rolled)
};

/// "always" | "interval" | "never".
[[nodiscard]] result<fsync_policy> parse_fsync_policy(std::string_view s);
std::string_view to_string(fsync_policy p);

struct log_options {
    /// Stamped into every batch's header (partition_id field).
    std::uint32_t partition_id = 0;
    /// A new segment starts when the next batch would make the active one larger than this (a
    /// single larger batch gets a segment of its own). Iggy's default is 1 GiB; 4 KiB..2 GiB.
    std::uint64_t segment_size = std::uint64_t{1} << 30;
    fsync_policy fsync = fsync_policy::interval;
    std::chrono::milliseconds fsync_interval{1000};
    /// Bytes of recently appended batches kept in memory, so that consumers near the head read
    /// without a syscall. `append_shared` batches are kept by reference (no copy); `append`
    /// copies only batches up to `cache_copy_limit` bytes (a larger copy costs more than the
    /// pread it saves). 0 disables the cache.
    std::size_t cache_bytes = std::size_t{4} << 20;
    std::size_t cache_copy_limit = std::size_t{16} << 10;
    /// Recompute both checksums of every batch read from disk (Iggy's `validate_checksum`).
    /// Off by default: `open` validates the last segment, and sealed segments were synced.
    bool verify_checksums_on_read = false;
    /// Message de-duplication by id (message_deduplicator.h). When enabled, `append` drops the
    /// messages whose id is in the window, and `open` rebuilds the window from the log's tail.
    dedup_options dedup;
};

/// Per-call durability of an append.
enum class append_sync : std::uint8_t {
    policy,   // follow log_options::fsync
    durable,  // fdatasync before returning, whatever the policy (durability = persisted)
};

struct append_result {
    std::uint64_t base_offset = 0;    // offset of the batch's first message (stored ones)
    std::uint32_t message_count = 0;  // messages stored (0: every message was a duplicate)
    std::uint64_t timestamp = 0;      // the append timestamp stamped into the batch (µs)
    std::uint32_t duplicates = 0;     // messages dropped by de-duplication
};

/// One batch of a read: a stored batch unchanged, or a cut of one (cut_batch: fresh header with
/// the original base offset, fewer frames, offset deltas unchanged, recomputed checksum).
/// Message offsets are base_offset + frame offset_delta.
struct stored_batch {
    std::shared_ptr<const void> owner;  // keeps `data` alive
    iggy::bytes_view data;              // the whole batch, header included
    std::uint64_t base_offset = 0;      // from the header
    std::uint64_t first_offset = 0;     // offset of the first message in `data`
    std::uint32_t message_count = 0;    // messages in `data`
};

struct read_result {
    std::vector<stored_batch> batches;  // in offset order, no gaps except retention/corruption
    std::uint64_t message_count = 0;    // sum over batches
    std::uint64_t size_bytes = 0;       // sum of batch sizes
    /// The partition's current offset (last visible message) when the read ran; 0 when empty.
    std::uint64_t current_offset = 0;
};

/// Counters for GET_TOPIC / GET_STATS replies.
struct log_stats {
    std::uint64_t first_offset = 0;   // oldest retained message (== next_offset when empty)
    std::uint64_t next_offset = 0;    // offset the next appended message gets
    std::uint64_t message_count = 0;  // retained messages
    std::uint64_t size_bytes = 0;     // bytes of all .log files
    std::uint32_t segment_count = 0;
    /// Iggy's `current_offset`: the last message's offset, 0 when there is none.
    std::uint64_t current_offset() const { return next_offset == 0 ? 0 : next_offset - 1; }
};

/// Retention limits. 0 or UINT64_MAX means "none" for both (Iggy's "server default" 0 is the
/// caller's to resolve before calling).
struct retention_policy {
    /// Delete a segment once its newest append timestamp is older than now - expiry (µs).
    std::uint64_t message_expiry_us = 0;
    /// Delete the oldest segments while the partition's bytes exceed this; the active segment
    /// is never deleted for size. Iggy's max_topic_size is per topic: split it over partitions
    /// with `partition_share_of_topic_size`.
    std::uint64_t max_bytes = 0;
};

/// The per-partition byte limit for a topic-level max_topic_size (0 / UINT64_MAX pass through):
/// each partition gets an equal share, rounded up. Documented choice: Iggy deletes the oldest
/// segments of the whole topic; an equal split gives the same bound without cross-partition
/// coordination, and partitions fill evenly under balanced or keyed partitioning.
std::uint64_t partition_share_of_topic_size(std::uint64_t max_topic_size, std::uint32_t partitions);

struct retention_result {
    std::uint32_t segments_removed = 0;
    std::uint64_t messages_removed = 0;
    std::uint64_t bytes_removed = 0;
};

/// What `open` found and repaired.
struct recovery_report {
    std::uint32_t segments = 0;
    std::uint64_t truncated_bytes = 0;   // torn or corrupt tail bytes cut from the logs
    std::uint32_t indexes_rebuilt = 0;   // index files missing, inconsistent or longer than the log
    std::uint32_t indexes_extended = 0;  // index files shorter than the log (normal after a crash)
    bool purge_completed = false;        // an interrupted purge was finished
    std::uint64_t dedup_ids_loaded = 0;  // ids put back into the de-duplication window
    std::uint64_t dedup_bytes_read = 0;  // batch bytes read to rebuild it
};

/// One partition's log.
///
/// Thread-safety: every member function may be called from any thread. Appends (and roll,
/// retention, purge) are serialised by a writer mutex; reads, lookups and stats take a short
/// state mutex only to plan (which segment ranges or cached batches) and do the pread outside it,
/// so they run concurrently with an append. A read returns buffers that stay valid after later
/// appends, retention or purge (segments are reference-counted; unlinked files stay readable).
///
/// Lifecycle: `open` recovers and returns a ready log; the destructor flushes the index and, unless
/// the policy is `never`, fsyncs. Purge resets offsets to 0 like Iggy 0.9 (consumer offsets are the
/// caller's to delete). `destroy` removes the directory.
class partition_log {
  public:
    /// Opens (creating if needed) the log in `dir`, recovering as described above.
    [[nodiscard]] static result<std::unique_ptr<partition_log>> open(std::filesystem::path dir,
                                                                     log_options options);
    ~partition_log();
    partition_log(const partition_log&) = delete;
    partition_log& operator=(const partition_log&) = delete;

    /// Appends one batch (admitted by the front end: header + frames, checksums valid) and
    /// stamps it in place: partition id, base offset = next offset, base timestamp = append time
    /// (µs, never decreasing), new batch checksum. Frames whose offset_delta is not their index
    /// are renumbered (their checksums recomputed), so that offset = base_offset + offset_delta
    /// holds for every stored message. Returns once `sync` / the policy is satisfied.
    /// With de-duplication on, messages whose id is in the window (or earlier in the same batch)
    /// are removed from the batch in place before it is stamped; the rest are stored with
    /// contiguous offsets. A batch of duplicates only stores nothing (message_count 0), and
    /// still waits for `sync` / the policy, so that the acknowledged originals are as durable
    /// as a stored batch would be.
    /// Errors: invalid_argument for a batch that is not structurally a batch; io_error when the
    /// write or sync failed (the batch is not acknowledged; after a failed fsync the log refuses
    /// further appends until it is reopened, since the kernel may have dropped dirty pages).
    [[nodiscard]] result<append_result> append(std::span<std::uint8_t> batch,
                                               append_sync sync = append_sync::policy);
    /// The same, zero-copy for the recent-batch cache: `owner` keeps `batch` alive (e.g. the
    /// request buffer it lies in) and the log may hold on to it to serve reads from memory. The
    /// caller must not change the bytes after the call. `owner_bytes` is the memory `owner`
    /// keeps alive (e.g. the buffer's capacity): the cache counts that against `cache_bytes`,
    /// and copies a small batch (or does not cache it) rather than keep an owner much larger
    /// than the batch.
    [[nodiscard]] result<append_result> append_shared(std::shared_ptr<const void> owner,
                                                      std::span<std::uint8_t> batch,
                                                      append_sync sync = append_sync::policy,
                                                      std::size_t owner_bytes = 0);

    /// Up to `max_count` messages from `from_offset` (clamped to the oldest retained offset),
    /// stopping early once `max_bytes` is reached (at least one batch is always returned when
    /// messages exist). Batches that straddle the range edges are cut.
    [[nodiscard]] result<read_result> read(std::uint64_t from_offset, std::uint32_t max_count,
                                           std::size_t max_bytes = SIZE_MAX) const;
    /// Poll strategies (iggy-protocol.md 5.2). First: from the oldest message.
    [[nodiscard]] result<read_result> read_first(std::uint32_t max_count,
                                                 std::size_t max_bytes = SIZE_MAX) const;
    /// Last: the newest `max_count` messages.
    [[nodiscard]] result<read_result> read_last(std::uint32_t max_count,
                                                std::size_t max_bytes = SIZE_MAX) const;
    /// Next: from stored_offset + 1, or from 0 when no offset is stored.
    [[nodiscard]] result<read_result> read_next(std::optional<std::uint64_t> stored_offset,
                                                std::uint32_t max_count,
                                                std::size_t max_bytes = SIZE_MAX) const;
    /// Timestamp: from the first message whose append timestamp is >= `timestamp_us`.
    [[nodiscard]] result<read_result> read_from_timestamp(std::uint64_t timestamp_us,
                                                          std::uint32_t max_count,
                                                          std::size_t max_bytes = SIZE_MAX) const;

    /// Offset of the first message whose append timestamp is >= `timestamp_us`; nullopt if none.
    /// Every message of a batch shares the batch's append timestamp, so this is a batch's base
    /// offset.
    std::optional<std::uint64_t> find_offset_by_timestamp(std::uint64_t timestamp_us) const;

    log_stats stats() const;
    std::uint64_t next_offset() const;
    /// Iggy's current_offset: the last message's offset, 0 when empty.
    std::uint64_t current_offset() const;
    std::uint32_t partition_id() const { return options_.partition_id; }
    const std::filesystem::path& dir() const { return dir_; }
    const log_options& options() const { return options_; }
    const recovery_report& recovery() const { return recovery_; }

    /// fdatasyncs everything appended so far (and writes out pending index entries).
    [[nodiscard]] status sync();
    /// With policy `interval`: syncs if unsynced data is older than the interval. Call it from a
    /// timer (or use `flusher`) so that an idle partition's tail does not stay unsynced.
    [[nodiscard]] status sync_if_due();

    /// Deletes whole segments by expiry and size (see retention_policy). A fully expired active
    /// segment is replaced by an empty one that keeps the next offset.
    [[nodiscard]] result<retention_result> apply_retention(const retention_policy& policy,
                                                           std::uint64_t now_us);
    /// Drops every message; the next message gets offset 0 again (Iggy 0.9's purge resets the
    /// partition's offsets). Crash-safe: an interrupted purge is finished by the next `open`.
    /// Empties the de-duplication window too (a restart would find no ids to rebuild it from).
    [[nodiscard]] status purge();
    /// Deletes the directory and everything in it. The log is unusable afterwards (appends fail).
    [[nodiscard]] status destroy();

  private:
    struct segment;
    struct cache_entry;
    struct read_piece;
    struct state;

    partition_log(std::filesystem::path dir, log_options options);
    status recover();
    status load_dedup_window();
    status finish_purge_locked();
    result<std::shared_ptr<segment>> create_segment(std::uint64_t base_offset);
    status roll_locked();
    status sync_segment_to(const std::shared_ptr<segment>& seg, std::uint64_t size);
    status flush_index_locked(segment& seg);
    result<append_result> append_impl(std::shared_ptr<const void> owner,
                                      std::span<std::uint8_t> batch, append_sync sync,
                                      std::size_t owner_bytes);
    std::optional<std::uint64_t> find_offset_by_timestamp_locked(std::uint64_t ts) const;
    result<read_result> read_impl(std::uint64_t from, std::uint32_t max_count,
                                  std::size_t max_bytes, bool from_timestamp,
                                  std::uint64_t timestamp_us) const;

    std::filesystem::path dir_;
    log_options options_;
    recovery_report recovery_;
    std::unique_ptr<state> st_;
};

/// One background thread that calls `sync_if_due` on registered logs every `period`, so that
/// `interval` holds for idle partitions too. Logs are held weakly: a destroyed log drops out.
class flusher {
  public:
    explicit flusher(std::chrono::milliseconds period);
    ~flusher();  // stops and joins the thread
    flusher(const flusher&) = delete;
    flusher& operator=(const flusher&) = delete;
    void add(std::weak_ptr<partition_log> log);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace trib::server::storage
