#pragma once
// A reader for the Kafka sink's tests: every record of a topic up to the high watermarks read
// at the call (no count to wait for, so duplicates show), and the watermark total. The broker
// itself is kafka_fixture.h's.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace trib::test::kafka {

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
