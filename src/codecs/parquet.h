#pragma once
// Parquet files from typed records (value.h) and back, on Apache Arrow C++ (the pyarrow wheel;
// cmake/TributaryArrow.cmake). Its own library (trib::codecs_parquet) so that the object sinks
// (and later Delta Lake and Iceberg) link it without the rest paying for Arrow: Arrow's headers
// stay in parquet.cpp. A build without Arrow links a stub whose calls fail with the reason.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/value.h"
#include "core/error.h"

namespace trib::codecs::parquet {

/// Whether this build has Arrow (false: every call below fails with "built without Apache Arrow").
bool available();

/// Column types. Every column is nullable (a missing field or a null is a null).
enum class column_type : std::uint8_t {
    boolean,
    int64,
    float64,    // double
    string,     // UTF-8
    bytes,      // binary
    timestamp,  // timestamp(us, UTC)
    date,       // date32
    json,       // UTF-8 string holding the value's JSON text (nested values)
    // Narrower types for table formats whose schema names them (Delta Lake's integer, short,
    // byte, float, timestampNtz): only by an explicit column list, never inferred.
    int32,
    int16,
    int8,
    float32,
    timestamp_ntz,  // timestamp(us) without a time zone
};
std::string_view to_string(column_type t);

struct column {
    std::string name;
    column_type type = column_type::string;
    /// Written as the Parquet field_id when >= 0 (Iceberg reads columns by field id).
    std::int32_t field_id = -1;
};

/// Columns from a schema text: a JSON list `[{"name": "a", "type": "long"}, ...]` or an Avro
/// record schema `{"type": "record", "fields": [...]}`. Types: boolean, int/long/int64,
/// float/double, string, bytes, timestamp (or an Avro long with logicalType timestamp-millis or
/// timestamp-micros), date (or int with logicalType date), json; an Avro union of null and one
/// type is that type; records, arrays and maps are `json`.
result<std::vector<column>> parse_columns(std::string_view schema_json);

/// Columns inferred from rows (records; other values count as one field `payload`), in order of
/// first appearance: only integers -> int64; integers and floats -> float64; booleans ->
/// boolean; strings -> string; bytes -> bytes; timestamps -> timestamp; dates -> date; records,
/// lists and maps -> json; nulls only -> string; any other mix -> string (non-strings as their
/// JSON text).
std::vector<column> infer_columns(const std::vector<value>& rows);

enum class compression : std::uint8_t { none, snappy, zstd, gzip };
result<compression> parse_compression(std::string_view name);  // none, snappy, zstd, gzip

struct write_options {
    compression codec = compression::snappy;
    /// A row group ends once its rows' estimated in-memory size reaches this.
    std::uint64_t row_group_bytes = 64u << 20;
};

/// Whether `v` can be written into a column of type `t` (for rejecting a row before it is
/// added): null always; int64 from integers; int32/int16/int8 from integers in their range;
/// float32 from numbers; timestamp_ntz as timestamp; float64 from numbers; boolean from booleans;
/// timestamp from timestamps and RFC 3339 strings; date from dates and "YYYY-MM-DD"; string and
/// json from anything (non-strings as JSON text); bytes from bytes and strings.
bool fits(const value& v, column_type t);

/// One Parquet file from rows (records keyed by column name; other fields are ignored; a value
/// that does not fit its column is written as null -- check with fits() first). `row_bytes[i]`
/// is row i's size estimate used to cut row groups (e.g. its payload size).
result<std::string> write_file(const std::vector<column>& columns, const std::vector<value>& rows,
                               const std::vector<std::uint64_t>& row_bytes, const write_options& o);

/// Reads ranges of a file: bytes [offset, offset + length) (exactly that many, else an error).
using range_reader = std::function<result<std::string>(std::uint64_t offset, std::uint64_t length)>;

struct read_limits {
    std::uint64_t max_footer_bytes = 16u << 20;      // the file metadata
    std::uint64_t max_row_group_bytes = 256u << 20;  // one row group, compressed and in memory
};

/// A Parquet file read one row group at a time through ranged reads (the footer first, then each
/// row group's column chunks): memory stays bounded by the limits whatever the file size. A
/// file that is not Parquet, is truncated or corrupt, or whose row group exceeds the limits
/// gives an invalid_argument error (retry class fatal) naming what was wrong.
/// Not thread-safe.
class file_reader {
  public:
    static result<std::unique_ptr<file_reader>> open(std::uint64_t file_size, range_reader read,
                                                     const read_limits& lim = {});
    virtual ~file_reader() = default;
    virtual std::int64_t num_rows() const = 0;
    virtual int num_row_groups() const = 0;
    virtual std::int64_t row_group_rows(int i) const = 0;
    /// The columns as Arrow describes them ("a: int64, b: string") for logs and errors.
    virtual std::string schema_text() const = 0;
    /// Row group `i` as one compact JSON object per row (column name -> value): integers and
    /// floats as numbers, strings as strings, binary as base64, timestamps as RFC 3339, dates as
    /// "YYYY-MM-DD", decimals as strings, structs as objects, lists as arrays, maps as objects.
    virtual status read_row_group_json(int i, std::vector<std::string>& rows) = 0;
};

}  // namespace trib::codecs::parquet
