// The object source: lists a bucket/prefix in key order and reads one object at a time in byte
// ranges, splitting it into records; the position after each batch is persisted by the runtime
// only after Iggy acknowledged the batch, so a restart resumes in the middle of an object.

#include <fmt/format.h>
#include <fnmatch.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "codecs/parquet.h"
#include "connectors/s3/common.h"
#include "connectors/s3/format.h"
#include "connectors/s3/records.h"
#include "connectors/s3/s3.h"
#include "connectors/s3/source_state.h"

namespace trib::connectors {
namespace {

using namespace s3_detail;
using clock = std::chrono::steady_clock;

enum class after_read : std::uint8_t { keep, remove, move };

struct source_options {
    s3_settings store;
    std::string prefix;
    std::string start_after;
    std::string pattern;
    std::chrono::milliseconds poll_interval{5000};
    record_format format = record_format::lines;
    std::string delimiter = "\n";
    std::size_t max_record = 1u << 20;
    std::size_t max_batch_bytes = 4u << 20;
    std::size_t max_batch_messages = 1000;
    std::size_t chunk = 4u << 20;
    after_read after = after_read::keep;
    std::string move_prefix;
    bool verbose = false;
    std::uint64_t max_row_group = 256u << 20;  // parquet
    std::uint64_t max_object = 256u << 20;     // avro: the largest header or block
};

bool columnar(record_format f) {
    return f == record_format::parquet || f == record_format::avro;
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

class s3_source final : public source {
  public:
    explicit s3_source(source_options o)
        : o_(std::move(o)), framer_(o_.format, o_.delimiter, o_.max_record) {}

    status open(connector_context& ctx, std::string_view state) override {
        key_ = ctx.key;
        auto st = o_.store;
        TRIB_TRY(resolve_store_credentials(st));
        st.stop = ctx.stop;
        stop_ = ctx.stop;
        TRIB_ASSIGN_OR_RETURN(store_, make_store(std::move(st)));
        pos_ = {};
        if (!state.empty()) {
            TRIB_ASSIGN_OR_RETURN(pos_, decode_position(state));
        } else {
            TRIB_TRY(store_->check());
        }
        std::lock_guard lk(mu_);
        inflight_.clear();
        pending_after_.clear();
        ready_after_.clear();
        rewind_.reset();
        seq_ = 0;
        restart_object();
        return ok();
    }

    std::string_view schema() const override {
        return o_.format == record_format::lines ? std::string_view{} : std::string_view("json");
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        const auto deadline = clock::now() + max_wait;
        apply_after_read();
        {
            std::lock_guard lk(mu_);
            if (rewind_) {
                pos_ = *rewind_;
                rewind_.reset();
                restart_object();
            }
        }
        source_batch out;
        const source_position start = pos_;
        std::size_t bytes = 0;
        bool finished_object = false;
        if (columnar(o_.format)) {
            TRIB_TRY(poll_rows(out, deadline, finished_object));
            return finish_poll(std::move(out), start, finished_object);
        }
        for (;;) {
            if (stop_.stop_requested())
                return out;
            if (pos_.key.empty()) {
                TRIB_ASSIGN_OR_RETURN(bool found, pick_next());
                if (!found) {
                    if (!wait_for_listing(deadline))
                        return out;
                    continue;
                }
            }
            if (need_header_) {
                TRIB_TRY(read_csv_header());
                if (pos_.key.empty())
                    continue;  // the object changed under us: listed again
            }
            auto s = framer_.next(buf_, eof_);
            using k = record_framer::kind;
            if (s.what == k::need_more) {
                if (out.batch.size() > 0 && clock::now() >= deadline)
                    break;
                TRIB_TRY(fetch());
                continue;
            }
            if (s.what == k::malformed) {
                source_reject rj;
                const auto len = std::min(buf_.size(), o_.max_record);
                rj.original.payload = out.batch.own(buf_.substr(0, len));
                rj.err = error(errc::invalid_argument, retry_class::fatal,
                               fmt::format("s3 object '{}' at byte {}: {}; the rest of the "
                                           "object is skipped",
                                           pos_.key, pos_.pos, s.error));
                out.rejected.push_back(std::move(rj));
                finish_object();
                finished_object = true;
                break;
            }
            if (s.what == k::end) {
                finish_object();
                finished_object = true;
                break;
            }
            if (s.what == k::record && need_first_row_header_) {
                header_ = split_csv_row(std::string_view(buf_).substr(s.begin, s.end - s.begin));
                need_first_row_header_ = false;
                consume(s.consumed);
                continue;
            }
            if (s.what == k::record || s.what == k::too_long) {
                const auto rec = std::string_view(buf_).substr(s.begin, s.end - s.begin);
                if (s.what == k::record && !out.batch.empty() &&
                    (out.batch.size() >= o_.max_batch_messages ||
                     bytes + rec.size() > o_.max_batch_bytes)) {
                    framer_.reset(false);  // the record is read again by the next poll
                    break;
                }
                message m;
                std::string payload = o_.format == record_format::csv && s.what == k::record
                                          ? csv_row_json(header_, rec)
                                          : std::string(rec);
                const auto record_pos = pos_.pos + s.begin;
                m.id.lo = fnv1a(pos_.etag,
                                fnv1a(pos_.key, fnv1a(o_.store.bucket, 0xcbf29ce484222325ull)));
                m.id.hi = fnv1a(std::to_string(record_pos), m.id.lo ^ 0x9e3779b97f4a7c15ull);
                m.id.lo ^= record_pos;
                if (s.what == k::too_long) {
                    source_reject rj;
                    rj.original = std::move(m);
                    rj.original.payload = out.batch.own(std::move(payload));
                    rj.err = error(errc::resource_exhausted, retry_class::fatal,
                                   fmt::format("s3 object '{}': the record at byte {} is longer "
                                               "than max_record_bytes ({}); its first {} bytes "
                                               "go to the error policy, the rest is skipped",
                                               pos_.key, record_pos, o_.max_record, o_.max_record));
                    out.rejected.push_back(std::move(rj));
                } else {
                    bytes += payload.size();
                    m.payload = out.batch.own(std::move(payload));
                    out.batch.messages.push_back(std::move(m));
                }
                consume(s.consumed);
                continue;
            }
            consume(s.consumed);  // skipped
        }
        return finish_poll(std::move(out), start, finished_object);
    }

    source_batch finish_poll(source_batch out, const source_position& start, bool finished_object) {
        out.state = encode_position(pos_);
        out.has_state = !(pos_ == start);
        if (o_.verbose || finished_object) {
            const auto lvl = o_.verbose ? spdlog::level::info : spdlog::level::debug;
            spdlog::log(lvl, "s3 source {}: {} records from '{}'{}", key_, out.batch.size(),
                        finished_object ? pos_.done_key : pos_.key,
                        finished_object ? " (object done)" : "");
        }
        std::lock_guard lk(mu_);
        const bool counted = !out.batch.empty() || !out.rejected.empty();
        if (counted)
            inflight_[++seq_] = start;
        if (finished_object && o_.after != after_read::keep)
            pending_after_.emplace_back(seq_ + (counted ? 0 : 1), pos_.done_key);
        return out;
    }

    void ack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        inflight_.erase(inflight_.begin(), inflight_.upper_bound(seq));
        while (!pending_after_.empty() && pending_after_.front().first <= seq) {
            ready_after_.push_back(std::move(pending_after_.front().second));
            pending_after_.pop_front();
        }
    }

    void nack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        auto it = inflight_.find(seq);
        if (it == inflight_.end())
            return;
        rewind_ = it->second;
        inflight_.erase(it, inflight_.end());
        while (!pending_after_.empty() && pending_after_.back().first >= seq)
            pending_after_.pop_back();
    }

