#pragma once
// The Kafka connector: a source (Kafka -> Iggy, consumer group) and a sink (Iggy -> Kafka,
// idempotent producer; a write returns after the delivery reports of the whole batch), on
// librdkafka. Works with Apache Kafka and Kafka-compatible brokers (Redpanda). See README.md for
// the options and the delivery guarantees.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(kafka, source);
TRIB_CONNECTOR_FACE(kafka, sink);
