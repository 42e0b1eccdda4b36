// The file source: tails one file, one message per line, with a persistent position (device,
// inode, offset, fingerprint) that survives restarts, rename rotation and copytruncate.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "config/enum_option.h"
#include "connectors/file/file.h"
#include "connectors/file/state.h"
#include "core/base64.h"
#include "core/errno_text.h"
#include "core/hex.h"
#include "core/message_id.h"
#include "core/unix_time.h"

namespace trib::connectors {
namespace {

using clock = std::chrono::steady_clock;

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

struct file_id {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    bool operator==(const file_id&) const = default;
};

using position = file_detail::source_position;
using file_detail::k_fp_len;

file_id id_of(const position& p) {
    return file_id{p.dev, p.ino};
}

/// How many first bytes of a file (up to its first newline) go into its lines' ids.
constexpr std::size_t k_head_len = 64;

/// A line's message id: ("file", device, inode, the file's first line, the line's byte offset).
message_id line_id(message_id_builder& b, const file_id& f, std::string_view head,
                   std::uint64_t offset) {
    return b.add("file").add_u64(f.dev).add_u64(f.ino).add(head).add_u64(offset).finish();
}

/// How a line's text becomes the message payload.
enum class line_encoding : std::uint8_t {
    none,    // the line's bytes as they are
    base64,  // standard or URL-safe base64, padding optional
    hex,     // two hex digits per byte, either case
};

class file_source final : public source {
  public:
    struct options {
        std::string path;
        bool start_at_end = false;
        std::chrono::milliseconds poll_interval{250};
        std::size_t max_lines = 1000;
        std::size_t max_bytes = 4u << 20;
        std::size_t max_line = 1u << 20;
        bool skip_empty = true;
        bool add_headers = false;
        line_encoding encoding = line_encoding::none;
    };

    explicit file_source(options o) : o_(std::move(o)) {}
    ~file_source() override { close_fd(); }

    status open(connector_context& ctx, std::string_view state) override {
        key_ = ctx.key;
        stop_ = ctx.stop;
        seq_ = 0;
        inflight_.clear();
        close_fd();
        if (!state.empty()) {
            // A corrupt position is refused, not replaced by "the beginning": that would send
            // the whole file again (or, with start_position = end, skip lines).
            TRIB_ASSIGN_OR_RETURN(auto p, file_detail::decode_source_position(state));
            return resume(p);
        }
        // First start: the file may not exist yet; poll() opens it when it appears.
        if (open_path() && o_.start_at_end) {
            struct stat st {};
            if (::fstat(fd_, &st) == 0)
                set_offset(static_cast<std::uint64_t>(st.st_size));
        }
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        const auto deadline = clock::now() + max_wait;
        source_batch out;
        for (;;) {
            if (stop_.stop_requested())
                return out;
            if (fd_ < 0 && !open_path()) {
                if (!sleep_until_next(deadline))
                    return out;
                continue;
            }
            auto r = fill();
            if (!r)
                return r.error();
            const bool eof = *r == 0;
            if (take_lines(out, /*flush_partial=*/false))
                break;
            if (!eof)
                continue;
            // At the end of the file: rotated, truncated, or just nothing new yet?
            if (rotated_) {
                // The old file was read to its end after the rename was seen: a last line
                // without a newline is complete now.
                if (take_lines(out, /*flush_partial=*/true))
                    break;
                spdlog::info("file source {}: {} was rotated; continuing with the new file", key_,
                             o_.path);
                close_fd();
                rotated_ = false;
                if (!open_path())
                    continue;
                continue;
            }
            if (check_rotation())
                continue;
            if (!sleep_until_next(deadline))
                return out;
        }
        out.state = current_position().encode();
        out.has_state = true;
        inflight_[++seq_] = batch_start_;
        return out;
    }

    void ack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        inflight_.erase(inflight_.begin(), inflight_.upper_bound(seq));
    }

    void nack(std::uint64_t seq) override {
        // Rewind to the batch's first line if it is in the file being read; otherwise the
        // persisted position (at or before it) brings the lines back on the next open().
        std::lock_guard lk(mu_);
        auto it = inflight_.find(seq);
        if (it == inflight_.end())
            return;
        if (fd_ >= 0 && it->second.id == cur_id_)
            rewind_to_ = it->second.offset;
        inflight_.erase(it, inflight_.end());
    }

    void close() override { close_fd(); }

  private:
    struct start_mark {
        file_id id;
        std::uint64_t offset = 0;
    };

