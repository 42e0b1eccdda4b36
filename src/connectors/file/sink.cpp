// The file sink: JSON lines (or raw lines), one write and one fdatasync per batch, rotation by
// size and time, a torn last line of its own cut off at open (anybody else's kept), and an
// idempotent mode keyed by the Iggy offset and timestamp of each line.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>

#include "connectors/file/file.h"
#include "connectors/file/state.h"
#include "core/atomic_file.h"
#include "core/base64.h"
#include "core/errno_text.h"
#include "core/header_json.h"
#include "core/json_parse.h"
#include "core/json_text.h"
#include "core/metrics.h"
#include "core/parse_number.h"

namespace trib::connectors {
namespace {

using clock = std::chrono::steady_clock;

/// The highest `<path>.<N>` suffix the sink takes as one of its own rotated files (one rotation a
/// second for 31 years); a larger or unparsable number beside the file is someone else's name.
constexpr std::uint64_t k_max_rotation = 999'999'999;
/// Idempotent mode saves its marks with a checkpoint of the current file (`<path>.offsets`) after
/// this many bytes: a start-up after a crash scans at most this much of the file (plus a batch).
constexpr std::uint64_t k_checkpoint_bytes = 64u << 20;
/// The sidecar has one line per partition ever written: far below this.
constexpr std::uint64_t k_max_sidecar_bytes = 64u << 20;
/// A last line without newline longer than this is not a torn write of ours (we do not look for
/// its start further back).
constexpr std::uint64_t k_max_torn_scan = 64u << 20;
/// Of each line scanned at start-up only its first bytes are kept (the key is at its start).
constexpr std::size_t k_max_key_bytes = 4096;

using file_detail::mark;
using file_detail::mark_map;

// A JSON string holding the base64 of `s`.
void append_base64_string(std::string& out, std::string_view s) {
    out.push_back('"');
    trib::append_base64(out, s);
    out.push_back('"');
}

class file_sink final : public sink {
  public:
    struct options {
        std::string path;
        bool raw_format = false;
        bool metadata = false;
        std::uint64_t max_size = 0;
        std::chrono::milliseconds rotate_interval{0};
        bool fsync = true;
        bool idempotent = false;
        file_sink_clock now;  // never empty
    };

    explicit file_sink(options o) : o_(std::move(o)) {
        if (o_.idempotent)
            o_.metadata = true;
        if (!o_.now)
            o_.now = [] { return clock::now(); };
    }
    ~file_sink() override { close(); }

    status open(connector_context& ctx) override {
        key_ = ctx.key;
        close();
        marks_loaded_ = false;
        if (ctx.metrics != nullptr) {
            m_resets_ = &ctx.metrics->counter(
                "trib_file_sink_offset_resets_total",
                "Times the idempotent file sink saw a partition's offsets go backwards with newer "
                "messages (the topic was purged or recreated) and wrote them.",
                {{"connector", key_}});
        }
        const auto p = std::filesystem::path(o_.path);
        std::error_code ec;
        if (p.has_parent_path())
            std::filesystem::create_directories(p.parent_path(), ec);
        if (ec)
            return fail(errc::io_error,
                        "creating " + p.parent_path().string() + ": " + ec.message());
        TRIB_TRY(open_file());
        TRIB_TRY(repair_tail());
        next_rotation_ = next_rotation_number();
        if (o_.idempotent) {
            auto st = recover_offsets();
            if (!st) {
                close();  // saves nothing: the sidecar stays as it is for a person to look at
                return st;
            }
            marks_loaded_ = true;
        }
        return ok();
    }

