#pragma once
// What `tributary run` prints: configuration problems, the live status table on a terminal, and
// the periodic summary in the logs when there is none.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace trib::runtime {
class host;
struct connector_slot;
}  // namespace trib::runtime

namespace trib::app {

/// Where the config's problems are printed: one "file: key: message" line each (stderr).
void print_problems(const std::string& text);

/// The live table on a terminal: one line per connector, redrawn in place at each draw().
class status_table {
  public:
    explicit status_table(const runtime::host& h) : h_(h) {}
    void draw();

  private:
    const runtime::host& h_;
    std::chrono::steady_clock::time_point last_at_{};
    int lines_ = 0;
    std::map<const runtime::connector_slot*, std::pair<std::uint64_t, std::uint64_t>> prev_;
};

/// One log line per connector: status and counters (when there is no terminal).
void log_summary(const runtime::host& h);

}  // namespace trib::app
