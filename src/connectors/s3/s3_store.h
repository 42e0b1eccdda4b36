#pragma once
// The S3 implementation of object_store: the S3 REST API through core/net's HTTP client (libcurl
// signs with SigV4), path-style or virtual-host addressing, custom endpoints, conditional puts,
// multipart upload above the part size (aborted on failure), server-side encryption headers.
// Internal to connectors/s3; public to its tests.

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>

#include "connectors/s3/credentials.h"
#include "connectors/s3/object_store.h"
#include "core/error.h"
#include "core/net/http_client.h"

namespace trib::connectors::s3_detail {

/// The settings of every store (the S3 ones are named so for history): `kind` picks the store;
/// `bucket` is the GCS bucket, the Azure container or the HDFS directory.
struct s3_settings {
    store_kind kind = store_kind::s3;
    std::string bucket;
    std::string region = "us-east-1";
    std::string
        endpoint;  // "http://127.0.0.1:9000"; empty: AWS (https://s3.<region>.amazonaws.com)
    bool path_style = false;
    aws_credentials credentials;
    credential_inputs credential_source;  // the options' keys, resolved into `credentials`
    std::string sse;             // x-amz-server-side-encryption: "AES256", "aws:kms"; empty: none
    std::string sse_kms_key_id;  // with aws:kms
    std::uint64_t part_size = 8u << 20;  // multipart above this many bytes
    bool conditional_put = true;         // If-None-Match: * on puts
    std::uint32_t retries = 3;           // retries of a retryable request inside the store
    std::chrono::milliseconds retry_delay{1000};
    std::chrono::milliseconds timeout{60000};
    std::chrono::milliseconds connect_timeout{10000};
    net::tls_options tls;
    std::stop_token stop;
    gcs_auth gcs;
    azure_auth azure;
    hdfs_auth hdfs;
};

std::unique_ptr<object_store> make_s3_store(s3_settings s);
/// The store `s.kind` names (GCS, Azure Blob and HDFS in gcs_store.cpp, azure_store.cpp,
/// hdfs_store.cpp). GCS may fail here (an unreadable service-account key file).
result<std::unique_ptr<object_store>> make_store(s3_settings s);

/// The object's URL: path-style `<endpoint>/<bucket>/<key>` or virtual-host
/// `<scheme>://<bucket>.<host>/<key>`, the key percent-encoded the SigV4 way ('/' kept).
std::string s3_object_url(const s3_settings& s, std::string_view key);

/// An S3 answer that is not a success as an error: 503/SlowDown throttled (with Retry-After),
/// other 5xx, RequestTimeout and InternalError retryable, credentials and access refusals
/// (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied), NoSuchBucket and other 4xx fatal.
/// The message names what was done, the status and S3's error code and message, never the
/// request's headers.
error classify_s3_response(const net::http_response& r, std::string_view what,
                           std::string_view bucket);

}  // namespace trib::connectors::s3_detail
