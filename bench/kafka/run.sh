#!/usr/bin/env bash
# Kafka connector benchmark: starts a one-node KRaft broker (Kafka 4.3.1 jars), then for 100 B and
# 1 KiB payloads runs, on the same broker in the same run:
#   kafka-producer-perf-test (org.apache.kafka.tools.ProducerPerformance, acks=all, idempotent)
#   bench_kafka sink          (Tributary's kafka sink: batches -> idempotent producer, acks=all)
#   kafka-consumer-perf-test (org.apache.kafka.tools.ConsumerPerformance)
#   bench_kafka source        (Tributary's kafka source: poll + ack, consumer group)
# Prints one JSON record per line (also appended to $OUT), then a summary table.
#
# usage: bench/kafka/run.sh [MESSAGES]      (default 1,000,000 per payload size)
# env:   TRIB_KAFKA_LIB (jars; default .deps/kafka/lib), BENCH_BIN (default
#        build/release/bench/kafka/bench_kafka), OUT (default bench/kafka/results-<date>.jsonl)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIB=${TRIB_KAFKA_LIB:-$ROOT/.deps/kafka/lib}
[ -d "$LIB" ] || LIB=/work/main/.deps/kafka-probe/lib
BENCH=${BENCH_BIN:-$ROOT/build/release/bench/kafka/bench_kafka}
N=${1:-1000000}
OUT=${OUT:-$ROOT/bench/kafka/results-$(date -u +%F).jsonl}
PY=${PYTHON:-python3}
[ -x "$BENCH" ] || { echo "build bench_kafka first: cmake --preset release && cmake --build build/release --target bench_kafka" >&2; exit 2; }
[ -f "$LIB/kafka_2.13-4.3.1.jar" ] || ls "$LIB"/kafka_2.13-*.jar >/dev/null 2>&1 || { echo "no Kafka jars in $LIB (scripts/setup.sh)" >&2; exit 2; }

R=$(mktemp -d /tmp/trib-kafka-bench.XXXXXX)
free_port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PORT=$(free_port); CPORT=$(free_port)
BS=127.0.0.1:$PORT
KPID=
cleanup() {
  if [ -n "$KPID" ] && kill -0 "$KPID" 2>/dev/null; then
    kill "$KPID"; for _ in $(seq 1 150); do kill -0 "$KPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$KPID" 2>/dev/null || true
  fi
  rm -rf "$R"
}
trap cleanup EXIT

printf '%s\n' 'status = warn' 'appender.c.type = Console' 'appender.c.name = STDOUT' \
  'appender.c.layout.type = PatternLayout' 'appender.c.layout.pattern = [%d] %p %m (%c)%n' \
  'rootLogger.level = WARN' 'rootLogger.appenderRef.s.ref = STDOUT' > "$R/log4j2.properties"
cat > "$R/server.properties" <<P
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$R/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.ms=-1
P
JAVA_LOG=-Dlog4j2.configurationFile=$R/log4j2.properties
java -cp "$LIB/*" $JAVA_LOG kafka.tools.StorageTool format -t "$($PY -c 'import uuid,base64;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=").replace("-","A"))')" \
  -c "$R/server.properties" > "$R/format.log" 2>&1
java -Xms512m -Xmx1g $JAVA_LOG -cp "$LIB/*" kafka.Kafka "$R/server.properties" > "$R/kafka.log" 2>&1 &
KPID=$!
for _ in $(seq 1 1200); do
  kcat -b "$BS" -L -m 2 >/dev/null 2>&1 && break
  kill -0 "$KPID" 2>/dev/null || { cat "$R/kafka.log" >&2; exit 1; }
  sleep 0.1
done
echo "# broker on $BS (pid $KPID); $N messages per run; $(uptime)" >&2

emit() { echo "$1"; echo "$1" >> "$OUT"; }

java_perf() { java -Xmx512m $JAVA_LOG -cp "$LIB/*" "$@"; }

for SIZE in 100 1024; do
  # Kafka's producer: acks=all and idempotence are its defaults in 4.x; linger 5 ms as ours.
  LINE=$(java_perf org.apache.kafka.tools.ProducerPerformance --topic "perf-$SIZE" --num-records "$N" \
    --record-size "$SIZE" --throughput -1 --producer-props "bootstrap.servers=$BS" acks=all \
    enable.idempotence=true linger.ms=5 2>/dev/null | tail -1)
  emit "$($PY - "$LINE" "$SIZE" "$N" <<'PYEOF'
import json, re, sys
line, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
m = re.search(r"([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency.*?([\d.]+) ms 50th, ([\d.]+) ms 95th, ([\d.]+) ms 99th", line)
rps, mbps = float(m.group(1)), float(m.group(2))
print(json.dumps({"bench": "kafka", "impl": "kafka-producer-perf-test", "op": "produce", "payload": size,
                  "messages": n, "bytes": n * size, "seconds": round(n / rps, 3), "records_per_s": round(rps),
                  "mb_per_s": round(n * size / (n / rps) / 1e6, 2), "mib_per_s_reported": mbps,
                  "latency": "per record", "p50_ms": float(m.group(4)), "p99_ms": float(m.group(6))}))
PYEOF
)"
  emit "$("$BENCH" --bootstrap "$BS" --topic "sink-$SIZE" --messages "$N" --payload "$SIZE" --linger-ms 5 2>>"$R/bench.err")"

  # Kafka's consumer on the topic the perf producer filled.
  CLINE=$(java_perf org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$BS" --topic "perf-$SIZE" \
    --messages "$N" --timeout 60000 2>/dev/null | tail -1)
  emit "$($PY - "$CLINE" "$SIZE" "$N" <<'PYEOF'
import json, sys
line, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
f = [x.strip() for x in line.split(",")]
# start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
msgs, fetch_ms = int(f[4]), float(f[7])
secs = fetch_ms / 1000.0
print(json.dumps({"bench": "kafka", "impl": "kafka-consumer-perf-test", "op": "consume", "payload": size,
                  "messages": msgs, "bytes": msgs * size, "seconds": round(secs, 3),
                  "records_per_s": round(msgs / secs), "mb_per_s": round(msgs * size / secs / 1e6, 2),
                  "note": "fetch time (after the group join)"}))
PYEOF
)"
  # Tributary's source on the same topic (its own consumer group, from the earliest offset).
  emit "$("$BENCH" --mode source --bootstrap "$BS" --topic "perf-$SIZE" --messages "$N" --payload "$SIZE" 2>>"$R/bench.err")"
done

echo >&2
$PY - "$OUT" "$N" <<'PYEOF' >&2
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
n = int(sys.argv[2])
rows = [r for r in rows if r.get("messages", 0) in (n,) or r.get("impl") == "kafka-consumer-perf-test"][-8:]
print(f"{'impl':28} {'op':8} {'payload':>7} {'msgs/s':>10} {'MB/s':>8} {'p99 ms':>8}")
for r in rows:
    p99 = r.get("p99_ms", "")
    print(f"{r['impl']:28} {r['op']:8} {r['payload']:>7} {r['records_per_s']:>10} {r['mb_per_s']:>8} {p99!s:>8}")
PYEOF
