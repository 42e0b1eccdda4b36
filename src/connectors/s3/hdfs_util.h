#pragma once
// The pure parts of the HDFS store: WebHDFS's JSON answers (LISTSTATUS, FileStatus, boolean
// results, RemoteException). Internal to connectors/s3; public to its tests.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::connectors::s3_detail {

struct hdfs_entry {
    std::string name;  // pathSuffix ("" for GETFILESTATUS of the path itself)
    bool directory = false;
    std::uint64_t length = 0;
    std::int64_t modification_time = 0;  // ms
};

/// {"FileStatuses": {"FileStatus": [...]}} (LISTSTATUS) or {"FileStatus": {...}}
/// (GETFILESTATUS).
result<std::vector<hdfs_entry>> parse_hdfs_statuses(std::string_view json);

/// {"boolean": true|false} (MKDIRS, RENAME, DELETE).
result<bool> parse_hdfs_boolean(std::string_view json);

/// {"RemoteException": {"exception", "message"}}: both empty when not such a document.
struct hdfs_error_body {
    std::string exception;
    std::string message;
};
hdfs_error_body parse_hdfs_error(std::string_view json);

/// The token a listing gives an HDFS file in place of an ETag: "<length>-<mtime>".
std::string hdfs_etag(const hdfs_entry& e);
/// The length in such a token; nullopt when it is not one.
std::optional<std::uint64_t> hdfs_etag_length(std::string_view etag);

}  // namespace trib::connectors::s3_detail