    void close() override { store_.reset(); }

  private:
    message_id id_of(std::uint64_t record_pos) const {
        message_id id;
        id.lo = fnv1a(pos_.etag, fnv1a(pos_.key, fnv1a(o_.store.bucket, 0xcbf29ce484222325ull)));
        id.hi = fnv1a(std::to_string(record_pos), id.lo ^ 0x9e3779b97f4a7c15ull);
        id.lo ^= record_pos;
        return id;
    }

    /// Parquet and Avro: one message per row; pos_.pos is the index of the next row.
    status poll_rows(source_batch& out, clock::time_point deadline, bool& finished_object) {
        std::size_t bytes = 0;
        for (;;) {
            if (stop_.stop_requested())
                return ok();
            if (pos_.key.empty()) {
                TRIB_ASSIGN_OR_RETURN(bool found, pick_next());
                if (!found) {
                    if (!wait_for_listing(deadline))
                        return ok();
                    continue;
                }
            }
            if (pos_.pos < rows_base_ || pos_.pos >= rows_base_ + rows_.size()) {
                if (!out.batch.empty() && clock::now() >= deadline)
                    return ok();
                bool done = false;
                auto st = load_rows(done);
                if (!st) {
                    if (st.error().code() != errc::invalid_argument)
                        return st;  // the store: retried by the runtime
                    source_reject rj;
                    rj.original.payload = out.batch.own(std::string(pos_.key));
                    rj.original.id = id_of(pos_.pos);
                    rj.err = error(errc::invalid_argument, retry_class::fatal,
                                   fmt::format("s3 object '{}' (row {}): {}; the rest of the "
                                               "object is skipped",
                                               pos_.key, pos_.pos, st.error().message()));
                    out.rejected.push_back(std::move(rj));
                    done = true;
                }
                if (done) {
                    finish_object();
                    finished_object = true;
                    return ok();
                }
                if (pos_.key.empty())
                    continue;  // replaced or deleted while read
                continue;
            }
            const auto& row = rows_[pos_.pos - rows_base_];
            if (!out.batch.empty() && (out.batch.size() >= o_.max_batch_messages ||
                                       bytes + row.size() > o_.max_batch_bytes))
                return ok();
            message m;
            m.id = id_of(pos_.pos);
            if (row.size() > o_.max_record) {
                source_reject rj;
                rj.original = std::move(m);
                rj.original.payload = out.batch.own(row.substr(0, o_.max_record));
                rj.err = error(errc::resource_exhausted, retry_class::fatal,
                               fmt::format("s3 object '{}': row {} is {} bytes as JSON, longer "
                                           "than max_record_bytes ({})",
                                           pos_.key, pos_.pos, row.size(), o_.max_record));
                out.rejected.push_back(std::move(rj));
            } else {
                bytes += row.size();
                m.payload = out.batch.own(std::string(row));
                out.batch.messages.push_back(std::move(m));
            }
            ++pos_.pos;
        }
    }

