#pragma once
// The Google Cloud Storage object_store (gcs_store.cpp). Internal to connectors/s3.

#include <memory>
#include <string_view>

#include "connectors/s3/s3_store.h"

namespace trib::connectors::s3_detail {

/// The GCS JSON API at `s.endpoint` (empty: STORAGE_EMULATOR_HOST, else
/// https://storage.googleapis.com). Fails when the service-account key file cannot be read.
result<std::unique_ptr<object_store>> make_gcs_store(s3_settings s);

/// The endpoint GCS requests go to: the option, else STORAGE_EMULATOR_HOST (http:// added when
/// it has no scheme), else https://storage.googleapis.com.
std::string gcs_endpoint(std::string_view option, std::string_view emulator_host_env);

/// A GCS answer that is not a success as an error: 429/503 throttled, other 5xx retryable,
/// 401 unauthenticated, 403 permission denied, 404 not found, other 4xx fatal. The message
/// names the store, what was done, the status and GCS's reason, never a token.
error classify_gcs_response(const net::http_response& r, std::string_view what);

}  // namespace trib::connectors::s3_detail
