#pragma once
// Iceberg's metadata files in Avro object container files (format version 2): the manifest of
// the data files one commit adds, and the manifest list of a snapshot (the parent's manifests
// plus the new one). Written by hand in the Avro binary encoding (the field ids and header keys
// Iceberg needs are not what a generic codec writes); the parent's manifest list, which any
// writer may have written, is read with the avro codec and its schema from the file's header.
// Pure (no I/O). Internal to connectors/iceberg; public to its tests.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/iceberg/catalog.h"
#include "core/error.h"

namespace trib::connectors::iceberg {

/// Column statistics of one data file, keyed by Iceberg field id. Bounds use Iceberg's
/// single-value binary serialisation (bound_bytes).
struct column_stats {
    std::int32_t field_id = 0;
    std::int64_t values = 0;
    std::int64_t nulls = 0;
    std::optional<std::string> lower;
    std::optional<std::string> upper;
};

struct data_file {
    std::string path;  // absolute URI, as readers open it
    std::int64_t records = 0;
    std::int64_t size = 0;
    std::vector<column_stats> stats;
};

/// A manifest (content data) adding `files` in snapshot `snapshot_id` (sequence numbers
/// inherited from the manifest list). `fields`/`schema_id` describe the table schema for the
/// header.
std::string write_manifest(const std::vector<field>& fields, std::int32_t schema_id,
                           std::int32_t spec_id, std::int64_t snapshot_id,
                           const std::vector<data_file>& files);

struct partition_summary {
    bool contains_null = false;
    std::optional<bool> contains_nan;
    std::optional<std::string> lower;
    std::optional<std::string> upper;
};

/// One entry of a manifest list (Iceberg's manifest_file struct, v2 names).
struct manifest_entry {
    std::string path;
    std::int64_t length = 0;
    std::int32_t spec_id = 0;
    std::int32_t content = 0;  // 0 data, 1 deletes
    std::int64_t sequence = 0;
    std::int64_t min_sequence = 0;
    std::int64_t added_snapshot_id = 0;
    std::int32_t added_files = 0;
    std::int32_t existing_files = 0;
    std::int32_t deleted_files = 0;
    std::int64_t added_rows = 0;
    std::int64_t existing_rows = 0;
    std::int64_t deleted_rows = 0;
    std::optional<std::vector<partition_summary>> partitions;
    std::optional<std::string> key_metadata;
};

std::string write_manifest_list(std::int64_t snapshot_id, std::optional<std::int64_t> parent,
                                std::int64_t sequence,
                                const std::vector<manifest_entry>& manifests);

/// The entries of a manifest list file written by any Iceberg writer (v1 names
/// added_data_files_count ... are read too). Not an Avro container file, or entries without the
/// required members: invalid_argument naming the problem.
result<std::vector<manifest_entry>> read_manifest_list(std::string_view file);

/// Iceberg's single-value serialisation of a bound (long, double little-endian; string as its
/// UTF-8 bytes; boolean one byte; date int32 days; timestamptz int64 microseconds).
std::string bound_long(std::int64_t v);
std::string bound_int(std::int32_t v);
std::string bound_double(double v);

}  // namespace trib::connectors::iceberg