    /// The object's size (a resumed position has only its key): one listing of that key.
    result<std::uint64_t> object_size() {
        TRIB_ASSIGN_OR_RETURN(auto page, store_->list(pos_.key, {}, {}, 1));
        if (page.objects.empty() || page.objects.front().key != pos_.key)
            return fail(errc::not_found, "gone");
        return page.objects.front().size;
    }

    /// Loads the rows holding pos_.pos into rows_ (`done`: the object has no more rows).
    status load_rows(bool& done) {
        done = false;
        if (o_.format == record_format::avro)
            return load_avro_block(done);
        if (!pq_) {
            auto size = object_size();
            if (!size)
                return gone_or(size.error());
            codecs::parquet::read_limits lim;
            lim.max_footer_bytes = std::min<std::uint64_t>(o_.max_row_group, 64u << 20);
            lim.max_row_group_bytes = o_.max_row_group;
            const std::string key = pos_.key;
            const std::string etag = pos_.etag;
            auto r = codecs::parquet::file_reader::open(
                *size,
                [this, key, etag](std::uint64_t off, std::uint64_t len) {
                    return store_->get(key, off, len, etag);
                },
                lim);
            if (!r)
                return gone_or(r.error());
            pq_ = std::move(*r);
        }
        // The row group holding pos_.pos.
        std::uint64_t first = 0;
        for (int g = 0; g < pq_->num_row_groups(); ++g) {
            const auto n =
                static_cast<std::uint64_t>(std::max<std::int64_t>(0, pq_->row_group_rows(g)));
            if (pos_.pos < first + n) {
                rows_.clear();
                if (auto st = pq_->read_row_group_json(g, rows_); !st)
                    return gone_or(st.error());
                rows_base_ = first;
                if (rows_.size() != n)
                    return fail(errc::invalid_argument,
                                fmt::format("row group {} holds {} rows, its metadata says {}", g,
                                            rows_.size(), n));
                return ok();
            }
            first += n;
        }
        done = true;
        return ok();
    }

    /// Bytes [off, off + len) of the object in ranged gets of read_chunk_size; `gone` set (and
    /// the object handed to gone_or) when it changed or vanished.
    status read_range(std::uint64_t off, std::uint64_t len, std::string& out, bool& gone) {
        out.clear();
        gone = false;
        while (out.size() < len) {
            auto r = store_->get(pos_.key, off + out.size(),
                                 std::min<std::uint64_t>(o_.chunk, len - out.size()), pos_.etag);
            if (!r) {
                gone = true;
                return gone_or(r.error());
            }
            if (r->empty())
                break;
            out += *r;
        }
        return ok();
    }