    result<write_outcome> write(const sink_batch& b) override {
        if (fd_ < 0)
            return fail(errc::unavailable, "file sink is not open");
        write_outcome out;
        buf_.clear();
        const auto& msgs = b.messages->messages;
        const bool json_payload = b.schema == "json";
        const bool text_payload = b.schema == "text";
        // Idempotent mode: the last line already in the file set for this partition.
        std::optional<mark> last;
        const auto key = std::make_tuple(std::string(b.stream), std::string(b.topic), b.partition);
        if (o_.idempotent) {
            auto it = offsets_.find(key);
            if (it != offsets_.end())
                last = it->second;
        }
        std::optional<std::uint64_t> reset_from;  // first offset of a purged partition's restart
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            const auto& m = msgs[i];
            if (last && m.offset <= last->offset) {
                // At or below the mark: a replay of what is in the file, unless the message is
                // newer than the mark's (Iggy's append time only grows within a partition): then
                // the partition was purged or recreated and its offsets started again. Those
                // messages are new and are written (a clock stepped back could at worst write a
                // replay twice, never skip a new message).
                if (last->timestamp == UINT64_MAX || m.timestamp_us <= last->timestamp)
                    continue;
                if (!reset_from)
                    reset_from = m.offset;
            }
            if (o_.raw_format) {
                buf_.append(m.payload);
                buf_.push_back('\n');
            } else {
                if (json_payload) {
                    // Exactly one value, depth-limited, valid UTF-8, nothing after it: what the
                    // line must hold to stay one valid JSON line.
                    if (auto st = check_json(m.payload); !st) {
                        out.rejected.push_back(
                            message_error{i, error(errc::invalid_argument, retry_class::fatal,
                                                   "not valid JSON: " + st.error().message())});
                        continue;
                    }
                }
                append_line(b, m, json_payload, text_payload);
            }
            if (o_.idempotent)
                last = mark{m.offset, m.timestamp_us};
        }
        if (buf_.empty())
            return out;
        TRIB_TRY(maybe_rotate(buf_.size()));
        if (need_newline_)
            buf_.insert(buf_.begin(), '\n');  // after somebody else's last line without one
        const std::uint64_t before = size_;
        std::size_t done = 0;
        while (done < buf_.size()) {
            const ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                const int e = errno;
                // Leave no torn line behind: the whole batch is written again.
                if (::ftruncate(fd_, static_cast<off_t>(before)) == 0)
                    size_ = before;
                return error(e == ENOSPC || e == EDQUOT ? errc::resource_exhausted : errc::io_error,
                             retry_class::retryable, "writing " + o_.path + ": " + errno_text(e));
            }
            done += static_cast<std::size_t>(n);
        }
        size_ = before + buf_.size();
        need_newline_ = false;
        if (o_.fsync && ::fdatasync(fd_) != 0) {
            return error(errc::io_error, retry_class::retryable,
                         "fdatasync " + o_.path + ": " + errno_text(errno));
        }
        if (reset_from) {
            if (m_resets_ != nullptr)
                m_resets_->inc();
            spdlog::warn(
                "file sink {}: {}/{} partition {}: offsets went back from {} to {} with newer "
                "messages (the topic was purged or recreated); writing them",
                key_, b.stream, b.topic, b.partition, offsets_[key].offset, *reset_from);
        }
        if (o_.idempotent && last) {
            offsets_[key] = *last;
            if (size_ - checkpoint_size_ >= k_checkpoint_bytes) {
                // Bounds what the next start-up scans; a failure only makes that scan longer.
                if (auto st = save_checkpoint(); !st)
                    spdlog::warn("file sink {}: {}", key_, st.error().message());
            }
        }
        return out;
    }

    void close() override {
        if (fd_ >= 0) {
            if (o_.idempotent) {
                if (auto st = save_checkpoint(); !st)
                    spdlog::warn("file sink {}: {}", key_, st.error().message());
            } else if (o_.fsync) {
                (void)::fdatasync(fd_);
            }
            ::close(fd_);
        }
        fd_ = -1;
    }

    bool idempotent() const override { return o_.idempotent; }

  private:
    status open_file() {
        fd_ = ::open(o_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0)
            return fail(errc::io_error, "opening " + o_.path + ": " + errno_text(errno));
        struct stat st {};
        if (::fstat(fd_, &st) != 0)
            return fail(errc::io_error, "stat " + o_.path);
        size_ = static_cast<std::uint64_t>(st.st_size);
        dev_ = static_cast<std::uint64_t>(st.st_dev);
        ino_ = static_cast<std::uint64_t>(st.st_ino);
        checkpoint_size_ = 0;
        checkpoint_valid_ = false;
        need_newline_ = false;
        opened_at_ = o_.now();
        return ok();
    }

