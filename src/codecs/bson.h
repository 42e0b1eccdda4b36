#pragma once
// The bson codec (bson.cpp, on libbson): spec and factory. Light: no libbson types here.

#include <memory>

#include "codecs/codec.h"
#include "config/spec.h"
#include "core/error.h"

namespace trib::codecs {

config::spec bson_codec_spec();
result<std::unique_ptr<codec>> make_bson_codec(const config::values& v);

}  // namespace trib::codecs
