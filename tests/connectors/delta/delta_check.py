#!/usr/bin/env python3
"""Reads a Delta table the way its users would, for the delta sink's tests: the `deltalake`
reader (delta-rs), pyarrow and DuckDB on the data files. Prints one JSON object."""
import json
import os
import sys


def summary(table, column):
    import duckdb
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    dt = DeltaTable(table)
    t = dt.to_pyarrow_table()
    out = {"version": dt.version(), "rows": t.num_rows,
           "columns": [f.name for f in t.schema],
           "types": {f.name: str(f.type) for f in t.schema}}
    if column and column in t.column_names:
        vals = [v for v in t.column(column).to_pylist() if v is not None]
        s = set(vals)
        out["distinct"] = len(s)
        out["min"] = min(vals) if vals else None
        out["max"] = max(vals) if vals else None
    # The data files through pyarrow and DuckDB, as the log lists them.
    files = dt.file_uris()
    out["files"] = len(files)
    paths = [f[len("file://"):] if f.startswith("file://") else f for f in files]
    out["pyarrow_rows"] = sum(pq.read_metadata(p).num_rows for p in paths)
    if paths:
        con = duckdb.connect()
        out["duckdb_rows"] = con.execute(
            "select count(*) from read_parquet(?)", [paths]).fetchone()[0]
    else:
        out["duckdb_rows"] = 0
    hist = dt.history()
    out["history"] = len(hist)
    return out


def main():
    cmd, table = sys.argv[1], sys.argv[2]
    if cmd == "summary":
        print(json.dumps(summary(table, sys.argv[3] if len(sys.argv) > 3 else None)))
    elif cmd == "rows":
        from deltalake import DeltaTable
        t = DeltaTable(table).to_pyarrow_table()
        rows = t.to_pylist()
        print(json.dumps(rows, default=str, sort_keys=True))
    elif cmd == "txn":
        from deltalake import DeltaTable
        print(json.dumps({"version": DeltaTable(table).transaction_version(sys.argv[3])}))
    elif cmd == "append":
        # Another writer: n rows {"id": start + i, "name": "py"} appended with write_deltalake.
        import pyarrow as pa
        from deltalake import DeltaTable, write_deltalake
        n, start = int(sys.argv[3]), int(sys.argv[4])
        dt = DeltaTable(table)
        schema = pa.schema(dt.schema().to_arrow())
        cols = {}
        for f in schema:
            if f.name == "id":
                cols["id"] = pa.array(range(start, start + n), type=f.type)
            elif f.name == "name":
                cols["name"] = pa.array(["py"] * n, type=f.type)
            else:
                cols[f.name] = pa.nulls(n, type=f.type)
        write_deltalake(table, pa.table(cols, schema=schema), mode="append")
        print(json.dumps({"version": DeltaTable(table).version()}))
    elif cmd == "checkpoint":
        # A checkpoint, then the commits it covers removed (as log cleanup does): a reader must
        # start from the checkpoint.
        from deltalake import DeltaTable
        dt = DeltaTable(table)
        dt.create_checkpoint()
        v = dt.version()
        log = os.path.join(table, "_delta_log")
        for name in os.listdir(log):
            if name.endswith(".json") and len(name) == 25 and int(name[:20]) < v:
                os.remove(os.path.join(log, name))
        print(json.dumps({"version": v, "log": sorted(os.listdir(log))}))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
