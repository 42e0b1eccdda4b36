#pragma once
// The object source's persisted position: the last finished key (listing resumes after it) and
// the object being read with its ETag and the byte position after the last acknowledged record.
// Internal to connectors/s3; public to its tests and fuzz target.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::connectors::s3_detail {

struct source_position {
    std::string done_key;  // the last object read to its end ("": none yet)
    std::string key;       // the object being read ("": none)
    std::string etag;
    std::uint64_t pos = 0;  // byte position in `key` where the next record starts
    // Avro: pos is the index of the next record; `block` the byte offset of the block last read
    // (0: none) and `block_row` the index of its first record, so that a restart reads on from
    // that block instead of walking the file from its header.
    std::uint64_t block = 0;
    std::uint64_t block_row = 0;
    friend bool operator==(const source_position&, const source_position&) = default;
};

/// {"v":1,"done":"..","key":"..","etag":"..","pos":N} and, with a block, "block":B,"brow":R.
std::string encode_position(const source_position& p);
/// Parses a saved position; anything else (wrong types, missing fields, another version, keys
/// over 1024 bytes) is errc::data_loss with the reason.
result<source_position> decode_position(std::string_view text);

}  // namespace trib::connectors::s3_detail
