#include "core/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/redact.h"

namespace trib::log {
namespace {

class redactor final : public spdlog::sinks::sink {
  public:
    explicit redactor(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}
    void log(const spdlog::details::log_msg& msg) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        std::string clean = redact(text);
        if (clean == text) {
            inner_->log(msg);
            return;
        }
        spdlog::details::log_msg copy(msg);
        copy.payload = spdlog::string_view_t(clean.data(), clean.size());
        inner_->log(copy);
    }
    void flush() override { inner_->flush(); }
    void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
    void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
        inner_->set_formatter(std::move(f));
    }

  private:
    std::shared_ptr<spdlog::sinks::sink> inner_;
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> redacting_sink(std::shared_ptr<spdlog::sinks::sink> inner) {
    return std::make_shared<redactor>(std::move(inner));
}

void init(format fmt, std::string_view level) {
    auto out = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("tributary", redacting_sink(std::move(out)));
    if (fmt == format::json) {
        // One JSON object per line; the message is escaped by spdlog's %v only as text, so keep
        // messages free of quotes where they may be machine-read (we log key=value pairs).
        logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","thread":%t,"msg":"%v"})",
                            spdlog::pattern_time_type::utc);
    } else {
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    logger->set_level(spdlog::level::from_str(std::string(level)));
    spdlog::set_default_logger(std::move(logger));
}

rate_limiter::rate_limiter(settings s, std::function<clock::time_point()> now)
    : s_(s), now_(std::move(now)) {
    if (s_.burst == 0)
        s_.burst = 1;
    if (s_.refill.count() < 1)
        s_.refill = std::chrono::milliseconds(1);
    if (s_.max_keys < 2)
        s_.max_keys = 2;
}

rate_limiter::verdict rate_limiter::check(std::string_view key) {
    const auto now = now_();
    std::lock_guard lk(mu_);
    auto it = buckets_.find(std::string(key));
    if (it == buckets_.end()) {
        if (buckets_.size() >= s_.max_keys) {
            // Forget the half that was idle longest: a flood of distinct keys stays bounded.
            std::vector<std::pair<clock::time_point, std::string>> by_age;
            by_age.reserve(buckets_.size());
            for (const auto& [k, b] : buckets_)
                by_age.emplace_back(b.last, k);
            std::sort(by_age.begin(), by_age.end());
            for (std::size_t i = 0; i < by_age.size() / 2; ++i)
                buckets_.erase(by_age[i].second);
        }
        bucket b;
        b.tokens = static_cast<double>(s_.burst);
        b.last = now;
        it = buckets_.emplace(std::string(key), b).first;
    }
    bucket& b = it->second;
    if (now > b.last) {
        const double gained = std::chrono::duration<double>(now - b.last).count() /
                              std::chrono::duration<double>(s_.refill).count();
        b.tokens = std::min(static_cast<double>(s_.burst), b.tokens + gained);
    }
    b.last = std::max(b.last, now);
    verdict v;
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        v.admit = true;
        v.suppressed = std::exchange(b.suppressed, 0);
    } else {
        ++b.suppressed;
    }
    return v;
}

std::vector<std::pair<std::string, std::uint64_t>> rate_limiter::take_pending() {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    std::lock_guard lk(mu_);
    for (auto& [k, b] : buckets_) {
        if (b.suppressed != 0)
            out.emplace_back(k, std::exchange(b.suppressed, 0));
    }
    std::sort(out.begin(), out.end());
    return out;
}

rate_limiter& default_limiter() {
    static rate_limiter r(rate_limiter::settings{});
    return r;
}

void flush_suppressed() {
    for (const auto& [key, n] : default_limiter().take_pending())
        spdlog::warn("{}: {} similar lines suppressed", key, n);
}

}  // namespace trib::log
