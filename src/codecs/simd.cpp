// UTF-8 validation with simdjson (SIMD, several GB/s). Its header is large, so it is included
// here only.

#include <simdjson.h>

#include "codecs/codec.h"

namespace trib::codecs {

bool valid_utf8(std::string_view bytes) {
    return simdjson::validate_utf8(bytes.data(), bytes.size());
}

}  // namespace trib::codecs
