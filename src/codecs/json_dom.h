#pragma once
// The JSON DOM behind JSON records: RapidJSON values allocated from the batch arena's memory
// pool. Only codecs and transforms include this header (RapidJSON is heavy and not for the rest
// of Tributary).

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>

#include <optional>
#include <string_view>

#include "codecs/codec.h"

namespace trib::codecs {

using json_allocator = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
using json_value = rapidjson::GenericValue<rapidjson::UTF8<>, json_allocator>;
using json_document =
    rapidjson::GenericDocument<rapidjson::UTF8<>, json_allocator, rapidjson::CrtAllocator>;

struct arena::impl {
    impl();
    /// Reuses the memory; grows the first block to the peak of the last batch so that the next
    /// batch of the same size needs no allocation.
    void reset();
    json_allocator& pool() { return *pool_; }
    json_document& parser() { return *doc_; }
    /// A null value allocated in the pool (never destroyed: the pool is freed in bulk).
    json_value* new_value();

    rapidjson::StringBuffer out;  // reused by encoders

  private:
    void rebuild(std::size_t block);
    std::unique_ptr<char[]> block_;
    std::size_t block_size_ = 0;
    std::optional<json_allocator> pool_;
    std::optional<json_document> doc_;
};

inline json_value& json_of(record& r) {
    return *static_cast<json_value*>(r.json);
}
inline const json_value& json_of(const record& r) {
    return *static_cast<const json_value*>(r.json);
}
inline json_allocator& allocator_of(arena& a) {
    return a.get().pool();
}

/// Makes `r` a JSON record holding `v` (already allocated in `a`).
inline void set_json(record& r, json_value* v) {
    r.kind = record_kind::json;
    r.json = v;
    r.bytes = {};
}

/// True when a member iterator is at `end`. RapidJSON 1.1's iterators compare ambiguously under
/// C++20's rewritten operators (clang rejects it), so compare through the member operator.
template <class It, class End>
inline bool is_end(const It& it, const End& end) {
    return !it.operator!=(end);
}

/// Parses one JSON document into a value in the arena (simdjson: SIMD parsing, exact numbers,
/// UTF-8 and escape validation, nesting limited to json_max_depth = 128). Integers beyond 64
/// bits, which simdjson refuses, are parsed as doubles by core's read_json (RapidJSON, same
/// limits). Bad input: bad_payload().
[[nodiscard]] status parse_json(std::string_view payload, arena& a, json_value*& out);

/// Writes `v` as compact JSON, appending to `out`. A value JSON cannot hold (a non-finite
/// double, which a transform could produce) is bad_payload() and appends nothing.
[[nodiscard]] status write_json(const json_value& v, arena& a, std::string& out);

}  // namespace trib::codecs
