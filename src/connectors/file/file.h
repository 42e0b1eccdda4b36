#pragma once
// The file source (tails a text or JSON-lines file, one message per line, surviving rotation)
// and the file sink (JSON lines, rotation by size and time, fsync before acknowledging, an
// idempotent mode).

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

config::spec file_source_spec();
result<std::unique_ptr<source>> make_file_source(const config::values& v);

config::spec file_sink_spec();
result<std::unique_ptr<sink>> make_file_sink(const config::values& v);

}  // namespace trib::connectors
