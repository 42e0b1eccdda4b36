// The random source. Generation is cheap on purpose (xoshiro256**, one arena per batch, payload
// views into it) so that the runtime benchmarks measure the runtime, not the generator.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "connectors/random/random.h"
#include "core/unix_time.h"

namespace trib::connectors {
namespace {

/// xoshiro256** (public domain algorithm by Blackman and Vigna).
class fast_rng {
  public:
    explicit fast_rng(std::uint64_t seed) {
        for (auto& w : s_) {
            seed += 0x9E3779B97F4A7C15ull;  // splitmix64 to spread the seed
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            w = z ^ (z >> 31);
        }
    }
    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

  private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

constexpr char k_alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

enum class format { json, text, raw };

class random_source final : public source {
  public:
    random_source(std::chrono::milliseconds interval, std::optional<std::uint64_t> max_count,
                  std::uint64_t min_n, std::uint64_t max_n, std::size_t payload_size, format f)
        : interval_(interval),
          max_count_(max_count),
          min_n_(min_n),
          max_n_(max_n),
          payload_size_(payload_size),
          format_(f),
          rng_(std::random_device{}() ^
               static_cast<std::uint64_t>(
                   std::chrono::steady_clock::now().time_since_epoch().count())) {}

    status open(connector_context& ctx, std::string_view state) override {
        stop_ = ctx.stop;
        produced_ = 0;
        if (state.size() >= 8) {
            std::memcpy(&produced_, state.data(), 8);  // little-endian, like Iggy's runtime
        }
        next_due_ = std::chrono::steady_clock::now();
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        source_batch out;
        if (max_count_ && produced_ >= *max_count_) {
            std::this_thread::sleep_for(std::min(max_wait, std::chrono::milliseconds(100)));
            return out;
        }
        const auto now = std::chrono::steady_clock::now();
        if (next_due_ > now) {
            const auto wait = next_due_ - now;
            if (wait > max_wait) {
                std::this_thread::sleep_for(max_wait);
                return out;
            }
            std::this_thread::sleep_for(wait);
        }
        next_due_ = std::max(next_due_ + interval_, std::chrono::steady_clock::now());
        if (stop_.stop_requested())
            return out;

        std::uint64_t n = min_n_ + (max_n_ > min_n_ ? rng_.next() % (max_n_ - min_n_ + 1) : 0);
        if (max_count_)
            n = std::min(n, *max_count_ - produced_);
        generate(out.batch, n);
        produced_ += n;
        out.state.assign(reinterpret_cast<const char*>(&produced_), 8);
        out.has_state = true;
        return out;
    }

    void ack(std::uint64_t) override {}
    // The count is persisted only after Iggy acknowledged, so a restart regenerates what was lost;
    // within a run a nacked batch is random data either way: count it as not produced.
    void nack(std::uint64_t) override {}
    void close() override {}
    // Only JSON is declared: text and raw random bytes are whatever the stream says they are
    // (declaring them would turn the default `schema = "json"` into a failing conversion).
    std::string_view schema() const override {
        return format_ == format::json ? std::string_view("json") : std::string_view();
    }

  private:
    void fill_text(char* p, std::size_t n) {
        std::size_t i = 0;
        while (i < n) {
            std::uint64_t r = rng_.next();
            for (int k = 0; k < 10 && i < n; ++k, r >>= 6)
                p[i++] = k_alnum[(r & 63) % 62];
        }
    }

    void generate(message_batch& batch, std::uint64_t n) {
        std::string arena;
        const std::size_t per = format_ == format::json ? payload_size_ + 96 : payload_size_;
        arena.reserve(per * n);
        std::vector<std::pair<std::size_t, std::size_t>> spans;
        spans.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            const std::size_t start = arena.size();
            switch (format_) {
                case format::raw: {
                    arena.resize(start + payload_size_);
                    char* p = arena.data() + start;
                    std::size_t k = 0;
                    for (; k + 8 <= payload_size_; k += 8) {
                        const std::uint64_t r = rng_.next();
                        std::memcpy(p + k, &r, 8);
                    }
                    if (k < payload_size_) {
                        const std::uint64_t r = rng_.next();
                        std::memcpy(p + k, &r, payload_size_ - k);
                    }
                    break;
                }
                case format::text:
                    arena.resize(start + payload_size_);
                    fill_text(arena.data() + start, payload_size_);
                    break;
                case format::json: {
                    std::uint64_t hi = rng_.next();
                    std::uint64_t lo = rng_.next();
                    hi = (hi & ~0xF000ull) | 0x4000ull;                         // version 4
                    lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
                    fmt::format_to(std::back_inserter(arena),
                                   "{{\"id\":\"{:08x}-{:04x}-{:04x}-{:04x}-{:012x}\",\"title\":"
                                   "\"Hello\",\"name\":\"World\",\"text\":\"",
                                   hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                                   lo & 0xFFFFFFFFFFFFull);
                    const std::size_t t = arena.size();
                    arena.resize(t + payload_size_);
                    fill_text(arena.data() + t, payload_size_);
                    arena.append("\"}");
                    break;
                }
            }
            spans.emplace_back(start, arena.size() - start);
        }
        const std::string_view all = batch.own(std::move(arena));
        batch.messages.resize(spans.size());
        // The event time is the generation time: end-to-end latency is measured from here.
        const auto now = unix_now_us();
        for (std::size_t i = 0; i < spans.size(); ++i) {
            batch.messages[i].payload = all.substr(spans[i].first, spans[i].second);
            batch.messages[i].origin_timestamp_us = now;
        }
    }

    std::chrono::milliseconds interval_;
    std::optional<std::uint64_t> max_count_;
    std::uint64_t min_n_;
    std::uint64_t max_n_;
    std::size_t payload_size_;
    format format_;
    fast_rng rng_;
    std::stop_token stop_;
    std::uint64_t produced_ = 0;
    std::chrono::steady_clock::time_point next_due_;
};

}  // namespace

result<std::unique_ptr<source>> make_random_source(const config::values& v) {
    const auto range = v.integers("messages_range");
    if (range.size() != 2 || range[0] < 1 || range[1] < range[0]) {
        return fail(errc::invalid_argument,
                    "messages_range must be [min, max] with 1 <= min <= max");
    }
    std::optional<std::uint64_t> max_count;
    if (auto m = v.opt_integer("max_count"))
        max_count = static_cast<std::uint64_t>(*m);
    const std::string f = v.str("format");
    const format fmt_kind = f == "raw" ? format::raw : f == "text" ? format::text : format::json;
    return std::unique_ptr<source>(std::make_unique<random_source>(
        v.duration("interval"), max_count, static_cast<std::uint64_t>(range[0]),
        static_cast<std::uint64_t>(range[1]), static_cast<std::size_t>(v.integer("payload_size")),
        fmt_kind));
}

}  // namespace trib::connectors
