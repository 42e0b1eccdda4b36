#pragma once
// From messages to an Iceberg data file's rows, as pure functions: the table schema as Parquet
// columns (with Iceberg field ids), a schema for a new table (from the `schema` option or
// inferred from rows), and the column statistics a manifest carries. Internal to
// connectors/iceberg; public to its tests.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/parquet.h"
#include "codecs/value.h"
#include "connectors/iceberg/catalog.h"
#include "connectors/iceberg/manifest.h"
#include "core/error.h"

namespace trib::connectors::iceberg {

/// The Parquet column for each table field. Types written: boolean, long, double, string,
/// binary, date, timestamptz; any other (int, float, decimal, timestamp without zone, nested)
/// is unimplemented (fatal) naming the column.
result<std::vector<codecs::parquet::column>> parquet_columns(const std::vector<field>& fields);

/// Table fields (ids 1..n, optional) for Parquet columns: int64 -> long, float64 -> double,
/// boolean, string and json -> string, bytes -> binary, timestamp -> timestamptz, date.
std::vector<field> fields_for(const std::vector<codecs::parquet::column>& cols);

/// Whether `row` (a record) can be written: every field that names a column fits it
/// (codecs::parquet::fits); a missing field is a null, refused for a required column. The
/// error (invalid_argument, fatal) names the field.
status check_row(const std::vector<field>& fields, const std::vector<codecs::parquet::column>& cols,
                 const codecs::value& row);

/// Value and null counts and lower/upper bounds of each column over `rows` (records). Bounds
/// are given for long, double (no NaN), boolean, string (values that are strings), date and
/// timestamptz columns.
std::vector<column_stats> compute_stats(const std::vector<codecs::parquet::column>& cols,
                                        const std::vector<codecs::value>& rows);

/// A deterministic data file name for the messages [first, last] of one partition.
std::string data_file_name(std::string_view connector_key, std::string_view stream,
                           std::string_view topic, std::uint32_t partition, std::uint64_t first,
                           std::uint64_t last);

}  // namespace trib::connectors::iceberg
