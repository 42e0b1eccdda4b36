#pragma once
// The file formats of the object sink behind one interface, so that Avro and Parquet writers plug
// in beside the text ones: JSON lines, JSON array, raw (Iggy's output_format values) and CSV.
// Pure (no I/O). Internal to connectors/s3; public to its tests.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/message.h"

namespace trib::connectors::s3_detail {

enum class output_format : std::uint8_t { json_lines, json_array, raw, csv };

/// Iggy's names (json_lines, jsonl, jsonlines, json_array, json, raw; any case) and csv.
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
    /// The file extension (Iggy's: jsonl, json, bin; csv).
    virtual std::string_view extension() const = 0;
    virtual std::string_view content_type() const = 0;
};

std::unique_ptr<format_writer> make_format_writer(output_format f, record_options o);

/// The payload as a JSON value, Iggy's way: a JSON payload as it is, `text` as a string, other
/// bytes as JSON when they parse, else as a base64 string.
void append_payload_json(std::string& out, std::string_view payload, std::string_view schema);

}  // namespace trib::connectors::s3_detail