    /// Avro: the block holding pos_.pos into rows_, read by ranged gets: the header once per
    /// object, then each block's two-varint head; blocks before pos_.pos are skipped unread.
    /// Memory: the header and one block (each at most max_object_bytes) and its records.
    status load_avro_block(bool& done) {
        done = false;
        bool gone = false;
        if (!rows_loaded_for_object_) {
            auto size = object_size();
            if (!size)
                return gone_or(size.error());
            std::string head;
            std::size_t header_len = 0;
            while (header_len == 0) {
                if (head.size() >= *size)
                    return fail(errc::invalid_argument, "avro: the container header is truncated");
                if (head.size() >= o_.max_object)
                    return fail(errc::invalid_argument,
                                fmt::format("avro: the container header is above "
                                            "max_object_bytes ({})",
                                            o_.max_object));
                std::string more;
                const auto want = std::min<std::uint64_t>(
                    {o_.chunk, *size - head.size(), o_.max_object - head.size() + 1});
                TRIB_TRY(read_range(head.size(), want, more, gone));
                if (gone)
                    return ok();
                if (more.empty())
                    return fail(errc::invalid_argument, "avro: the container header is truncated");
                head += more;
                TRIB_ASSIGN_OR_RETURN(header_len, avro_header_length(head));
            }
            head.resize(header_len);
            avro_header_ = std::move(head);
            avro_size_ = *size;
            // A saved block (after a restart) is where the walk starts; else after the header.
            if (pos_.block >= header_len && pos_.block_row <= pos_.pos) {
                avro_next_ = pos_.block;
                avro_next_row_ = pos_.block_row;
            } else {
                avro_next_ = header_len;
                avro_next_row_ = 0;
            }
            rows_loaded_for_object_ = true;
        }
        for (;;) {
            if (avro_next_ >= avro_size_) {
                done = true;
                return ok();
            }
            std::string hb;
            TRIB_TRY(read_range(avro_next_, std::min<std::uint64_t>(20, avro_size_ - avro_next_),
                                hb, gone));
            if (gone)
                return ok();
            TRIB_ASSIGN_OR_RETURN(auto bh, read_avro_block_head(hb));
            if (bh.head_len == 0 || bh.size > avro_size_ ||
                avro_next_ + bh.head_len + bh.size + 16 > avro_size_)
                return fail(errc::invalid_argument,
                            fmt::format("avro: the block at byte {} is truncated", avro_next_));
            const std::uint64_t total = bh.head_len + bh.size + 16;
            if (avro_next_row_ + bh.count <= pos_.pos) {  // read before: skipped unread
                avro_next_ += total;
                avro_next_row_ += bh.count;
                continue;
            }
            if (total > o_.max_object)
                return fail(errc::invalid_argument,
                            fmt::format("avro: the block at byte {} is {} bytes, above "
                                        "max_object_bytes ({})",
                                        avro_next_, total, o_.max_object));
            std::string block;
            TRIB_TRY(read_range(avro_next_, total, block, gone));
            if (gone)
                return ok();
            if (block.size() != total)
                return fail(errc::invalid_argument,
                            fmt::format("avro: the block at byte {} is truncated", avro_next_));
            rows_.clear();
            TRIB_ASSIGN_OR_RETURN(rows_, avro_block_rows_json(avro_header_, block));
            if (rows_.size() != bh.count)
                return fail(errc::invalid_argument,
                            fmt::format("avro: the block at byte {} holds {} records, its head "
                                        "says {}",
                                        avro_next_, rows_.size(), bh.count));
            rows_base_ = avro_next_row_;
            pos_.block = avro_next_;
            pos_.block_row = avro_next_row_;
            avro_next_ += total;
            avro_next_row_ += bh.count;
            return ok();
        }
    }

    /// A store error while reading an object: a changed object is read again from its start,
    /// a deleted one is skipped; anything else is returned.
    status gone_or(const error& e) {
        if (e.code() == errc::failed_precondition) {
            spdlog::warn(
                "s3 source {}: '{}' was replaced while it was read; reading the new "
                "version from its start",
                key_, pos_.key);
            replaced();
            return ok();
        }
        if (e.code() == errc::not_found) {
            spdlog::warn(
                "s3 source {}: '{}' disappeared while it was read; going on with the "
                "next object",
                key_, pos_.key);
            finish_object();
            return ok();
        }
        return e;
    }

