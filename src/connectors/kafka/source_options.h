#pragma once
// The Kafka source's validated options (spec_source.cpp reads them, source.cpp uses them).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/spec.h"
#include "connectors/kafka/record.h"
#include "core/connector.h"

namespace trib::connectors::kafka {

enum class start_position : std::uint8_t { earliest, latest, timestamp };

/// Records of Kafka topics that `match` (a name, or a ^regex) go to `dest`.
struct route_rule {
    std::string match;
    stream_ref dest;
};

struct source_options {
    config::values raw;  // the connection options are read at open (client_id needs the key)
    std::vector<std::string> topics;
    std::string group_id;
    start_position start = start_position::earliest;
    std::int64_t start_timestamp_ms = 0;
    bool read_committed = true;
    std::vector<route_rule> routes;
    mapping_options mapping;
    std::size_t max_batch = 1000;
    std::chrono::milliseconds session_timeout{45000};
    std::chrono::milliseconds commit_interval{1000};
};

/// `v` validated against kafka_source_spec().
source_options source_options_from(const config::values& v);

}  // namespace trib::connectors::kafka
