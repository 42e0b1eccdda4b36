"""The baseline of bench/iceberg: pyiceberg's table.append of the same rows the sink writes
(JSON payloads {"id", "name", "score", "ts"} parsed into an Arrow table per batch), into a new
table of the same REST catalog. Prints one JSON record.

Usage: append_ref.py URI TABLE MESSAGES BATCH
"""
import json
import sys
import time
from datetime import datetime, timezone

import pyarrow as pa
from pyiceberg.catalog import load_catalog


def payload(i):
    return '{"id":%d,"name":"user-%d","score":%s,"ts":"2026-12-07T10:00:00Z"}' % (
        i, i, repr(i * 0.25))


def main():
    uri, table, n, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cat = load_catalog("b", type="rest", uri=uri)
    ns = table.split(".")[0]
    cat.create_namespace_if_not_exists(ns)
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64()),
                        ("ts", pa.timestamp("us", tz="UTC"))])
    t = cat.create_table_if_not_exists(table, schema=schema)
    payloads = [payload(i) for i in range(n)]
    start = time.monotonic()
    for first in range(0, n, batch):
        rows = [json.loads(p) for p in payloads[first:first + batch]]
        for r in rows:
            r["ts"] = datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).astimezone(
                timezone.utc)
        t.append(pa.Table.from_pylist(rows, schema=schema))
    secs = time.monotonic() - start
    t = cat.load_table(table)
    print(json.dumps({"bench": "iceberg", "impl": "pyiceberg-append", "messages": n,
                      "batches": (n + batch - 1) // batch, "seconds": round(secs, 3),
                      "rows_per_s": round(n / secs), "table_rows": t.scan().to_arrow().num_rows}))


if __name__ == "__main__":
    main()
