"""The Python flatbuffers library (PyPI flatbuffers) on the shared 20-field record, beside
bench_codecs_flatbuffers: decode (payload -> dict through the generated accessors) and encode
(dict -> payload through the generated builder functions), each for about --seconds. The Python
classes are generated at start with `flatc --python` from flatbuffers_bench.fbs into a temp dir.
One JSON object per line on stdout.

  .venv/bin/python bench/codecs/flatbuffers_ref.py [--seconds N]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import flatbuffers

HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = ["low", "mid", "high"]


def make_record(i):
    uid = bytes(((i >> (8 * k)) & 0xFF) for k in range(8)) + bytes(
        (((i * 31) >> (8 * k)) & 0xFF) for k in range(8))
    cents = i % 100000
    return {
        "id": i, "name": "user-%d" % i, "active": i % 2 == 0, "score": i * 0.25,
        "count": i % 1000, "ts": 1700000000000000 + i, "day": 19000 + i % 365,
        "price": "%d.%02d" % (cents // 100, cents % 100), "uid": uid,
        "tags": ["a%d" % (i % 7), "b%d" % (i % 5), "c"],
        "attrs": {"k1": "v%d" % (i % 3), "k2": "w"}, "payload": bytes([i & 0xFF]) * 16,
        "nested": {"lat": float(i % 90), "lon": float(i % 180)},
        "note": None if i % 2 else "n%d" % i, "level": LEVELS[i % 3],
        "ratio": (i % 100) / 100, "small": i % 128, "big": i * 1000003,
        "city": "city%d" % (i % 50), "country": "country%d" % (i % 20),
    }


def encode(m, b, r):
    R, KV, N = m
    name = b.CreateString(r["name"])
    price = b.CreateString(r["price"])
    uid = b.CreateByteVector(r["uid"])
    tags = [b.CreateString(t) for t in r["tags"]]
    R.StartTagsVector(b, len(tags))
    for t in reversed(tags):
        b.PrependUOffsetTRelative(t)
    tags_v = b.EndVector()
    kvs = []
    for k, v in r["attrs"].items():
        ko, vo = b.CreateString(k), b.CreateString(v)
        KV.Start(b)
        KV.AddKey(b, ko)
        KV.AddValue(b, vo)
        kvs.append(KV.End(b))
    R.StartAttrsVector(b, len(kvs))
    for o in reversed(kvs):
        b.PrependUOffsetTRelative(o)
    attrs_v = b.EndVector()
    payload = b.CreateByteVector(r["payload"])
    note = b.CreateString(r["note"]) if r["note"] is not None else None
    level = b.CreateString(r["level"])
    city = b.CreateString(r["city"])
    country = b.CreateString(r["country"])
    R.Start(b)
    R.AddId(b, r["id"])
    R.AddName(b, name)
    R.AddActive(b, r["active"])
    R.AddScore(b, r["score"])
    R.AddCount(b, r["count"])
    R.AddTs(b, r["ts"])
    R.AddDay(b, r["day"])
    R.AddPrice(b, price)
    R.AddUid(b, uid)
    R.AddTags(b, tags_v)
    R.AddAttrs(b, attrs_v)
    R.AddPayload(b, payload)
    R.AddNested(b, N.CreateNested(b, r["nested"]["lat"], r["nested"]["lon"]))
    if note is not None:
        R.AddNote(b, note)
    R.AddLevel(b, level)
    R.AddRatio(b, r["ratio"])
    R.AddSmall(b, r["small"])
    R.AddBig(b, r["big"])
    R.AddCity(b, city)
    R.AddCountry(b, country)
    b.Finish(R.End(b))
    return b.Output()


def decode(m, data):
    R = m[0]
    x = R.Record.GetRootAs(data, 0)
    nested = x.Nested()
    note = x.Note()
    return {
        "id": x.Id(), "name": x.Name().decode(), "active": x.Active(), "score": x.Score(),
        "count": x.Count(), "ts": x.Ts(), "day": x.Day(), "price": x.Price().decode(),
        "uid": bytes(x.Uid(k) for k in range(x.UidLength())),
        "tags": [x.Tags(k).decode() for k in range(x.TagsLength())],
        "attrs": {a.Key().decode(): a.Value().decode()
                  for a in (x.Attrs(k) for k in range(x.AttrsLength()))},
        "payload": bytes(x.Payload(k) for k in range(x.PayloadLength())),
        "nested": {"lat": nested.Lat(), "lon": nested.Lon()},
        "note": note.decode() if note is not None else None, "level": x.Level().decode(),
        "ratio": x.Ratio(), "small": x.Small(), "big": x.Big(), "city": x.City().decode(),
        "country": x.Country().decode(),
    }


def load(tmp):
    subprocess.run(["flatc", "--python", "-o", tmp, os.path.join(HERE, "flatbuffers_bench.fbs")],
                   check=True)
    sys.path.insert(0, tmp)
    import bench.Record as R  # noqa: E402
    import bench.KV as KV
    import bench.Nested as N
    return R, KV, N


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        m = load(tmp)
        distinct = 10000
        records = [make_record(i) for i in range(distinct)]
        payloads = [bytes(encode(m, flatbuffers.Builder(1024), r)) for r in records]
        # The decoded dicts must be the records (a check, not timed).
        for k in (0, 1, 2, 999):
            got, want = decode(m, payloads[k]), dict(records[k])
            want["ratio"] = got["ratio"]  # float32
            assert got == want, (got, want)

        def report(op, n, nbytes, el):
            cpu = time.thread_time() - c0
            print(json.dumps({"format": "flatbuffers", "impl": "flatbuffers-py", "op": op,
                              "records": n, "bytes": nbytes, "seconds": round(el, 3),
                              "records_per_s": round(n / el), "mb_per_s": round(nbytes / el / 1e6,
                                                                                 1),
                              "cpu_seconds": round(cpu, 4), "records_per_cpu_s": round(n / cpu)},
                             separators=(",", ":")))

        n = nbytes = 0
        t0 = time.perf_counter()
        c0 = time.thread_time()
        while True:
            for k in range(1000):
                p = payloads[(n + k) % distinct]
                decode(m, p)
                nbytes += len(p)
            n += 1000
            el = time.perf_counter() - t0
            if el >= args.seconds:
                break
        report("decode", n, nbytes, el)

        n = nbytes = 0
        t0 = time.perf_counter()
        c0 = time.thread_time()
        while True:
            for k in range(1000):
                b = flatbuffers.Builder(1024)
                nbytes += len(encode(m, b, records[(n + k) % distinct]))
            n += 1000
            el = time.perf_counter() - t0
            if el >= args.seconds:
                break
        report("encode", n, nbytes, el)


if __name__ == "__main__":
    main()
