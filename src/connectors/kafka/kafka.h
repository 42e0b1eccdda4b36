#pragma once
// The Kafka connector: a source (Kafka -> Iggy, consumer group) and a sink (Iggy -> Kafka,
// idempotent producer), on librdkafka. Works with Apache Kafka and Kafka-compatible brokers
// (Redpanda). See README.md for the options and the delivery guarantees.

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

config::spec kafka_source_spec();
/// `v` validated against kafka_source_spec().
result<std::unique_ptr<source>> make_kafka_source(const config::values& v);

/// Sink "kafka": an idempotent producer; a write returns after the delivery reports of the whole
/// batch (src/connectors/kafka/sink.cpp).
config::spec kafka_sink_spec();
/// `v` validated against kafka_sink_spec().
result<std::unique_ptr<sink>> make_kafka_sink(const config::values& v);

}  // namespace trib::connectors
