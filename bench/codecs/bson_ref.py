"""Reference for bench_codecs_bson: pymongo's bson module (C extension) on the shared 20-field
record (bench/codecs/README.md), with the same BSON types as bson_bench.cpp: day and ts as UTC
datetimes (ts cut to milliseconds), price Decimal128, uid a UUID (binary subtype 4), payload
bytes, ratio a double. Decodes to dicts, encodes from them. Prints JSON lines only.

Usage: python bson_ref.py [seconds per op, default 1]"""
import datetime
import json
import struct
import sys
import time
import uuid

import bson
from bson import Decimal128
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions

OPTS = CodecOptions(uuid_representation=UuidRepresentation.STANDARD, tz_aware=True)
UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
LEVELS = ["low", "mid", "high"]


def record(i):
    ts = 1700000000000000 + i
    c = i % 100000
    u = struct.pack("<q", i) * 2
    return {
        "id": i,
        "name": "user-%d" % i,
        "active": i % 2 == 0,
        "score": i * 0.25,
        "count": i % 1000,
        "ts": EPOCH + datetime.timedelta(microseconds=ts - ts % 1000),
        "day": EPOCH + datetime.timedelta(days=19000 + i % 365),
        "price": Decimal128("%d.%02d" % (c // 100, c % 100)),
        "uid": uuid.UUID(bytes=u),
        "tags": ["a%d" % (i % 7), "b%d" % (i % 5), "c"],
        "attrs": {"k1": "v%d" % (i % 3), "k2": "w"},
        "payload": bytes([i & 0xFF]) * 16,
        "nested": {"lat": float(i % 90), "lon": float(i % 180)},
        "note": None if i % 2 else "n%d" % i,
        "level": LEVELS[i % 3],
        "ratio": struct.unpack("f", struct.pack("f", (i % 100) / 100))[0],
        "small": i % 128,
        "big": i * 1000003,
        "city": "city%d" % (i % 50),
        "country": "country%d" % (i % 20),
    }


def line(op, records, nbytes, secs, cpu):
    print(json.dumps({"format": "bson", "impl": "pymongo-bson", "op": op, "records": records,
                      "bytes": nbytes, "seconds": round(secs, 3),
                      "records_per_s": round(records / secs),
                      "mb_per_s": round(nbytes / secs / 1e6, 1), "cpu_seconds": round(cpu, 4),
                      "records_per_cpu_s": round(records / cpu)}))


def main():
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    docs = [record(i) for i in range(10000)]
    encoded = [bson.encode(d, codec_options=OPTS) for d in docs]
    batch = 1000
    records = nbytes = 0
    t0, c0 = time.perf_counter(), time.thread_time()
    while True:
        base = (records // batch) % 10 * batch
        for d in docs[base:base + batch]:
            nbytes += len(bson.encode(d, codec_options=OPTS))
        records += batch
        t = time.perf_counter() - t0
        if t >= budget:
            break
    line("encode", records, nbytes, t, time.thread_time() - c0)
    records = nbytes = 0
    t0, c0 = time.perf_counter(), time.thread_time()
    while True:
        base = (records // batch) % 10 * batch
        for b in encoded[base:base + batch]:
            bson.decode(b, codec_options=OPTS)
            nbytes += len(b)
        records += batch
        t = time.perf_counter() - t0
        if t >= budget:
            break
    line("decode", records, nbytes, t, time.thread_time() - c0)


if __name__ == "__main__":
    main()
