"""Reads the JSON lines of the codec benchmarks (bench/codecs/run.sh) and prints the table
(Tributary beside each reference of the same format and op) and a JSON summary."""

import json
import sys

# The goal per (format, reference): Tributary's records/s over the reference's (None: a
# baseline without a goal, e.g. the proto codec's former JSON-path encoder). protobuf-upb is
# upb's ParseFromString/SerializeToString alone: the message stays inside upb's C arena and
# no field reaches Python, while the codec builds (or reads) the whole typed record; the
# comparable Python path is protobuf-upb-dict (the message to/from a dict), which carries the
# 3x goal. The parse-only rate is printed as a ceiling without a goal.
GOALS = {"simdjson": 0.5, "tributary-json-path": None, "protobuf-upb": None}
DEFAULT_GOAL = 3.0


def main(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"not a result line: {line!r}", file=sys.stderr)
    ours = {(r["format"], r["op"]): r for r in rows if r["impl"] == "tributary"}
    refs = [r for r in rows if r["impl"] != "tributary"]
    comparisons = []
    for (fmt, op), t in sorted(ours.items()):
        matching = [r for r in refs if r["format"] == fmt and r["op"] == op]
        if not matching:
            comparisons.append({"format": fmt, "op": op, "tributary_records_per_s":
                                t["records_per_s"], "tributary_mb_per_s": t["mb_per_s"],
                                "reference": None, "reference_records_per_s": None,
                                "ratio": None, "goal": None, "met": None})
        for r in matching:
            # CPU rates when both sides have them (a loaded machine moves wall-clock rates by
            # up to 3x between runs, the thread CPU rates much less), else wall-clock rates.
            basis = "cpu" if t.get("records_per_cpu_s") and r.get("records_per_cpu_s") else "wall"
            key = "records_per_cpu_s" if basis == "cpu" else "records_per_s"
            ratio = t[key] / r[key] if r[key] else None
            goal = GOALS.get(r["impl"], DEFAULT_GOAL)
            comparisons.append({
                "format": fmt, "op": op,
                "tributary_records_per_s": t["records_per_s"],
                "tributary_mb_per_s": t["mb_per_s"],
                "reference": r["impl"],
                "reference_records_per_s": r["records_per_s"],
                "reference_mb_per_s": r["mb_per_s"],
                "ratio": round(ratio, 2) if ratio is not None else None,
                "basis": basis,
                "goal": goal,
                "met": None if goal is None else (ratio is not None and ratio >= goal)})
    header = ("format", "op", "tributary rec/s", "MB/s", "reference", "ref rec/s", "ratio",
              "basis", "goal")
    table = [header]
    for c in comparisons:
        table.append((c["format"], c["op"], f'{c["tributary_records_per_s"]:,.0f}',
                      f'{c["tributary_mb_per_s"]:.1f}', c["reference"] or "-",
                      f'{c["reference_records_per_s"]:,.0f}' if c["reference"] else "-",
                      f'{c["ratio"]:.2f}' if c["ratio"] is not None else "-",
                      c.get("basis", "-"),
                      (f'>= {c["goal"]}' + (" ok" if c["met"] else " MISSED"))
                      if c["goal"] is not None else "-"))
    widths = [max(len(str(row[k])) for row in table) for k in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(str(v).rjust(widths[k]) if k >= 2 and k not in (4, 7) else str(v).ljust(widths[k])
                        for k, v in enumerate(row)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print(json.dumps({"results": rows, "comparisons": comparisons}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
