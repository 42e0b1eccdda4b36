#pragma once
// The schema-registry-aware codec (`schema = "schema_registry"`): Confluent-framed payloads whose
// writer schema lives in a schema registry. Decode reads the framing, fetches the writer schema
// by id (cached) and decodes the body with an inner codec built for that schema (cached per id);
// encode registers or looks up the configured schema and writes the framing.

#include <memory>

#include "codecs/codec.h"
#include "config/spec.h"

namespace trib::codecs {

config::spec schema_registry_codec_spec();
/// Reads schema_path now (a missing or oversized file fails here); the registry itself is first
/// asked on the first message, so a registry that is down at start-up does not stop the runtime.
result<std::unique_ptr<codec>> make_schema_registry_codec(const config::values& v);

}  // namespace trib::codecs
