// Over 1,000 lines: one partition's segmented log: append with group commit, the offset and time
// indexes, recovery with torn-write truncation, retention, the recent-batch cache and the
// de-duplication check of an append (message_deduplicator.h holds the window) share the
// segment list and its lock, so they stay together.

#include "server/storage/partition_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "iggy/wire/batch.h"
#include "server/storage/message_deduplicator.h"

namespace trib::server::storage {

using iggy::batch_header_size;
using iggy::bytes;
using iggy::bytes_view;
using iggy::frame_header_size;

namespace {

constexpr std::size_t index_entry_size = 16;
constexpr std::uint64_t min_segment_size = 4096;
constexpr std::uint64_t max_segment_size = std::uint64_t{1} << 31;
// Far above the 64 MiB frame limit; only guards the u32 positions of the index.
constexpr std::size_t max_batch_size = std::size_t{1} << 30;
// Index entries are written out in groups: the index is rebuildable, so an append does not pay
// a second syscall for it.
constexpr std::size_t index_flush_entries = 256;
constexpr std::size_t scan_chunk = std::size_t{8} << 20;
constexpr const char* purge_marker_name = "purging";

struct index_entry {
    std::uint32_t rel_offset = 0;
    std::uint32_t position = 0;
    std::uint64_t timestamp = 0;
    friend bool operator==(const index_entry&, const index_entry&) = default;
};

void encode_entry(std::uint8_t* p, const index_entry& e) {
    iggy::store_u32(p, e.rel_offset);
    iggy::store_u32(p + 4, e.position);
    iggy::store_u64(p + 8, e.timestamp);
}

index_entry decode_entry(const std::uint8_t* p) {
    return {iggy::load_u32(p), iggy::load_u32(p + 4), iggy::load_u64(p + 8)};
}

error sys_error(std::string_view what, const std::filesystem::path& path, int err) {
    return error(errc::io_error, fmt::format("{} {}: {}", what, path.string(), std::strerror(err)));
}

status pread_all(int fd, std::uint8_t* buf, std::size_t n, std::uint64_t off,
                 const std::filesystem::path& path) {
    while (n > 0) {
        ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(off));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return sys_error("read", path, errno);
        }
        if (r == 0)
            return error(errc::data_loss, fmt::format("read {}: unexpected end", path.string()));
        buf += r;
        n -= static_cast<std::size_t>(r);
        off += static_cast<std::uint64_t>(r);
    }
    return ok();
}

status pwrite_all(int fd, const std::uint8_t* buf, std::size_t n, std::uint64_t off,
                  const std::filesystem::path& path) {
    while (n > 0) {
        ssize_t r = ::pwrite(fd, buf, n, static_cast<off_t>(off));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return sys_error("write", path, errno);
        }
        buf += r;
        n -= static_cast<std::size_t>(r);
        off += static_cast<std::uint64_t>(r);
    }
    return ok();
}

std::string segment_file(std::uint64_t base, std::string_view ext) {
    return fmt::format("{:020}.{}", base, ext);
}

// "<20 digits>.log" -> base offset.
std::optional<std::uint64_t> parse_log_name(std::string_view name) {
    if (name.size() != 24 || name.substr(20) != ".log")
        return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 20; ++i) {
        char c = name[i];
        if (c < '0' || c > '9')
            return std::nullopt;
        std::uint64_t d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

std::uint64_t now_us() {
    return iggy::now_micros();
}

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Checks that `batch` is a header plus exactly message_count well-formed frames, and renumbers
// offset deltas that are not the frame index (recomputing those frames' checksums).
status check_and_number_frames(std::span<std::uint8_t> batch, std::uint32_t count) {
    std::uint8_t* data = batch.data();
    const std::size_t size = batch.size();
    std::size_t pos = batch_header_size;
    std::uint32_t i = 0;
    bool renumber = false;
    while (pos < size) {
        if (size - pos < frame_header_size)
            return fail(errc::invalid_argument, "batch: truncated frame header");
        const std::uint8_t* f = data + pos;
        std::size_t body = std::size_t(iggy::load_u32(f + 32)) + iggy::load_u32(f + 36);
        if (size - pos - frame_header_size < body)
            return fail(errc::invalid_argument, "batch: frame runs past the end");
        if (iggy::load_u32(f + 24) != i)
            renumber = true;
        pos += frame_header_size + body;
        ++i;
    }
    if (i != count) {
        return fail(errc::invalid_argument,
                    fmt::format("batch: header says {} messages, found {}", count, i));
    }
    if (renumber) {
        pos = batch_header_size;
        for (std::uint32_t k = 0; k < count; ++k) {
            std::uint8_t* f = data + pos;
            std::size_t len =
                frame_header_size + std::size_t(iggy::load_u32(f + 32)) + iggy::load_u32(f + 36);
            iggy::store_u32(f + 24, k);
            iggy::store_u64(f, iggy::frame_checksum(bytes_view(f, len)));
            pos += len;
        }
    }
    return ok();
}

// True when the frames' offset deltas are 0, 1, 2, ... (what append guarantees).
bool deltas_are_indexes(bytes_view batch) {
    std::uint32_t i = 0;
    bool good = true;
    auto st = iggy::for_each_frame(batch, [&](const iggy::frame_view& f) {
        if (f.offset_delta != i)
            good = false;
        ++i;
    });
    return st.has_value() && good;
}

// Removes from `batch` (in place) the messages whose id `window` already holds, recording the
// others; returns how many messages remain. When some were removed, the header's message count
// and batch length are updated and the remaining frames renumbered 0, 1, 2, ... (the batch
// checksum is recomputed when the batch is stamped). `recorded` counts the ids put into the
// window. Frames are known to be well-formed (check_and_number_frames ran).
result<std::uint32_t> drop_duplicates(message_deduplicator& window, std::span<std::uint8_t> batch,
                                      std::uint32_t count, std::uint64_t ts,
                                      std::size_t& recorded) {
    window.expire(ts);
    std::uint8_t* data = batch.data();
    std::size_t pos = batch_header_size;
    std::size_t out = batch_header_size;
    std::uint32_t kept = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint8_t* f = data + pos;
        const std::size_t len =
            frame_header_size + std::size_t(iggy::load_u32(f + 32)) + iggy::load_u32(f + 36);
        const iggy::u128 id{iggy::load_u64(f + 8), iggy::load_u64(f + 16)};
        if (window.try_insert(id, ts)) {
            if (!id.is_zero())
                ++recorded;
            if (out != pos)
                std::memmove(data + out, f, len);
            out += len;
            ++kept;
        }
        pos += len;
    }
    if (kept == count || kept == 0)
        return kept;
    iggy::store_u64(data + 32, out);   // batch_length
    iggy::store_u32(data + 48, kept);  // message_count
    TRIB_TRY(check_and_number_frames(batch.first(out), kept));
    return kept;
}

