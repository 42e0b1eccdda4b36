#pragma once
// The proto codec's encode paths, chosen for tests and benchmarks (light: no libprotobuf).
// The codec encodes typed records straight to the wire format (proto_wire.h) and takes the
// JSON path -- record -> proto3 JSON text -> libprotobuf's JSON parser -- for the forms the
// direct encoder leaves to it. Tests compare the two paths; the benchmark measures both.

#include <memory>

#include "codecs/codec.h"

namespace trib::codecs {

struct proto_paths {
    /// Encode through the direct wire-format encoder first.
    bool direct_encode = true;
    /// When the direct encoder leaves a record to it, encode through the JSON path (false:
    /// such a record is a bad payload, so that a test sees which path encoded it).
    bool json_fallback = true;
};

/// make_proto_codec with chosen encode paths.
result<std::unique_ptr<codec>> make_proto_codec_with(const config::values& v,
                                                     const proto_paths& paths);

}  // namespace trib::codecs
