#pragma once
// The stdout sink: prints what it receives (Iggy's stdout sink, same option names).

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

config::spec stdout_sink_spec();
result<std::unique_ptr<sink>> make_stdout_sink(const config::values& v);

}  // namespace trib::connectors
