"""Python half of bson_test: pymongo 4.20's bson module (C extension) against the bson codec.

gen DIR   writes a corpus: DIR/doc_N.bson (pymongo's bytes), DIR/doc_N.json (the JSON form the
          typed model gives them, computed here from the Python objects), DIR/enc_N.json (JSON
          documents) with DIR/enc_N.bson (pymongo's encoding of json.loads of them).
check DIR decodes DIR/doc_N.ours.bson (the codec's re-encoding of doc_N.bson) with pymongo and
          compares with what a round trip through the model keeps of the original; then
          DIR/enc_N.ours.bson (the codec's encoding of enc_N.json) byte for byte with
          enc_N.bson. Prints "ok N" or the differences and exits 1.
"""
import base64
import datetime
import json
import math
import os
import sys
import uuid

import bson
from bson import Binary, Decimal128, Int64, ObjectId, Timestamp
from bson.codec_options import CodecOptions
from bson.binary import UuidRepresentation

OPTS = CodecOptions(uuid_representation=UuidRepresentation.STANDARD, tz_aware=True)
UTC = datetime.timezone.utc


def corpus():
    u = uuid.UUID("12345678-9abc-def0-1234-56789abcdef0")
    return [
        {"a": 1, "b": "x", "c": True, "d": None},
        {"int32": 2147483647, "int64": Int64(2147483648), "neg": -2147483649, "small": Int64(5)},
        {"d": 1.5, "neg": -0.25, "big": 1e300, "tiny": 5e-324, "nan": float("nan"),
         "inf": float("inf"), "ninf": float("-inf")},
        {"s": "héllo 日本 😀", "empty": "", "nested": {"k": [1, "two", {"three": 3.0}]}},
        {"bin": Binary(b"\x00\x01\xff", 0), "uuid": u, "oid": ObjectId("5f2b3c4d5e6f708192a3b4c5")},
        {"when": datetime.datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC),
         "epoch": datetime.datetime(1970, 1, 1, tzinfo=UTC),
         "before": datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)},
        {"dec": Decimal128("12.50"), "exp": Decimal128("1.23E+5"), "small": Decimal128("-0.001"),
         "zero": Decimal128("0E-10"), "negzero": Decimal128("-0"),
         "long": Decimal128("1234567890123456789012345678901234")},
        {"ts": Timestamp(1700000000, 7)},
        {"list": [], "doc": {}, "deep": [[[[{"x": [1]}]]]]},
        {"dup": 1, "other": [None, False, 0, "", []]},
    ]


def model_json(v):
    """The JSON form the typed model gives a decoded value (value.h to_json)."""
    if isinstance(v, dict):
        return {k: model_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [model_json(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (bytes, Binary)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, ObjectId):
        return str(v)
    if isinstance(v, datetime.datetime):
        ms = v.microsecond // 1000
        frac = "" if ms == 0 else ".%03d" % ms
        return v.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"
    if isinstance(v, Decimal128):
        return format(v.to_decimal(), "f")
    if isinstance(v, Timestamp):
        return {"t": v.time, "i": v.inc}
    raise TypeError(type(v))


def after_round_trip(v):
    """What a decode + encode through the typed model keeps of a value."""
    if isinstance(v, dict):
        return {k: after_round_trip(x) for k, x in v.items()}
    if isinstance(v, list):
        return [after_round_trip(x) for x in v]
    if isinstance(v, ObjectId):
        return str(v)  # ObjectId -> string
    if isinstance(v, Timestamp):
        return {"t": v.time, "i": v.inc}
    if isinstance(v, Binary) and v.subtype == 0:
        return bytes(v)
    if isinstance(v, Decimal128):
        # The model's decimal text has no exponent: 1.23E+5 comes back as 123000 (same value,
        # another cohort).
        return Decimal128(format(v.to_decimal(), "f"))
    return v


ENCODE = [
    '{"a": 1, "b": -2147483649, "c": 2147483648, "d": 1.5, "e": "x", "f": null, "g": true}',
    '{"nested": {"list": [1, [2, [3]], {"k": "v"}], "empty": {}}, "arr": []}',
    '{"unicode": "h\\u00e9llo \\u65e5\\u672c \\ud83d\\ude00", "zero": 0, "negzero": -0.0}',
    '{"big": 9223372036854775807, "small": -9223372036854775808, "f": 1e-7}',
]


def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) == type(b) and a == b


def main():
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "gen":
        for i, doc in enumerate(corpus()):
            with open(os.path.join(d, "doc_%d.bson" % i), "wb") as f:
                f.write(bson.encode(doc, codec_options=OPTS))
            with open(os.path.join(d, "doc_%d.json" % i), "w") as f:
                json.dump(model_json(doc), f)
        for i, text in enumerate(ENCODE):
            with open(os.path.join(d, "enc_%d.json" % i), "w") as f:
                f.write(text)
            with open(os.path.join(d, "enc_%d.bson" % i), "wb") as f:
                f.write(bson.encode(json.loads(text), codec_options=OPTS))
        return 0
    bad = 0
    n = 0
    for i, doc in enumerate(corpus()):
        with open(os.path.join(d, "doc_%d.ours.bson" % i), "rb") as f:
            ours = bson.decode(f.read(), codec_options=OPTS)
        want = after_round_trip(doc)
        # Int64 and int compare equal in Python; the codec writes int32 where it fits.
        if not same(json.loads(json.dumps(ours, default=str)), json.loads(json.dumps(want, default=str))) or not same(
                {k: type(v).__name__ for k, v in ours.items() if not isinstance(v, int)},
                {k: type(v).__name__ for k, v in want.items() if not isinstance(v, int)}):
            print("doc_%d: ours %r != %r" % (i, ours, want))
            bad += 1
        n += 1
    for i, text in enumerate(ENCODE):
        with open(os.path.join(d, "enc_%d.ours.bson" % i), "rb") as f:
            ours = f.read()
        with open(os.path.join(d, "enc_%d.bson" % i), "rb") as f:
            want = f.read()
        if ours != want:
            print("enc_%d: ours %s != pymongo %s" % (i, ours.hex(), want.hex()))
            bad += 1
        n += 1
    if bad:
        return 1
    print("ok %d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
