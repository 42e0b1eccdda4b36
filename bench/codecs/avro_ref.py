"""fastavro (the Avro reference) on the shared 20-field benchmark record (see avro_bench.cpp for
the schema): decode (bytes -> dict, schemaless_reader per message) and encode (dict -> bytes,
schemaless_writer per message). Prints one JSON object per line, like bench_codecs_avro.

Run with the project's venv: .venv/bin/python bench/codecs/avro_ref.py [records]
"""

import datetime
import decimal
import io
import json
import sys
import time
import uuid

import fastavro

SCHEMA = {
    "type": "record",
    "name": "BenchRecord",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "active", "type": "boolean"},
        {"name": "score", "type": "double"},
        {"name": "count", "type": "int"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "string"}},
        {"name": "payload", "type": "bytes"},
        {"name": "nested", "type": {"type": "record", "name": "Geo", "fields": [
            {"name": "lat", "type": "double"}, {"name": "lon", "type": "double"}]}},
        {"name": "note", "type": ["null", "string"]},
        {"name": "level", "type": "string"},
        {"name": "ratio", "type": "float"},
        {"name": "small", "type": "int"},
        {"name": "big", "type": "long"},
        {"name": "city", "type": "string"},
        {"name": "country", "type": "string"},
    ],
}

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
DAY0 = datetime.date(1970, 1, 1)


def record(i):
    return {
        "id": i,
        "name": "user-%d" % i,
        "active": i % 2 == 0,
        "score": i * 0.25,
        "count": i % 1000,
        "ts": EPOCH + datetime.timedelta(microseconds=1700000000000000 + i),
        "day": DAY0 + datetime.timedelta(days=19000 + i % 365),
        "price": decimal.Decimal(i % 100000).scaleb(-2),
        "uid": uuid.UUID(bytes=bytes((i + k) & 0xFF for k in range(16))),
        "tags": ["a%d" % (i % 7), "b%d" % (i % 5), "c"],
        "attrs": {"k1": "v%d" % (i % 3), "k2": "w"},
        "payload": bytes([i & 0xFF]) * 16,
        "nested": {"lat": float(i % 90), "lon": float(i % 180)},
        "note": None if i % 2 else "n%d" % i,
        "level": ["low", "mid", "high"][i % 3],
        "ratio": (i % 100) / 100,
        "small": i % 128,
        "big": i * 1000003,
        "city": "city%d" % (i % 50),
        "country": "country%d" % (i % 20),
    }


def emit(op, n, nbytes, seconds, cpu):
    print(json.dumps({"format": "avro", "impl": "fastavro", "op": op, "records": n, "bytes": nbytes,
                      "seconds": round(seconds, 4), "records_per_s": round(n / seconds),
                      "mb_per_s": round(nbytes / seconds / 1e6, 2), "cpu_seconds": round(cpu, 4),
                      "records_per_cpu_s": round(n / cpu)}), flush=True)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    parsed = fastavro.parse_schema(SCHEMA)
    records = [record(i) for i in range(n)]
    payloads = []
    t0, c0 = time.perf_counter(), time.thread_time()
    for r in records:
        b = io.BytesIO()
        fastavro.schemaless_writer(b, parsed, r)
        payloads.append(b.getvalue())
    enc, enc_cpu = time.perf_counter() - t0, time.thread_time() - c0
    nbytes = sum(len(p) for p in payloads)
    emit("encode", n, nbytes, enc, enc_cpu)
    t0, c0 = time.perf_counter(), time.thread_time()
    for p in payloads:
        fastavro.schemaless_reader(io.BytesIO(p), parsed, None)
    emit("decode", n, nbytes, time.perf_counter() - t0, time.thread_time() - c0)


if __name__ == "__main__":
    main()
