#pragma once
// The pure part of both directions: Iggy user headers <-> the AMQP 0-9-1 headers table
// (rabbitmq-c's amqp_table_t). No connection, no I/O: unit-tested without a broker
// (tests/connectors/rabbitmq/headers_test.cpp) and fuzzed (fuzz/rabbitmq).

#include <amqp.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/message.h"

namespace trib::connectors::rabbitmq {

/// A numeric Iggy header (little-endian value bytes, as Iggy stores them; every machine this
/// builds on is little-endian).
template <class T>
header num_header(std::string key, value_kind kind, T v) {
    std::string b(sizeof(T), '\0');
    std::memcpy(b.data(), &v, sizeof(T));
    return header{std::move(key), kind, std::move(b)};
}

/// What to do with a table entry Iggy cannot carry (key or value empty or longer than 255
/// bytes, a void value, a name the source sets itself).
enum class unfit_policy { reject, skip };

/// The result of reading a headers table: the headers, or the reason the message is unfit.
struct read_headers {
    std::vector<header> headers;
    std::string problem;      // non-empty: unfit under unfit_policy::reject
    std::size_t skipped = 0;  // entries dropped under unfit_policy::skip
};

/// Iggy headers from an AMQP table. Strings (`S`) become string headers, byte arrays (`x`) raw
/// headers, booleans, integers and floats keep their kind (unsigned 8..64, signed 8..64, f32,
/// f64), a timestamp (`T`) becomes uint64 seconds, a decimal its decimal text, and nested tables
/// and arrays their JSON text (depth and size bounded). A repeated key: the first one wins.
/// Names starting with `reserved_prefix` (when non-empty) are refused: the source sets them.
read_headers headers_from_table(const amqp_table_t& table, unfit_policy policy,
                                std::string_view reserved_prefix);

/// Owns the memory of a table built by table_of (the entries point into it).
struct table_storage {
    std::vector<amqp_table_entry_t> entries;
    std::vector<std::string> bytes;  // keys and values; reserved up front, never reallocated
    amqp_table_t table() { return amqp_table_t{static_cast<int>(entries.size()), entries.data()}; }
};

/// An AMQP table from Iggy headers (plus `extra`, appended after them): strings as `S`, raw as
/// `x`, booleans `t`, integers and floats in their own width, 128-bit integers as 32 hex digits
/// (`S`). A numeric header of the wrong width goes as bytes (`x`).
void table_of(const std::vector<header>& headers, const std::vector<header>& extra,
              table_storage& out);

/// The JSON text of an AMQP field value (used for nested tables and arrays): at most
/// `max_depth` levels, at most `max_bytes` long (longer: false).
bool field_json(const amqp_field_value_t& v, std::string& out, int max_depth,
                std::size_t max_bytes);

}  // namespace trib::connectors::rabbitmq
