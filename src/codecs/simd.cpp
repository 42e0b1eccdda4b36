// JSON parsing and UTF-8 validation with simdjson (SIMD, exact number parsing). Its header is
// large, so it is included here only. The DOM is RapidJSON's (what transforms edit): simdjson's
// tape is walked once into arena-allocated RapidJSON values (bench/codecs/README.md has the
// measurements behind the choices below).

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "codecs/codec.h"
#include "codecs/json_dom.h"
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

// The RapidJSON document that builds values from SAX events frees its value stack after each
// document (GenericDocument::ClearStack); this stack allocator keeps one buffer per thread
// instead, so a steady stream of payloads does not malloc and free the stack per payload.
// RapidJSON's Stack calls Free statically and only on its own buffer, which is this one.
class kept_stack_allocator {
  public:
    kept_stack_allocator() = default;
    kept_stack_allocator(const kept_stack_allocator&) = delete;
    kept_stack_allocator& operator=(const kept_stack_allocator&) = delete;
    ~kept_stack_allocator() { std::free(buf_); }
    void* Malloc(std::size_t size) { return Realloc(nullptr, 0, size); }
    void* Realloc(void* original, std::size_t old_size, std::size_t new_size) {
        if (new_size <= cap_)
            return buf_;
        void* grown = std::malloc(new_size);
        if (grown == nullptr)
            return nullptr;
        if (original != nullptr && old_size != 0)
            std::memcpy(grown, original, old_size);
        std::free(buf_);
        buf_ = grown;
        cap_ = new_size;
        return buf_;
    }
    static void Free(void*) {}  // kept for the next document; freed with the allocator

  private:
    void* buf_ = nullptr;
    std::size_t cap_ = 0;
};
using builder_document =
    rapidjson::GenericDocument<rapidjson::UTF8<>, json_allocator, kept_stack_allocator>;

/// This thread's builder for values allocated in `pool` (remade when the thread decodes into
/// another arena).
builder_document& thread_builder(json_allocator& pool) {
    thread_local kept_stack_allocator stack_allocator;
    thread_local std::optional<builder_document> doc;
    thread_local json_allocator* doc_pool = nullptr;
    if (!doc || doc_pool != &pool) {
        doc.reset();
        doc.emplace(&pool, 1024, &stack_allocator);
        doc_pool = &pool;
    }
    return *doc;
}

/// Sends the parsed document to a RapidJSON document as SAX events, walking simdjson's tape
/// (its documented layout, simdjson's doc/tape.md) in one loop: the RapidJSON document keeps the
/// values on its stack and allocates each array and object at its final size when it ends
/// (AddMember and PushBack grow by half and leave the smaller copies unused in the arena).
/// False when arrays and objects nest deeper than json_max_depth.
/// Strings and keys are not copied one by one: the parser's string buffer (each string as its
/// 4-byte length, its bytes and a NUL), up to the end of the last string, is copied into the
/// arena once and the values refer to it (RapidJSON const strings, freed with the arena like
/// every other value).
template <class Handler>
[[nodiscard]] bool emit(const simdjson::dom::document& doc, json_allocator& pool, Handler& h) {
    constexpr std::uint64_t payload_mask = (std::uint64_t{1} << 56) - 1;
    const std::uint64_t* tape = doc.tape.get();
    // tape[0] is the root word; its payload is the index just after the closing root word.
    const std::size_t end = static_cast<std::size_t>(tape[0] & payload_mask) - 1;
    // Strings are stored in tape order: the last string word on the tape ends the used part
    // (a forward pass: a number's second word holds raw bits, which only its first word tells).
    std::uint64_t last = 0;
    bool any = false;
    for (std::size_t i = 1; i < end;) {
        const char t = static_cast<char>(tape[i] >> 56);
        if (t == '"') {
            last = tape[i] & payload_mask;
            any = true;
        }
        i += (t == 'l' || t == 'u' || t == 'd') ? 2 : 1;
    }
    const std::uint8_t* strings = nullptr;
    if (any) {
        std::uint32_t len;
        std::memcpy(&len, doc.string_buf.get() + last, sizeof len);
        const std::size_t used = static_cast<std::size_t>(last) + sizeof len + len + 1;
        auto* copy = static_cast<std::uint8_t*>(pool.Malloc(used));
        if (copy == nullptr)
            return false;
        std::memcpy(copy, doc.string_buf.get(), used);
        strings = copy;
    }
    struct open_container {
        bool object;
        bool want_key;
        rapidjson::SizeType n;
    };
    open_container open[json_max_depth + 1];
    std::size_t depth = 0;
    // One value finished: counted in its container; in an object, a key comes next.
    auto done = [&] {
        if (depth != 0) {
            ++open[depth - 1].n;
            open[depth - 1].want_key = open[depth - 1].object;
        }
    };
    for (std::size_t i = 1; i < end;) {
        const std::uint64_t w = tape[i];
        switch (static_cast<char>(w >> 56)) {
            case '"': {
                std::uint32_t len;
                const std::uint8_t* at = strings + (w & payload_mask);
                std::memcpy(&len, at, sizeof len);
                const char* text = reinterpret_cast<const char*>(at + sizeof len);
                if (depth != 0 && open[depth - 1].want_key) {
                    h.Key(text, len, false);
                    open[depth - 1].want_key = false;
                } else {
                    h.String(text, len, false);
                    done();
                }
                ++i;
                break;
            }
            case 'l':
                h.Int64(static_cast<std::int64_t>(tape[i + 1]));
                done();
                i += 2;
                break;
            case 'u':
                h.Uint64(tape[i + 1]);
                done();
                i += 2;
                break;
            case 'd': {
                double d;
                std::memcpy(&d, &tape[i + 1], sizeof d);
                h.Double(d);
                done();
                i += 2;
                break;
            }
            case 't':
            case 'f':
                h.Bool(static_cast<char>(w >> 56) == 't');
                done();
                ++i;
                break;
            case 'n':
                h.Null();
                done();
                ++i;
                break;
            case '[':
            case '{': {
                if (depth >= json_max_depth)
                    return false;
                const bool object = static_cast<char>(w >> 56) == '{';
                if (object)
                    h.StartObject();
                else
                    h.StartArray();
                open[depth++] = {object, object, 0};
                ++i;
                break;
            }
            case ']':
            case '}': {
                const open_container c = open[--depth];
                if (c.object)
                    h.EndObject(c.n);
                else
                    h.EndArray(c.n);
                done();
                ++i;
                break;
            }
            default:  // a tape simdjson built without error has no other words
                return false;
        }
    }
    return depth == 0;
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
    builder_document& doc = thread_builder(a.get().pool());
    bool built = false;
    auto events = [&](builder_document& h) { return built = emit(p.doc, a.get().pool(), h); };
    doc.Populate(events);
    if (!built)
        return too_deep(payload);
    out = a.get().new_value();
    out->Swap(doc);
    return ok();
}

}  // namespace trib::codecs
