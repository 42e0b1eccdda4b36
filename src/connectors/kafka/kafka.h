#pragma once
// Kafka connectors (librdkafka): the sink (Iggy -> Kafka). See README.md in this folder.

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

/// Sink "kafka": an idempotent librdkafka producer; a write returns after the delivery reports
/// of the whole batch.
config::spec kafka_sink_spec();
result<std::unique_ptr<sink>> make_kafka_sink(const config::values& v);

}  // namespace trib::connectors
