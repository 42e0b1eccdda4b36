"""The shared 20-field benchmark record (bench/codecs/README.md) as Python objects, from the
record index i, with the same values as record20.h; plus the timing loop and output line every
*_ref.py prints."""

import datetime
import json
import sys
import time

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
LEVELS = ("low", "mid", "high")
BATCH = 1000


def record(i, *, decimal_as_string=True, uuid_as_bytes=True, date_as_int=True, omit_null=False):
    """Record i. Formats without a type use their closest one (the flags)."""
    ts = 1700000000000000 + i
    cents = i % 100000
    uid = (i & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little") * 2
    r = {
        "id": i,
        "name": f"user-{i}",
        "active": i % 2 == 0,
        "score": i * 0.25,
        "count": i % 1000,
        "ts": EPOCH + datetime.timedelta(microseconds=ts),
        "day": 19000 + i % 365 if date_as_int else datetime.date(1970, 1, 1)
        + datetime.timedelta(days=19000 + i % 365),
        "price": f"{cents // 100}.{cents % 100:02d}" if decimal_as_string else cents,
        "uid": uid if uuid_as_bytes else uid.hex(),
        "tags": [f"a{i % 7}", f"b{i % 5}", "c"],
        "attrs": {"k1": f"v{i % 3}", "k2": "w"},
        "payload": bytes([i & 0xFF]) * 16,
        "nested": {"lat": float(i % 90), "lon": float(i % 180)},
        "note": None if i % 2 else f"n{i}",
        "level": LEVELS[i % 3],
        "ratio": (i % 100) / 100,
        "small": i % 128,
        "big": i * 1000003,
        "city": f"city{i % 50}",
        "country": f"country{i % 20}",
    }
    if omit_null and r["note"] is None:
        del r["note"]
    return r


def seconds_arg():
    if "--seconds" in sys.argv:
        return float(sys.argv[sys.argv.index("--seconds") + 1])
    return 1.0


# The thread CPU time of the last timed() run: emit() reports it beside the wall time, so that
# summarize.py can compare CPU rates, which other processes on a busy machine do not move.
_last_cpu_seconds = 0.0


def timed(items, seconds, fn):
    """Calls fn(item) over the items in batches of 1,000 (round after round) until `seconds`
    have passed; returns (items done, bytes as fn returns them, seconds)."""
    global _last_cpu_seconds
    done = 0
    nbytes = 0
    start = time.perf_counter()
    cpu_start = time.thread_time()
    while True:
        for first in range(0, len(items), BATCH):
            for it in items[first:first + BATCH]:
                nbytes += fn(it)
            done += min(BATCH, len(items) - first)
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                _last_cpu_seconds = time.thread_time() - cpu_start
                return done, nbytes, elapsed


def emit(fmt, impl, op, records, nbytes, seconds):
    line = {
        "format": fmt, "impl": impl, "op": op, "records": records, "bytes": nbytes,
        "seconds": round(seconds, 4), "records_per_s": round(records / seconds),
        "mb_per_s": round(nbytes / seconds / 1e6, 2)}
    if _last_cpu_seconds > 0:
        line["cpu_seconds"] = round(_last_cpu_seconds, 4)
        line["records_per_cpu_s"] = round(records / _last_cpu_seconds)
    print(json.dumps(line), flush=True)