    /// A last line without its newline: cut off when it is a write of ours torn by a crash
    /// (its messages were not acknowledged and come again), kept otherwise (somebody else's
    /// text, or a file that was never ours); the next line then starts on a new line.
    status repair_tail() {
        if (size_ == 0)
            return ok();
        const int rfd = ::open(o_.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (rfd < 0)
            return fail(errc::io_error, "opening " + o_.path + ": " + errno_text(errno));
        std::uint64_t end = size_;
        std::string chunk;
        std::optional<std::uint64_t> tail_at;  // offset after the last newline
        while (end > 0 && !tail_at && size_ - end < k_max_torn_scan) {
            const std::uint64_t n = std::min<std::uint64_t>(end, 64 * 1024);
            chunk.resize(n);
            if (::pread(rfd, chunk.data(), n, static_cast<off_t>(end - n)) !=
                static_cast<ssize_t>(n)) {
                ::close(rfd);
                return fail(errc::io_error, "reading " + o_.path);
            }
            const auto nl = chunk.rfind('\n');
            if (nl != std::string::npos)
                tail_at = end - n + nl + 1;
            end -= n;
        }
        if (!tail_at && end == 0)
            tail_at = 0;  // no newline at all: the whole file is one line
        if (tail_at && *tail_at == size_) {
            ::close(rfd);
            return ok();
        }
        bool ours = false;
        if (tail_at && !o_.raw_format) {
            const std::uint64_t n = std::min<std::uint64_t>(size_ - *tail_at, 4096);
            chunk.resize(n);
            if (::pread(rfd, chunk.data(), n, static_cast<off_t>(*tail_at)) !=
                static_cast<ssize_t>(n)) {
                ::close(rfd);
                return fail(errc::io_error, "reading " + o_.path);
            }
            // Either shape: include_metadata may have changed since the line was written.
            ours = file_detail::is_our_torn_line(chunk, true) ||
                   file_detail::is_our_torn_line(chunk, false);
        }
        ::close(rfd);
        if (!ours) {
            spdlog::warn(
                "file sink {}: {} ends with {}{} bytes without a newline that this sink did not "
                "write; keeping them, the next line starts on a new line",
                key_, o_.path, tail_at ? "" : "more than ",
                tail_at ? size_ - *tail_at : k_max_torn_scan);
            need_newline_ = true;
            return ok();
        }
        spdlog::warn(
            "file sink {}: cutting off {} bytes of an incomplete last line in {} (written "
            "before a crash; its messages are delivered again)",
            key_, size_ - *tail_at, o_.path);
        if (::ftruncate(fd_, static_cast<off_t>(*tail_at)) != 0) {
            return fail(errc::io_error, "truncating " + o_.path + ": " + errno_text(errno));
        }
        size_ = *tail_at;
        return ok();
    }

    std::string offsets_path() const { return o_.path + ".offsets"; }

    /// The marks: from `<path>.offsets` (all rotated files, and the current file up to its
    /// checkpoint), then from the current file's lines after the checkpoint, read in pieces
    /// (memory does not grow with the file; a crash leaves at most k_checkpoint_bytes to read).
    status recover_offsets() {
        offsets_.clear();
        std::uint64_t scan_from = 0;
        auto saved = read_file(offsets_path(), k_max_sidecar_bytes);
        if (saved) {
            auto sc = file_detail::decode_sidecar(*saved);
            if (!sc) {
                return fail(
                    errc::data_loss,
                    "idempotent state " + offsets_path() + " is corrupt (" + sc.error().message() +
                        "); refusing to start rather than guess which offsets were "
                        "written. Fix it, or move it away to rebuild it from " +
                        o_.path + " alone (messages of rotated files may then be written again)");
            }
            offsets_ = std::move(sc->marks);
            if (sc->current) {
                if (sc->current->dev == dev_ && sc->current->ino == ino_ &&
                    sc->current->size <= size_) {
                    scan_from = sc->current->size;
                    checkpoint_size_ = scan_from;
                    checkpoint_valid_ = true;
                } else {
                    spdlog::warn(
                        "file sink {}: {} is not the file {} was saved for (replaced or cut "
                        "short); reading all of it",
                        key_, o_.path, offsets_path());
                }
            }
        } else if (saved.error().code() == errc::resource_exhausted) {
            return fail(errc::data_loss,
                        "idempotent state " + saved.error().message() + "; refusing to start");
        } else if (saved.error().code() != errc::not_found) {
            return saved.error();
        }
        TRIB_TRY(scan_current(scan_from));
        if (!offsets_.empty()) {
            spdlog::info(
                "file sink {}: idempotent mode: resuming after the offsets of {} "
                "partition(s) already in {} (read {} bytes of it)",
                key_, offsets_.size(), o_.path, size_ - scan_from);
        }
        marks_loaded_ = true;
        return save_checkpoint();  // the next start reads nothing of what was read now
    }

    /// Takes the key of every complete line of the current file from byte `from` on.
    status scan_current(std::uint64_t from) {
        if (from >= size_)
            return ok();
        const int rfd = ::open(o_.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (rfd < 0)
            return fail(errc::io_error, "opening " + o_.path + ": " + errno_text(errno));
        std::string chunk(256 * 1024, '\0');
        std::string head;  // the first k_max_key_bytes of the line being read
        file_detail::line_key k;
        mark* cached = nullptr;  // the mark of the last line's partition (lines come in runs)
        std::string cached_stream;
        std::string cached_topic;
        std::uint32_t cached_partition = 0;
        std::uint64_t at = from;
        while (at < size_) {
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size_ - at));
            ssize_t n;
            do {
                n = ::pread(rfd, chunk.data(), want, static_cast<off_t>(at));
            } while (n < 0 && errno == EINTR);
            if (n <= 0) {
                const int e = n < 0 ? errno : EIO;
                ::close(rfd);
                return fail(errc::io_error, "reading " + o_.path + ": " + errno_text(e));
            }
            std::string_view data(chunk.data(), static_cast<std::size_t>(n));
            at += static_cast<std::uint64_t>(n);
            while (!data.empty()) {
                const auto nl = data.find('\n');
                const auto piece = data.substr(0, nl);
                if (head.size() < k_max_key_bytes)
                    head.append(piece.substr(0, k_max_key_bytes - head.size()));
                if (nl == std::string_view::npos)
                    break;
                if (file_detail::parse_line_key(head, k)) {
                    // The last line of a partition is its mark (offsets restart after a purge).
                    if (cached == nullptr || k.partition != cached_partition ||
                        k.stream != cached_stream || k.topic != cached_topic) {
                        cached = &offsets_[std::make_tuple(k.stream, k.topic, k.partition)];
                        cached_stream = k.stream;
                        cached_topic = k.topic;
                        cached_partition = k.partition;
                    }
                    *cached = k.at;
                }
                head.clear();
                data.remove_prefix(nl + 1);
            }
        }
        ::close(rfd);
        return ok();
    }

