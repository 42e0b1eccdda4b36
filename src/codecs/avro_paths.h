#pragma once
// The avro codec's encode and decode paths, chosen for tests and benchmarks (light: no Avro C).
// The codec writes typed records straight to Avro binary (the direct encoder in avro.cpp) and
// takes the Avro C path -- generic values filled by a walker, then avro_value_write -- for the
// records the direct encoder leaves to it, and to say what is wrong with a record it cannot
// encode. Decoding likewise: the direct decoder (bytes -> typed record, after the bounds scan)
// when there is no reader schema, else Avro C. Tests compare the paths; the benchmark measures
// both.

#include <memory>
#include <string_view>

#include "codecs/codec.h"
#include "config/spec.h"
#include "core/error.h"

namespace trib::codecs {

struct avro_paths {
    /// Encode through the direct encoder first.
    bool direct_encode = true;
    /// When the direct encoder (or decoder) does not take a record, go through Avro C (false:
    /// such a record is a bad payload, so that a test sees which path took it).
    bool c_fallback = true;
    /// Decode (after the bounds scan, without schema resolution) through the direct decoder
    /// first; with a reader schema the codec always decodes through Avro C's resolver.
    bool direct_decode = true;
};

/// make_avro_codec_for_schema with chosen encode paths.
result<std::unique_ptr<codec>> make_avro_codec_for_schema_with(std::string_view writer_schema_json,
                                                               std::string_view reader_schema_json,
                                                               const avro_paths& paths);

/// make_avro_codec (field mappings applied) with chosen encode paths.
result<std::unique_ptr<codec>> make_avro_codec_with(const config::values& v,
                                                    const avro_paths& paths);

}  // namespace trib::codecs
