#!/usr/bin/env bash
# Installs everything Tributary's build and tests need on Debian 12, as root, idempotently:
# Debian packages (compilers, -dev libraries, test peers), Python packages in .venv, npm packages in
# .deps/npm, crates in .deps/cargo. A second run checks and returns in a second or two.
# Usage: scripts/setup.sh [--build-only]   (--build-only: skip the test peers)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
start=$(date +%s)
installed=()

log() { printf '[setup] %s\n' "$*"; }

# --- Debian packages ---------------------------------------------------------------------------
BUILD_PKGS=(
  build-essential cmake ninja-build ccache pkg-config git clang clang-format llvm libclang-rt-14-dev
  libboost1.81-dev libssl-dev libxxhash-dev libtomlplusplus-dev rapidjson-dev libsimdjson-dev libre2-dev libspdlog-dev
  libfmt-dev libcli11-dev libgtest-dev libbenchmark-dev libcurl4-openssl-dev libpq-dev
  libmosquitto-dev libprotobuf-dev libprotoc-dev protobuf-compiler python3 python3-venv curl
  ca-certificates libavro-dev libflatbuffers-dev flatbuffers-compiler libbson-dev libvalijson-dev
  libsnappy-dev libzstd-dev zlib1g-dev librdkafka-dev libexpat1-dev
  librabbitmq-dev libnats-dev libhiredis-dev libmariadb-dev libsqlite3-dev
)
PEER_PKGS=(
  redis-server mosquitto mosquitto-clients postgresql postgresql-15-wal2json postgresql-client
  wrk nginx-light procps iproute2 json-schema-test-suite kcat openjdk-17-jre-headless maven
  libhwloc15  # the reference iggy-server (shared/iggy-reference) of bench/server_dedup
  mariadb-server rabbitmq-server nats-server
)
pkgs=("${BUILD_PKGS[@]}")
[ "${1:-}" = "--build-only" ] || pkgs+=("${PEER_PKGS[@]}")

missing=()
for p in "${pkgs[@]}"; do
  s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [ "${s:0:2}" = "ii" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "[setup] missing Debian packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
  # Package scripts must not start daemons here: tests start their own peers on free ports.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" > /tmp/tributary-apt.log 2>&1 \
    || { tail -30 /tmp/tributary-apt.log; exit 1; }
  installed+=("apt: ${missing[*]}")
fi

# --- librdkafka 2.12.1 (built from the crate rdkafka-sys's vendored source into .deps/librdkafka) --
# Debian's 2.0.2 (librdkafka-dev, kept as the fallback) cannot log in with SCRAM to Kafka 4.x.
# The build (cmake/TributaryRdkafka.cmake) prefers .deps/librdkafka. Needs cargo to fetch the
# source; without cargo a --build-only set-up goes on with Debian's librdkafka.
if command -v cargo > /dev/null || [ -x "$HOME/.cargo/bin/cargo" ] \
  || [ -f .deps/librdkafka/VERSION ]; then
  scripts/setup_librdkafka.sh "$ROOT/.deps/librdkafka" && rdk_rc=0 || rdk_rc=$?
  case $rdk_rc in
    0) ;;
    10) installed+=("$(cat "$ROOT/.deps/librdkafka/VERSION") in .deps/librdkafka") ;;
    *) exit 1 ;;
  esac
elif [ "${1:-}" = "--build-only" ]; then
  log "cargo not found: building with Debian's librdkafka (no SCRAM logins to Kafka 4.x)"
else
  echo "[setup] cargo not found; install Rust (rustup) to build librdkafka and iggy-cli" >&2
  exit 1
fi

# --- Apache Arrow C++ (the pyarrow wheel from PyPI, in the project's .venv) ---------------------
# The Parquet writer/reader (src/codecs/parquet.cpp) builds on the wheel's include/ and
# libarrow.so.2600 / libparquet.so.2600 (C++11 ABI; cmake/TributaryArrow.cmake finds them); the
# tests read the files back with the same pyarrow. Without it the build leaves Parquet out.
ARROW_PY="pyarrow==26.0.1"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  installed+=("python venv .venv")
fi
have_arrow=$(.venv/bin/python -m pip show pyarrow 2>/dev/null | awk '/^Version:/{print $2}' || true)
if [ "$have_arrow" != "${ARROW_PY##*==}" ]; then
  log "pip install $ARROW_PY"
  .venv/bin/python -m pip install -q --disable-pip-version-check "$ARROW_PY"
  installed+=("pip: $ARROW_PY (Apache Arrow C++ for Parquet)")
fi

if [ "${1:-}" = "--build-only" ]; then
  for i in "${installed[@]}"; do log "installed $i"; done
  log "build dependencies ready in $(( $(date +%s) - start )) s"
  exit 0
fi

