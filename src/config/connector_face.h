#pragma once
// The public face of a built-in connector (docs/adding-a-connector.md): its spec and its factory,
// declared by one line per direction in src/connectors/<name>/<name>.h and listed once in
// src/connectors/registry.cpp. One macro, so that the faces of fifty connectors do not repeat
// the same declarations.

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

/// Declares, in trib::connectors, `config::spec NAME_KIND_spec()` and
/// `result<std::unique_ptr<KIND>> make_NAME_KIND(const config::values& v)` (`v` validated against
/// that spec), KIND being `source` or `sink`. Use at file scope, followed by a semicolon:
/// `TRIB_CONNECTOR_FACE(kafka, sink);`.
#define TRIB_CONNECTOR_FACE(NAME, KIND)                                          \
    namespace trib::connectors {                                                 \
    config::spec NAME##_##KIND##_spec();                                         \
    result<std::unique_ptr<KIND>> make_##NAME##_##KIND(const config::values& v); \
    }                                                                            \
    static_assert(true)
