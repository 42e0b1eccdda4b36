#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "connectors/null/null.h"

namespace trib::connectors {
namespace {

class null_sink final : public sink {
  public:
    null_sink(std::chrono::milliseconds latency, std::chrono::milliseconds log_interval)
        : latency_(latency), log_interval_(log_interval) {}

    status open(connector_context& ctx) override {
        key_ = ctx.key;
        stop_ = ctx.stop;
        last_log_ = std::chrono::steady_clock::now();
        return ok();
    }

    result<write_outcome> write(const sink_batch& b) override {
        if (latency_.count() > 0) {
            // Sleep in slices so that a hard stop is honoured.
            auto until = std::chrono::steady_clock::now() + latency_;
            while (std::chrono::steady_clock::now() < until) {
                if (stop_.stop_requested())
                    return fail(errc::cancelled, "stopping");
                std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
                    until - std::chrono::steady_clock::now(), std::chrono::milliseconds(10)));
            }
        }
        messages_ += b.messages->size();
        bytes_ += b.messages->payload_bytes();
        if (log_interval_.count() > 0) {
            const auto now = std::chrono::steady_clock::now();
            const auto dt = now - last_log_;
            if (dt >= log_interval_) {
                const double s = std::chrono::duration<double>(dt).count();
                spdlog::info("null sink {}: {:.0f} msg/s, {:.2f} MB/s", key_,
                             static_cast<double>(messages_ - logged_messages_) / s,
                             static_cast<double>(bytes_ - logged_bytes_) / s / 1e6);
                logged_messages_ = messages_;
                logged_bytes_ = bytes_;
                last_log_ = now;
            }
        }
        return write_outcome{};
    }

    void close() override {}
    bool idempotent() const override { return true; }

  private:
    std::chrono::milliseconds latency_;
    std::chrono::milliseconds log_interval_;
    std::string key_;
    std::stop_token stop_;
    std::uint64_t messages_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t logged_messages_ = 0;
    std::uint64_t logged_bytes_ = 0;
    std::chrono::steady_clock::time_point last_log_;
};

}  // namespace

result<std::unique_ptr<sink>> make_null_sink(const config::values& v) {
    return std::unique_ptr<sink>(
        std::make_unique<null_sink>(v.duration("latency"), v.duration("log_interval")));
}

}  // namespace trib::connectors
