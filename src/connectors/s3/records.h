#pragma once
// How the object source splits an object's bytes into records, incrementally over the ranges it
// reads: lines with an exact delimiter (Iggy's framing), elements of a top-level JSON array, CSV
// rows (RFC 4180 quoting). Pure; memory bounded by the record limit. Internal to connectors/s3;
// public to its tests and fuzz target.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::connectors::s3_detail {

/// parquet and avro are read by row index, not through the framer (source.cpp; format.h).
enum class record_format : std::uint8_t { lines, json_array, csv, parquet, avro };

class record_framer {
  public:
    record_framer(record_format f, std::string delimiter, std::size_t max_record);

    /// Starts over: at an object's first byte, or (false) just after a record of it.
    void reset(bool at_object_start);

    enum class kind : std::uint8_t {
        record,     // buf[begin, end) is a record; drop `consumed` bytes
        too_long,   // buf[begin, end) is the first max_record bytes of a longer record; drop
                    // `consumed` bytes; the rest of that record is skipped by later calls
        skipped,    // drop `consumed` bytes, nothing to emit (empty record, skipped bytes)
        need_more,  // append more bytes (or call again with eof)
        end,        // the object holds no more records; drop `consumed` bytes
        malformed,  // `error` says what (JSON array format only); no progress possible
    };
    struct step {
        kind what = kind::need_more;
        std::size_t begin = 0;
        std::size_t end = 0;
        std::size_t consumed = 0;
        std::string error;
    };

    /// The next step for `buf`, which starts where the last consumed bytes ended. `eof`: no more
    /// bytes follow `buf`.
    step next(std::string_view buf, bool eof);

  private:
    step next_line(std::string_view buf, bool eof);
    step next_csv(std::string_view buf, bool eof);
    step next_json(std::string_view buf, bool eof);

    record_format f_;
    std::string delim_;
    std::size_t max_;
    bool skipping_ = false;  // inside the rest of a too long record
    std::size_t scanned_ = 0;
    // csv
    bool in_quotes_ = false;
    // json
    bool at_start_ = true;  // the opening '[' is still to come
    bool closed_ = false;   // the closing ']' was read
    int depth_ = 0;
    bool in_string_ = false;
    bool escape_ = false;
    bool started_ = false;  // the current element has a first non-blank byte
    std::size_t elem_begin_ = 0;
};

/// The fields of one CSV row (quotes removed, "" unescaped; a trailing CR dropped).
std::vector<std::string> split_csv_row(std::string_view row);

/// A row as a JSON object keyed by `header` (extra fields as "_<n>", missing ones absent).
std::string csv_row_json(const std::vector<std::string>& header, std::string_view row);

}  // namespace trib::connectors::s3_detail
