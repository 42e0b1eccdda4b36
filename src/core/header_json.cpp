#include "core/header_json.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "core/base64.h"
#include "core/hex.h"
#include "core/json_text.h"

namespace trib {
namespace {

template <class T>
T read_le(const std::string& v) {
    T out{};
    if (v.size() >= sizeof(T))
        std::memcpy(&out, v.data(), sizeof(T));  // x86-64/arm64: little-endian, as on the wire
    return out;
}

template <class T>
void append_number(std::string& out, T x) {
    if constexpr (std::is_floating_point_v<T>) {
        if (!std::isfinite(x)) {
            out += "null";
            return;
        }
    }
    fmt::format_to(std::back_inserter(out), "{}", x);
}

}  // namespace

void append_header_json_value(std::string& out, const header& h) {
    const std::string& v = h.value;
    switch (h.kind) {
        case value_kind::string:
            append_json_string(out, v);
            return;
        case value_kind::boolean:
            out += (!v.empty() && v[0] != 0) ? "true" : "false";
            return;
        case value_kind::int8:
            return append_number(out, static_cast<int>(read_le<std::int8_t>(v)));
        case value_kind::int16:
            return append_number(out, read_le<std::int16_t>(v));
        case value_kind::int32:
            return append_number(out, read_le<std::int32_t>(v));
        case value_kind::int64:
            return append_number(out, read_le<std::int64_t>(v));
        case value_kind::uint8:
            return append_number(out, static_cast<unsigned>(read_le<std::uint8_t>(v)));
        case value_kind::uint16:
            return append_number(out, read_le<std::uint16_t>(v));
        case value_kind::uint32:
            return append_number(out, read_le<std::uint32_t>(v));
        case value_kind::uint64:
            return append_number(out, read_le<std::uint64_t>(v));
        case value_kind::float32:
            return append_number(out, read_le<float>(v));
        case value_kind::float64:
            return append_number(out, read_le<double>(v));
        case value_kind::int128:
        case value_kind::uint128:
            out.push_back('"');
            append_hex(out, v);
            out.push_back('"');
            return;
        case value_kind::raw:
        default:
            out.push_back('"');
            append_base64(out, v);
            out.push_back('"');
            return;
    }
}

void append_headers_json(std::string& out, const std::vector<header>& headers) {
    out.push_back('{');
    for (std::size_t i = 0; i < headers.size(); ++i) {
        if (i != 0)
            out.push_back(',');
        append_json_string(out, headers[i].key);
        out.push_back(':');
        append_header_json_value(out, headers[i]);
    }
    out.push_back('}');
}

}  // namespace trib
