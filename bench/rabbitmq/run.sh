#!/usr/bin/env bash
# RabbitMQ connector benchmark: starts Debian's rabbitmq-server (3.10) with its own epmd on free
# loopback ports in a temp dir (as /work/shared/peers.md describes), then for each queue type runs,
# on the same broker in the same run:
#   bench_rabbitmq publish  (baseline: rabbitmq-c, persistent, confirms per batch)
#   bench_rabbitmq sink     (Tributary's rabbitmq sink write())
#   bench_rabbitmq consume  (baseline: rabbitmq-c, prefetch = batch, ack multiple per batch)
#   bench_rabbitmq source   (Tributary's rabbitmq source poll() + ack())
# Prints one JSON record per line (also appended to $OUT). Stops the broker and epmd by PID.
#
# usage: bench/rabbitmq/run.sh [MESSAGES] [PAYLOAD] [BATCH]   (defaults 100000 1024 500)
# env:   BENCH_BIN (default build/release/bench/rabbitmq/bench_rabbitmq), QUEUE_TYPES
#        (default "classic quorum"), OUT (default bench/rabbitmq/results-<date>.jsonl)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCH_BIN:-$ROOT/build/release/bench/rabbitmq/bench_rabbitmq}
N=${1:-100000}; PAYLOAD=${2:-1024}; BATCH=${3:-500}
OUT=${OUT:-$ROOT/bench/rabbitmq/results-$(date -u +%F).jsonl}
[ -x "$BENCH" ] || { echo "build bench_rabbitmq first: cmake --preset release && cmake --build build/release --target bench_rabbitmq" >&2; exit 2; }
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || { echo "rabbitmq-server is not installed (scripts/setup.sh)" >&2; exit 2; }

R=$(mktemp -d /tmp/trib-rabbitmq-bench.XXXXXX)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PORT=$(free_port); DIST=$(free_port); EPMD_PORT=$(free_port)
EPMD_PID=; BROKER_PID=
cleanup() {
  [ -n "$BROKER_PID" ] && kill -KILL -- -"$BROKER_PID" 2>/dev/null || true
  [ -n "$EPMD_PID" ] && kill "$EPMD_PID" 2>/dev/null || true
  rm -rf "$R"
}
trap cleanup EXIT

mkdir -p "$R/mnesia" "$R/log"
printf 'listeners.tcp.default = 127.0.0.1:%s\n' "$PORT" > "$R/rabbitmq.conf"
echo '[].' > "$R/enabled_plugins"
RUN=()
if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
  chown -R rabbitmq:rabbitmq "$R"; RUN=(setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups)
fi
epmd -port "$EPMD_PORT" -address 127.0.0.1 & EPMD_PID=$!
export HOME=$R RABBITMQ_NODENAME=tribbench$PORT@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT=$PORT RABBITMQ_DIST_PORT=$DIST ERL_EPMD_PORT=$EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_MNESIA_BASE=$R/mnesia RABBITMQ_LOG_BASE=$R/log RABBITMQ_CONFIG_FILE=$R/rabbitmq.conf \
  RABBITMQ_ENABLED_PLUGINS_FILE=$R/enabled_plugins RABBITMQ_PID_FILE=$R/rabbit.pid \
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
  RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
setsid "${RUN[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server > "$R/rabbitmq.out" 2>&1 & BROKER_PID=$!
for _ in $(seq 1 600); do
  "$BENCH" --mode consume --port "$PORT" --messages 1 --queue none >/dev/null 2>&1 && break
  timeout 1 bash -c "</dev/tcp/127.0.0.1/$PORT" 2>/dev/null && "${RUN[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -q await_startup >/dev/null 2>&1 && break
  sleep 0.2   # waiting for the broker to start (a script, not a test)
done
for QT in ${QUEUE_TYPES:-classic quorum}; do
  Q=bench_$QT
  for MODE in publish consume sink source; do
    "$BENCH" --mode "$MODE" --port "$PORT" --queue "$Q" --queue-type "$QT" --messages "$N" \
      --payload "$PAYLOAD" --batch "$BATCH" | tee -a "$OUT"
  done
done
