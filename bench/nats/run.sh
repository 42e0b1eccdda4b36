#!/usr/bin/env bash
# NATS connector benchmark: starts nats-server (JetStream, file store in a temp dir) and, on the
# same server in the same run, for 1 KiB payloads:
#   bench_nats cnats-publish  plain cnats JetStream async publish with Nats-Msg-Id, acks per batch
#   bench_nats sink           Tributary's nats sink (the same, through sink::write)
#   bench_nats cnats-fetch    plain cnats pull consumer fetch + ack of the messages published above
#   bench_nats source         Tributary's nats source (poll + ack) on the same messages
# Prints one JSON record per line (also appended to $OUT), then a table with sink/cnats ratios.
#
# usage: bench/nats/run.sh [MESSAGES]     (default 200,000)
# env:   BENCH_BIN (default build/release/bench/nats/bench_nats), OUT (default
#        bench/nats/results-<date>.jsonl), PAYLOAD (default 1024), BATCH (default 1000), PYTHON
#        (default .venv/bin/python: nats-py creates the streams)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCH_BIN:-$ROOT/build/release/bench/nats/bench_nats}
N=${1:-200000}
SIZE=${PAYLOAD:-1024}
BATCH=${BATCH:-1000}
OUT=${OUT:-$ROOT/bench/nats/results-$(date -u +%F).jsonl}
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=python3
[ -x "$BENCH" ] || { echo "build bench_nats first: cmake --preset release && cmake --build build/release --target bench_nats" >&2; exit 2; }
command -v nats-server >/dev/null || { echo "nats-server is not installed (scripts/setup.sh)" >&2; exit 2; }

R=$(mktemp -d /tmp/trib-nats-bench.XXXXXX)
free_port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PORT=$(free_port); MPORT=$(free_port)
NPID=
cleanup() {
  if [ -n "$NPID" ] && kill -0 "$NPID" 2>/dev/null; then
    kill "$NPID"; for _ in $(seq 1 100); do kill -0 "$NPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$NPID" 2>/dev/null || true
  fi
  rm -rf "$R"
}
trap cleanup EXIT
nats-server -a 127.0.0.1 -p "$PORT" -m "$MPORT" -js -sd "$R/js" > "$R/nats.log" 2>&1 &
NPID=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$MPORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$NPID" 2>/dev/null || { cat "$R/nats.log" >&2; exit 1; }
  sleep 0.1
done
URL=nats://127.0.0.1:$PORT
echo "# nats-server $(nats-server --version) on $URL; $N x $SIZE B per run; $(uptime)" >&2
# Two streams: one the baseline fills and the baseline reads, one the sink fills and the source
# reads (so each consumer reads N messages written by its own kind).
$PY - "$PORT" <<'PYEOF'
import asyncio, sys
import nats
async def main():
    nc = await nats.connect(f"nats://127.0.0.1:{sys.argv[1]}")
    js = nc.jetstream()
    for name in ("BASE", "TRIB"):
        await js.add_stream(name=name, subjects=[f"{name}.>"], storage="file")
    await nc.close()
asyncio.run(main())
PYEOF

emit() { [ -n "$1" ] || { echo "a run failed:" >&2; cat "$R/bench.err" >&2; exit 1; }; echo "$1"; echo "$1" >> "$OUT"; }
run() { "$BENCH" --url "$URL" --messages "$N" --payload "$SIZE" --batch "$BATCH" "$@" 2>>"$R/bench.err" || { cat "$R/bench.err" >&2; exit 1; }; }
emit "$(run --mode cnats-publish --stream BASE)"
emit "$(run --mode sink --stream TRIB)"
emit "$(run --mode cnats-fetch --stream BASE)"
emit "$(run --mode source --stream TRIB)"

$PY - "$OUT" <<'PYEOF' >&2
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")][-4:]
by = {(r["impl"], r["op"]): r for r in rows}
print(f"{'impl':10} {'op':8} {'msgs/s':>10} {'MB/s':>8} {'p99 ms':>8}")
for r in rows:
    print(f"{r['impl']:10} {r['op']:8} {r['records_per_s']:>10} {r['mb_per_s']:>8} {r['p99_ms']:>8}")
for ours, base in ((("tributary", "sink"), ("cnats", "publish")), (("tributary", "source"), ("cnats", "fetch"))):
    if ours in by and base in by:
        print(f"{ours[1]}: {by[ours]['records_per_s'] / by[base]['records_per_s']:.2f} of plain cnats")
PYEOF
