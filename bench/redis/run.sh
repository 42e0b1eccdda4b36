#!/usr/bin/env bash
# Redis connector benchmark: starts redis-server (no persistence) on a free port and, for each
# payload size, runs in the same run on the same server:
#   redis-benchmark XADD (-P = the batch size as pipeline depth)
#   bench_redis hiredis-xadd / sink            (into fresh streams)
#   bench_redis hiredis-xreadgroup / source    (each reads one of the streams just written)
# Prints one JSON record per line (also appended to $OUT).
#
# usage: bench/redis/run.sh [MESSAGES]   (default 1,000,000 per payload size)
# env:   BENCH_BIN (default build/release/bench/redis/bench_redis), OUT (default
#        bench/redis/results-<date>.jsonl), PAYLOADS (default "100 1024"), BATCH (default 1000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCH_BIN:-$ROOT/build/release/bench/redis/bench_redis}
N=${1:-1000000}
OUT=${OUT:-$ROOT/bench/redis/results-$(date -u +%F).jsonl}
BATCH=${BATCH:-1000}
PY=${PYTHON:-python3}
[ -x "$BENCH" ] || { echo "build bench_redis first: cmake --preset release && cmake --build build/release --target bench_redis" >&2; exit 2; }
R=$(mktemp -d /tmp/trib-redis-bench.XXXXXX)
PORT=$($PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$PORT" --dir "$R" --save '' --appendonly no \
  --daemonize no > "$R/redis.log" 2>&1 &
RPID=$!
cleanup() { kill "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; rm -rf "$R"; }
trap cleanup EXIT
for _ in $(seq 1 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
emit() { echo "$1"; echo "$1" >> "$OUT"; }
for P in ${PAYLOADS:-100 1024}; do
  redis-cli -p "$PORT" flushall >/dev/null
  VAL=$(head -c "$P" /dev/zero | tr '\0' x)
  START=$(date +%s.%N)
  redis-benchmark -p "$PORT" -n "$N" -P "$BATCH" -c 1 -q XADD rb '*' payload "$VAL" >/dev/null
  END=$(date +%s.%N)
  emit "$($PY -c "import json,sys;n=$N;p=$P;s=$END-$START;print(json.dumps({'bench':'redis','impl':'redis-benchmark','op':'xadd','payload':p,'messages':n,'batch':$BATCH,'bytes':n*p,'seconds':round(s,3),'records_per_s':round(n/s),'mb_per_s':round(n*p/s/1e6,2),'note':'-c 1 -P batch, wall time of the tool'}))")"
  emit "$("$BENCH" --mode hiredis-xadd --port "$PORT" --messages "$N" --payload "$P" --batch "$BATCH" --key raw)"
  emit "$("$BENCH" --mode sink --port "$PORT" --messages "$N" --payload "$P" --batch "$BATCH" --key trib)"
  emit "$("$BENCH" --mode hiredis-xreadgroup --port "$PORT" --messages "$N" --payload "$P" --batch "$BATCH" --key raw)"
  emit "$("$BENCH" --mode source --port "$PORT" --messages "$N" --payload "$P" --batch "$BATCH" --key trib)"
done
