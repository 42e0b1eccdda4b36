#!/usr/bin/env python3
"""Baseline of bench/delta: deltalake's write_deltalake (delta-rs) appending the same JSON rows
in the same batches (one commit each): json.loads, pyarrow.Table.from_pylist with the table's
schema, write_deltalake(mode="append"). Timed from the first parse to the last commit, like the
sink (which also parses the JSON). Prints one JSON record."""
import json
import os
import resource
import sys
import time

import pyarrow as pa
from deltalake import write_deltalake

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("active", pa.bool_()),
                    ("score", pa.float64()), ("count", pa.int32()), ("ts", pa.int64()),
                    ("city", pa.string()), ("note", pa.string())])


def main():
    path, table, batch, compression = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(path) as f:
        lines = f.read().splitlines()
    in_bytes = sum(len(x) for x in lines)
    from deltalake import WriterProperties
    props = WriterProperties(compression=compression.upper() if compression != "none"
                             else "UNCOMPRESSED")
    t0 = time.perf_counter()
    commits = 0
    for first in range(0, len(lines), batch):
        rows = [json.loads(x) for x in lines[first:first + batch]]
        write_deltalake(table, pa.Table.from_pylist(rows, schema=SCHEMA), mode="append",
                        writer_properties=props)
        commits += 1
    secs = time.perf_counter() - t0
    size = 0
    for root, _, files in os.walk(table):
        size += sum(os.path.getsize(os.path.join(root, n)) for n in files)
    print(json.dumps({"bench": "delta", "impl": "deltalake-write_deltalake", "op": "append",
                      "rows": len(lines), "commits": commits, "input_bytes": in_bytes,
                      "table_bytes": size, "seconds": round(secs, 3),
                      "rows_per_s": round(len(lines) / secs), "mb_per_s":
                      round(in_bytes / 1e6 / secs, 2),
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
