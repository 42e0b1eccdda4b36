// The json codec on arbitrary bytes: decode never crashes; what decodes re-encodes to a canonical
// form that decodes and re-encodes to itself. (DOM equality is not checked: with duplicate keys
// RapidJSON compares members by first match.)

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codecs/codec.h"
#include "codecs/json_dom.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::codecs;
    static const auto json = std::move(make_json_codec({})).value();
    static const auto text = std::move(make_text_codec({})).value();
    static arena a;  // reused like a pipeline's: exercises reset and growth
    a.reset();
    std::string_view in(reinterpret_cast<const char*>(data), size);

    record t;
    (void)text->decode(in, a, t);

    record r;
    if (!json->decode(in, a, r))
        return 0;
    std::string first;
    if (!json->encode(r, a, first))
        std::abort();
    record again;
    auto s = json->decode(first, a, again);
    if (!s) {
        std::fprintf(stderr, "re-decode failed: %s\n", s.error().to_string().c_str());
        std::abort();
    }
    std::string second;
    if (!json->encode(again, a, second))
        std::abort();
    if (first != second) {
        std::fprintf(stderr, "not canonical:\n%s\n%s\n", first.c_str(), second.c_str());
        std::abort();
    }
    return 0;
}
