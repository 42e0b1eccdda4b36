#pragma once
// Process-wide logging set-up. Code logs with spdlog's free functions (spdlog::info, ...);
// this header only chooses the format and level once, at start.

#include <string_view>

namespace trib::log {

enum class format { text, json };

/// Configures the default logger: text or JSON lines on stderr, at `level`
/// ("trace", "debug", "info", "warn", "error"). Call once from main, before other threads start.
void init(format fmt, std::string_view level = "info");

}  // namespace trib::log
