#pragma once
// The one way Tributary reads JSON it did not write itself (message payloads, request bodies,
// files on disk): RapidJSON's iterative parser (no recursion on the C++ stack), a nesting limit,
// strict UTF-8 in every string and key (a lone "\udc00" escape included), and nothing but
// whitespace after the value (a NUL byte is not the end).
//
// Every DOM built through here is at most json_max_depth deep, so the recursive walks that
// follow (RapidJSON's Accept/writers, destructors, transforms) are bounded too.
//
// This header includes RapidJSON: only libraries that link trib_rapidjson include it. The
// non-template helpers are in json_parse.cpp (trib::core).

#include <rapidjson/document.h>
#include <rapidjson/error/error.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cmath>
#include <cstddef>
#include <string_view>

#include "core/error.h"

namespace trib {

/// Deepest nesting of arrays and objects accepted in untrusted JSON. 128 is more than any real
/// message needs and keeps every recursive walk of a parsed value far from the stack's end.
inline constexpr std::size_t json_max_depth = 128;

struct json_limits {
    std::size_t max_depth = json_max_depth;
};

/// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool valid_utf8(std::string_view s);

/// Checks that `text` is exactly one JSON value (whitespace around it allowed) within `limits`.
/// The error (invalid_argument, fatal) says what and at which byte.
[[nodiscard]] status check_json(std::string_view text, const json_limits& limits = {});

namespace json_detail {

error syntax_error(rapidjson::ParseErrorCode code, std::size_t offset);
error too_deep(std::size_t max_depth, std::size_t offset);
error bad_utf8(std::size_t offset);
error out_of_range(std::size_t offset);
error trailing_data(std::size_t offset, unsigned char byte);
error handler_stopped(std::size_t offset);

/// Forwards SAX events to `Handler`, counting depth and checking the UTF-8 of strings and keys.
template <class Stream, class Handler>
class guard {
  public:
    enum class stop { none, too_deep, bad_utf8, out_of_range };

    guard(Stream& s, Handler& h, std::size_t max_depth) : s_(s), h_(h), max_(max_depth) {}

    bool Null() { return h_.Null(); }
    bool Bool(bool b) { return h_.Bool(b); }
    bool Int(int i) { return h_.Int(i); }
    bool Uint(unsigned i) { return h_.Uint(i); }
    bool Int64(std::int64_t i) { return h_.Int64(i); }
    bool Uint64(std::uint64_t i) { return h_.Uint64(i); }
    bool Double(double d) {
        // RapidJSON refuses 1e999999 ("Number too big") but turns a long mantissa with a large
        // exponent (-30008244021822373730021822e298) into an infinity, which no JSON writer can
        // write back: refuse both alike.
        if (!std::isfinite(d)) {
            why_ = stop::out_of_range;
            at_ = s_.Tell();
            return false;
        }
        return h_.Double(d);
    }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
        return h_.RawNumber(s, n, copy);
    }
    bool String(const char* s, rapidjson::SizeType n, bool copy) {
        return text_ok(s, n) && h_.String(s, n, copy);
    }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) {
        return text_ok(s, n) && h_.Key(s, n, copy);
    }
    bool StartObject() { return open() && h_.StartObject(); }
    bool EndObject(rapidjson::SizeType n) {
        --depth_;
        return h_.EndObject(n);
    }
    bool StartArray() { return open() && h_.StartArray(); }
    bool EndArray(rapidjson::SizeType n) {
        --depth_;
        return h_.EndArray(n);
    }

    stop why() const { return why_; }
    std::size_t at() const { return at_; }

  private:
    bool open() {
        if (++depth_ > max_) {
            why_ = stop::too_deep;
            at_ = s_.Tell();  // the iterative parser calls this before it takes the '[' or '{'
            return false;
        }
        return true;
    }
    bool text_ok(const char* s, rapidjson::SizeType n) {
        if (valid_utf8(std::string_view(s, n)))
            return true;
        why_ = stop::bad_utf8;
        at_ = s_.Tell();
        return false;
    }

    Stream& s_;
    Handler& h_;
    std::size_t max_;
    std::size_t depth_ = 0;
    stop why_ = stop::none;
    std::size_t at_ = 0;
};

}  // namespace json_detail

/// Reads one JSON value of `size` bytes from `s` (a RapidJSON MemoryStream, or an
/// InsituStringStream over a NUL-terminated copy with kParseInsituFlag in `Flags`), sending SAX
/// events to `h`. `Flags` adds RapidJSON parse flags (kParseNumbersAsStringsFlag, ...); the
/// iterative and stop-when-done flags are always set. The handler may stop the parse by
/// returning false. The parse is iterative: StartObject/StartArray/EndObject/EndArray arrive with
/// the stream at the bracket (not yet taken), values and keys after they were taken. Errors are
/// invalid_argument and fatal: a message that fails here fails every time.
template <unsigned Flags = 0, class Stream, class Handler>
[[nodiscard]] status read_json_stream(Stream& s, std::size_t size, Handler& h,
                                      const json_limits& limits = {}) {
    constexpr unsigned flags =
        (Flags | rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag) &
        ~static_cast<unsigned>(rapidjson::kParseValidateEncodingFlag);
    json_detail::guard<Stream, Handler> g(s, h, limits.max_depth);
    rapidjson::Reader reader;
    rapidjson::ParseResult r = reader.Parse<flags>(s, g);
    if (r.IsError()) {
        switch (g.why()) {
            case json_detail::guard<Stream, Handler>::stop::too_deep:
                return json_detail::too_deep(limits.max_depth, g.at());
            case json_detail::guard<Stream, Handler>::stop::bad_utf8:
                return json_detail::bad_utf8(g.at());
            case json_detail::guard<Stream, Handler>::stop::out_of_range:
                return json_detail::out_of_range(g.at());
            case json_detail::guard<Stream, Handler>::stop::none:
                break;
        }
        if (r.Code() == rapidjson::kParseErrorTermination)
            return json_detail::handler_stopped(r.Offset());
        return json_detail::syntax_error(r.Code(), r.Offset());
    }
    // The stream's end reads as '\0' too: count bytes, so "{}\0garbage" is refused.
    for (char c = s.Peek(); s.Tell() < size && (c == ' ' || c == '\t' || c == '\n' || c == '\r');
         c = s.Peek())
        s.Take();
    if (s.Tell() < size)
        return json_detail::trailing_data(s.Tell(), static_cast<unsigned char>(s.Peek()));
    return ok();
}

/// read_json_stream() over `text`.
template <unsigned Flags = 0, class Handler>
[[nodiscard]] status read_json(std::string_view text, Handler& h, const json_limits& limits = {}) {
    rapidjson::MemoryStream ms(text.data(), text.size());
    return read_json_stream<Flags>(ms, text.size(), h, limits);
}

/// Parses `text` into the RapidJSON document `d` (any GenericDocument). On error `d` is null.
template <unsigned Flags = 0, class Document>
[[nodiscard]] status parse_json_document(std::string_view text, Document& d,
                                         const json_limits& limits = {}) {
    status st;
    auto generate = [&](Document& doc) {
        st = read_json<Flags>(text, doc, limits);
        return st.has_value();
    };
    d.Populate(generate);
    if (!st)
        d.SetNull();
    return st;
}

}  // namespace trib