    void restart_object() {
        pq_.reset();
        rows_.clear();
        rows_base_ = 0;
        rows_loaded_for_object_ = false;
        avro_header_.clear();
        buf_.clear();
        eof_ = false;
        framer_.reset(pos_.pos == 0);
        header_.clear();
        need_header_ = o_.format == record_format::csv && !pos_.key.empty() && pos_.pos > 0;
        need_first_row_header_ = o_.format == record_format::csv && pos_.pos == 0;
    }

    void consume(std::size_t n) {
        buf_.erase(0, n);
        pos_.pos += n;
    }

    void finish_object() {
        pos_.done_key = pos_.key;
        pos_.key.clear();
        pos_.etag.clear();
        pos_.pos = 0;
        pos_.block = pos_.block_row = 0;
        restart_object();
        need_first_row_header_ = false;
    }

    bool matches(std::string_view key) const {
        if (o_.pattern.empty())
            return true;
        return ::fnmatch(o_.pattern.c_str(), std::string(key).c_str(), 0) == 0;
    }

    /// Lists after the last finished key for the next object to read.
    result<bool> pick_next() {
        if (clock::now() < next_listing_)
            return false;
        std::string after = std::max(o_.start_after, pos_.done_key);
        std::string token;
        for (int pages = 0; pages < 100; ++pages) {
            TRIB_ASSIGN_OR_RETURN(auto page, store_->list(o_.prefix, after, token, 1000));
            for (auto& obj : page.objects) {
                if (!o_.move_prefix.empty() && obj.key.starts_with(o_.move_prefix))
                    continue;  // moved objects are not read again
                if (!matches(obj.key))
                    continue;
                pos_.key = obj.key;
                pos_.etag = obj.etag;
                pos_.pos = 0;
                pos_.block = pos_.block_row = 0;
                restart_object();
                if (o_.verbose)
                    spdlog::info("s3 source {}: reading '{}' ({} bytes)", key_, obj.key, obj.size);
                return true;
            }
            if (!page.truncated || page.next_token.empty()) {
                // Nothing matched: what was listed need not be listed again.
                if (!page.objects.empty())
                    skipped_after_ = page.objects.back().key;
                break;
            }
            token = page.next_token;
        }
        next_listing_ = clock::now() + o_.poll_interval;
        return false;
    }

