// JSON parsing and UTF-8 validation with simdjson (SIMD, exact number parsing). Its header is
// large, so it is included here only. The DOM is RapidJSON's (what transforms edit): simdjson's
// tape is copied into arena-allocated RapidJSON values.

#include <rapidjson/error/en.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "codecs/codec.h"
#include "codecs/json_dom.h"

namespace trib::codecs {
namespace {

// Nesting beyond this is refused: the writer and transforms recurse, and an attacker's
// "[[[[..." must not exhaust the stack.
constexpr std::size_t max_depth = 256;

simdjson::dom::parser& thread_parser() {
    thread_local simdjson::dom::parser p = [] {
        simdjson::dom::parser parser;
        // Grows with larger payloads and keeps the depth limit; if this small first allocation
        // fails, parse() allocates on demand.
        if (parser.allocate(64 * 1024, max_depth) != simdjson::SUCCESS)
            return parser;
        return parser;
    }();
    return p;
}

void convert(simdjson::dom::element e, json_value& out, json_allocator& a) {
    using simdjson::dom::element_type;
    switch (e.type()) {
        case element_type::ARRAY: {
            out.SetArray();
            // The array/object must outlive the loop: not a temporary's value_unsafe().
            simdjson::dom::array arr = e.get_array().value_unsafe();
            for (simdjson::dom::element child : arr) {
                json_value v;
                convert(child, v, a);
                out.PushBack(v, a);
            }
            break;
        }
        case element_type::OBJECT: {
            out.SetObject();
            simdjson::dom::object obj = e.get_object().value_unsafe();
            for (simdjson::dom::key_value_pair field : obj) {
                json_value k(field.key.data(), static_cast<rapidjson::SizeType>(field.key.size()),
                             a);
                json_value v;
                convert(field.value, v, a);
                out.AddMember(k, v, a);
            }
            break;
        }
        case element_type::INT64:
            out.SetInt64(e.get_int64().value_unsafe());
            break;
        case element_type::UINT64:
            out.SetUint64(e.get_uint64().value_unsafe());
            break;
        case element_type::DOUBLE:
            out.SetDouble(e.get_double().value_unsafe());
            break;
        case element_type::STRING: {
            std::string_view s = e.get_string().value_unsafe();
            out.SetString(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
            break;
        }
        case element_type::BOOL:
            out.SetBool(e.get_bool().value_unsafe());
            break;
        case element_type::NULL_VALUE:
            out.SetNull();
            break;
    }
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// What the RapidJSON fallback needs checked first: nesting, and \u escapes of a lone low
// surrogate (RapidJSON 1.1 accepts "\udc00" and would write invalid UTF-8 back).
const char* prescan(std::string_view s) {
    std::size_t depth = 0;
    bool in_string = false;
    std::size_t high_end = std::string_view::npos;  // just after a high-surrogate escape
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (in_string) {
            if (c == '"') {
                in_string = false;
            } else if (c == '\\' && i + 1 < s.size()) {
                if (s[i + 1] == 'u' && i + 5 < s.size()) {
                    int cp = 0;
                    bool hex = true;
                    for (std::size_t k = i + 2; k < i + 6; ++k) {
                        int h = hex_value(s[k]);
                        if (h < 0)
                            hex = false;
                        cp = cp * 16 + (h < 0 ? 0 : h);
                    }
                    if (hex && cp >= 0xDC00 && cp <= 0xDFFF && high_end != i) {
                        return "a lone UTF-16 low surrogate escape";
                    }
                    high_end =
                        (hex && cp >= 0xD800 && cp <= 0xDBFF) ? i + 6 : std::string_view::npos;
                    i += 5;
                } else {
                    ++i;
                }
            }
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                break;
            case '[':
            case '{':
                if (++depth > max_depth)
                    return "nesting deeper than 256 levels";
                break;
            case ']':
            case '}':
                --depth;
                break;
            default:
                break;
        }
    }
    return nullptr;
}

// A number RapidJSON's fallback parsed to infinity (a mantissa beyond 64 bits times a large
// exponent): refused, like simdjson refuses out-of-range doubles.
bool all_finite(const json_value& v) {
    if (v.IsDouble())
        return std::isfinite(v.GetDouble());
    if (v.IsArray()) {
        for (const auto& e : v.GetArray())
            if (!all_finite(e))
                return false;
    } else if (v.IsObject()) {
        for (const auto& m : v.GetObject())
            if (!all_finite(m.value))
                return false;
    }
    return true;
}

// RapidJSON for what simdjson refuses but JSON allows: integers beyond 64 bits (as doubles).
// Not with kParseFullPrecisionFlag: in RapidJSON 1.1 that path returns wrong values for inputs
// such as "0.0e100" (fuzzing found it).
status parse_with_rapidjson(std::string_view payload, arena& a, json_value*& out) {
    if (const char* why = prescan(payload))
        return bad_payload(std::string("json: ") + why);
    json_document& doc = a.get().parser();
    doc.Parse(payload.data(), payload.size());
    if (doc.HasParseError()) {
        return bad_payload(
            "json: " + std::string(rapidjson::GetParseError_En(doc.GetParseError())) +
            " (at byte " + std::to_string(doc.GetErrorOffset()) + ")");
    }
    if (!all_finite(doc))
        return bad_payload("json: a number is out of the range of a double");
    out = a.get().new_value();
    out->Swap(doc);
    return ok();
}

}  // namespace

bool valid_utf8(std::string_view bytes) {
    return simdjson::validate_utf8(bytes.data(), bytes.size());
}

status parse_json(std::string_view payload, arena& a, json_value*& out) {
    simdjson::dom::parser& p = thread_parser();
    // simdjson reads up to SIMDJSON_PADDING bytes past the end; message payloads have no such
    // slack, so copy into a reused padded buffer (else simdjson allocates a copy per call).
    thread_local std::string padded;
    if (padded.size() < payload.size() + simdjson::SIMDJSON_PADDING) {
        padded.resize(std::max(payload.size() + simdjson::SIMDJSON_PADDING, padded.size() * 2));
    }
    std::memcpy(padded.data(), payload.data(), payload.size());
    simdjson::dom::element root;
    simdjson::error_code err = p.parse(padded.data(), payload.size(), false).get(root);
    if (err == simdjson::NUMBER_ERROR) {
        return parse_with_rapidjson(payload, a, out);
    }
    if (err != simdjson::SUCCESS) {
        if (err == simdjson::DEPTH_ERROR)
            return bad_payload("json: nesting deeper than 256 levels");
        return bad_payload(std::string("json: ") + simdjson::error_message(err));
    }
    out = a.get().new_value();
    convert(root, *out, a.get().pool());
    return ok();
}

}  // namespace trib::codecs
