#pragma once
// The HDFS object_store through WebHDFS (hdfs_store.cpp). Internal to connectors/s3.

#include <memory>
#include <string_view>

#include "connectors/s3/s3_store.h"

namespace trib::connectors::s3_detail {

/// `s.endpoint` is the NameNode's HTTP address (`http://namenode:9870`), `s.bucket` the
/// directory keys are under (`/data/iggy`).
std::unique_ptr<object_store> make_hdfs_store(s3_settings s);

/// A WebHDFS answer that is not a success as an error: StandbyException, RetriableException
/// and 5xx retryable (503/429 throttled), 401 and SecurityException unauthenticated,
/// AccessControlException permission denied, FileNotFoundException not found, other 4xx
/// fatal. The message names the store, what was done, the status and the exception.
error classify_hdfs_response(const net::http_response& r, std::string_view what);

}  // namespace trib::connectors::s3_detail
