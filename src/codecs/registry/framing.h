#pragma once
// The Confluent wire framing that schema-registry-aware serializers put in front of a payload:
//   byte 0      magic byte 0
//   bytes 1-4   the schema id, big-endian (a Java int: ids above 2^31-1 do not occur)
//   Protobuf only: the message indexes, a path through the .proto file's messages: a count and
//   that many indexes, each a zigzag varint; the path [0] (the first message) is the single
//   byte 0 (count 0).
//   the body     the encoded message (Avro binary, Protobuf, JSON text).
// Pure functions, no I/O: decoders return codecs::bad_payload for anything malformed.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::codecs::registry {

inline constexpr std::uint8_t magic_byte = 0;
inline constexpr std::size_t header_size = 5;
/// Deepest message-index path accepted (messages nested deeper than this are refused).
inline constexpr std::size_t max_message_indexes = 64;

struct frame {
    std::uint32_t schema_id = 0;
    std::string_view body;  // after the 5-byte header (a view of the payload)
};

/// Splits a framed payload. Shorter than 5 bytes or a magic byte other than 0: bad_payload.
[[nodiscard]] result<frame> read_frame(std::string_view payload);
/// Appends the 5-byte header.
void write_frame_header(std::uint32_t schema_id, std::string& out);

/// Reads the Protobuf message indexes at the start of `body` and advances `body` past them.
/// The single 0 (count 0) is the path [0]. A count above max_message_indexes or above the bytes
/// left, a negative index, or a truncated or over-long varint: bad_payload.
[[nodiscard]] result<std::vector<std::int32_t>> read_message_indexes(std::string_view& body);
/// Appends the message indexes ([0] as the single byte 0).
void write_message_indexes(std::span<const std::int32_t> indexes, std::string& out);

/// Zigzag varints as Confluent's serializers write them (int32 range, at most 5 bytes).
void write_zigzag_varint(std::int32_t v, std::string& out);
/// false when truncated, longer than 5 bytes or outside the int32 range.
[[nodiscard]] bool read_zigzag_varint(std::string_view& in, std::int32_t& v);

}  // namespace trib::codecs::registry
