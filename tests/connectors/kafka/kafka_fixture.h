#pragma once
// A real Apache Kafka broker (4.x, KRaft: broker and controller in one JVM) for the Kafka
// connector's tests, on top of tests/harness/peer.h. The jars come from Maven Central through
// scripts/setup.sh (.deps/kafka/lib); the storage is formatted in the peer's temporary folder
// before start; readiness is a librdkafka metadata answer on every listener. Also: topic
// creation through the librdkafka admin API, and a small producer and reader for the tests.
//
// Ports of a peer started from kafka_spec():
//   0  PLAINTEXT (always)              1  CONTROLLER (KRaft, internal)
//   2  SASL_PLAINTEXT (with `users`)   3  SSL (with `tls`; certificates from kafka_pki())
// One broker per test binary: shared_kafka() starts it on first use and keeps it until exit.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "harness/peer.h"
#include "harness/pki.h"

namespace trib::test {

struct kafka_options {
    /// Adds a SASL_PLAINTEXT listener (port 2) where each user can log in with PLAIN,
    /// SCRAM-SHA-256 and SCRAM-SHA-512 (the SCRAM credentials are written at format time).
    std::vector<std::pair<std::string, std::string>> users;
    /// Adds an SSL listener (port 3) with a test PKI made in the peer's folder.
    bool tls = false;
    /// The SSL listener demands a client certificate signed by the test CA.
    bool require_client_certificate = false;
    /// Default partition count of auto-created topics.
    int default_partitions = 1;
    /// More server.properties lines (`key=value`), written last (they win).
    std::vector<std::string> extra;
};

/// The folder with the broker's jars: $TRIB_KAFKA_LIB, else $TRIB_SOURCE_DIR/.deps/kafka/lib,
/// else .deps/kafka/lib in the current folder or one of its parents. Empty when none has
/// kafka_2.13-*.jar.
std::filesystem::path kafka_lib_dir();

/// The peer spec of a single-node KRaft broker (program `java`, -Xms256m -Xmx512m).
peer_spec kafka_spec(const kafka_options& opts = {});

/// "127.0.0.1:<port>" of a listener of a broker started from kafka_spec.
std::string kafka_bootstrap(const peer& broker);       // PLAINTEXT
std::string kafka_sasl_bootstrap(const peer& broker);  // SASL_PLAINTEXT
std::string kafka_ssl_bootstrap(const peer& broker);   // SSL
/// The cluster id the storage was formatted with (what librdkafka's rd_kafka_clusterid returns).
std::string kafka_cluster_id(const peer& broker);
/// The PKI files of the SSL listener.
test_pki kafka_pki(const peer& broker);

/// The broker shared by every test of the binary, started with `opts` on the first call (later
/// calls return the same broker whatever their options). Stopped at exit.
result<peer*> shared_kafka(const kafka_options& opts = {});

/// Creates `topic` with `partitions` partitions (replication factor 1) and waits until every
/// partition has a leader. Extra topic configs (`cleanup.policy`...) in `configs`.
status create_topic(const std::string& bootstrap, const std::string& topic, int partitions,
                    const std::map<std::string, std::string>& configs = {});

/// A record as the tests produce and read it.
struct kafka_record {
    std::string topic;
    std::int32_t partition = -1;  // produce: -1 = the partitioner's choice (by key)
    std::optional<std::string> key;
    std::optional<std::string> value;  // nullopt: a tombstone (null value)
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    std::int64_t timestamp_ms = 0;  // produce: 0 = now (CreateTime)
    std::int64_t offset = -1;       // read: the record's offset
};

/// Produces the records with an idempotent producer (acks=all) and waits for every delivery
/// report; the error names the first failed record. `properties` are extra librdkafka settings
/// (security, ...).
status produce_records(const std::string& bootstrap, const std::vector<kafka_record>& records,
                       const std::map<std::string, std::string>& properties = {});

/// Reads every partition of `topic` from the beginning until `count` records came or `deadline`
/// passed (no consumer group, nothing committed); returns what it read, in per-partition order
/// (partitions one after another).
result<std::vector<kafka_record>> read_records(
    const std::string& bootstrap, const std::string& topic, std::size_t count,
    std::chrono::milliseconds deadline, const std::map<std::string, std::string>& properties = {});

/// The committed offset of each partition of `topic` for consumer `group` (-1: none committed).
result<std::map<std::int32_t, std::int64_t>> committed_offsets(const std::string& bootstrap,
                                                               const std::string& group,
                                                               const std::string& topic);

}  // namespace trib::test

/// For a GoogleTest body: `var` (a trib::test::peer*) becomes the binary's shared broker; if it
/// cannot start, fails the test in CI and skips it elsewhere, with the reason.
#define TRIB_SHARED_KAFKA(var, opts)                                                              \
    ::trib::test::peer* var = nullptr;                                                            \
    do {                                                                                          \
        auto trib_kafka_r_ = ::trib::test::shared_kafka(opts);                                    \
        if (!trib_kafka_r_) {                                                                     \
            if (::trib::test::in_ci()) {                                                          \
                FAIL() << "Kafka could not start (CI=true): " << trib_kafka_r_.error().message(); \
            } else {                                                                              \
                GTEST_SKIP() << "Kafka not available: " << trib_kafka_r_.error().message();       \
            }                                                                                     \
        }                                                                                         \
        var = *trib_kafka_r_;                                                                     \
    } while (0)
