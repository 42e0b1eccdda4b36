#pragma once
// The file source (tails a text or JSON-lines file, one message per line, surviving rotation)
// and the file sink (JSON lines, rotation by size and time, fsync before acknowledging, an
// idempotent mode).

#include <chrono>
#include <functional>

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(file, source);
TRIB_CONNECTOR_FACE(file, sink);

namespace trib::connectors {

/// The clock the sink reads for rotate_interval; tests pass one they advance by hand.
using file_sink_clock = std::function<std::chrono::steady_clock::time_point()>;
/// As make_file_sink, reading `now` instead of std::chrono::steady_clock.
result<std::unique_ptr<sink>> make_file_sink_with_clock(const config::values& v,
                                                        file_sink_clock now);

}  // namespace trib::connectors
