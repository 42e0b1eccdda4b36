#pragma once
// The options of the Redis source and sink, read from validated config values (spec.toml).

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "config/spec.h"
#include "connectors/redis/client.h"
#include "connectors/redis/codec.h"

namespace trib::connectors::redis {

struct sink_options {
    connection_options conn;
    sink_layout layout;
    std::size_t batch_size = 1000;
};

enum class source_mode { stream, list, pubsub };

struct source_options {
    connection_options conn;
    source_mode mode = source_mode::stream;
    std::vector<std::string> keys;
    std::vector<std::string> patterns;
    std::string group = "tributary-{key}";  // {key}: the connector's key (filled at open)
    std::string consumer = "{key}";
    bool create_group = true;
    std::string group_start_id = "0";
    std::chrono::milliseconds claim_min_idle{60000};
    std::chrono::milliseconds claim_interval{10000};
    std::size_t count = 1000;
    entry_layout entry;
    std::string processing_key = "{list}:processing:{key}";
    bool pop_left = false;
};

result<connection_options> connection_from(const config::values& v);
result<sink_options> sink_options_from(const config::values& v);
result<source_options> source_options_from(const config::values& v);

/// `{key}` (and `{list}`) filled in.
std::string fill_names(std::string t, std::string_view connector_key, std::string_view list = {});

}  // namespace trib::connectors::redis
