// core's JSON entry point (read_json / parse_json_document / check_json) on arbitrary bytes:
// never a crash or a deep recursion; what it accepts is at most json_max_depth deep, valid
// UTF-8, and written back by RapidJSON's Writer to text that it accepts again; the SAX and DOM
// paths agree. (Not byte-equal round trips: without kParseFullPrecisionFlag a double may come
// back one ulp off, and such a number can even come back as "too big" near DBL_MAX.)

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/json_parse.h"

namespace {

std::size_t depth_of(const rapidjson::Value& v) {
    std::size_t d = 0;
    if (v.IsArray()) {
        for (const auto& e : v.GetArray())
            d = std::max(d, depth_of(e));
        return d + 1;
    }
    if (v.IsObject()) {
        for (const auto& m : v.GetObject())
            d = std::max(d, depth_of(m.value));
        return d + 1;
    }
    return 0;
}

std::string write(const rapidjson::Value& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    if (!v.Accept(w))
        std::abort();
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const bool sax_ok = trib::check_json(in).has_value();
    rapidjson::Document d;
    const bool dom_ok = trib::parse_json_document(in, d).has_value();
    if (sax_ok != dom_ok)
        std::abort();
    if (!dom_ok) {
        if (!d.IsNull())
            std::abort();
        return 0;
    }
    if (depth_of(d) > trib::json_max_depth)
        std::abort();
    const std::string once = write(d);
    if (!trib::valid_utf8(once))
        std::abort();
    rapidjson::Document d2;
    auto again = trib::parse_json_document(once, d2);
    if (!again && again.error().message().find("Number too big") == std::string::npos) {
        std::fprintf(stderr, "re-parse failed: %s\n", again.error().message().c_str());
        std::abort();
    }
    return 0;
}
