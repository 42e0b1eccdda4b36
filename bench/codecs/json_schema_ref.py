"""Reference for bench_codecs_json_schema: Python jsonschema 4.26 (Draft202012Validator) over
the shared 20-field record in its JSON form (as the typed model writes it: ts RFC 3339, day
YYYY-MM-DD, price a string, uid 8-4-4-4-12, payload base64). Validates dicts. Prints JSON lines.

Usage: python json_schema_ref.py SCHEMA_PATH [seconds, default 1]"""
import base64
import datetime
import json
import struct
import sys
import time
import uuid

import jsonschema

LEVELS = ["low", "mid", "high"]
EPOCH = datetime.datetime(1970, 1, 1)


def record(i):
    ts = 1700000000000000 + i
    c = i % 100000
    t = EPOCH + datetime.timedelta(microseconds=ts)
    return {
        "id": i, "name": "user-%d" % i, "active": i % 2 == 0, "score": i * 0.25,
        "count": i % 1000, "ts": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "day": (EPOCH + datetime.timedelta(days=19000 + i % 365)).strftime("%Y-%m-%d"),
        "price": "%d.%02d" % (c // 100, c % 100),
        "uid": str(uuid.UUID(bytes=struct.pack("<q", i) * 2)),
        "tags": ["a%d" % (i % 7), "b%d" % (i % 5), "c"], "attrs": {"k1": "v%d" % (i % 3), "k2": "w"},
        "payload": base64.b64encode(bytes([i & 0xFF]) * 16).decode(),
        "nested": {"lat": float(i % 90), "lon": float(i % 180)},
        "note": None if i % 2 else "n%d" % i, "level": LEVELS[i % 3],
        "ratio": struct.unpack("f", struct.pack("f", (i % 100) / 100))[0],
        "small": i % 128, "big": i * 1000003, "city": "city%d" % (i % 50),
        "country": "country%d" % (i % 20),
    }


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    budget = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    v = jsonschema.Draft202012Validator(schema)
    docs = [record(i) for i in range(10000)]
    sizes = [len(json.dumps(d, separators=(",", ":"))) for d in docs]
    records = nbytes = 0
    t0, c0 = time.perf_counter(), time.thread_time()
    while True:
        base = (records // 1000) % 10 * 1000
        for k in range(base, base + 1000):
            if not v.is_valid(docs[k]):
                raise SystemExit("record %d does not validate" % k)
            nbytes += sizes[k]
        records += 1000
        t = time.perf_counter() - t0
        if t >= budget:
            cpu = time.thread_time() - c0
            break
    print(json.dumps({"format": "json_schema", "impl": "jsonschema-py", "op": "validate",
                      "records": records, "bytes": nbytes, "seconds": round(t, 3),
                      "records_per_s": round(records / t), "mb_per_s": round(nbytes / t / 1e6, 1),
                      "cpu_seconds": round(cpu, 4), "records_per_cpu_s": round(records / cpu)}))


if __name__ == "__main__":
    main()