    /// Saves the marks with a checkpoint of the current file: fdatasync first, so that the
    /// sidecar never covers bytes a power loss could take back.
    status save_checkpoint() {
        if (fd_ < 0 || !marks_loaded_ || (checkpoint_valid_ && checkpoint_size_ == size_))
            return ok();
        if (::fdatasync(fd_) != 0)
            return fail(errc::io_error, "fdatasync " + o_.path + ": " + errno_text(errno));
        file_detail::sidecar sc;
        sc.current = file_detail::checkpoint{dev_, ino_, size_};
        sc.marks = offsets_;
        TRIB_TRY(write_file_atomic(offsets_path(), file_detail::encode_sidecar(sc),
                                   file_sync::durable, 0644));
        checkpoint_size_ = size_;
        checkpoint_valid_ = true;
        return ok();
    }

    std::uint64_t next_rotation_number() const {
        const auto p = std::filesystem::path(o_.path);
        const std::string base = p.filename().string() + ".";
        std::uint64_t max = 0;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(
                 p.has_parent_path() ? p.parent_path() : std::filesystem::path("."), ec)) {
            const std::string name = e.path().filename().string();
            if (!name.starts_with(base))
                continue;
            const std::string rest = name.substr(base.size());
            if (rest.empty() || rest.find_first_not_of("0123456789") != std::string::npos)
                continue;  // <path>.offsets and other names of other shapes
            const auto n = parse_u64(rest);
            if (!n || *n == 0 || *n > k_max_rotation) {
                spdlog::warn(
                    "file sink {}: ignoring {} beside {}: {} is not a rotation number this "
                    "sink writes (1..{})",
                    key_, name, o_.path, rest, k_max_rotation);
                continue;
            }
            max = std::max<std::uint64_t>(max, *n);
        }
        return max + 1;
    }

    status maybe_rotate(std::size_t incoming) {
        if (size_ == 0)
            return ok();
        const bool by_size = o_.max_size != 0 && size_ + incoming > o_.max_size;
        const bool by_time =
            o_.rotate_interval.count() > 0 && o_.now() - opened_at_ >= o_.rotate_interval;
        if (!by_size && !by_time)
            return ok();
        if (next_rotation_ > k_max_rotation) {
            return error(errc::resource_exhausted, retry_class::fatal,
                         fmt::format("rotating {}: {} rotated files; move them away", o_.path,
                                     k_max_rotation));
        }
        if (o_.idempotent) {
            // Save the marks first: after the rename the current file no longer holds them.
            // No checkpoint: the next file is new and read from its start.
            file_detail::sidecar sc;
            sc.marks = offsets_;
            TRIB_TRY(write_file_atomic(offsets_path(), file_detail::encode_sidecar(sc),
                                       file_sync::durable, 0644));
        }
        // Never over a file that appeared since start-up (rename would replace it).
        std::string to = o_.path + "." + std::to_string(next_rotation_);
        while (::access(to.c_str(), F_OK) == 0 && next_rotation_ < k_max_rotation)
            to = o_.path + "." + std::to_string(++next_rotation_);
        if (::fdatasync(fd_) != 0)
            return fail(errc::io_error, "fdatasync " + o_.path);
        ::close(fd_);
        fd_ = -1;
        if (::rename(o_.path.c_str(), to.c_str()) != 0) {
            const int e = errno;
            TRIB_TRY(open_file());
            return error(errc::io_error, retry_class::retryable,
                         "rotating " + o_.path + " to " + to + ": " + errno_text(e));
        }
        ++next_rotation_;
        const auto dir = std::filesystem::path(o_.path).parent_path();
        (void)fsync_directory(dir.empty() ? std::filesystem::path(".") : dir);
        spdlog::info("file sink {}: rotated {} to {}", key_, o_.path, to);
        return open_file();
    }

    void append_line(const sink_batch& b, const message& m, bool json_payload, bool text_payload) {
        buf_.push_back('{');
        if (o_.metadata) {
            buf_ += "\"stream\":";
            append_json_string(buf_, b.stream);
            buf_ += ",\"topic\":";
            append_json_string(buf_, b.topic);
            fmt::format_to(std::back_inserter(buf_),
                           ",\"partition\":{},\"offset\":{},\"id\":\"{:016x}{:016x}\","
                           "\"timestamp\":{},\"origin_timestamp\":{}",
                           b.partition, m.offset, m.id.hi, m.id.lo, m.timestamp_us,
                           m.origin_timestamp_us);
            if (!m.headers.empty()) {
                buf_ += ",\"headers\":";
                append_headers_json(buf_, m.headers);
            }
            buf_.push_back(',');
        }
        buf_ += "\"payload\":";
        if (json_payload) {
            // Valid JSON has newlines only between tokens: blanks keep it one line.
            const std::size_t at = buf_.size();
            buf_.append(m.payload);
            for (std::size_t i = at; i < buf_.size(); ++i) {
                if (buf_[i] == '\n' || buf_[i] == '\r')
                    buf_[i] = ' ';
            }
        } else if (text_payload) {
            append_json_string(buf_, m.payload);
        } else {
            append_base64_string(buf_, m.payload);
        }
        buf_ += "}\n";
    }

    options o_;
    std::string key_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    clock::time_point opened_at_;
    std::uint64_t dev_ = 0;  // the current file's identity, for the checkpoint
    std::uint64_t ino_ = 0;
    std::uint64_t checkpoint_size_ = 0;  // size_ at the last checkpoint of this file
    bool checkpoint_valid_ = false;      // the sidecar holds that checkpoint
    bool marks_loaded_ = false;          // offsets_ is complete: it may be saved
    bool need_newline_ = false;          // the file ends with somebody else's unterminated line
    std::uint64_t next_rotation_ = 1;
    mark_map offsets_;
    trib::counter* m_resets_ = nullptr;
    std::string buf_;
};

}  // namespace

result<std::unique_ptr<sink>> make_file_sink(const config::values& v) {
    return make_file_sink_with_clock(v, {});
}

result<std::unique_ptr<sink>> make_file_sink_with_clock(const config::values& v,
                                                        file_sink_clock now) {
    file_sink::options o;
    o.now = std::move(now);
    o.path = v.str("path");
    if (o.path.empty())
        return fail(errc::invalid_argument, "path is empty");
    o.raw_format = v.str("format") == "raw";
    o.metadata = v.boolean("include_metadata");
    o.max_size = v.size("max_file_size");
    o.rotate_interval = v.duration("rotate_interval");
    o.fsync = v.boolean("fsync");
    o.idempotent = v.boolean("idempotent");
    if (o.idempotent && o.raw_format) {
        return fail(errc::invalid_argument, "idempotent needs format = \"json\"");
    }
    return std::unique_ptr<sink>(std::make_unique<file_sink>(std::move(o)));
}

}  // namespace trib::connectors
