#pragma once
// `tributary run`: load and validate the configuration (exit 2 listing every problem), start the
// embedded Iggy server when [iggy] names none, run the connectors and the management API until
// SIGINT/SIGTERM (or a duration / message count), then drain and exit. The process around the
// runtime library: signals (signals.cpp), the embedded server (embedded.cpp) and the terminal
// (terminal.cpp) are the app's, not the runtime's.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "app/signals.h"   // block_stop_signals (main() calls it first)
#include "app/terminal.h"  // print_problems
#include "config/environment.h"

namespace trib::app {

/// What a started runtime tells its caller (the quickstart prints it).
struct run_info {
    std::string iggy_address;  // where the connectors' Iggy clients connect
    bool embedded_server = false;
    std::string server_data_dir;
    std::string api_url;  // empty when the API is off
    std::string state_dir;
};

struct run_options {
    std::string
        config_path;  // empty: TRIBUTARY_CONFIG_PATH, IGGY_CONNECTORS_CONFIG_PATH, config.toml
    config::environment env = config::environment::from_process();
    /// Stop by itself after this long.
    std::optional<std::chrono::milliseconds> duration;
    /// Stop by itself once every running sink processed this many messages.
    std::optional<std::uint64_t> messages;
    /// Pick free ports when the configured server or API port is taken (quickstart).
    bool fallback_ports = false;
    /// The live status table on a terminal: true, false, or unset (when stdout is a terminal).
    std::optional<bool> status_table;
    std::function<void(const run_info&)> on_started;
};

/// Runs until stopped; returns the process exit code (0 clean, 1 runtime failure, 2 bad config).
int run_runtime(const run_options& o);

}  // namespace trib::app
