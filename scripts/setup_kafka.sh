#!/usr/bin/env bash
# Installs the Apache Kafka broker and tools jars from Maven Central into DIR/lib (default
# .deps/kafka), idempotently: when every wanted jar is there already it only checks (exit 0).
# Exit 10: installed now. Called by scripts/setup.sh; needs mvn and a JDK/JRE 17.
# Usage: scripts/setup_kafka.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-$PWD/.deps/kafka}
KAFKA_VERSION=4.3.1
LOG4J_VERSION=2.25.5
exec scripts/setup_maven_jars.sh "$DIR" kafka-test-broker "$KAFKA_VERSION" \
  "kafka_2.13-$KAFKA_VERSION.jar kafka-tools-$KAFKA_VERSION.jar kafka-clients-$KAFKA_VERSION.jar log4j-slf4j-impl-$LOG4J_VERSION.jar" \
  "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" \
  "org.apache.kafka:kafka-tools:$KAFKA_VERSION" \
  "org.apache.logging.log4j:log4j-slf4j-impl:$LOG4J_VERSION"
