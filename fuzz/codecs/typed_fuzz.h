#pragma once
// The shared check of the typed codecs' fuzz targets: decode never crashes; what decodes and
// re-encodes decodes again and re-encodes to the same bytes (a canonical form).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codecs/codec.h"
#include "codecs/value.h"

namespace trib::codecs::fuzz {

inline void check_canonical(const codec& c, std::string_view in, bool encode_must_succeed) {
    static arena a;  // reused like a pipeline's: exercises reset and growth
    a.reset();
    record r;
    if (!c.decode(in, a, r))
        return;
    r.modified = true;
    std::string first;
    status s = c.encode(r, a, first);
    if (!s) {
        if (encode_must_succeed) {
            std::fprintf(stderr, "encode failed: %s\n", s.error().to_string().c_str());
            std::abort();
        }
        return;
    }
    record again;
    s = c.decode(first, a, again);
    if (!s) {
        std::fprintf(stderr, "re-decode failed: %s\n", s.error().to_string().c_str());
        std::abort();
    }
    again.modified = true;
    std::string second;
    if (!c.encode(again, a, second))
        std::abort();
    if (first != second) {
        std::fprintf(stderr, "not canonical (%zu vs %zu bytes):\n%s\n%s\n", first.size(),
                     second.size(), debug_string(typed_of(r)).c_str(),
                     debug_string(typed_of(again)).c_str());
        std::abort();
    }
    // The JSON form never crashes either (it may refuse out-of-range timestamps).
    json_value j;
    (void)to_json(typed_of(again), a, j);
}

}  // namespace trib::codecs::fuzz
