#pragma once
// The file source (tails a text or JSON-lines file, one message per line, surviving rotation)
// and the file sink (JSON lines, rotation by size and time, fsync before acknowledging, an
// idempotent mode).

#include <chrono>
#include <functional>
#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

config::spec file_source_spec();
result<std::unique_ptr<source>> make_file_source(const config::values& v);

config::spec file_sink_spec();
/// The clock the sink reads for rotate_interval; tests pass one they advance by hand.
using file_sink_clock = std::function<std::chrono::steady_clock::time_point()>;
result<std::unique_ptr<sink>> make_file_sink(const config::values& v);
/// As make_file_sink, reading `now` instead of std::chrono::steady_clock.
result<std::unique_ptr<sink>> make_file_sink_with_clock(const config::values& v,
                                                        file_sink_clock now);

}  // namespace trib::connectors