    bool wait_for_listing(clock::time_point deadline) {
        while (clock::now() < deadline && clock::now() < next_listing_) {
            if (stop_.stop_requested())
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return clock::now() < deadline;
    }

    status fetch() {
        const std::uint64_t at = pos_.pos + buf_.size();
        auto r = store_->get(pos_.key, at, o_.chunk, pos_.etag);
        if (!r) {
            if (r.error().code() == errc::failed_precondition) {
                spdlog::warn(
                    "s3 source {}: '{}' was replaced while it was read; reading the new "
                    "version from its start",
                    key_, pos_.key);
                replaced();
                return ok();
            }
            if (r.error().code() == errc::not_found) {
                spdlog::warn(
                    "s3 source {}: '{}' disappeared while it was read; going on with "
                    "the next object",
                    key_, pos_.key);
                finish_object();
                return ok();
            }
            return r.error();
        }
        if (r->size() < o_.chunk)
            eof_ = true;
        buf_ += *r;
        return ok();
    }

    /// The object changed: list it again (new ETag) and read it from the start.
    void replaced() {
        const auto k = pos_.key;
        pos_.key.clear();
        pos_.etag.clear();
        pos_.pos = 0;
        pos_.block = pos_.block_row = 0;
        // List from just before this key so that the new version is picked up.
        pos_.done_key = k.substr(0, k.size() - 1);
        restart_object();
        next_listing_ = {};
    }

    status read_csv_header() {
        record_framer f(record_format::csv, "\n", o_.max_record);
        f.reset(true);
        std::string b;
        bool eof = false;
        for (;;) {
            auto s = f.next(b, eof);
            if (s.what == record_framer::kind::record) {
                header_ = split_csv_row(std::string_view(b).substr(s.begin, s.end - s.begin));
                need_header_ = false;
                return ok();
            }
            if (s.what == record_framer::kind::skipped) {
                b.erase(0, s.consumed);
                continue;
            }
            if (s.what != record_framer::kind::need_more) {
                need_header_ = false;  // no header row: fields get positional names
                return ok();
            }
            auto r = store_->get(pos_.key, b.size(), o_.chunk, pos_.etag);
            if (!r) {
                if (r.error().code() == errc::failed_precondition) {
                    replaced();
                    return ok();
                }
                return r.error();
            }
            if (r->size() < o_.chunk)
                eof = true;
            b += *r;
        }
    }

    void apply_after_read() {
        std::vector<std::string> todo;
        {
            std::lock_guard lk(mu_);
            todo.swap(ready_after_);
        }
        for (const auto& k : todo) {
            const status st = o_.after == after_read::move ? store_->move(k, o_.move_prefix + k)
                                                           : store_->remove(k);
            if (!st)
                spdlog::warn("s3 source {}: {} '{}' after reading failed: {}", key_,
                             o_.after == after_read::move ? "moving" : "deleting", k,
                             st.error().message());
        }
    }

    source_options o_;
    record_framer framer_;
    std::unique_ptr<object_store> store_;
    std::string key_;
    std::stop_token stop_;
    source_position pos_;
    std::string buf_;  // bytes of pos_.key from pos_.pos on
    bool eof_ = false;
    bool need_header_ = false;
    bool need_first_row_header_ = false;
    std::vector<std::string> header_;
    // parquet / avro
    std::unique_ptr<codecs::parquet::file_reader> pq_;
    std::vector<std::string> rows_;  // JSON rows from index rows_base_ on
    std::uint64_t rows_base_ = 0;
    bool rows_loaded_for_object_ = false;  // parquet: unused; avro: the header was read
    std::string avro_header_;
    std::uint64_t avro_size_ = 0;
    std::uint64_t avro_next_ = 0;      // byte offset of the block after the one in rows_
    std::uint64_t avro_next_row_ = 0;  // index of that block's first record
    clock::time_point next_listing_{};
    std::string skipped_after_;

    std::mutex mu_;  // ack/nack come from the runtime's producer thread
    std::map<std::uint64_t, source_position> inflight_;
    std::deque<std::pair<std::uint64_t, std::string>> pending_after_;
    std::vector<std::string> ready_after_;
    std::optional<source_position> rewind_;
    std::uint64_t seq_ = 0;
};

}  // namespace

result<std::unique_ptr<source>> s3_detail::make_object_source(store_kind k,
                                                              const config::values& v) {
    source_options o;
    TRIB_ASSIGN_OR_RETURN(o.store, store_settings_for(k, v));
    o.store.retries = 3;
    o.prefix = v.opt_str("prefix").value_or("");
    o.start_after = v.opt_str("start_after").value_or("");
    o.pattern = v.opt_str("pattern").value_or("");
    o.poll_interval = v.duration("poll_interval");
    const auto f = v.str("format");
    o.format = f == "csv"          ? record_format::csv
               : f == "json_array" ? record_format::json_array
               : f == "parquet"    ? record_format::parquet
               : f == "avro"       ? record_format::avro
                                   : record_format::lines;
    if (o.format == record_format::parquet && !codecs::parquet::available())
        return fail(errc::unimplemented,
                    "s3_source format = \"parquet\": built without Apache Arrow "
                    "(scripts/setup.sh installs pyarrow into .venv; configure the build again)");
    o.max_row_group = v.size("max_row_group_bytes");
    o.max_object = v.size("max_object_bytes");
    o.delimiter = v.str("custom_delimiter");
    o.max_record = static_cast<std::size_t>(v.size("max_record_bytes"));
    o.max_batch_bytes = static_cast<std::size_t>(v.size("max_batch_bytes"));
    o.max_batch_messages = static_cast<std::size_t>(v.integer("max_batch_messages"));
    o.chunk = static_cast<std::size_t>(v.size("read_chunk_size"));
    const auto a = v.str("after_read");
    o.after = a == "delete" ? after_read::remove
              : a == "move" ? after_read::move
                            : after_read::keep;
    o.move_prefix = v.opt_str("move_prefix").value_or("");
    o.verbose = v.boolean("verbose_logging");
    return std::unique_ptr<source>(std::make_unique<s3_source>(std::move(o)));
}

result<std::unique_ptr<source>> make_s3_source(const config::values& v) {
    return make_object_source(store_kind::s3, v);
}
result<std::unique_ptr<source>> make_gcs_source(const config::values& v) {
    return make_object_source(store_kind::gcs, v);
}
result<std::unique_ptr<source>> make_azure_blob_source(const config::values& v) {
    return make_object_source(store_kind::azure_blob, v);
}
result<std::unique_ptr<source>> make_hdfs_source(const config::values& v) {
    return make_object_source(store_kind::hdfs, v);
}

}  // namespace trib::connectors