# --- Python packages (project-local virtual environment) ---------------------------------------
# The reference implementations the codec tests cross-check against (msgpack, protobuf, fastavro,
# flatbuffers, pymongo's bson, jsonschema) and confluent-kafka's schema-registry serializers, whose
# framed bytes the registry tests read. protobuf 6.x: confluent-kafka's generated modules need it.
# cramjam and backports.zstd: fastavro's snappy and zstandard container codecs. duckdb: the second
# Parquet reader of the S3 tests (pyarrow, the first, is installed above with Arrow C++).
# deltalake and pyiceberg read the tables the lakehouse sinks write; pika, nats-py, redis and pymysql
# are the independent clients the broker and database tests cross-check with.
PY_PKGS=("apache-iggy==0.9.0" "msgpack==1.1.0" "protobuf==6.33.5" "fastavro==1.13.1"
  "cramjam==2.14.0" "backports.zstd==1.8.0"
  "flatbuffers==25.12.19" "pymongo==4.20.0" "jsonschema==4.26.0" "duckdb==2.0.1"
  "confluent-kafka[schemaregistry,avro,protobuf,json]==2.16.1"
  "deltalake==1.6.6" "pyiceberg[sql-sqlite,pyarrow]==0.12.0"
  "pika==1.4.4" "nats-py==2.16.0" "redis==8.1.0" "pymysql==1.2.4")
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  installed+=("python venv .venv")
fi
py_missing=()
for spec in "${PY_PKGS[@]}"; do
  name=${spec%%==*}; name=${name%%[*}; ver=${spec##*==}
  have=$(.venv/bin/python -m pip show "$name" 2>/dev/null | awk "/^Version:/{print \$2}" || true)
  [ "$have" = "$ver" ] || py_missing+=("$spec")
done
if [ ${#py_missing[@]} -gt 0 ]; then
  log "pip install ${py_missing[*]}"
  .venv/bin/python -m pip install -q --disable-pip-version-check "${py_missing[@]}"
  installed+=("pip: ${py_missing[*]}")
fi

# --- Apache Kafka (jars from Maven Central, for the Kafka connector's test broker) --------------
# One KRaft broker per Kafka test binary runs from .deps/kafka/lib (tests/connectors/kafka/
# kafka_fixture.cpp); kafka-tools brings ProducerPerformance/ConsumerPerformance for bench/kafka.
scripts/setup_kafka.sh "$ROOT/.deps/kafka" && kafka_rc=0 || kafka_rc=$?
case $kafka_rc in
  0) ;;
  10) installed+=("maven: Apache Kafka $(cat "$ROOT/.deps/kafka/VERSION") jars in .deps/kafka/lib") ;;
  *) exit 1 ;;
esac

# --- Hadoop's MiniDFSCluster (jars from Maven Central, for the hdfs connector's test cluster) ----
# One NameNode + DataNode per hdfs test binary runs from .deps/hadoop/lib (tests/connectors/s3/
# store_peers.cpp hdfs_cluster_spec; about 100 MB of jars).
# The JAXB API: Hadoop needs it on Java 17, which no longer ships it.
HADOOP_VERSION=3.4.1
scripts/setup_maven_jars.sh "$ROOT/.deps/hadoop" hdfs-test-cluster "$HADOOP_VERSION" \
  "hadoop-client-minicluster-$HADOOP_VERSION.jar hadoop-client-runtime-$HADOOP_VERSION.jar \
 hadoop-client-api-$HADOOP_VERSION.jar jaxb-api-2.3.1.jar" \
  "org.apache.hadoop:hadoop-client-minicluster:$HADOOP_VERSION" \
  "org.apache.hadoop:hadoop-client-runtime:$HADOOP_VERSION" \
  "org.apache.hadoop:hadoop-client-api:$HADOOP_VERSION" "javax.xml.bind:jaxb-api:2.3.1" \
  && hadoop_rc=0 || hadoop_rc=$?
case $hadoop_rc in
  0) ;;
  10) installed+=("maven: Hadoop $(cat "$ROOT/.deps/hadoop/VERSION") minicluster jars in .deps/hadoop/lib") ;;
  *) exit 1 ;;
esac

# --- Apache Iceberg REST catalog (jars from Maven Central, for the Iceberg sink's test catalog) ---
# RESTCatalogServer (iceberg-open-api test fixtures) over a JDBC catalog on SQLite, one per
# Iceberg test binary, from .deps/iceberg-rest/lib (tests/connectors/iceberg/rest_fixture.cpp).
scripts/setup_iceberg_rest.sh "$ROOT/.deps/iceberg-rest" && ice_rc=0 || ice_rc=$?
case $ice_rc in
  0) ;;
  10) installed+=("maven: Iceberg REST catalog $(cat "$ROOT/.deps/iceberg-rest/VERSION") jars in .deps/iceberg-rest/lib") ;;
  *) exit 1 ;;
esac

