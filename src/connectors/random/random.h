#pragma once
// The random source: generates records like Iggy's random source (the same options and the same
// JSON record shape), for demos, tests and benchmarks.

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

config::spec random_source_spec();
/// `v` validated against random_source_spec().
result<std::unique_ptr<source>> make_random_source(const config::values& v);

}  // namespace trib::connectors
