#pragma once
// The typed record model every binary/text codec decodes to and encodes from (msgpack, csv,
// proto; later avro, flatbuffers, bson), so that any format converts to any other. A value is 16
// bytes; strings, bytes and containers point into the batch arena (or into the payload, which
// outlives the batch), so a batch of typed records is freed in bulk with the arena.
//
// JSON records stay RapidJSON values (codecs/json_dom.h): the json codec never builds typed
// values, so the json/raw/text paths are unchanged. to_json/from_json convert between the two
// when a conversion is asked for (a transform on a typed record, encoding a JSON record as
// msgpack, ...).

#include <cstdint>
#include <string>
#include <string_view>

#include "codecs/codec.h"
#include "codecs/json_dom.h"
#include "core/base64.h"

namespace trib::codecs {

enum class value_type : std::uint8_t {
    null,
    boolean,
    int64,
    uint64,  // integers above INT64_MAX only (decoders normalise smaller ones to int64)
    float64,
    decimal,  // exact decimal as canonical text: -?digits(.digits)? (Avro/Parquet scale from it)
    string,   // UTF-8
    bytes,
    timestamp,  // UTC instant: seconds since the Unix epoch + nanoseconds (0..999'999'999)
    date,       // days since 1970-01-01
    uuid,       // 16 bytes
    list,
    map,     // entries with keys of any type (msgpack maps with non-string keys, proto maps)
    record,  // named fields in order (keys are strings)
};
std::string_view to_string(value_type t);

struct entry;

/// One typed value. Trivially copyable; never owns memory.
struct value {
    value_type type = value_type::null;
    /// string/bytes/decimal: length; list/map/record: element count; timestamp: nanoseconds.
    std::uint32_t n = 0;
    union {
        bool b;
        std::int64_t i;  // int64, timestamp seconds, date days
        std::uint64_t u;
        double d;
        const char* s;  // string, bytes, decimal, uuid (16 bytes)
        const value* items;
        const entry* entries;
    };

    value() : i(0) {}
    static value null_value() { return value(); }
    static value boolean_value(bool v);
    static value int_value(std::int64_t v);
    /// int64 when it fits, else uint64.
    static value uint_value(std::uint64_t v);
    static value float_value(double v);
    static value string_value(std::string_view v);  // the view must outlive the value
    static value bytes_value(std::string_view v);
    static value decimal_value(std::string_view canonical);
    static value timestamp_value(std::int64_t seconds, std::uint32_t nanos);
    static value date_value(std::int64_t days);
    static value uuid_value(const char* sixteen_bytes);

    std::string_view str() const { return {s, n}; }  // string, bytes, decimal
    bool is_container() const {
        return type == value_type::list || type == value_type::map || type == value_type::record;
    }
};

/// A map entry or a record field (key is a string for records).
struct entry {
    value key;
    value val;
};

static_assert(sizeof(value) == 16, "value must stay compact");

/// Limits every conversion and decoder honours (hostile payloads).
struct value_limits {
    std::uint32_t max_depth = 128;
};

// --- arena allocation (memory freed with the arena) ------------------------------------------

/// Uninitialised-then-nulled array of `n` values in the arena. The caller has already checked
/// `n` against the bytes left in the payload, so `n` is bounded by the input size.
value* new_values(arena& a, std::size_t n);
entry* new_entries(arena& a, std::size_t n);
/// A copy of `s` in the arena (for text a decoder had to build, e.g. unescaped CSV fields).
std::string_view copy_to_arena(arena& a, std::string_view s);

// --- records ---------------------------------------------------------------------------------

/// Makes `r` a typed record holding `v` (allocated in `a`).
void set_typed(record& r, const value* v);
inline const value& typed_of(const record& r) {
    return *static_cast<const value*>(r.typed);
}
/// A typed value allocated in the arena, initialised to `v`.
value* new_value(arena& a, const value& v);

/// The typed view of any record: typed records as they are, JSON records converted, text as a
/// string, raw as bytes.
[[nodiscard]] status to_typed(const record& r, arena& a, value& out, const value_limits& lim = {});
/// Turns a typed record into a JSON record in place (transforms work on JSON); other kinds are
/// left as they are.
[[nodiscard]] status typed_to_json_record(record& r, arena& a);

// --- JSON conversion -------------------------------------------------------------------------

/// The JSON form of a typed value (the same choices as the proto3 JSON mapping where it has
/// one): decimal -> string (exact), bytes -> base64 (standard, padded), timestamp -> RFC 3339
/// UTC with 0/3/6/9 fractional digits, date -> "YYYY-MM-DD", uuid -> 8-4-4-4-12 lower case,
/// non-finite floats -> "NaN" / "Infinity" / "-Infinity", map keys -> their JSON text (strings
/// as they are). Strings are referenced, not copied.
[[nodiscard]] status to_json(const value& v, arena& a, json_value& out,
                             const value_limits& lim = {});
/// The typed form of a JSON value: null, bool, int64/uint64 (integers), float64, string (a view
/// of the DOM's string), list, record. Nothing is guessed from strings (a string stays a string;
/// codecs with a schema convert it where their schema asks for a timestamp, ...).
[[nodiscard]] status from_json(const json_value& j, arena& a, value& out,
                               const value_limits& lim = {});

// --- text forms shared by the codecs (one of each helper) ------------------------------------

using trib::append_base64;  // core/base64.h
using trib::decode_base64;
void append_timestamp(std::string& out, std::int64_t seconds, std::uint32_t nanos);
/// RFC 3339 ("2024-01-02T03:04:05.123Z", "...+02:00"); years 0001-9999.
bool parse_timestamp(std::string_view in, std::int64_t& seconds, std::uint32_t& nanos);
void append_date(std::string& out, std::int64_t days);
bool parse_date(std::string_view in, std::int64_t& days);
void append_uuid(std::string& out, const char* sixteen);
bool parse_uuid(std::string_view in, char sixteen[16]);
/// Canonical decimal text: optional '-', digits, optional '.' and digits; no exponent.
bool valid_decimal(std::string_view in);

/// Structural equality (for tests and round-trip checks): same types, same bytes; floats by
/// bit pattern except that 0.0 == -0.0 is false and NaN == NaN.
bool equal(const value& x, const value& y);
/// A readable one-line rendering (JSON-like, with type tags where JSON would lose them).
std::string debug_string(const value& v);

}  // namespace trib::codecs
