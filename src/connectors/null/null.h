#pragma once
// The null sink: accepts and discards everything, counting it (benchmarks, pipeline tests).

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

config::spec null_sink_spec();
result<std::unique_ptr<sink>> make_null_sink(const config::values& v);

}  // namespace trib::connectors
