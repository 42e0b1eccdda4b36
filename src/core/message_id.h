#pragma once
// Deterministic message ids: one helper every source uses to turn the identity of its input
// (a file's inode and byte offset, a table row's key and tracking value, a Kafka record's
// partition and offset, ...) into a 128-bit Iggy message id. The same input gives the same id
// after a restart, so a server that de-duplicates by id (Iggy's
// `[system.message_deduplication]`) drops what a source re-sends after a crash.
//
// Construction: the parts are serialized without ambiguity (a string as its length, a 32-bit
// big-endian integer, then its bytes; integers as fixed-width big-endian), and the bytes are
// hashed with XXH3-128 (seed 0). A result of zero, which Iggy reads as "draw a random id", is
// replaced by lo = 1. Each source starts with its own domain string ("file", "postgres", ...)
// so two sources never produce the same byte string; the Kafka source starts with the cluster
// id instead, the layout its ids had before this helper existed (kept so they do not change).
// XXH3 is not a keyed MAC: ids are unique for distinct inputs (collision odds ~2^-64 at
// 2^32 messages) but not secret nor unforgeable.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/message.h"

namespace trib {

/// Builds one id from its identity parts. Not thread-safe; cheap to create per message (call
/// clear() to reuse the buffer).
class message_id_builder {
  public:
    message_id_builder() = default;
    /// Starts with a domain part (the source's name).
    explicit message_id_builder(std::string_view domain) { add(domain); }

    /// Appends a string part (length-prefixed: ("ab","c") differs from ("a","bc")).
    message_id_builder& add(std::string_view s);
    message_id_builder& add_u32(std::uint32_t v);
    message_id_builder& add_u64(std::uint64_t v);
    /// The id of the parts so far (never zero).
    message_id finish() const;
    /// The serialized parts (for tests and diagnostics).
    std::string_view bytes() const { return buf_; }
    void clear() { buf_.clear(); }

  private:
    std::string buf_;
};

/// The id of raw bytes that already identify the input (a delivery id header, an item id):
/// the domain then `identity` as two parts.
message_id message_id_of(std::string_view domain, std::string_view identity);

/// The id as 32 lower-case hex digits, hi first (for logs and tests).
std::string to_hex(const message_id& id);

/// The id as an unsigned 128-bit decimal number (hi * 2^64 + lo), the form SQL sinks store in a
/// DECIMAL(39,0) column.
std::string to_decimal(const message_id& id);

}  // namespace trib
