#pragma once
// Test helpers of the Kafka sink's tests: a one-node KRaft broker started through
// tests/harness/peer.h (used until the shared kafka_fixture lands), and a librdkafka reader that
// returns every record of a topic up to its high watermarks.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "harness/peer.h"

namespace trib::test::kafka {

/// The folder of the Kafka jars: $TRIB_KAFKA_LIB, else $TRIB_SOURCE_DIR/.deps/kafka/lib, else
/// /work/main/.deps/kafka-probe/lib; empty when none exists.
std::string kafka_lib_dir();

/// A single KRaft broker+controller (port 0: PLAINTEXT, port 1: controller) with the settings a
/// one-node cluster needs (replication factor 1 for the internal topics).
peer_spec broker_spec(int partitions = 1);

std::string bootstrap(const peer& broker);

/// Creates a topic with the admin API (waits for the answer).
status create_topic(const std::string& bootstrap, const std::string& topic, int partitions);

struct record {
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::optional<std::string> key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
    std::int64_t timestamp_ms = 0;
};

/// Every record of `topic` from the beginning up to the high watermarks read at the call, in
/// partition then offset order. `read_committed`: transactional records of aborted transactions
/// are left out (and the high watermark is the last stable offset).
result<std::vector<record>> read_all(const std::string& bootstrap, const std::string& topic,
                                     bool read_committed = false);

/// The sum over partitions of high minus low watermark (records + transaction markers).
result<std::int64_t> watermark_total(const std::string& bootstrap, const std::string& topic);

}  // namespace trib::test::kafka
