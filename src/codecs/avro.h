#pragma once
// Avro (Iggy's schema `avro`) on Apache Avro C. Light header: no Avro C, zlib, snappy or zstd
// types leak out of codecs/avro.cpp.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "codecs/codec.h"
#include "config/spec.h"
#include "core/error.h"

namespace trib::codecs {

/// The codec spec (`schema = "avro"`) and its factory. The schema is parsed (by our schema
/// model and by Avro C) when the codec is made: a bad schema fails here, at start-up.
config::spec avro_codec_spec();
/// Whether the codec applies the `field_mappings` option itself (avro_convert renames as Iggy
/// does, in its own direction, and makes its codec with `ignored`).
enum class avro_field_mappings : std::uint8_t { applied, ignored };
result<std::unique_ptr<codec>> make_avro_codec(
    const config::values& v, avro_field_mappings mappings = avro_field_mappings::applied);

/// For the schema-registry helper: a codec for plain binary bodies (no framing; the registry
/// helper adds the Confluent prefix) written with `writer_schema_json`, read through
/// `reader_schema_json` (Avro schema resolution; empty: the writer schema itself). Encoding
/// writes the writer schema. The codec is immutable and thread-safe like every codec.
result<std::unique_ptr<codec>> make_avro_codec_for_schema(std::string_view writer_schema_json,
                                                          std::string_view reader_schema_json);

/// The Parsing Canonical Form of a schema and its CRC-64-AVRO fingerprint (the one single-object
/// encoding carries, little-endian, after C3 01).
struct avro_schema_identity {
    std::string canonical;
    std::uint64_t fingerprint = 0;
};
result<avro_schema_identity> avro_schema_fingerprint(std::string_view schema_json);

}  // namespace trib::codecs
