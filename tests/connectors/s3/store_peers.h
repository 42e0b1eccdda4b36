#pragma once
// The real peers of the GCS, Azure Blob and HDFS stores for their tests, on tests/harness/peer.h
// (free loopback ports, data in the peer's temporary folder): fake-gcs-server (Go module proxy,
// .deps/go/bin), Azurite's blob service (npm, .deps/npm), Hadoop's MiniDFSCluster (Maven Central,
// .deps/hadoop) and the WebHDFS stand-in (webhdfs_standin.py beside this file, for what a
// simple-auth cluster cannot show: delegation tokens). scripts/setup.sh installs the first three.

#include <memory>
#include <string>
#include <vector>

#include "connectors/s3/object_store.h"
#include "connectors/s3/s3_store.h"
#include "core/error.h"
#include "harness/peer.h"

namespace trib::test {

/// Azurite's documented development account and key.
inline constexpr const char* azurite_account = "devstoreaccount1";
inline constexpr const char* azurite_key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

peer_spec fake_gcs_spec();
peer_spec azurite_spec();
/// `extra` is added to the stand-in's arguments ("--token", "T", "--deny-user", "U").
peer_spec webhdfs_spec(std::vector<std::string> extra = {});
/// A real HDFS: Hadoop 3.4.1's MiniDFSCluster (one NameNode, one DataNode) from the jars
/// scripts/setup.sh puts into .deps/hadoop/lib, run by `java`; WebHDFS on port(0) (so
/// peer_url, webhdfs_mkdirs and webhdfs_settings work with it as with the stand-in), the
/// NameNode's RPC on port(1). Ready in 10-60 s (slower under load).
peer_spec hdfs_cluster_spec();
/// .deps/hadoop/lib when the minicluster jars are there, else empty.
std::string hadoop_lib_dir();

/// "http://127.0.0.1:<port>" (GCS, WebHDFS); Azurite's: ".../devstoreaccount1".
std::string peer_url(const peer& p);
std::string azurite_endpoint(const peer& p);

/// Creates a bucket / container / directory. An existing one is fine.
status gcs_make_bucket(const peer& p, const std::string& bucket);
status azurite_make_container(const peer& p, const std::string& container);
status webhdfs_mkdirs(const peer& p, const std::string& path);
status webhdfs_mkdirs(const std::string& endpoint, const std::string& path);

/// Store settings for the peer (no retries inside the store).
connectors::s3_detail::s3_settings gcs_settings(const peer& p, const std::string& bucket);
connectors::s3_detail::s3_settings azurite_settings(const peer& p, const std::string& container);
connectors::s3_detail::s3_settings webhdfs_settings(const peer& p, const std::string& dir);
connectors::s3_detail::s3_settings webhdfs_settings(const std::string& endpoint,
                                                    const std::string& dir);

struct object_bytes {
    std::string key;
    std::string body;
};
/// Every object under `prefix` with its bytes, through the store.
result<std::vector<object_bytes>> read_all(connectors::s3_detail::object_store& st,
                                           const std::string& prefix = {});

}  // namespace trib::test
