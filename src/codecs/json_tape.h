#pragma once
// RapidJSON values built from simdjson's tape (the JSON codec's decoder, src/codecs/simd.cpp).
// The tape is taken as plain words, so this header does not pull in simdjson, and tests can
// hand it tapes simdjson would not write (saturated counts, inconsistent words).

#include <cstddef>
#include <cstdint>

#include "codecs/json_dom.h"

namespace trib::codecs {

/// Why build_from_tape() stopped.
enum class tape_build_error {
    none,
    too_deep,   ///< arrays and objects nested deeper than json_max_depth
    no_memory,  ///< the arena's pool could not allocate
    bad_tape,   ///< the words are not a tape as documented (simdjson's doc/tape.md)
};

/// Builds the document on `tape` (`words` words; tape[0] is the root word) into `out`, a value
/// that holds no resources (a null): every array's element array and object's member array is
/// allocated once, at the size its opening word gives, in `pool` and filled in place.
/// `strings` is the parser's string buffer (each string as its 4-byte little-endian length,
/// its bytes and a NUL, in tape order); its used part is copied into `pool` once and string
/// values and keys are RapidJSON const strings into that copy, so `tape` and `strings` may be
/// reused as soon as this returns. Everything lives until the pool is cleared.
/// Checks what is cheap to check: container ends inside their parents and the tape, counts that
/// match the elements found, keys that are strings; string offsets are trusted (the caller's
/// tape comes from a successful simdjson parse). On an error `out` is unchanged.
[[nodiscard]] tape_build_error build_from_tape(const std::uint64_t* tape, std::size_t words,
                                               const std::uint8_t* strings, json_allocator& pool,
                                               json_value& out);

}  // namespace trib::codecs
