#pragma once
// The `tributary` subcommands other than `run` and `serve` (which live in runtime/ and server/):
// validate, connectors list|describe, docs, quickstart. Each returns the process exit code.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace trib::app {

/// Validates a runtime config (and every connector file of its config_dir) or one connector
/// file. Prints every problem as "file: key: message"; 2 when there are errors.
int validate(const std::string& path);

int connectors_list(bool json);
/// 1 when no connector has that name.
int connectors_describe(const std::string& name, bool json, bool all_options);

/// Writes docs/connectors/NAME.md for every built-in connector and a README.md index into
/// `out_dir`. With `check`, writes nothing and returns 1 when a file is missing, stale or extra.
int docs(const std::string& out_dir, bool check);

struct quickstart_options {
    std::string example_dir;  // empty: find examples/quickstart
    std::string work_dir;     // empty: $TMPDIR/tributary-quickstart
    std::optional<std::chrono::milliseconds> duration;
    std::optional<std::uint64_t> messages;
};
int quickstart(const quickstart_options& o, const char* argv0);

}  // namespace trib::app
