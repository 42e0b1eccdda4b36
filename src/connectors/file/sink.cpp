// The file sink: JSON lines (or raw lines), one write and one fdatasync per batch, rotation by
// size and time, a torn last line cut off at open, and an idempotent mode keyed by the Iggy
// offset of each line.

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
#include "core/atomic_file.h"
#include "core/json_parse.h"
#include "core/json_text.h"

namespace trib::connectors {
namespace {

using clock = std::chrono::steady_clock;

std::string errno_text(int e) {
    return std::strerror(e);
}

void append_base64(std::string& out, std::string_view s) {
    static constexpr char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.push_back('"');
    std::size_t i = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    for (; i + 3 <= s.size(); i += 3) {
        const std::uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
        out.push_back(tbl[(v >> 18) & 63]);
        out.push_back(tbl[(v >> 12) & 63]);
        out.push_back(tbl[(v >> 6) & 63]);
        out.push_back(tbl[v & 63]);
    }
    if (i < s.size()) {
        std::uint32_t v = p[i] << 16;
        if (i + 1 < s.size())
            v |= p[i + 1] << 8;
        out.push_back(tbl[(v >> 18) & 63]);
        out.push_back(tbl[(v >> 12) & 63]);
        out.push_back(i + 1 < s.size() ? tbl[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    out.push_back('"');
}

template <class T>
T le(const std::string& v) {
    T x{};
    std::memcpy(&x, v.data(), std::min(sizeof(T), v.size()));
    return x;
}

void append_header_value(std::string& out, const header& h) {
    switch (h.kind) {
        case value_kind::string:
            append_json_string(out, h.value);
            return;
        case value_kind::boolean:
            out += (!h.value.empty() && h.value[0] != 0) ? "true" : "false";
            return;
        case value_kind::int8:
            fmt::format_to(std::back_inserter(out), "{}", le<std::int8_t>(h.value));
            return;
        case value_kind::int16:
            fmt::format_to(std::back_inserter(out), "{}", le<std::int16_t>(h.value));
            return;
        case value_kind::int32:
            fmt::format_to(std::back_inserter(out), "{}", le<std::int32_t>(h.value));
            return;
        case value_kind::int64:
            fmt::format_to(std::back_inserter(out), "{}", le<std::int64_t>(h.value));
            return;
        case value_kind::uint8:
            fmt::format_to(std::back_inserter(out), "{}", le<std::uint8_t>(h.value));
            return;
        case value_kind::uint16:
            fmt::format_to(std::back_inserter(out), "{}", le<std::uint16_t>(h.value));
            return;
        case value_kind::uint32:
            fmt::format_to(std::back_inserter(out), "{}", le<std::uint32_t>(h.value));
            return;
        case value_kind::uint64:
            fmt::format_to(std::back_inserter(out), "{}", le<std::uint64_t>(h.value));
            return;
        case value_kind::float32:
            fmt::format_to(std::back_inserter(out), "{}", le<float>(h.value));
            return;
        case value_kind::float64:
            fmt::format_to(std::back_inserter(out), "{}", le<double>(h.value));
            return;
        default:  // raw, 128-bit integers
            append_base64(out, h.value);
    }
}

/// (stream, topic, partition) -> highest offset written.
using offset_map = std::map<std::tuple<std::string, std::string, std::uint32_t>, std::uint64_t>;

/// Reads a JSON string starting at s[i] == '"'; advances i past it.
std::optional<std::string> read_string(std::string_view s, std::size_t& i) {
    if (i >= s.size() || s[i] != '"')
        return std::nullopt;
    std::string out;
    for (++i; i < s.size(); ++i) {
        char c = s[i];
        if (c == '"') {
            ++i;
            return out;
        }
        if (c != '\\') {
            out.push_back(c);
            continue;
        }
        if (++i >= s.size())
            return std::nullopt;
        switch (s[i]) {
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'u': {
                if (i + 4 >= s.size())
                    return std::nullopt;
                const auto v = std::stoul(std::string(s.substr(i + 1, 4)), nullptr, 16);
                out.push_back(static_cast<char>(v));  // we only escape control bytes this way
                i += 4;
                break;
            }
            default:
                out.push_back(s[i]);
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> read_number(std::string_view s, std::size_t& i) {
    std::uint64_t v = 0;
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
        v = v * 10 + static_cast<std::uint64_t>(s[i++] - '0');
    if (i == start)
        return std::nullopt;
    return v;
}

bool expect(std::string_view s, std::size_t& i, std::string_view lit) {
    if (s.substr(i, lit.size()) != lit)
        return false;
    i += lit.size();
    return true;
}

/// Parses the fixed prefix the sink writes in idempotent mode:
/// {"stream":"..","topic":"..","partition":N,"offset":N
bool parse_prefix(std::string_view line, std::string& stream, std::string& topic,
                  std::uint32_t& partition, std::uint64_t& offset) {
    std::size_t i = 0;
    if (!expect(line, i, "{\"stream\":"))
        return false;
    auto st = read_string(line, i);
    if (!st || !expect(line, i, ",\"topic\":"))
        return false;
    auto tp = read_string(line, i);
    if (!tp || !expect(line, i, ",\"partition\":"))
        return false;
    auto p = read_number(line, i);
    if (!p || !expect(line, i, ",\"offset\":"))
        return false;
    auto o = read_number(line, i);
    if (!o)
        return false;
    stream = std::move(*st);
    topic = std::move(*tp);
    partition = static_cast<std::uint32_t>(*p);
    offset = *o;
    return true;
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
    };

    explicit file_sink(options o) : o_(std::move(o)) {
        if (o_.idempotent)
            o_.metadata = true;
    }
    ~file_sink() override { close(); }

    status open(connector_context& ctx) override {
        key_ = ctx.key;
        close();
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
        if (o_.idempotent)
            TRIB_TRY(recover_offsets());
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
        // Idempotent mode: the highest offset of this partition already in the file set.
        std::optional<std::uint64_t> prev_high;
        std::optional<std::uint64_t> new_high;
        const auto key = std::make_tuple(std::string(b.stream), std::string(b.topic), b.partition);
        if (o_.idempotent) {
            auto it = offsets_.find(key);
            if (it != offsets_.end())
                prev_high = it->second;
        }
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            const auto& m = msgs[i];
            if (prev_high && m.offset <= *prev_high)
                continue;  // already written: a replay
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
                new_high = std::max(new_high.value_or(0), m.offset);
        }
        if (buf_.empty())
            return out;
        TRIB_TRY(maybe_rotate(buf_.size()));
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
        if (o_.fsync && ::fdatasync(fd_) != 0) {
            return error(errc::io_error, retry_class::retryable,
                         "fdatasync " + o_.path + ": " + errno_text(errno));
        }
        if (new_high)
            offsets_[key] = std::max(*new_high, prev_high.value_or(0));
        return out;
    }

    void close() override {
        if (fd_ >= 0) {
            if (o_.fsync)
                (void)::fdatasync(fd_);
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
        opened_at_ = clock::now();
        return ok();
    }

    /// Cuts off a last line without its newline (a write interrupted by a crash).
    status repair_tail() {
        if (size_ == 0)
            return ok();
        const int rfd = ::open(o_.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (rfd < 0)
            return fail(errc::io_error, "opening " + o_.path + ": " + errno_text(errno));
        std::uint64_t end = size_;
        std::string chunk;
        std::uint64_t keep = 0;
        bool found = false;
        while (end > 0 && !found) {
            const std::uint64_t n = std::min<std::uint64_t>(end, 64 * 1024);
            chunk.resize(n);
            if (::pread(rfd, chunk.data(), n, static_cast<off_t>(end - n)) !=
                static_cast<ssize_t>(n)) {
                ::close(rfd);
                return fail(errc::io_error, "reading " + o_.path);
            }
            const auto nl = chunk.rfind('\n');
            if (nl != std::string::npos) {
                keep = end - n + nl + 1;
                found = true;
            }
            end -= n;
        }
        ::close(rfd);
        if (keep == size_)
            return ok();
        spdlog::warn(
            "file sink {}: cutting off {} bytes of an incomplete last line in {} (written "
            "before a crash; its messages are delivered again)",
            key_, size_ - keep, o_.path);
        if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0) {
            return fail(errc::io_error, "truncating " + o_.path + ": " + errno_text(errno));
        }
        size_ = keep;
        return ok();
    }

    std::string offsets_path() const { return o_.path + ".offsets"; }

    status recover_offsets() {
        offsets_.clear();
        // Offsets of rotated files, saved at each rotation.
        auto saved = read_file(offsets_path());
        if (saved) {
            std::size_t pos = 0;
            const std::string& s = *saved;
            while (pos < s.size()) {
                auto nl = s.find('\n', pos);
                if (nl == std::string::npos)
                    nl = s.size();
                std::string line = s.substr(pos, nl - pos);
                pos = nl + 1;
                std::string st;
                std::string tp;
                std::uint32_t p = 0;
                std::uint64_t o = 0;
                if (parse_prefix(line, st, tp, p, o))
                    note(st, tp, p, o);
            }
        } else if (saved.error().code() != errc::not_found) {
            return saved.error();
        }
        // And the current file's lines.
        auto cur = read_file(o_.path);
        if (!cur)
            return cur.error();
        std::size_t pos = 0;
        const std::string& s = *cur;
        while (pos < s.size()) {
            auto nl = s.find('\n', pos);
            if (nl == std::string::npos)
                break;
            std::string st;
            std::string tp;
            std::uint32_t p = 0;
            std::uint64_t o = 0;
            if (parse_prefix(std::string_view(s).substr(pos, nl - pos), st, tp, p, o)) {
                note(st, tp, p, o);
            }
            pos = nl + 1;
        }
        if (!offsets_.empty()) {
            spdlog::info(
                "file sink {}: idempotent mode: resuming after the offsets of {} "
                "partition(s) already in {}",
                key_, offsets_.size(), o_.path);
        }
        return ok();
    }

    void note(const std::string& st, const std::string& tp, std::uint32_t p, std::uint64_t o) {
        auto key = std::make_tuple(st, tp, p);
        auto it = offsets_.find(key);
        if (it == offsets_.end()) {
            offsets_.emplace(std::move(key), o);
        } else {
            it->second = std::max(it->second, o);
        }
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
                continue;
            max = std::max<std::uint64_t>(max, std::stoull(rest));
        }
        return max + 1;
    }

    status maybe_rotate(std::size_t incoming) {
        if (size_ == 0)
            return ok();
        const bool by_size = o_.max_size != 0 && size_ + incoming > o_.max_size;
        const bool by_time =
            o_.rotate_interval.count() > 0 && clock::now() - opened_at_ >= o_.rotate_interval;
        if (!by_size && !by_time)
            return ok();
        if (o_.idempotent) {
            // Save the offsets first: after the rename the current file no longer holds them.
            std::string s;
            for (const auto& [k, off] : offsets_) {
                s += "{\"stream\":";
                append_json_string(s, std::get<0>(k));
                s += ",\"topic\":";
                append_json_string(s, std::get<1>(k));
                fmt::format_to(std::back_inserter(s), ",\"partition\":{},\"offset\":{}}}\n",
                               std::get<2>(k), off);
            }
            TRIB_TRY(write_file_atomic(offsets_path(), s, file_sync::durable, 0644));
        }
        if (::fdatasync(fd_) != 0)
            return fail(errc::io_error, "fdatasync " + o_.path);
        ::close(fd_);
        fd_ = -1;
        const std::string to = o_.path + "." + std::to_string(next_rotation_++);
        if (::rename(o_.path.c_str(), to.c_str()) != 0) {
            const int e = errno;
            TRIB_TRY(open_file());
            return error(errc::io_error, retry_class::retryable,
                         "rotating " + o_.path + " to " + to + ": " + errno_text(e));
        }
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
                buf_ += ",\"headers\":{";
                for (std::size_t i = 0; i < m.headers.size(); ++i) {
                    if (i != 0)
                        buf_.push_back(',');
                    append_json_string(buf_, m.headers[i].key);
                    buf_.push_back(':');
                    append_header_value(buf_, m.headers[i]);
                }
                buf_.push_back('}');
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
            append_base64(buf_, m.payload);
        }
        buf_ += "}\n";
    }

    options o_;
    std::string key_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    clock::time_point opened_at_;
    std::uint64_t next_rotation_ = 1;
    offset_map offsets_;
    std::string buf_;
};

}  // namespace

result<std::unique_ptr<sink>> make_file_sink(const config::values& v) {
    file_sink::options o;
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
