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
want=("kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar"
  "kafka-clients-$KAFKA_VERSION.jar" "log4j-slf4j-impl-$LOG4J_VERSION.jar")
have_all=1
for j in "${want[@]}"; do [ -f "$DIR/lib/$j" ] || have_all=0; done
[ $have_all = 1 ] && exit 0

command -v mvn >/dev/null || { echo "[setup] mvn not found (apt-get install maven)" >&2; exit 1; }
mkdir -p "$DIR"
dep() {
  printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' \
    "$1" "$2" "$3"
}
{
  echo '<project><modelVersion>4.0.0</modelVersion>'
  echo '  <groupId>tributary</groupId><artifactId>kafka-test-broker</artifactId><version>1</version>'
  echo '  <packaging>pom</packaging>'
  echo '  <dependencies>'
  dep org.apache.kafka kafka_2.13 "$KAFKA_VERSION"
  dep org.apache.kafka kafka-tools "$KAFKA_VERSION"
  dep org.apache.logging.log4j log4j-slf4j-impl "$LOG4J_VERSION"
  echo '  </dependencies>'
  echo '</project>'
} > "$DIR/pom.xml"
echo "[setup] mvn dependency:copy-dependencies (Apache Kafka $KAFKA_VERSION) into $DIR/lib"
rm -rf "$DIR/lib.tmp"
(cd "$DIR" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib.tmp -DincludeScope=runtime) \
  > /tmp/tributary-kafka-mvn.log 2>&1 || { tail -30 /tmp/tributary-kafka-mvn.log >&2; exit 1; }
rm -rf "$DIR/lib" && mv "$DIR/lib.tmp" "$DIR/lib"
echo "$KAFKA_VERSION" > "$DIR/VERSION"
exit 10