// Sequential reads of a file through a large buffer (recovery scans).
class chunk_reader {
  public:
    chunk_reader(int fd, std::uint64_t file_size, const std::filesystem::path& path)
        : fd_(fd), file_size_(file_size), path_(path) {}

    result<bytes_view> get(std::uint64_t pos, std::size_t n) {
        if (pos >= start_ && pos + n <= start_ + len_)
            return bytes_view(buf_.data() + (pos - start_), n);
        std::size_t want = std::max(n, scan_chunk);
        want = static_cast<std::size_t>(std::min<std::uint64_t>(want, file_size_ - pos));
        if (want < n)
            return fail(errc::data_loss, "read past the end");
        if (buf_.size() < want)
            buf_.resize(want);
        TRIB_TRY(pread_all(fd_, buf_.data(), want, pos, path_));
        start_ = pos;
        len_ = want;
        return bytes_view(buf_.data(), n);
    }

  private:
    int fd_;
    std::uint64_t file_size_;
    const std::filesystem::path& path_;
    bytes buf_;
    std::uint64_t start_ = 0;
    std::size_t len_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

result<fsync_policy> parse_fsync_policy(std::string_view s) {
    if (s == "always")
        return fsync_policy::always;
    if (s == "interval")
        return fsync_policy::interval;
    if (s == "never")
        return fsync_policy::never;
    return fail(errc::invalid_argument,
                fmt::format("fsync policy '{}': expected always, interval or never", s));
}

std::string_view to_string(fsync_policy p) {
    switch (p) {
        case fsync_policy::always:
            return "always";
        case fsync_policy::interval:
            return "interval";
        case fsync_policy::never:
            return "never";
    }
    return "?";
}

std::uint64_t partition_share_of_topic_size(std::uint64_t max_topic_size,
                                            std::uint32_t partitions) {
    if (max_topic_size == 0 || max_topic_size == UINT64_MAX || partitions <= 1)
        return max_topic_size;
    return max_topic_size / partitions + (max_topic_size % partitions != 0 ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------

struct partition_log::segment {
    std::uint64_t base_offset = 0;
    std::filesystem::path log_path;
    std::filesystem::path index_path;
    int log_fd = -1;
    int index_fd = -1;

    // Guarded by state::mu (the writer, which holds write_mu, may read them without it).
    std::uint64_t size = 0;        // bytes of batches written
    std::uint64_t end_offset = 0;  // offset after the last written message
    std::vector<index_entry> index;
    bool removed = false;

    // Writer only (write_mu).
    std::size_t index_flushed = 0;  // entries already in the index file

    std::atomic<std::uint64_t> synced_size{0};

    ~segment() {
        if (log_fd >= 0)
            ::close(log_fd);
        if (index_fd >= 0)
            ::close(index_fd);
    }

    std::uint32_t batch_count(std::size_t k) const {
        std::uint64_t next =
            k + 1 < index.size() ? index[k + 1].rel_offset : end_offset - base_offset;
        return static_cast<std::uint32_t>(next - index[k].rel_offset);
    }
    std::uint64_t batch_length(std::size_t k) const {
        std::uint64_t next = k + 1 < index.size() ? index[k + 1].position : size;
        return next - index[k].position;
    }
    std::uint64_t newest_timestamp() const { return index.empty() ? 0 : index.back().timestamp; }
};

struct partition_log::cache_entry {
    std::uint64_t base_offset = 0;
    std::uint32_t count = 0;
    std::shared_ptr<const void> owner;
    bytes_view data;
    std::size_t charge = 0;  // what it counts against cache_bytes: the memory `owner` keeps
};

struct partition_log::read_piece {
    std::shared_ptr<segment> seg;       // disk piece
    std::shared_ptr<const void> owner;  // cached piece
    bytes_view data;
    std::uint64_t position = 0;
    std::uint64_t length = 0;
    std::uint64_t base_offset = 0;
    std::uint32_t count = 0;
    std::uint32_t skip = 0;
    std::uint32_t take = 0;
};

struct partition_log::state {
    std::mutex write_mu;  // appends, roll, retention, purge, destroy

    mutable std::mutex mu;  // guards the fields below and segment fields marked so
    std::vector<std::shared_ptr<segment>> segments;  // by base offset; the last is active
    std::uint64_t written_next = 0;                  // next offset to stamp
    std::uint64_t visible_next = 0;  // readers see offsets below this (synced ones under always)
    std::uint64_t last_timestamp = 0;
    std::deque<cache_entry> cache;
    std::size_t cache_size = 0;
    bool destroyed = false;

    std::mutex sync_mu;  // one fdatasync at a time; waiters piggyback on it (group commit)
    std::atomic<std::int64_t> last_sync_ms{0};
    std::atomic<bool> failed{false};

    std::optional<message_deduplicator> dedup;  // (write_mu) when options.dedup.enabled
};

partition_log::partition_log(std::filesystem::path dir, log_options options)
    : dir_(std::move(dir)), options_(options), st_(std::make_unique<state>()) {}

partition_log::~partition_log() {
    if (!st_)
        return;
    std::lock_guard wl(st_->write_mu);
    if (st_->destroyed || st_->segments.empty())
        return;
    segment& active = *st_->segments.back();
    if (auto s = flush_index_locked(active); !s)
        spdlog::warn("partition log {}: {}", dir_.string(), s.error().message());
    if (options_.fsync != fsync_policy::never && !st_->failed) {
        ::fdatasync(active.log_fd);
        ::fdatasync(active.index_fd);
    }
}

result<std::unique_ptr<partition_log>> partition_log::open(std::filesystem::path dir,
                                                           log_options options) {
    if (options.segment_size < min_segment_size || options.segment_size > max_segment_size) {
        return fail(errc::invalid_argument,
                    fmt::format("segment size {} outside {}..{}", options.segment_size,
                                min_segment_size, max_segment_size));
    }
    if (options.fsync == fsync_policy::interval && options.fsync_interval.count() <= 0)
        return fail(errc::invalid_argument, "fsync interval must be positive");
    TRIB_TRY(validate(options.dedup));
    std::unique_ptr<partition_log> log(new partition_log(std::move(dir), options));
    if (auto s = log->recover(); !s)
        return unexpected(s.error().wrap("open partition log " + log->dir_.string()));
    if (options.dedup.enabled) {
        if (auto s = log->load_dedup_window(); !s)
            return unexpected(s.error().wrap("open partition log " + log->dir_.string()));
    }
    return log;
}

result<std::shared_ptr<partition_log::segment>> partition_log::create_segment(
    std::uint64_t base_offset) {
    auto seg = std::make_shared<segment>();
    seg->base_offset = base_offset;
    seg->end_offset = base_offset;
    seg->log_path = dir_ / segment_file(base_offset, "log");
    seg->index_path = dir_ / segment_file(base_offset, "index");
    seg->log_fd = ::open(seg->log_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (seg->log_fd < 0)
        return sys_error("create", seg->log_path, errno);
    seg->index_fd = ::open(seg->index_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (seg->index_fd < 0)
        return sys_error("create", seg->index_path, errno);
    // The new names must survive a power loss before anything in them is acknowledged.
    TRIB_TRY(fsync_directory(dir_));
    return seg;
}

status partition_log::flush_index_locked(segment& seg) {
    const std::size_t n = seg.index.size();
    if (seg.index_flushed >= n)
        return ok();
    bytes buf((n - seg.index_flushed) * index_entry_size);
    for (std::size_t k = seg.index_flushed; k < n; ++k)
        encode_entry(buf.data() + (k - seg.index_flushed) * index_entry_size, seg.index[k]);
    TRIB_TRY(pwrite_all(seg.index_fd, buf.data(), buf.size(), seg.index_flushed * index_entry_size,
                        seg.index_path));
    seg.index_flushed = n;
    return ok();
}

// ---------------------------------------------------------------------------------------------
// Recovery

namespace {

struct scan_result {
    std::vector<index_entry> entries;
    std::uint64_t valid_size = 0;
    std::uint64_t end_offset = 0;
    std::string stop_reason;  // why the scan stopped before the end of the file
};

// Walks a segment's batches from the start, validating each (length, offsets, reserved bytes,
// frame layout, both checksums). Stops at the first batch that is not intact.
result<scan_result> scan_segment(int fd, std::uint64_t file_size, std::uint64_t base_offset,
                                 const std::filesystem::path& path) {
    scan_result out;
    out.end_offset = base_offset;
    chunk_reader rd(fd, file_size, path);
    std::uint64_t pos = 0;
    while (pos < file_size) {
        if (file_size - pos < batch_header_size + frame_header_size) {
            out.stop_reason = "torn batch header";
            break;
        }
        TRIB_ASSIGN_OR_RETURN(bytes_view head, rd.get(pos, batch_header_size));
        iggy::batch_header h = iggy::read_batch_header(head);
        if (h.batch_length < batch_header_size + frame_header_size ||
            h.batch_length > max_batch_size || h.batch_length > file_size - pos) {
            out.stop_reason =
                fmt::format("batch length {} at position {} does not fit", h.batch_length, pos);
            break;
        }
        if (h.base_offset != out.end_offset || h.message_count == 0 ||
            h.base_offset - base_offset + h.message_count > UINT32_MAX ||
            pos + h.batch_length > UINT32_MAX) {
            out.stop_reason = fmt::format("batch at position {} has base offset {}, expected {}",
                                          pos, h.base_offset, out.end_offset);
            break;
        }
        TRIB_ASSIGN_OR_RETURN(bytes_view whole,
                              rd.get(pos, static_cast<std::size_t>(h.batch_length)));
        if (auto v = iggy::validate_batch(whole, true); !v) {
            out.stop_reason =
                fmt::format("batch at offset {}: {}", h.base_offset, v.error().message());
            break;
        }
        if (!deltas_are_indexes(whole)) {
            out.stop_reason = fmt::format("batch at offset {}: offset deltas", h.base_offset);
            break;
        }
        out.entries.push_back({static_cast<std::uint32_t>(h.base_offset - base_offset),
                               static_cast<std::uint32_t>(pos), h.base_timestamp});
        out.end_offset = h.base_offset + h.message_count;
        pos += h.batch_length;
    }
    out.valid_size = pos;
    return out;
}

// The index file's entries, or nullopt when it is missing or not a whole number of entries.
std::optional<std::vector<index_entry>> load_index_file(const std::filesystem::path& path) {
    auto content = read_file(path);
    if (!content || content->size() % index_entry_size != 0)
        return std::nullopt;
    std::vector<index_entry> out(content->size() / index_entry_size);
    const auto* p = reinterpret_cast<const std::uint8_t*>(content->data());
    for (std::size_t k = 0; k < out.size(); ++k)
        out[k] = decode_entry(p + k * index_entry_size);
    return out;
}

status write_index_file(int fd, const std::vector<index_entry>& entries, std::size_t from,
                        const std::filesystem::path& path) {
    bytes buf((entries.size() - from) * index_entry_size);
    for (std::size_t k = from; k < entries.size(); ++k)
        encode_entry(buf.data() + (k - from) * index_entry_size, entries[k]);
    TRIB_TRY(pwrite_all(fd, buf.data(), buf.size(), from * index_entry_size, path));
    if (::ftruncate(fd, static_cast<off_t>(entries.size() * index_entry_size)) != 0)
        return sys_error("truncate", path, errno);
    if (::fdatasync(fd) != 0)
        return sys_error("fsync", path, errno);
    return ok();
}

}  // namespace

status partition_log::finish_purge_locked() {
    // Every segment file goes, whatever the in-memory view says: the marker may be left over
    // from a purge that an earlier process did not finish.
    std::error_code ec;
    std::vector<std::filesystem::path> doomed;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
        auto name = e.path().filename().string();
        if (name.size() == 24 && parse_log_name(name))
            doomed.push_back(e.path());
        else if (name.size() == 26 && name.ends_with(".index") &&
                 parse_log_name(name.substr(0, 20) + ".log"))
            doomed.push_back(e.path());
    }
    if (ec)
        return sys_error("list", dir_, ec.value());
    for (const auto& p : doomed) {
        if (::unlink(p.c_str()) != 0 && errno != ENOENT)
            return sys_error("remove", p, errno);
    }
    TRIB_ASSIGN_OR_RETURN(auto seg, create_segment(0));
    seg->synced_size = 0;
    {
        std::lock_guard lk(st_->mu);
        st_->segments.push_back(std::move(seg));
        st_->written_next = 0;
        st_->visible_next = 0;
    }
    if (::unlink((dir_ / purge_marker_name).c_str()) != 0 && errno != ENOENT)
        return sys_error("remove", dir_ / purge_marker_name, errno);
    return fsync_directory(dir_);
}

status partition_log::recover() {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec)
        return sys_error("create directory", dir_, ec.value());

    std::lock_guard wl(st_->write_mu);
    if (std::filesystem::exists(dir_ / purge_marker_name, ec)) {
        TRIB_TRY(finish_purge_locked());
        recovery_.purge_completed = true;
        recovery_.segments = 1;
        st_->last_sync_ms = steady_ms();
        return ok();
    }

    std::vector<std::uint64_t> bases;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
        if (auto b = parse_log_name(e.path().filename().string()))
            bases.push_back(*b);
    }
    if (ec)
        return sys_error("list", dir_, ec.value());
    std::sort(bases.begin(), bases.end());

    std::vector<std::shared_ptr<segment>> segs;
    for (std::size_t i = 0; i < bases.size(); ++i) {
        const bool last = i + 1 == bases.size();
        auto seg = std::make_shared<segment>();
        seg->base_offset = bases[i];
        seg->end_offset = bases[i];
        seg->log_path = dir_ / segment_file(bases[i], "log");
        seg->index_path = dir_ / segment_file(bases[i], "index");
        seg->log_fd = ::open(seg->log_path.c_str(), O_RDWR | O_CLOEXEC);
        if (seg->log_fd < 0)
            return sys_error("open", seg->log_path, errno);
        auto disk_index = load_index_file(seg->index_path);  // before O_CREAT makes one
        seg->index_fd = ::open(seg->index_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (seg->index_fd < 0)
            return sys_error("open", seg->index_path, errno);
        struct stat sb {};
        if (::fstat(seg->log_fd, &sb) != 0)
            return sys_error("stat", seg->log_path, errno);
        const auto file_size = static_cast<std::uint64_t>(sb.st_size);

        // A sealed segment was synced when it was rolled: trust an index that agrees with the
        // log at both ends instead of reading the whole segment.
        bool trusted = false;
        if (!last && disk_index && !disk_index->empty() && file_size > 0) {
            const auto& ix = *disk_index;
            bool mono = ix.front().rel_offset == 0 && ix.front().position == 0;
            for (std::size_t k = 1; mono && k < ix.size(); ++k) {
                mono =
                    ix[k].rel_offset > ix[k - 1].rel_offset && ix[k].position > ix[k - 1].position;
            }
            if (mono && ix.back().position + batch_header_size <= file_size) {
                std::uint8_t head[batch_header_size];
                TRIB_TRY(
                    pread_all(seg->log_fd, head, sizeof head, ix.back().position, seg->log_path));
                auto h = iggy::read_batch_header(bytes_view(head, sizeof head));
                if (h.base_offset == seg->base_offset + ix.back().rel_offset &&
                    h.batch_length == file_size - ix.back().position && h.message_count > 0 &&
                    h.base_timestamp == ix.back().timestamp) {
                    trusted = true;
                    seg->index = ix;
                    seg->size = file_size;
                    seg->end_offset = h.base_offset + h.message_count;
                }
            }
        }
        if (!trusted) {
            TRIB_ASSIGN_OR_RETURN(
                auto scan, scan_segment(seg->log_fd, file_size, seg->base_offset, seg->log_path));
            if (scan.valid_size < file_size) {
                spdlog::warn("partition log {}: truncating {} at byte {} of {} ({})", dir_.string(),
                             seg->log_path.filename().string(), scan.valid_size, file_size,
                             scan.stop_reason);
                if (::ftruncate(seg->log_fd, static_cast<off_t>(scan.valid_size)) != 0)
                    return sys_error("truncate", seg->log_path, errno);
                if (::fdatasync(seg->log_fd) != 0)
                    return sys_error("fsync", seg->log_path, errno);
                recovery_.truncated_bytes += file_size - scan.valid_size;
            }
            seg->size = scan.valid_size;
            seg->end_offset = scan.end_offset;
            seg->index = std::move(scan.entries);
            // Keep a correct prefix of the index file; rewrite it when it is missing, garbage or
            // longer than the log.
            // An empty index of a non-empty log counts as missing.
            const bool prefix =
                disk_index && disk_index->size() <= seg->index.size() &&
                (!disk_index->empty() || seg->index.empty()) &&
                std::equal(disk_index->begin(), disk_index->end(), seg->index.begin());
            std::size_t keep = 0;
            if (prefix) {
                keep = disk_index->size();
                if (keep < seg->index.size())
                    ++recovery_.indexes_extended;
            } else {
                ++recovery_.indexes_rebuilt;
                spdlog::warn("partition log {}: rebuilding {}", dir_.string(),
                             seg->index_path.filename().string());
            }
            if (!prefix || keep < seg->index.size())
                TRIB_TRY(write_index_file(seg->index_fd, seg->index, keep, seg->index_path));
        }
        seg->index_flushed = seg->index.size();
        if (last) {
            // What the previous process wrote may still be only in the page cache.
            if (::fdatasync(seg->log_fd) != 0)
                return sys_error("fsync", seg->log_path, errno);
        }
        seg->synced_size = seg->size;
        segs.push_back(std::move(seg));
    }

    // Empty segments other than the last hold nothing (a crash between creating one and
    // writing to it, or a replaced expired segment): drop them.
    for (std::size_t i = 0; i + 1 < segs.size();) {
        if (segs[i]->index.empty()) {
            ::unlink(segs[i]->log_path.c_str());
            ::unlink(segs[i]->index_path.c_str());
            segs.erase(segs.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
            ++i;
        }
    }
    for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
        if (segs[i]->end_offset > segs[i + 1]->base_offset) {
            return fail(errc::data_loss,
                        fmt::format("segment {} ends at offset {}, past the next segment's base {}",
                                    segs[i]->log_path.string(), segs[i]->end_offset,
                                    segs[i + 1]->base_offset));
        }
        if (segs[i]->end_offset < segs[i + 1]->base_offset) {
            spdlog::warn("partition log {}: offsets {}..{} are missing", dir_.string(),
                         segs[i]->end_offset, segs[i + 1]->base_offset);
        }
    }

    if (segs.empty()) {
        TRIB_ASSIGN_OR_RETURN(auto seg, create_segment(0));
        segs.push_back(std::move(seg));
    }
    std::lock_guard lk(st_->mu);
    st_->segments = std::move(segs);
    st_->written_next = st_->segments.back()->end_offset;
    st_->visible_next = st_->written_next;
    for (const auto& s : st_->segments)
        st_->last_timestamp = std::max(st_->last_timestamp, s->newest_timestamp());
    st_->last_sync_ms = steady_ms();
    recovery_.segments = static_cast<std::uint32_t>(st_->segments.size());
    return ok();
}

// Puts the ids of the log's tail back into the de-duplication window: the messages appended
// within the expiry, at most the newest max_entries of them. Offsets are dense, so the newest
// max_entries messages start at next - max_entries, and the time index gives the first batch
// inside the expiry: the read starts at the later of the two and reads only the window (plus the
// part of the first batch before it, which the read cuts off).
status partition_log::load_dedup_window() {
    const dedup_options& o = options_.dedup;
    message_deduplicator window(o);
    const std::uint64_t now = now_us();
    const std::uint64_t next = next_offset();
    std::uint64_t from = stats().first_offset;
    if (o.max_entries != 0 && next > o.max_entries)
        from = std::max(from, next - o.max_entries);
    if (o.expiry_us != 0) {
        auto fresh = find_offset_by_timestamp(now > o.expiry_us ? now - o.expiry_us + 1 : 0);
        from = fresh ? std::max(from, *fresh) : next;
    }
    constexpr std::uint32_t chunk_messages = 65536;
    constexpr std::size_t chunk_bytes = std::size_t{8} << 20;
    while (from < next) {
        auto count =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(next - from, chunk_messages));
        TRIB_ASSIGN_OR_RETURN(auto rr, read(from, count, chunk_bytes));
        if (rr.batches.empty())
            break;
        for (const auto& b : rr.batches) {
            recovery_.dedup_bytes_read += b.data.size();
            const std::uint64_t ts = iggy::read_batch_header(b.data).base_timestamp;
            window.expire(ts);
            TRIB_TRY(iggy::for_each_frame(
                b.data, [&](const iggy::frame_view& f) { window.try_insert(f.id, ts); }));
            from = b.first_offset + b.message_count;
        }
    }
    window.expire(now);
    recovery_.dedup_ids_loaded = window.size();
    std::lock_guard wl(st_->write_mu);
    st_->dedup.emplace(std::move(window));
    if (recovery_.dedup_ids_loaded > 0) {
        spdlog::info("partition log {}: de-duplication window rebuilt: {} ids ({} bytes read)",
                     dir_.string(), recovery_.dedup_ids_loaded, recovery_.dedup_bytes_read);
    }
    return ok();
}

// ---------------------------------------------------------------------------------------------
// Appends

status partition_log::roll_locked() {
    auto old = st_->segments.back();
    TRIB_TRY(flush_index_locked(*old));
    // Sealed segments are always durable, whatever the policy: recovery then only needs to
    // validate the last segment.
    if (::fdatasync(old->log_fd) != 0 || ::fdatasync(old->index_fd) != 0) {
        st_->failed = true;
        return sys_error("fsync", old->log_path, errno);
    }
    old->synced_size = old->size;
    TRIB_ASSIGN_OR_RETURN(auto seg, create_segment(st_->written_next));
    std::lock_guard lk(st_->mu);
    st_->segments.push_back(std::move(seg));
    st_->visible_next = std::max(st_->visible_next, old->end_offset);
    return ok();
}

status partition_log::sync_segment_to(const std::shared_ptr<segment>& seg, std::uint64_t size) {
    std::lock_guard sl(st_->sync_mu);
    if (seg->synced_size.load() >= size)
        return ok();  // someone else's fdatasync covered this write
    if (st_->failed)
        return fail(errc::io_error, "partition log: an earlier fsync failed; reopen the log");
    std::uint64_t target_size, target_end;
    {
        std::lock_guard lk(st_->mu);
        target_size = seg->size;
        target_end = seg->end_offset;
    }
    if (::fdatasync(seg->log_fd) != 0) {
        st_->failed = true;
        return sys_error("fsync", seg->log_path, errno);
    }
    seg->synced_size = target_size;
    st_->last_sync_ms = steady_ms();
    std::lock_guard lk(st_->mu);
    if (!seg->removed && target_end > st_->visible_next)
        st_->visible_next = target_end;
    return ok();
}

result<append_result> partition_log::append(std::span<std::uint8_t> batch, append_sync sync) {
    return append_impl(nullptr, batch, sync, 0);
}

result<append_result> partition_log::append_shared(std::shared_ptr<const void> owner,
                                                   std::span<std::uint8_t> batch, append_sync sync,
                                                   std::size_t owner_bytes) {
    return append_impl(std::move(owner), batch, sync, owner_bytes);
}

result<append_result> partition_log::append_impl(std::shared_ptr<const void> owner,
                                                 std::span<std::uint8_t> batch, append_sync sync,
                                                 std::size_t owner_bytes) {
    if (batch.size() < batch_header_size + frame_header_size)
        return fail(errc::invalid_argument, "batch: too short");
    if (batch.size() > max_batch_size)
        return fail(errc::invalid_argument, "batch: too large");
    const iggy::batch_header h = iggy::read_batch_header(batch);
    if (h.batch_length != batch.size())
        return fail(errc::invalid_argument, "batch: batch_length does not match its size");
    if (h.message_count == 0)
        return fail(errc::invalid_argument, "batch: no messages");
    TRIB_TRY(check_and_number_frames(batch, h.message_count));

    std::unique_lock wl(st_->write_mu);
    if (st_->destroyed)
        return fail(errc::failed_precondition, "partition log: deleted");
    if (st_->failed)
        return fail(errc::io_error, "partition log: an earlier fsync failed; reopen the log");
    if (st_->segments.empty())
        return fail(errc::io_error, "partition log: no active segment");
    std::shared_ptr<segment> active = st_->segments.back();
    const std::uint64_t ts = std::max(now_us(), st_->last_timestamp);
    std::uint32_t count = h.message_count;
    std::uint32_t duplicates = 0;
    std::size_t recorded = 0;  // ids this append put into the window (undone if it fails)
    if (st_->dedup) {
        auto kept = drop_duplicates(*st_->dedup, batch, count, ts, recorded);
        if (!kept) {
            st_->dedup->undo_last(recorded);
            return unexpected(kept.error());
        }
        duplicates = count - *kept;
        count = *kept;
        if (duplicates > 0 && count > 0)
            batch = batch.first(iggy::read_batch_header(batch).batch_length);
    }
    auto undo = [&] {
        if (recorded > 0)
            st_->dedup->undo_last(recorded);
    };
    if (count == 0) {
        // Every message was a duplicate: nothing to write. The originals may have been written
        // by an append still waiting for its fsync; this acknowledgement waits for it as well.
        const std::uint64_t end = active->size;
        const std::uint64_t next = st_->written_next;
        wl.unlock();
        if (sync == append_sync::durable || options_.fsync == fsync_policy::always) {
            if (active->synced_size.load() < end)
                TRIB_TRY(sync_segment_to(active, end));
        }
        return append_result{next, 0, ts, duplicates};
    }
    const std::uint64_t base = st_->written_next;
    if (active->size > 0 && (active->size + batch.size() > options_.segment_size ||
                             active->size + batch.size() > UINT32_MAX ||
                             base + count - active->base_offset > UINT32_MAX)) {
        if (auto s = roll_locked(); !s) {
            undo();
            return unexpected(s.error());
        }
        active = st_->segments.back();
    }
    iggy::stamp_batch(batch.data(), batch.size(), options_.partition_id, base, ts);
    const std::uint64_t pos = active->size;
    if (auto s = pwrite_all(active->log_fd, batch.data(), batch.size(), pos, active->log_path);
        !s) {
        undo();
        // Leave no partial batch behind: the next append writes at `pos` again.
        if (::ftruncate(active->log_fd, static_cast<off_t>(pos)) != 0)
            st_->failed = true;
        return unexpected(s.error());
    }
    bytes_view cached_view;
    // A shared owner counts with all the memory it keeps (a small batch may lie in a large
    // request buffer): charging only the batch bytes let a few MiB of cached batches pin GiBs.
    std::size_t charge = std::max(owner_bytes, batch.size());
    if (options_.cache_bytes > 0 && batch.size() <= options_.cache_bytes) {
        if (owner && charge <= options_.cache_bytes &&
            charge - batch.size() <= std::max(batch.size(), options_.cache_copy_limit)) {
            cached_view = bytes_view(batch.data(), batch.size());
        } else if (batch.size() <= options_.cache_copy_limit) {
            auto copy = std::make_shared<bytes>(batch.begin(), batch.end());
            cached_view = bytes_view(*copy);
            owner = std::move(copy);
            charge = batch.size();
        }
    }
    {
        std::lock_guard lk(st_->mu);
        active->index.push_back({static_cast<std::uint32_t>(base - active->base_offset),
                                 static_cast<std::uint32_t>(pos), ts});
        active->size += batch.size();
        active->end_offset = base + count;
        st_->written_next = base + count;
        st_->last_timestamp = ts;
        if (options_.fsync != fsync_policy::always)
            st_->visible_next = st_->written_next;
        if (!cached_view.empty()) {
            st_->cache.push_back({base, count, std::move(owner), cached_view, charge});
            st_->cache_size += charge;
            while (st_->cache_size > options_.cache_bytes) {
                st_->cache_size -= st_->cache.front().charge;
                st_->cache.pop_front();
            }
        } else if (!st_->cache.empty()) {
            // The cache must stay contiguous up to the head: a batch it does not hold ends it.
            st_->cache.clear();
            st_->cache_size = 0;
        }
    }
    if (active->index.size() - active->index_flushed >= index_flush_entries) {
        if (auto s = flush_index_locked(*active); !s)
            spdlog::warn("partition log {}: {}", dir_.string(), s.error().message());
    }
    const std::uint64_t end = pos + batch.size();
    wl.unlock();

    bool need_sync = sync == append_sync::durable || options_.fsync == fsync_policy::always;
    if (!need_sync && options_.fsync == fsync_policy::interval)
        need_sync = steady_ms() - st_->last_sync_ms.load() >= options_.fsync_interval.count();
    if (need_sync)
        TRIB_TRY(sync_segment_to(active, end));
    return append_result{base, count, ts, duplicates};
}

status partition_log::sync() {
    std::unique_lock wl(st_->write_mu);
    if (st_->destroyed || st_->segments.empty())
        return ok();
    auto active = st_->segments.back();
    TRIB_TRY(flush_index_locked(*active));
    const std::uint64_t size = active->size;
    wl.unlock();
    if (active->synced_size.load() >= size)
        return ok();
    return sync_segment_to(active, size);
}

status partition_log::sync_if_due() {
    if (options_.fsync != fsync_policy::interval)
        return ok();
    std::shared_ptr<segment> active;
    std::uint64_t size = 0;
    {
        std::lock_guard lk(st_->mu);
        if (st_->destroyed || st_->segments.empty())
            return ok();
        active = st_->segments.back();
        size = active->size;
    }
    if (active->synced_size.load() >= size)
        return ok();
    if (steady_ms() - st_->last_sync_ms.load() < options_.fsync_interval.count())
        return ok();
    return sync_segment_to(active, size);
}

// ---------------------------------------------------------------------------------------------
// Reads

std::optional<std::uint64_t> partition_log::find_offset_by_timestamp_locked(
    std::uint64_t ts) const {
    for (const auto& seg : st_->segments) {
        if (seg->index.empty() || seg->newest_timestamp() < ts)
            continue;
        auto it =
            std::lower_bound(seg->index.begin(), seg->index.end(), ts,
                             [](const index_entry& e, std::uint64_t t) { return e.timestamp < t; });
        std::uint64_t off = seg->base_offset + it->rel_offset;
        if (off >= st_->visible_next)
            return std::nullopt;
        return off;
    }
    return std::nullopt;
}

std::optional<std::uint64_t> partition_log::find_offset_by_timestamp(
    std::uint64_t timestamp_us) const {
    std::lock_guard lk(st_->mu);
    return find_offset_by_timestamp_locked(timestamp_us);
}

result<read_result> partition_log::read_impl(std::uint64_t from, std::uint32_t max_count,
                                             std::size_t max_bytes, bool from_timestamp,
                                             std::uint64_t timestamp_us) const {
    read_result out;
    std::vector<read_piece> pieces;
    {
        std::lock_guard lk(st_->mu);
        const std::uint64_t visible = st_->visible_next;
        out.current_offset = visible == 0 ? 0 : visible - 1;
        if (from_timestamp) {
            auto off = find_offset_by_timestamp_locked(timestamp_us);
            if (!off)
                return out;
            from = *off;
        }
        if (max_count == 0 || from >= visible)
            return out;
        std::uint64_t remaining = max_count;
        std::uint64_t planned_bytes = 0;
        auto add = [&](read_piece p, std::uint64_t& cursor) -> bool {
            if (p.base_offset >= visible || remaining == 0)
                return false;
            if (planned_bytes >= max_bytes && !pieces.empty())
                return false;
            p.skip =
                cursor > p.base_offset ? static_cast<std::uint32_t>(cursor - p.base_offset) : 0;
            p.take =
                static_cast<std::uint32_t>(std::min<std::uint64_t>(p.count - p.skip, remaining));
            remaining -= p.take;
            planned_bytes += p.length;
            cursor = p.base_offset + p.count;
            pieces.push_back(std::move(p));
            return true;
        };

        const auto& cache = st_->cache;
        if (!cache.empty() && from >= cache.front().base_offset) {
            auto it = std::upper_bound(
                cache.begin(), cache.end(), from,
                [](std::uint64_t o, const cache_entry& e) { return o < e.base_offset; });
            --it;  // the batch holding `from`
            for (; it != cache.end(); ++it) {
                read_piece p;
                p.owner = it->owner;
                p.data = it->data;
                p.length = it->data.size();
                p.base_offset = it->base_offset;
                p.count = it->count;
                if (!add(std::move(p), from))
                    break;
            }
        } else {
            const auto& segs = st_->segments;
            auto sit = std::upper_bound(segs.begin(), segs.end(), from,
                                        [](std::uint64_t o, const std::shared_ptr<segment>& s) {
                                            return o < s->base_offset;
                                        });
            if (sit != segs.begin())
                --sit;
            bool more = true;
            for (; more && sit != segs.end(); ++sit) {
                const auto& seg = *sit;
                if (seg->index.empty())
                    continue;
                if (from < seg->base_offset)
                    from = seg->base_offset;  // before the oldest retained message, or a gap
                if (from >= seg->end_offset)
                    continue;
                const std::uint64_t rel = from - seg->base_offset;
                auto eit = std::upper_bound(
                    seg->index.begin(), seg->index.end(), rel,
                    [](std::uint64_t r, const index_entry& e) { return r < e.rel_offset; });
                std::size_t k = static_cast<std::size_t>(eit - seg->index.begin()) - 1;
                for (; k < seg->index.size(); ++k) {
                    read_piece p;
                    p.seg = seg;
                    p.position = seg->index[k].position;
                    p.length = seg->batch_length(k);
                    p.base_offset = seg->base_offset + seg->index[k].rel_offset;
                    p.count = seg->batch_count(k);
                    if (!add(std::move(p), from)) {
                        more = false;
                        break;
                    }
                }
            }
        }
    }

    // One pread per run of adjacent batches of the same segment, outside the lock.
    out.batches.reserve(pieces.size());
    for (std::size_t i = 0; i < pieces.size();) {
        std::shared_ptr<bytes> buf;
        std::size_t j = i + 1;
        std::uint64_t run_start = pieces[i].position;
        if (pieces[i].seg) {
            std::uint64_t run_end = pieces[i].position + pieces[i].length;
            while (j < pieces.size() && pieces[j].seg == pieces[i].seg &&
                   pieces[j].position == run_end) {
                run_end += pieces[j].length;
                ++j;
            }
            buf = std::make_shared<bytes>(static_cast<std::size_t>(run_end - run_start));
            TRIB_TRY(pread_all(pieces[i].seg->log_fd, buf->data(), buf->size(), run_start,
                               pieces[i].seg->log_path));
        }
        for (std::size_t k = i; k < j; ++k) {
            const read_piece& p = pieces[k];
            bytes_view view;
            std::shared_ptr<const void> owner;
            if (p.seg) {
                view = bytes_view(buf->data() + (p.position - run_start),
                                  static_cast<std::size_t>(p.length));
                owner = buf;
                auto h = iggy::read_batch_header(view);
                if (h.base_offset != p.base_offset || h.batch_length != p.length ||
                    h.message_count != p.count) {
                    return fail(errc::data_loss,
                                fmt::format("partition log {}: index and log disagree at offset "
                                            "{} (reopen rebuilds the index)",
                                            dir_.string(), p.base_offset));
                }
                if (options_.verify_checksums_on_read) {
                    if (auto v = iggy::validate_batch(view, true); !v) {
                        return fail(errc::data_loss,
                                    fmt::format("partition log {}: batch at offset {}: {}",
                                                dir_.string(), p.base_offset, v.error().message()));
                    }
                }
            } else {
                view = p.data;
                owner = p.owner;
            }
            stored_batch sb;
            sb.base_offset = p.base_offset;
            sb.first_offset = p.base_offset + p.skip;
            sb.message_count = p.take;
            if (p.skip == 0 && p.take == p.count) {
                sb.owner = std::move(owner);
                sb.data = view;
            } else {
                auto cut = std::make_shared<bytes>(iggy::cut_batch(view, p.skip, p.take));
                sb.data = bytes_view(*cut);
                sb.owner = std::move(cut);
            }
            out.message_count += sb.message_count;
            out.size_bytes += sb.data.size();
            out.batches.push_back(std::move(sb));
        }
        i = j;
    }
    return out;
}

result<read_result> partition_log::read(std::uint64_t from_offset, std::uint32_t max_count,
                                        std::size_t max_bytes) const {
    return read_impl(from_offset, max_count, max_bytes, false, 0);
}

result<read_result> partition_log::read_first(std::uint32_t max_count,
                                              std::size_t max_bytes) const {
    return read_impl(0, max_count, max_bytes, false, 0);
}

result<read_result> partition_log::read_last(std::uint32_t max_count, std::size_t max_bytes) const {
    std::uint64_t next = next_offset();
    std::uint64_t from = next > max_count ? next - max_count : 0;
    return read_impl(from, max_count, max_bytes, false, 0);
}

result<read_result> partition_log::read_next(std::optional<std::uint64_t> stored_offset,
                                             std::uint32_t max_count, std::size_t max_bytes) const {
    std::uint64_t from = stored_offset ? *stored_offset + 1 : 0;
    if (stored_offset && *stored_offset == UINT64_MAX)
        return read_result{{}, 0, 0, current_offset()};
    return read_impl(from, max_count, max_bytes, false, 0);
}

result<read_result> partition_log::read_from_timestamp(std::uint64_t timestamp_us,
                                                       std::uint32_t max_count,
                                                       std::size_t max_bytes) const {
    return read_impl(0, max_count, max_bytes, true, timestamp_us);
}

log_stats partition_log::stats() const {
    std::lock_guard lk(st_->mu);
    log_stats s;
    s.next_offset = st_->visible_next;
    s.first_offset = s.next_offset;
    for (const auto& seg : st_->segments) {
        s.size_bytes += seg->size;
        if (!seg->index.empty()) {
            s.first_offset = std::min(s.first_offset, seg->base_offset);
            std::uint64_t end = std::min(seg->end_offset, st_->visible_next);
            if (end > seg->base_offset)
                s.message_count += end - seg->base_offset;
        }
    }
    s.segment_count = static_cast<std::uint32_t>(st_->segments.size());
    return s;
}

std::uint64_t partition_log::next_offset() const {
    std::lock_guard lk(st_->mu);
    return st_->visible_next;
}

std::uint64_t partition_log::current_offset() const {
    std::uint64_t n = next_offset();
    return n == 0 ? 0 : n - 1;
}

// ---------------------------------------------------------------------------------------------
// Retention, purge, delete

result<retention_result> partition_log::apply_retention(const retention_policy& policy,
                                                        std::uint64_t now) {
    retention_result res;
    std::lock_guard wl(st_->write_mu);
    if (st_->destroyed)
        return res;
    const std::uint64_t expiry = policy.message_expiry_us;
    const bool expiry_on = expiry != 0 && expiry != UINT64_MAX;
    const std::uint64_t max_bytes = policy.max_bytes;
    const bool size_on = max_bytes != 0 && max_bytes != UINT64_MAX;

    std::vector<std::shared_ptr<segment>> removed;
    auto remove_front = [&] {
        auto seg = st_->segments.front();
        std::lock_guard lk(st_->mu);
        seg->removed = true;
        st_->segments.erase(st_->segments.begin());
        // The cache must not serve what retention removed.
        const std::uint64_t first =
            st_->segments.empty() ? st_->written_next : st_->segments.front()->base_offset;
        while (!st_->cache.empty() && st_->cache.front().base_offset < first) {
            st_->cache_size -= st_->cache.front().charge;
            st_->cache.pop_front();
        }
        res.segments_removed++;
        res.messages_removed += seg->end_offset - seg->base_offset;
        res.bytes_removed += seg->size;
        removed.push_back(std::move(seg));
    };

    if (expiry_on) {
        while (!st_->segments.empty()) {
            auto seg = st_->segments.front();  // a copy: push_back below may reallocate
            if (seg->index.empty())
                break;
            const std::uint64_t newest = seg->newest_timestamp();
            const bool expired = now >= expiry && newest <= now - expiry;
            if (!expired)
                break;
            if (st_->segments.size() == 1) {
                // Everything is expired: an empty segment takes over the next offset first, so
                // that a crash in between never leaves the partition without a segment.
                TRIB_ASSIGN_OR_RETURN(auto fresh, create_segment(st_->written_next));
                {
                    std::lock_guard lk(st_->mu);
                    st_->segments.push_back(std::move(fresh));
                    st_->visible_next = std::max(st_->visible_next, seg->end_offset);
                }
                remove_front();
                break;
            }
            remove_front();
        }
    }
    if (size_on) {
        std::uint64_t total = 0;
        for (const auto& seg : st_->segments)
            total += seg->size;
        while (total > max_bytes && st_->segments.size() > 1) {
            total -= st_->segments.front()->size;
            remove_front();
        }
    }
    if (!removed.empty()) {
        for (const auto& seg : removed) {
            if (::unlink(seg->log_path.c_str()) != 0 && errno != ENOENT)
                return sys_error("remove", seg->log_path, errno);
            if (::unlink(seg->index_path.c_str()) != 0 && errno != ENOENT)
                return sys_error("remove", seg->index_path, errno);
        }
        TRIB_TRY(fsync_directory(dir_));
    }
    return res;
}

status partition_log::purge() {
    std::lock_guard wl(st_->write_mu);
    if (st_->destroyed)
        return fail(errc::failed_precondition, "partition log: deleted");
    TRIB_TRY(write_file_atomic(dir_ / purge_marker_name, "", file_sync::durable, 0644));
    {
        std::lock_guard lk(st_->mu);
        for (auto& seg : st_->segments)
            seg->removed = true;
        st_->segments.clear();
        st_->cache.clear();
        st_->cache_size = 0;
        st_->written_next = 0;
        st_->visible_next = 0;
        // last_timestamp is kept: append timestamps never go backwards.
    }
    if (st_->dedup)
        st_->dedup->clear();
    st_->failed = false;
    return finish_purge_locked();
}

status partition_log::destroy() {
    std::lock_guard wl(st_->write_mu);
    {
        std::lock_guard lk(st_->mu);
        st_->destroyed = true;
        for (auto& seg : st_->segments)
            seg->removed = true;
        st_->segments.clear();
        st_->cache.clear();
        st_->cache_size = 0;
        st_->visible_next = 0;
        st_->written_next = 0;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec)
        return sys_error("remove", dir_, ec.value());
    return fsync_directory(dir_.parent_path());
}

// ---------------------------------------------------------------------------------------------

struct flusher::impl {
    std::chrono::milliseconds period;
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;
    std::vector<std::weak_ptr<partition_log>> logs;
    std::thread thread;

    void run() {
        std::unique_lock lk(mu);
        while (!stop) {
            cv.wait_for(lk, period, [&] { return stop; });
            if (stop)
                break;
            auto current = logs;
            lk.unlock();
            for (auto& w : current) {
                if (auto log = w.lock()) {
                    if (auto s = log->sync_if_due(); !s)
                        spdlog::warn("flusher: {}", s.error().message());
                }
            }
            lk.lock();
            std::erase_if(logs, [](const auto& w) { return w.expired(); });
        }
    }
};

flusher::flusher(std::chrono::milliseconds period) : impl_(std::make_unique<impl>()) {
    impl_->period = period;
    impl_->thread = std::thread([this] { impl_->run(); });
}

flusher::~flusher() {
    {
        std::lock_guard lk(impl_->mu);
        impl_->stop = true;
    }
    impl_->cv.notify_all();
    impl_->thread.join();
}

void flusher::add(std::weak_ptr<partition_log> log) {
    std::lock_guard lk(impl_->mu);
    impl_->logs.push_back(std::move(log));
}

}  // namespace trib::server::storage
