// The json codec on arbitrary bytes: decode never crashes; what decodes re-encodes to a canonical
// form that decodes and re-encodes to itself; and when RapidJSON's own reader (core's
// parse_json_document, the reference) accepts the bytes too, the codec's DOM -- simdjson's tape
// built in place, src/codecs/json_tape.cpp -- is the same value: same types, member order, keys
// and strings, numbers equal (RapidJSON's default number parsing may be a few ULP off simdjson's
// exact one). RapidJSON's == is not used: with duplicate keys it compares members by first match.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "codecs/codec.h"
#include "codecs/json_dom.h"
#include "core/json_parse.h"

namespace {

using trib::codecs::json_document;
using trib::codecs::json_value;

bool same_number(const json_value& a, const json_value& b) {
    if (a.IsInt64() && b.IsInt64())
        return a.GetInt64() == b.GetInt64();
    if (a.IsUint64() && b.IsUint64())
        return a.GetUint64() == b.GetUint64();
    const double x = a.GetDouble();
    const double y = b.GetDouble();
    if (x == y)
        return true;
    // A few ULP apart, or both below the normal range (where an ULP is absolute).
    return std::fabs(x - y) <= 1e-14 * std::fmax(std::fabs(x), std::fabs(y)) ||
           (std::fabs(x) < 1e-300 && std::fabs(y) < 1e-300);
}

bool same_value(const json_value& a, const json_value& b) {
    if (a.IsNumber() || b.IsNumber())
        return a.IsNumber() && b.IsNumber() && same_number(a, b);
    if (a.GetType() != b.GetType())
        return false;
    if (a.IsString())
        return a.GetStringLength() == b.GetStringLength() &&
               std::memcmp(a.GetString(), b.GetString(), a.GetStringLength()) == 0;
    if (a.IsArray()) {
        if (a.Size() != b.Size())
            return false;
        for (rapidjson::SizeType k = 0; k < a.Size(); ++k)
            if (!same_value(a[k], b[k]))
                return false;
        return true;
    }
    if (a.IsObject()) {
        if (a.MemberCount() != b.MemberCount())
            return false;
        auto m = a.MemberBegin();
        auto n = b.MemberBegin();
        for (; !trib::codecs::is_end(m, a.MemberEnd()); ++m, ++n)
            if (!same_value(m->name, n->name) || !same_value(m->value, n->value))
                return false;
        return true;
    }
    return true;  // null, true, false: the type says it all
}

}  // namespace

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
    json_document ref;
    if (trib::parse_json_document(in, ref) && !same_value(json_of(r), ref)) {
        std::string ours;
        std::string theirs;
        (void)write_json(json_of(r), a, ours);
        (void)write_json(ref, a, theirs);
        std::fprintf(stderr, "not RapidJSON's value:\n%s\n%s\n", ours.c_str(), theirs.c_str());
        std::abort();
    }
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
