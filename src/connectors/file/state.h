#pragma once
// The persisted state of the file connector, with loaders that check every field before they
// use or allocate anything: the file source's saved position, and the file sink's idempotent
// high-water marks (the `<path>.offsets` sidecar and the prefix of each line it writes).
// Internal to connectors/file; public to its tests and fuzz targets.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "core/error.h"

namespace trib::connectors::file_detail {

/// The source fingerprints at most this many first bytes of a file.
inline constexpr std::uint64_t k_fp_len = 256;

/// The file source's position: "v1 <dev> <ino> <offset> <fp_len> <fp as 16 hex digits>".
struct source_position {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint64_t offset = 0;
    std::uint64_t fp_len = 0;  // at most k_fp_len
    std::uint64_t fp = 0;
    std::string encode() const;
    friend bool operator==(const source_position&, const source_position&) = default;
};

/// Parses a saved position. Every field must be present and in range (unsigned decimal that
/// fits 64 bits, fp_len <= k_fp_len, exactly six single-space-separated fields, an optional
/// final newline); anything else is errc::data_loss with the reason.
result<source_position> decode_source_position(std::string_view text);

/// The sink's high-water mark of one partition: the last line it wrote for it.
struct mark {
    std::uint64_t offset = 0;
    /// The Iggy timestamp (µs) of that message; UINT64_MAX when unknown (a sidecar of an older
    /// version): then only the offset counts.
    std::uint64_t timestamp = UINT64_MAX;
    friend bool operator==(const mark&, const mark&) = default;
};
/// (stream, topic, partition) -> mark.
using mark_map = std::map<std::tuple<std::string, std::string, std::uint32_t>, mark>;

/// Where the sidecar's marks stop in the current file: they cover every line of the file with
/// this inode up to `size` bytes (so only what follows needs scanning at start-up).
struct checkpoint {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint64_t size = 0;
    friend bool operator==(const checkpoint&, const checkpoint&) = default;
};

/// The `<path>.offsets` sidecar: an optional checkpoint line, then one line per partition.
struct sidecar {
    std::optional<checkpoint> current;
    mark_map marks;
};

/// The sidecar as text (what decode_sidecar reads back).
std::string encode_sidecar(const sidecar& s);
/// Parses a sidecar. A line that is not one of ours, a number that does not fit, a duplicate
/// checkpoint: errc::data_loss naming the line.
result<sidecar> decode_sidecar(std::string_view text);

/// One sink line's identity: {"stream":..,"topic":..,"partition":N,"offset":N[,"id":".."]
/// [,"timestamp":N] (the fixed start of every line the sink writes with metadata).
struct line_key {
    std::string stream;
    std::string topic;
    std::uint32_t partition = 0;
    mark at;
};
/// Reads the key at the start of `line` into `out` (its strings reused: no allocation per line
/// for names that fit their capacity); false when the line does not start like ours or a number
/// does not fit.
bool parse_line_key(std::string_view line, line_key& out);

/// Whether `tail` (the bytes after a file's last newline) is the start of a line this sink
/// writes, cut short by a crash during a write: it must begin as `{"stream":"` (with metadata)
/// or `{"payload":` (without), or be a shorter prefix of that opening; with metadata, the fixed
/// fields after it must follow our shape as far as the tail goes. Anything else is somebody
/// else's text and is kept.
bool is_our_torn_line(std::string_view tail, bool metadata);

}  // namespace trib::connectors::file_detail
