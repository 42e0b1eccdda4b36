#pragma once
// A real MinIO server for the S3 connectors' tests, on tests/harness/peer.h: free loopback ports,
// data in the peer's temporary folder, root user and password from here, ready when
// /minio/health/ready answers 200. The binary comes from the Go module proxy (scripts/setup.sh
// installs it into .deps/go/bin).

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "harness/peer.h"

namespace trib::test {

inline constexpr const char* minio_user = "tributary";
inline constexpr const char* minio_password = "tributary-secret-1";

/// The peer spec of a MinIO server (port 0: S3 API, port 1: console). `extra_env` is added to
/// its environment (e.g. MINIO_KMS_SECRET_KEY for server-side encryption).
peer_spec minio_spec(std::vector<std::pair<std::string, std::string>> extra_env = {});

/// "http://127.0.0.1:<port>".
std::string minio_endpoint(const peer& p);

/// Creates a bucket (PUT /<bucket>, signed with the root user). An existing bucket is fine.
status minio_make_bucket(const peer& p, const std::string& bucket);

/// Every key of a bucket under `prefix` with its bytes (list + get through the connector's own
/// S3 client).
struct stored_object {
    std::string key;
    std::string body;
};
result<std::vector<stored_object>> minio_read_all(const peer& p, const std::string& bucket,
                                                  const std::string& prefix = {});

}  // namespace trib::test
