// JSON parsing and UTF-8 validation with simdjson (SIMD, exact number parsing). Its header is
// large, so it is included here only. The DOM is RapidJSON's (what transforms edit): simdjson's
// tape is built into arena-allocated RapidJSON values in place (json_tape.cpp;
// bench/codecs/README.md has the measurements behind the choices).

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "codecs/codec.h"
#include "codecs/json_dom.h"
#include "codecs/json_tape.h"
#include "core/json_parse.h"

namespace trib::codecs {
namespace {

// Nesting beyond json_max_depth is refused: the writer and transforms recurse, and an attacker's
// "[[[[..." must not exhaust the stack. simdjson's own limit is one more: it counts the level of
// a scalar inside the innermost array but not an empty innermost array, so emit() applies the
// exact limit (the same as every other JSON reader's).
constexpr std::size_t simdjson_max_depth = json_max_depth + 1;

simdjson::dom::parser& thread_parser() {
    thread_local simdjson::dom::parser p = [] {
        simdjson::dom::parser parser;
        // Grows with larger payloads and keeps the depth limit; if this small first allocation
        // fails, parse() allocates on demand.
        if (parser.allocate(64 * 1024, simdjson_max_depth) != simdjson::SUCCESS)
            return parser;
        return parser;
    }();
    return p;
}

// Nesting beyond the limit: core's entry point says where (simdjson does not).
status too_deep(std::string_view payload) {
    status why = check_json(payload);
    return bad_payload("json: " + (why ? std::string("JSON nested deeper than " +
                                                     std::to_string(json_max_depth) + " levels")
                                       : why.error().message()));
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
// Through core's entry point: iterative, the same depth limit, strict UTF-8 (RapidJSON 1.1 alone
// accepts "\udc00" and would write invalid UTF-8 back), nothing after the value.
// Not with kParseFullPrecisionFlag: in RapidJSON 1.1 that path returns wrong values for inputs
// such as "0.0e100" (fuzzing found it).
status parse_with_rapidjson(std::string_view payload, arena& a, json_value*& out) {
    json_document& doc = a.get().parser();
    if (auto st = parse_json_document(payload, doc); !st)
        return bad_payload("json: " + st.error().message());
    if (!all_finite(doc))
        return bad_payload("json: a number is out of the range of a double");
    out = a.get().new_value();
    out->Swap(doc);
    return ok();
}

}  // namespace

bool valid_utf8(std::string_view bytes) {
    // Short ASCII text (most field values a codec checks) is answered here: simdjson's validator
    // costs about as much per call as a loop over a few dozen bytes (runtime dispatch, 64-byte
    // blocks). Anything else, or longer, goes to simdjson.
    if (bytes.size() <= 64) {
        std::uint64_t high = 0;
        std::size_t i = 0;
        for (; i + 8 <= bytes.size(); i += 8) {
            std::uint64_t w;
            std::memcpy(&w, bytes.data() + i, sizeof w);
            high |= w;
        }
        for (; i < bytes.size(); ++i)
            high |= static_cast<unsigned char>(bytes[i]);
        if ((high & 0x8080808080808080ULL) == 0)
            return true;
    }
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
            return too_deep(payload);
        return bad_payload(std::string("json: ") + simdjson::error_message(err));
    }
    // The tape's root word gives the index after the closing root word: the tape's length.
    const std::uint64_t* tape = p.doc.tape.get();
    const std::size_t words = static_cast<std::size_t>(tape[0] & ((std::uint64_t{1} << 56) - 1));
    json_value* value = a.get().new_value();
    switch (build_from_tape(tape, words, p.doc.string_buf.get(), a.get().pool(), *value)) {
        case tape_build_error::none:
            break;
        case tape_build_error::too_deep:
            return too_deep(payload);
        case tape_build_error::no_memory:
            return bad_payload("json: out of memory building the document");
        case tape_build_error::bad_tape:
            return bad_payload("json: simdjson's tape is not as documented (a bug)");
    }
    out = value;
    return ok();
}

}  // namespace trib::codecs
