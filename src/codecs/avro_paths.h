#pragma once
// The avro codec's encode paths, chosen for tests and benchmarks (light: no Avro C).
// The codec writes typed records straight to Avro binary (the direct encoder in avro.cpp) and
// takes the Avro C path -- generic values filled by a walker, then avro_value_write -- for the
// records the direct encoder leaves to it, and to say what is wrong with a record it cannot
// encode. Tests compare the two paths; the benchmark measures both.

#include <memory>
#include <string_view>

#include "codecs/codec.h"
#include "config/spec.h"
#include "core/error.h"

namespace trib::codecs {

struct avro_paths {
    /// Encode through the direct encoder first.
    bool direct_encode = true;
    /// When the direct encoder does not encode a record, encode through Avro C (false: such a
    /// record is a bad payload, so that a test sees which path encoded it).
    bool c_fallback = true;
};

/// make_avro_codec_for_schema with chosen encode paths.
result<std::unique_ptr<codec>> make_avro_codec_for_schema_with(std::string_view writer_schema_json,
                                                               std::string_view reader_schema_json,
                                                               const avro_paths& paths);

/// make_avro_codec (field mappings applied) with chosen encode paths.
result<std::unique_ptr<codec>> make_avro_codec_with(const config::values& v,
                                                    const avro_paths& paths);

}  // namespace trib::codecs
