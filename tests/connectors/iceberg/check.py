"""Reads an Iceberg table through the REST catalog with pyiceberg (and its data files with
pyarrow.parquet) for the Iceberg sink's tests. Prints key=value lines.

Usage: check.py URI TABLE read [KEY]      rows, distinct KEY (default id) values, their sum and
                                          highest count, snapshots, summary props
       check.py URI TABLE append N FIRST  appends N rows (ids FIRST..) as another writer
"""
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import load_catalog


def main():
    uri, table, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    cat = load_catalog("t", type="rest", uri=uri)
    t = cat.load_table(table)
    if mode == "append":
        n, first = int(sys.argv[4]), int(sys.argv[5])
        schema = t.schema().as_arrow()
        cols = {}
        for f in schema:
            if f.name == "id":
                cols[f.name] = pa.array(range(first, first + n), pa.int64())
            else:
                cols[f.name] = pa.nulls(n, f.type)
        t.append(pa.Table.from_pydict(cols, schema=schema))
        print("appended=%d" % n)
        return
    data = t.scan().to_arrow()
    print("rows=%d" % data.num_rows)
    key = sys.argv[4] if len(sys.argv) > 4 else "id"
    if key in data.column_names:
        ids = data.column(key).to_pylist()
        counts = {}
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
        print("distinct_ids=%d" % len(counts))
        print("id_sum=%d" % sum(i for i in ids if i is not None))
        print("max_per_id=%d" % max(counts.values(), default=0))
    if "name" in data.column_names:
        names = sorted(x for x in data.column("name").to_pylist() if x is not None)
        print("name_first=%s" % (names[0] if names else ""))
    snaps = t.snapshots()
    print("snapshots=%d" % len(snaps))
    for s in snaps:
        for k, v in s.summary.additional_properties.items():
            if k.startswith("tributary."):
                print("prop.%d.%s=%s" % (s.snapshot_id, k, v))
    cur = t.current_snapshot()
    if cur is not None:
        print("current_records=%s" % cur.summary.additional_properties.get("total-records", ""))
    # The data files themselves, read with pyarrow: rows and Iceberg field ids.
    files = t.inspect.files()
    prows = 0
    field_ids = True
    for path in files.column("file_path").to_pylist():
        local = path[len("file://"):] if path.startswith("file://") else path
        pf = pq.ParquetFile(local)
        prows += pf.metadata.num_rows
        for i in range(len(pf.schema_arrow)):
            md = pf.schema_arrow.field(i).metadata or {}
            if b"PARQUET:field_id" not in md:
                field_ids = False
    print("files=%d" % files.num_rows)
    print("parquet_rows=%d" % prows)
    print("field_ids=%s" % ("yes" if field_ids else "no"))
    lb = files.column("lower_bounds").to_pylist()
    print("bounds=%s" % ("yes" if all(x for x in lb) else "no"))


if __name__ == "__main__":
    main()
