#pragma once
// Process-wide logging set-up and the two rules every log line follows:
// - secrets never reach the output: the default logger's sink passes every line through
//   trib::redact (core/redact.h);
// - a failure that repeats does not flood the log: error paths that can repeat per message or
//   per attempt log through log::limited(), a token bucket per key that lets the first lines
//   through and then one line per refill, each admitted line saying how many similar lines were
//   suppressed since the last one.
// Code logs with spdlog's free functions (spdlog::info, ...) or log::limited.

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace trib::log {

enum class format { text, json };

/// Configures the default logger: text or JSON lines on stderr, at `level`
/// ("trace", "debug", "info", "warn", "error"), every line redacted. Call once from main, before
/// other threads start.
void init(format fmt, std::string_view level = "info");

/// A sink that redacts each line's message (trib::redact) and hands it to `inner`. For loggers
/// other than the default one (tests capture the output through it).
std::shared_ptr<spdlog::sinks::sink> redacting_sink(std::shared_ptr<spdlog::sinks::sink> inner);

/// A token bucket per key: `burst` lines at once, then one more per `refill`. Thread-safe.
/// At most `max_keys` keys are tracked; beyond that the oldest-idle half is forgotten (their
/// next line is admitted as if new).
class rate_limiter {
  public:
    using clock = std::chrono::steady_clock;
    struct settings {
        std::uint32_t burst = 10;
        std::chrono::milliseconds refill{1000};
        std::size_t max_keys = 4096;
    };
    /// `now` is the time source (tests pass a manual clock).
    explicit rate_limiter(settings s, std::function<clock::time_point()> now = &clock::now);

    struct verdict {
        bool admit = false;
        /// Lines of this key suppressed since the last admitted one (when admitted).
        std::uint64_t suppressed = 0;
    };
    verdict check(std::string_view key);
    /// Keys with suppressed lines not reported yet, and their counts; resets them.
    std::vector<std::pair<std::string, std::uint64_t>> take_pending();

  private:
    struct bucket {
        double tokens = 0;
        clock::time_point last;
        std::uint64_t suppressed = 0;
    };
    settings s_;
    std::function<clock::time_point()> now_;
    std::mutex mu_;
    std::unordered_map<std::string, bucket> buckets_;
};

/// The limiter log::limited uses (burst 10, one line per second per key).
rate_limiter& default_limiter();

/// Logs `fmt` at `lvl` unless the key's budget is spent; an admitted line after suppressed ones
/// ends with "(N similar lines suppressed)". Keys name the call site and its subject, e.g.
/// "sink pg: write failed".
template <class... Args>
void limited(spdlog::level::level_enum lvl, std::string_view key, fmt::format_string<Args...> fmt,
             Args&&... args) {
    if (!spdlog::default_logger_raw()->should_log(lvl))
        return;
    const auto v = default_limiter().check(key);
    if (!v.admit)
        return;
    std::string text = fmt::format(fmt, std::forward<Args>(args)...);
    if (v.suppressed != 0)
        text += fmt::format(" ({} similar lines suppressed)", v.suppressed);
    spdlog::log(lvl, "{}", text);
}

/// Logs one line per key with suppressed lines not yet reported ("KEY: N similar lines
/// suppressed"); call at shutdown so that no count is lost.
void flush_suppressed();

}  // namespace trib::log
