"""Reads the Parquet and Avro objects the S3 sink wrote (copied into a folder by
columnar_test.cpp) with the reference readers and prints what they found, one `key=value` per
line, for the C++ test to compare with what it sent.

Usage: columnar_check.py parquet|avro DIR
- parquet: every *.parquet through pyarrow (pq.ParquetFile: schema types, codec, row groups, rows,
  values) and DuckDB (read_parquet over the folder: count, sum, distinct offsets).
- avro: every *.avro through fastavro (codec, schema field types, records, values).
Exits 1 with the reason when a reader fails or a value is not what the payload said.
"""
import glob
import json
import os
import sys


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def check_row(r, where):
    # The payloads are {"n": offset, "device": "d<offset % 3>", "temp": offset + 0.5,
    # "ok": offset even, "geo": {"lat": offset}}.
    off = r["iggy_offset"]
    if r["n"] != off:
        fail(f"{where}: n {r['n']} != iggy_offset {off}")
    if r["device"] != f"d{off % 3}":
        fail(f"{where}: device {r['device']!r} at offset {off}")
    if abs(r["temp"] - (off + 0.5)) > 1e-9:
        fail(f"{where}: temp {r['temp']} at offset {off}")
    if r["ok"] != (off % 2 == 0):
        fail(f"{where}: ok {r['ok']} at offset {off}")
    if json.loads(r["geo"]) != {"lat": off}:
        fail(f"{where}: geo {r['geo']!r} at offset {off}")


def parquet(d):
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(glob.glob(os.path.join(d, "*.parquet")))
    if not files:
        fail("no .parquet files")
    offsets = []
    codecs = set()
    groups = 0
    for f in files:
        pf = pq.ParquetFile(f)
        s = pf.schema_arrow
        want = {
            "iggy_offset": pa.int64(),
            "iggy_timestamp": pa.timestamp("us", tz="UTC"),
            "iggy_stream": pa.string(),
            "iggy_partition_id": pa.int64(),
            "n": pa.int64(),
            "device": pa.string(),
            "temp": pa.float64(),
            "ok": pa.bool_(),
            "geo": pa.string(),
        }
        for name, t in want.items():
            if s.field(name).type != t:
                fail(f"{f}: column {name} is {s.field(name).type}, not {t}")
        md = pf.metadata
        groups += md.num_row_groups
        for g in range(md.num_row_groups):
            for c in range(md.num_columns):
                codecs.add(md.row_group(g).column(c).compression)
        t = pf.read()
        if t.num_rows != md.num_rows:
            fail(f"{f}: {t.num_rows} rows read, metadata says {md.num_rows}")
        for r in t.to_pylist():
            check_row(r, os.path.basename(f))
            offsets.append(r["iggy_offset"])
        # The name holds the offset range.
        first, last = os.path.basename(f).split(".")[0].split("_")[-1].split("-")
        got = [r["iggy_offset"] for r in t.to_pylist()]
        if got and (min(got) < int(first) or max(got) > int(last)):
            fail(f"{f}: offsets {min(got)}..{max(got)} outside its name")
    con = duckdb.connect()
    q = con.execute(
        "select count(*), count(distinct iggy_offset), sum(n), min(iggy_timestamp) is not null "
        f"from read_parquet('{d}/*.parquet')").fetchone()
    print(f"files={len(files)}")
    print(f"pyarrow_rows={len(offsets)}")
    print(f"pyarrow_distinct={len(set(offsets))}")
    print(f"row_groups={groups}")
    print(f"codecs={','.join(sorted(codecs))}")
    print(f"duckdb_rows={q[0]}")
    print(f"duckdb_distinct={q[1]}")
    print(f"duckdb_sum_n={q[2]}")
    print(f"duckdb_ts={q[3]}")


def avro(d):
    import fastavro

    files = sorted(glob.glob(os.path.join(d, "*.avro")))
    if not files:
        fail("no .avro files")
    offsets = []
    codecs = set()
    for f in files:
        with open(f, "rb") as fh:
            rd = fastavro.reader(fh)
            codecs.add(rd.codec)
            fields = {x["name"]: x["type"] for x in rd.writer_schema["fields"]}
            if fields["n"] != ["null", "long"] or fields["temp"] != ["null", "double"]:
                fail(f"{f}: field types {fields}")
            for r in rd:
                check_row(r, os.path.basename(f))
                if r["iggy_timestamp"].tzinfo is None:
                    fail(f"{f}: iggy_timestamp without a zone")
                offsets.append(r["iggy_offset"])
    print(f"files={len(files)}")
    print(f"fastavro_rows={len(offsets)}")
    print(f"fastavro_distinct={len(set(offsets))}")
    print(f"codecs={','.join(sorted(codecs))}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        fail("usage: columnar_check.py parquet|avro DIR")
    {"parquet": parquet, "avro": avro}[sys.argv[1]](sys.argv[2])
