#pragma once
// The file formats of the object sink behind one interface: JSON lines, JSON array, raw (Iggy's
// output_format values), CSV, and the columnar ones, Parquet (codecs/parquet.h, Apache Arrow) and
// Avro object container files (the avro codec's container framing). Pure (no I/O). Internal to
// connectors/s3; public to its tests.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/message.h"

namespace trib::connectors::s3_detail {

enum class output_format : std::uint8_t { json_lines, json_array, raw, csv, parquet, avro };

/// Iggy's names (json_lines, jsonl, jsonlines, json_array, json, raw; any case), csv, parquet
/// and avro.
result<output_format> parse_output_format(std::string_view name);

struct record_options {
    bool include_metadata = true;  // offset, timestamp, stream, topic, partition_id
    bool include_headers = false;  // the Iggy user headers
};

/// Where the messages of an object come from.
struct object_context {
    std::string_view stream;
    std::string_view topic;
    std::uint32_t partition = 0;
    std::string_view schema;  // the stream's schema: "json" payloads are embedded as JSON
};

/// Builds one object's bytes from messages. Lifecycle: begin(), add() per message in offset
/// order, finish(); then begin() again for the next object. Not thread-safe.
class format_writer {
  public:
    virtual ~format_writer() = default;
    virtual void begin(std::string& out, const object_context& ctx) = 0;
    virtual void add(std::string& out, const object_context& ctx, const message& m) = 0;
    virtual void finish(std::string& out) = 0;
    /// Whether `m` can go into the object (a columnar format with a schema from the options
    /// refuses a payload that does not fit it, naming the field); a refused message is not
    /// added and goes to the error policy. Text formats take every message.
    virtual status check(const object_context&, const message&) { return ok(); }
    /// finish() for formats whose encoding can fail (Parquet, Avro: the file is built here).
    virtual status end(std::string& out) {
        finish(out);
        return ok();
    }
    /// Bytes held for the object that are not in `out` yet (columnar formats build the file in
    /// end()): a size estimate for rotation, a pure function of the messages added.
    virtual std::size_t buffered_bytes() const { return 0; }
    /// The file extension (Iggy's: jsonl, json, bin; csv).
    virtual std::string_view extension() const = 0;
    virtual std::string_view content_type() const = 0;
};

/// A writer with the default columnar options (nullptr for parquet in a build without Arrow).
std::unique_ptr<format_writer> make_format_writer(output_format f, record_options o);

/// The options of the columnar formats.
struct columnar_options {
    std::string parquet_schema;  // empty: inferred from each object's rows
    std::string parquet_compression = "snappy";
    std::uint64_t row_group_bytes = 64u << 20;
    std::string avro_schema;  // empty: inferred from each object's rows
    std::string avro_codec = "deflate";
};

/// Any format; the columnar ones check their schema and compression here (a bad one fails).
result<std::unique_ptr<format_writer>> make_format_writer(output_format f, record_options o,
                                                          const columnar_options& c);

/// The columnar formats write one record per message: the metadata fields `iggy_offset`,
/// `iggy_timestamp`, `iggy_stream`, `iggy_topic`, `iggy_partition_id` (include_metadata) and
/// `iggy_headers` (include_headers, JSON text), then the payload's fields when it is a JSON object
/// (a field named like a metadata field is dropped), else one field `payload` (a JSON value as
/// it is, other UTF-8 text as a string, other bytes as bytes).

/// The records of an Avro object container file (read with the schema in its header), each as
/// compact JSON text (the typed model's JSON form: timestamps as RFC 3339, bytes as base64).
/// A file that is not one, or is corrupt or truncated, is invalid_argument with the reason;
/// decompressed blocks are limited to 64 MiB each.
result<std::vector<std::string>> avro_container_rows_json(std::string_view file);

/// Reading a container file block by block (the source's bounded reads): the header's length
/// (magic, metadata, sync marker) from a prefix of the file, 0 when the prefix is too short to
/// tell; invalid_argument for a file that is not a container or a malformed header.
result<std::size_t> avro_header_length(std::string_view prefix);
/// The record count and data size at the start of a block, and how many bytes they took
/// (head_len 0: more bytes needed). A block is head_len + size + 16 (sync marker) bytes.
struct avro_block_head {
    std::uint64_t count = 0;
    std::uint64_t size = 0;
    std::size_t head_len = 0;
};
result<avro_block_head> read_avro_block_head(std::string_view bytes);
/// The records of one block (its head, data and sync marker) read with the file's `header`.
result<std::vector<std::string>> avro_block_rows_json(std::string_view header,
                                                      std::string_view block);

/// The payload as a JSON value, Iggy's way: a JSON payload as it is, `text` as a string, other
/// bytes as JSON when they parse, else as a base64 string.
void append_payload_json(std::string& out, std::string_view payload, std::string_view schema);

}  // namespace trib::connectors::s3_detail
