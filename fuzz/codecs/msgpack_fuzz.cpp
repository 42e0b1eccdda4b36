// The msgpack codec on arbitrary bytes (see typed_fuzz.h). Every decodable value re-encodes.

#include "typed_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::codecs;
    static const auto c = std::move(make_msgpack_codec({})).value();
    fuzz::check_canonical(*c, {reinterpret_cast<const char*>(data), size}, true);
    return 0;
}