# --- Crates (project-local cargo root) -----------------------------------------------------------
# iggy-cli 0.14.0 speaks protocol 0.11 (Iggy server 0.9); --locked keeps its dependency tree.
CARGO_ROOT=$ROOT/.deps/cargo
if ! [ -x "$CARGO_ROOT/bin/iggy" ] || ! "$CARGO_ROOT/bin/iggy" --version 2>/dev/null | grep -q '0\.14\.0'; then
  CARGO=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
  if [ ! -x "$CARGO" ]; then
    echo "[setup] cargo not found; install Rust (rustup) to build iggy-cli" >&2
    exit 1
  fi
  log "cargo install iggy-cli@0.14.0 --locked (a few minutes on 2 cores, once)"
  t0=$(date +%s)
  # Built without optimisation: the tests run a handful of its commands, and opt-level 0 took
  # 282 s of CPU against 618 s at the release default (measured 2026-12-07, same machine).
  # The build directory is kept in the user's cache (as ccache keeps objects), so that another
  # clone on the same machine links the same build again in seconds instead of minutes.
  CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/tributary/iggy-cli-target" \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
  "$CARGO" install -q iggy-cli@0.14.0 --locked --root "$CARGO_ROOT" > /tmp/tributary-cargo.log 2>&1 \
    || { tail -30 /tmp/tributary-cargo.log; exit 1; }
  installed+=("crate: iggy-cli 0.14.0 ($(( $(date +%s) - t0 )) s)")
fi

# --- Go peers (project-local GOBIN) --------------------------------------------------------------
# MinIO for the S3 connectors' tests, built from the Go module proxy (no tagged versions are
# listed; this pseudo-version was the latest). About 3 minutes on two idle cores and 1.5 GB RAM,
# once (with -p=1 on a busy machine it took 14). GOPATH/GOCACHE stay Go's defaults (~/go,
# ~/.cache/go-build).
GO_BIN=$ROOT/.deps/go/bin
MINIO_V=v0.0.0-20260212201848-7aac2a2c5b7c
if ! [ -x "$GO_BIN/minio" ]; then
  GO=$(command -v go || echo /usr/local/go/bin/go)
  if [ ! -x "$GO" ]; then
    echo "[setup] go not found; install Go (1.24 or newer) to build MinIO for the S3 tests" >&2
    exit 1
  fi
  log "go install github.com/minio/minio@$MINIO_V (about 3 minutes, once)"
  t0=$(date +%s)
  mkdir -p "$GO_BIN"
  GOBIN=$GO_BIN "$GO" install "github.com/minio/minio@$MINIO_V" \
    > /tmp/tributary-go-minio.log 2>&1 || { tail -30 /tmp/tributary-go-minio.log; exit 1; }
  installed+=("go: minio $MINIO_V ($(( $(date +%s) - t0 )) s)")
fi

# fake-gcs-server for the GCS store's tests (tests/connectors/s3/gcs_test.cpp), from the Go
# module proxy like MinIO. About 70 s and 700 MB RAM once.
FAKE_GCS_V=v1.56.1
if ! [ -x "$GO_BIN/fake-gcs-server" ]; then
  GO=$(command -v go || echo /usr/local/go/bin/go)
  if [ ! -x "$GO" ]; then
    echo "[setup] go not found; install Go (1.24 or newer) to build fake-gcs-server" >&2
    exit 1
  fi
  log "go install github.com/fsouza/fake-gcs-server@$FAKE_GCS_V (about a minute, once)"
  t0=$(date +%s)
  mkdir -p "$GO_BIN"
  GOBIN=$GO_BIN "$GO" install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_V" \
    > /tmp/tributary-go-fakegcs.log 2>&1 || { tail -30 /tmp/tributary-go-fakegcs.log; exit 1; }
  installed+=("go: fake-gcs-server $FAKE_GCS_V ($(( $(date +%s) - t0 )) s)")
fi

# --- npm peers (project-local prefix .deps/npm) ---------------------------------------------------
# Azurite's blob service for the Azure Blob store's tests (tests/connectors/s3/azure_test.cpp).
NPM_DIR=$ROOT/.deps/npm
AZURITE_V=3.37.0
if ! [ -x "$NPM_DIR/node_modules/.bin/azurite-blob" ] || \
   [ "$("$NPM_DIR/node_modules/.bin/azurite-blob" --version 2>/dev/null)" != "$AZURITE_V" ]; then
  if ! command -v npm > /dev/null; then
    echo "[setup] npm not found; install Node.js (20 or newer) for Azurite" >&2
    exit 1
  fi
  log "npm install azurite@$AZURITE_V into .deps/npm"
  t0=$(date +%s)
  mkdir -p "$NPM_DIR"
  npm install --prefix "$NPM_DIR" --no-audit --no-fund "azurite@$AZURITE_V" \
    > /tmp/tributary-npm-azurite.log 2>&1 || { tail -30 /tmp/tributary-npm-azurite.log; exit 1; }
  installed+=("npm: azurite $AZURITE_V ($(( $(date +%s) - t0 )) s)")
fi

el=$(( $(date +%s) - start ))
if [ ${#installed[@]} -eq 0 ]; then
  log "everything already installed (checked in ${el} s)"
else
  for i in "${installed[@]}"; do log "installed $i"; done
  log "set-up took ${el} s"
fi
