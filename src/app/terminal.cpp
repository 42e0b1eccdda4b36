#include "app/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "runtime/host.h"

namespace trib::app {

using namespace runtime;
using clock = std::chrono::steady_clock;

void print_problems(const std::string& text) {
    if (!text.empty())
        std::fprintf(stderr, "%s\n", text.c_str());
}

namespace {

std::string human_rate(double v) {
    if (v >= 1e6)
        return fmt::format("{:.2f}M", v / 1e6);
    if (v >= 1e4)
        return fmt::format("{:.1f}k", v / 1e3);
    return fmt::format("{:.0f}", v);
}

}  // namespace

void status_table::draw() {
    const auto now = clock::now();
    const double dt = last_at_ == clock::time_point{}
                          ? 0.0
                          : std::chrono::duration<double>(now - last_at_).count();
    last_at_ = now;
    winsize ws{};
    const int width =
        ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 100;
    std::string out;
    if (lines_ > 0)
        out += fmt::format("\x1b[{}A", lines_);  // back to the table's first line
    lines_ = 0;
    for (const auto& s : h_.connectors()) {
        const auto& st = s->stats;
        const auto msgs = st.messages_out.load(std::memory_order_relaxed);
        const auto bytes = st.bytes_out.load(std::memory_order_relaxed);
        auto& prev = prev_[s.get()];
        const double rate = dt > 0 ? static_cast<double>(msgs - prev.first) / dt : 0.0;
        const double mbps = dt > 0 ? static_cast<double>(bytes - prev.second) / dt / 1e6 : 0.0;
        prev = {msgs, bytes};
        // Rate, lag and errors first: on an 80-column terminal the end of a line is cut off.
        std::string line =
            fmt::format("{:<6} {:<16} {:<8} {:>7} msg/s {:>6.2f} MB/s", to_string(s->kind),
                        s->cfg.key.substr(0, 16), to_string(s->status()), human_rate(rate), mbps);
        if (s->kind == connector_kind::sink) {
            const auto lag = st.lag.load(std::memory_order_relaxed);
            line += lag >= 0 ? fmt::format("  lag {:>7}", lag) : std::string("  lag       -");
        } else {
            line += "             ";
        }
        line += fmt::format("  errors {}", st.errors.load(std::memory_order_relaxed));
        const auto dl = st.dead_lettered.load(std::memory_order_relaxed);
        if (dl != 0)
            line += fmt::format("  dead-lettered {}", dl);
        line += fmt::format("  total {}", msgs);
        if (static_cast<int>(line.size()) > width - 1)
            line.resize(static_cast<std::size_t>(width - 1));
        out += "\r\x1b[K" + line + "\n";
        ++lines_;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
}

/// Periodic summary in the logs when there is no terminal.
void log_summary(const runtime::host& h) {
    for (const auto& s : h.connectors()) {
        const auto& st = s->stats;
        spdlog::info("{} {}: status={} in={} out={} errors={} dead_lettered={} lag={}",
                     to_string(s->kind), s->cfg.key, to_string(s->status()), st.messages_in.load(),
                     st.messages_out.load(), st.errors.load(), st.dead_lettered.load(),
                     st.lag.load());
    }
}

}  // namespace trib::app
