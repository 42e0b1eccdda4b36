#pragma once
// SIGINT and SIGTERM for `tributary run` and `serve`: blocked in every thread, then waited for
// (sigtimedwait), so that no handler runs at an arbitrary point.

#include <chrono>
#include <optional>
#include <string_view>

namespace trib::app {

/// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it starts later), so
/// that run_runtime() can wait for them. Call first thing in main().
void block_stop_signals();

/// Waits up to `timeout` for SIGINT or SIGTERM; returns "SIGINT"/"SIGTERM", or nullopt when the
/// time passed without one.
std::optional<std::string_view> wait_stop_signal(std::chrono::seconds timeout);

/// From now on a further SIGINT/SIGTERM ends the process at once (exit 130) instead of waiting
/// for the drain.
void exit_on_second_signal();

}  // namespace trib::app
