#pragma once
// Iggy 0.9 (protocol 0.11) message batches: the 256-byte batch header, 48-byte message frames,
// user headers, and both XXH3-64 checksums (iggy-protocol.md section 5.1).
//
// Versioning: this is the layout of protocol 0.11. Iggy 0.10 adds a flags byte at offset 52 and
// producer fields; a later layout gets its own `batch_format` value rather than a rewrite.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/message.h"
#include "iggy/wire/bytes.h"

namespace trib::iggy {

enum class batch_format : std::uint8_t { v0_11 = 0 };

inline constexpr std::size_t batch_header_size = 256;
inline constexpr std::size_t frame_header_size = 48;

/// The fields of a batch header (all little-endian on the wire).
struct batch_header {
    std::uint64_t partition_id = 0;
    std::uint64_t base_offset = 0;
    std::uint64_t base_timestamp = 0;    // server append time, µs
    std::uint64_t origin_timestamp = 0;  // smallest origin timestamp among the messages, µs
    std::uint64_t batch_length = 0;      // 256 + all frames
    std::uint64_t batch_checksum = 0;
    std::uint32_t message_count = 0;
};

/// True when bytes 52..255 of a batch header (reserved in 0.11) are all zero.
inline bool reserved_header_bytes_zero(const std::uint8_t* header) {
    // Word-wise: this runs once per batch on both sides, which for 1-message batches is per
    // message.
    std::uint64_t any = load_u32(header + 52);
    for (std::size_t i = 56; i < batch_header_size; i += 8)
        any |= load_u64(header + i);
    return any == 0;
}

/// Reads the header of `batch` (which must hold at least 256 bytes); checks nothing else.
batch_header read_batch_header(bytes_view batch);
/// Writes `h` into the first 256 bytes of `out` (reserved bytes become zero).
void write_batch_header(std::uint8_t* out, const batch_header& h);

/// The value kinds of user headers (and of options-block entries): the runtime's own enum, whose
/// numbering is the wire's.
using header_kind = ::trib::value_kind;

/// One user header (or options entry): a typed key and a typed value, each 1..255 bytes.
struct user_header {
    header_kind key_kind = header_kind::string;
    std::string key;
    header_kind kind = header_kind::raw;
    std::string value;  // the value's bytes (little-endian for numbers)

    static user_header str(std::string k, std::string v) {
        return {header_kind::string, std::move(k), header_kind::string, std::move(v)};
    }
    static user_header u64(std::string k, std::uint64_t v);
    static user_header boolean(std::string k, bool v);
    friend bool operator==(const user_header&, const user_header&) = default;
};

/// Encodes headers as TLV entries `[key_kind:u8][key_len:u32][key][kind:u8][len:u32][value]`.
void encode_user_headers(writer& w, const std::vector<user_header>& headers);
bytes encode_user_headers(const std::vector<user_header>& headers);
/// Decodes a whole TLV block; checks kinds, lengths 1..255 and fixed sizes of numeric kinds.
result<std::vector<user_header>> decode_user_headers(bytes_view block);
/// The fixed value size of a numeric kind, or 0 for raw/string.
std::size_t header_kind_size(header_kind k);
/// A header value as text: strings as they are, numbers in decimal, raw as hex.
std::string header_value_to_string(const user_header& h);

/// One message frame inside a batch, viewed in place.
struct frame_view {
    std::uint64_t checksum = 0;
    u128 id;
    std::uint32_t offset_delta = 0;
    std::uint32_t timestamp_delta = 0;
    bytes_view payload;
    bytes_view user_headers;  // raw TLV block
    bytes_view whole;         // the frame's bytes, header included
};

/// Walks the frames of a batch. Stops with an error at the first frame that does not fit, whose
/// reserved bytes are not zero, or when the frame count differs from the header.
status for_each_frame(bytes_view batch, const std::function<void(const frame_view&)>& fn);

/// XXH3-64 (seed 0) of a frame's bytes 8..end.
std::uint64_t frame_checksum(bytes_view frame);
/// The batch checksum: XXH3-64 of header fields (with the given values) and the frame checksums.
std::uint64_t compute_batch_checksum(const batch_header& h, bytes_view frames);

/// Checks a whole batch as the server admits it: length, count, reserved bytes, both checksums.
status validate_batch(bytes_view batch, bool check_checksums = true);

/// Sets partition id, base offset and base timestamp in a batch and recomputes its checksum.
void stamp_batch(std::uint8_t* batch, std::size_t size, std::uint64_t partition_id,
                 std::uint64_t base_offset, std::uint64_t base_timestamp);

/// Copies the frames [first, first + count) of a valid batch into a new batch whose header keeps
/// the original base offset and timestamps (offset deltas unchanged) and has a fresh checksum.
bytes cut_batch(bytes_view batch, std::uint32_t first, std::uint32_t count);

/// A message to put into a batch.
struct outgoing_message {
    u128 id;                         // zero: the builder draws a random non-zero id
    std::uint64_t origin_timestamp;  // µs since the epoch; zero: now
    bytes_view payload;
    bytes_view user_headers;  // an encoded TLV block (encode_user_headers), may be empty
};

/// Builds a batch in the 0.11 layout. Frames are appended as messages are added; `finish`
/// writes the header with both checksums.
class batch_builder {
  public:
    batch_builder();
    void add(const outgoing_message& m);
    std::uint32_t count() const { return count_; }
    std::size_t size_bytes() const { return buf_.size(); }
    bool empty() const { return count_ == 0; }
    /// Pre-sizes the buffers for a batch of about this many messages and bytes.
    void reserve(std::size_t messages, std::size_t bytes);
    /// Returns the finished batch and resets the builder (which keeps room for a batch as large).
    bytes finish();
    /// Finishes the batch into `out` and resets the builder, which takes over `out`'s old buffer:
    /// a loop that reuses `out` builds batch after batch without allocating.
    void finish(bytes& out);

  private:
    void seal();
    void reset();
    struct pending {
        std::size_t pos;
        std::uint64_t origin;
    };
    bytes buf_;
    std::vector<pending> frames_;
    std::uint32_t count_ = 0;
    std::uint64_t min_origin_ = UINT64_MAX;
};

/// A random non-zero u128 (message ids, client ids).
u128 random_u128();
/// Microseconds since the Unix epoch.
std::uint64_t now_micros();

}  // namespace trib::iggy