    status resume(const position& p) {
        struct stat st {};
        if (::stat(o_.path.c_str(), &st) == 0 &&
            file_id{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)} ==
                id_of(p)) {
            if (!open_path())
                return fail(errc::io_error, "cannot open " + o_.path);
            if (static_cast<std::uint64_t>(st.st_size) < p.offset || !fingerprint_matches(p)) {
                spdlog::warn(
                    "file source {}: {} was truncated or replaced since the last run; "
                    "reading it from the beginning",
                    key_, o_.path);
                set_offset(0);
            } else {
                set_offset(p.offset);
            }
            return ok();
        }
        // The path names another file now: look for ours by inode next to it (rotated).
        const auto dir = std::filesystem::path(o_.path).parent_path();
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(
                 dir.empty() ? std::filesystem::path(".") : dir, ec)) {
            struct stat s2 {};
            if (::stat(e.path().c_str(), &s2) != 0 || !S_ISREG(s2.st_mode))
                continue;
            if (file_id{static_cast<std::uint64_t>(s2.st_dev),
                        static_cast<std::uint64_t>(s2.st_ino)} != id_of(p)) {
                continue;
            }
            const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                break;
            adopt(fd, id_of(p));
            if (static_cast<std::uint64_t>(s2.st_size) < p.offset || !fingerprint_matches(p)) {
                close_fd();
                break;
            }
            set_offset(p.offset);
            rotated_ = true;  // read it to its end, then switch to the path
            spdlog::info("file source {}: resuming rotated file {} at offset {}", key_,
                         e.path().string(), p.offset);
            return ok();
        }
        spdlog::warn(
            "file source {}: the file last read ({}, inode {}) is gone; starting {} from "
            "the beginning (lines written to it after the saved position are lost)",
            key_, o_.path, p.ino, o_.path);
        if (open_path())
            set_offset(0);
        return ok();
    }

    bool open_path() {
        const int fd = ::open(o_.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno != ENOENT && !warned_open_) {
                spdlog::warn("file source {}: cannot open {}: {}", key_, o_.path,
                             errno_text(errno));
                warned_open_ = true;
            }
            return false;
        }
        warned_open_ = false;
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            ::close(fd);
            return false;
        }
        adopt(fd, file_id{static_cast<std::uint64_t>(st.st_dev),
                          static_cast<std::uint64_t>(st.st_ino)});
        set_offset(0);
        return true;
    }

    void adopt(int fd, file_id id) {
        close_fd();
        std::lock_guard lk(mu_);
        fd_ = fd;
        cur_id_ = id;
        fp_len_ = 0;
        head_.reset();
        fp_ = 0;
    }

    void close_fd() {
        std::lock_guard lk(mu_);
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
        pending_.clear();
    }

    void set_offset(std::uint64_t off) {
        read_offset_ = off;
        line_start_ = off;
        pending_.clear();
    }

    bool fingerprint_matches(const position& p) {
        if (p.fp_len == 0)
            return true;
        std::string buf(p.fp_len, '\0');
        const auto n = ::pread(fd_, buf.data(), buf.size(), 0);
        if (n != static_cast<ssize_t>(buf.size()))
            return false;
        return fnv1a(buf) == p.fp;
    }

    position current_position() {
        if (fp_len_ < k_fp_len) {
            // The fingerprint covers the first bytes already read (at most k_fp_len): a file
            // replaced under the same inode is then noticed at the next start.
            const std::uint64_t want = std::min<std::uint64_t>(k_fp_len, line_start_);
            if (want > fp_len_) {
                std::string buf(want, '\0');
                const auto n = ::pread(fd_, buf.data(), buf.size(), 0);
                if (n == static_cast<ssize_t>(want)) {
                    fp_len_ = want;
                    fp_ = fnv1a(buf);
                }
            }
        }
        return position{cur_id_.dev, cur_id_.ino, line_start_, fp_len_, fp_};
    }

    /// Reads more of the file into pending_; returns the bytes read (0 at the end).
    result<std::size_t> fill() {
        {
            std::lock_guard lk(mu_);
            if (rewind_to_) {
                set_offset(*rewind_to_);
                rewind_to_.reset();
            }
        }
        if (pending_.size() >= o_.max_bytes)
            return pending_.size();  // enough to cut lines from
        if (fp_len_ > 0) {
            // If the file's first bytes changed it was truncated and written again past our
            // offset (copytruncate while we were not looking): what lies at our offset now is
            // the middle of new data, so start over at 0. One small pread per chunk read.
            std::string buf(fp_len_, '\0');
            const auto n = ::pread(fd_, buf.data(), buf.size(), 0);
            if (n != static_cast<ssize_t>(buf.size()) || fnv1a(buf) != fp_) {
                spdlog::info(
                    "file source {}: {} was truncated and rewritten; reading it from the "
                    "beginning",
                    key_, o_.path);
                set_offset(0);
                fp_len_ = 0;
                head_.reset();
            }
        }
        const std::size_t want = std::min<std::size_t>(1u << 20, o_.max_bytes);
        const std::size_t old = pending_.size();
        pending_.resize(old + want);
        ssize_t n;
        do {
            n = ::pread(fd_, pending_.data() + old, want, static_cast<off_t>(read_offset_));
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            pending_.resize(old);
            return fail(errc::io_error, "reading " + o_.path + ": " + errno_text(errno));
        }
        pending_.resize(old + static_cast<std::size_t>(n));
        read_offset_ += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
    }

    /// Moves complete lines from pending_ into `out` (decoded per line_encoding: a line that
    /// does not decode goes to out.rejected as it was read); true if it added any message or
    /// moved the position (so that a batch of skipped empty lines still saves its state).
    bool take_lines(source_batch& out, bool flush_partial) {
        message_batch& batch = out.batch;
        batch_start_ = start_mark{cur_id_, line_start_};
        std::size_t pos = 0;
        std::vector<std::pair<std::size_t, std::size_t>> spans;
        std::vector<std::uint64_t> offsets;
        while (spans.size() < o_.max_lines && pos < pending_.size()) {
            const auto nl = pending_.find('\n', pos);
            std::size_t end;
            std::size_t next;
            if (nl == std::string::npos) {
                const std::size_t rest = pending_.size() - pos;
                if (rest >= o_.max_line) {
                    end = pos + o_.max_line;  // an over-long line: cut a piece
                    next = end;
                    if (!warned_long_) {
                        spdlog::warn(
                            "file source {}: a line in {} is longer than max_line_bytes; "
                            "sending it in pieces",
                            key_, o_.path);
                        warned_long_ = true;
                    }
                } else if (flush_partial && rest > 0) {
                    end = pending_.size();
                    next = end;
                } else {
                    break;
                }
            } else if (nl - pos > o_.max_line) {
                end = pos + o_.max_line;
                next = end;
            } else {
                end = nl;
                next = nl + 1;
            }
            std::size_t len = end - pos;
            if (len > 0 && pending_[pos + len - 1] == '\r' && nl == end)
                --len;
            if (len > 0 || !o_.skip_empty) {
                spans.emplace_back(pos, len);
                offsets.push_back(line_start_ + pos);
            }
            pos = next;
            if (pos >= o_.max_bytes)
                break;
        }
        if (pos == 0)
            return false;
        // The consumed prefix becomes the batch's arena; the rest stays pending.
        std::string data = std::move(pending_);
        pending_.assign(data, pos, std::string::npos);
        data.resize(pos);
        line_start_ += pos;
        if (spans.empty())
            return true;
        const auto raw_spans = spans;
        const std::string_view all = batch.own(std::move(data));
        // Decoded lines go to one more arena string; spans then point into it. A line that
        // does not decode is rejected with its raw text (a view into `all`).
        std::vector<std::optional<error>> bad;
        std::string_view decoded_all;
        if (o_.encoding != line_encoding::none) {
            bad.resize(spans.size());
            std::string decoded;
            std::size_t cap = 0;
            for (const auto& sp : spans)
                cap += o_.encoding == line_encoding::hex ? sp.second / 2 : sp.second / 4 * 3 + 3;
            decoded.reserve(cap);
            for (std::size_t i = 0; i < spans.size(); ++i) {
                const std::string_view line = all.substr(spans[i].first, spans[i].second);
                const std::size_t at = decoded.size();
                bool good;
                if (o_.encoding == line_encoding::base64) {
                    good = decode_base64(line, decoded);
                } else {
                    auto h = hex_decode(line);
                    good = h.has_value();
                    if (good)
                        decoded += *h;
                }
                if (!good) {
                    decoded.resize(at);
                    bad[i] =
                        error(errc::invalid_argument,
                              fmt::format("file source: the line at offset {} of {} is not "
                                          "valid {} (line_encoding)",
                                          offsets[i], o_.path,
                                          o_.encoding == line_encoding::hex ? "hex" : "base64"));
                }
                spans[i] = {at, decoded.size() - at};
            }
            decoded_all = batch.own(std::move(decoded));
        }
        batch.messages.reserve(spans.size());
        // The event time is when the line was read (the file has no better one).
        const auto now = unix_now_us();
        const std::string_view head = file_head();
        message_id_builder idb;
        for (std::size_t i = 0; i < spans.size(); ++i) {
            message m;
            m.origin_timestamp_us = now;
            idb.clear();
            m.id = line_id(idb, cur_id_, head, offsets[i]);
            if (o_.add_headers) {
                m.headers.push_back(header{"file.path", value_kind::string, o_.path});
                std::string v(8, '\0');
                std::memcpy(v.data(), &offsets[i], 8);
                m.headers.push_back(header{"file.offset", value_kind::uint64, std::move(v)});
            }
            if (!bad.empty() && bad[i]) {
                m.payload = all.substr(raw_spans[i].first, raw_spans[i].second);
                out.rejected.push_back(source_reject{std::move(m), std::move(*bad[i])});
                continue;
            }
            m.payload = o_.encoding == line_encoding::none
                            ? all.substr(spans[i].first, spans[i].second)
                            : decoded_all.substr(spans[i].first, spans[i].second);
            batch.messages.push_back(std::move(m));
        }
        return true;
    }

    /// The first line of the file being read (see head_), read once per inode and truncation.
    std::string_view file_head() {
        if (!head_) {
            std::string buf(k_head_len, '\0');
            const auto n = ::pread(fd_, buf.data(), buf.size(), 0);
            buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
            if (const auto nl = buf.find('\n'); nl != std::string::npos)
                buf.resize(nl + 1);
            head_ = std::move(buf);
        }
        return *head_;
    }

    /// At the end of the file: true when the file was rotated (read the old one to its end
    /// first) or truncated (start again at 0).
    bool check_rotation() {
        struct stat cur {};
        bool truncated =
            ::fstat(fd_, &cur) == 0 && static_cast<std::uint64_t>(cur.st_size) < read_offset_;
        if (!truncated && fp_len_ > 0) {
            // Truncated and already written past our offset again: the first bytes changed.
            std::string buf(fp_len_, '\0');
            const auto n = ::pread(fd_, buf.data(), buf.size(), 0);
            truncated = n != static_cast<ssize_t>(buf.size()) || fnv1a(buf) != fp_;
        }
        if (truncated) {
            spdlog::info(
                "file source {}: {} was truncated (copytruncate); reading it from the "
                "beginning",
                key_, o_.path);
            set_offset(0);
            fp_len_ = 0;
            head_.reset();
            return true;
        }
        struct stat st {};
        if (::stat(o_.path.c_str(), &st) != 0)
            return false;  // renamed, new file not there yet
        if (file_id{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)} ==
            cur_id_) {
            return false;
        }
        // Renamed: read what was appended to the old file since the last read, then switch.
        rotated_ = true;
        return true;
    }

    bool sleep_until_next(clock::time_point deadline) {
        const auto now = clock::now();
        if (now >= deadline)
            return false;
        const auto d = std::min<clock::duration>(deadline - now, o_.poll_interval);
        std::this_thread::sleep_for(std::min<clock::duration>(d, std::chrono::milliseconds(50)));
        return clock::now() < deadline;
    }

    options o_;
    std::string key_;
    std::stop_token stop_;
    std::mutex mu_;  // fd_/cur_id_ against nack() from the runtime's other thread
    int fd_ = -1;
    file_id cur_id_;
    std::uint64_t read_offset_ = 0;  // file offset of pending_'s end
    std::uint64_t line_start_ = 0;   // file offset of pending_'s start (after the last line taken)
    std::string pending_;
    std::uint64_t fp_len_ = 0;
    std::uint64_t fp_ = 0;
    /// The file's first line (at most k_head_len bytes) while reading this inode; part of every
    /// id, so lines written again at the same offsets after a copytruncate get new ids.
    std::optional<std::string> head_;
    bool rotated_ = false;
    bool warned_open_ = false;
    bool warned_long_ = false;
    std::uint64_t seq_ = 0;
    start_mark batch_start_;
    std::map<std::uint64_t, start_mark> inflight_;
    std::optional<std::uint64_t> rewind_to_;
};

}  // namespace

result<std::unique_ptr<source>> make_file_source(const config::values& v) {
    file_source::options o;
    o.path = v.str("path");
    if (o.path.empty())
        return fail(errc::invalid_argument, "path is empty");
    o.start_at_end = v.str("start_position") == "end";
    o.poll_interval = std::max(v.duration("poll_interval"), std::chrono::milliseconds(1));
    o.max_lines = static_cast<std::size_t>(v.integer("max_batch_lines"));
    o.max_bytes = static_cast<std::size_t>(v.size("max_batch_bytes"));
    // A line piece must fit in a batch, or a long line could never be cut.
    o.max_line = std::min(static_cast<std::size_t>(v.size("max_line_bytes")), o.max_bytes);
    o.skip_empty = v.boolean("skip_empty_lines");
    o.add_headers = v.boolean("add_headers");
    o.encoding = config::enum_option<line_encoding>(v, "line_encoding",
                                                    {{"none", line_encoding::none},
                                                     {"base64", line_encoding::base64},
                                                     {"hex", line_encoding::hex}});
    return std::unique_ptr<source>(std::make_unique<file_source>(std::move(o)));
}

}  // namespace trib::connectors
