#pragma once
// The json_schema transform (json_schema.cpp): spec and factory.

#include <memory>

#include "config/spec.h"
#include "core/error.h"
#include "transforms/transform.h"

namespace trib::transforms {

config::spec json_schema_spec();
/// Compiles its JSON Schema now: a bad or unsupported schema fails at start.
result<std::unique_ptr<transform>> make_json_schema(const config::values& v);

}  // namespace trib::transforms
