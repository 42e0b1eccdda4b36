#pragma once
// The public face of a built-in connector (docs/adding-a-connector.md): its spec and its factory,
// declared by one line per direction in src/connectors/<name>/<name>.h and listed once in
// src/connectors/registry.cpp. One macro, so that the faces of fifty connectors do not repeat
// the same declarations.

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

/// Declares, in trib::connectors, `config::spec NAME_source_spec()` and
/// `result<std::unique_ptr<source>> make_NAME_source(const config::values& v)` (`v` validated
/// against that spec). Use at file scope, followed by a semicolon.
#define TRIB_SOURCE_FACE(NAME)                                                     \
    namespace trib::connectors {                                                   \
    config::spec NAME##_source_spec();                                             \
    result<std::unique_ptr<source>> make_##NAME##_source(const config::values& v); \
    }                                                                              \
    static_assert(true)

/// The same for a sink: `NAME_sink_spec()` and `make_NAME_sink(v)`.
#define TRIB_SINK_FACE(NAME)                                                   \
    namespace trib::connectors {                                               \
    config::spec NAME##_sink_spec();                                           \
    result<std::unique_ptr<sink>> make_##NAME##_sink(const config::values& v); \
    }                                                                          \
    static_assert(true)
