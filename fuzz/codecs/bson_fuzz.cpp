// The bson codec on arbitrary bytes (see typed_fuzz.h): decode never crashes; what decodes and
// re-encodes is canonical. Encoding may refuse (a datetime whose seconds overflow).

#include "codecs/bson.h"
#include "typed_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::codecs;
    static const auto c = std::move(make_bson_codec({})).value();
    fuzz::check_canonical(*c, {reinterpret_cast<const char*>(data), size}, false);
    return 0;
}
