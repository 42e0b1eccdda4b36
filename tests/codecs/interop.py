"""Cross-checks Tributary's msgpack and proto codecs against the reference Python libraries
(msgpack, protobuf). Driven by python_interop_test.cpp in two steps:

  interop.py write DIR   Python encodes its corpus: DIR/mp_K.bin, DIR/pb_K.bin (+ corpus.desc)
  (the C++ test decodes those, re-encodes them, and writes its own encodings and JSON forms)
  interop.py check DIR   Python decodes what C++ wrote and compares with what it meant

Exit status 0 when every comparison holds; otherwise the differences are printed.
"""

import base64
import datetime
import json
import os
import subprocess
import sys

import msgpack
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "data", "codecs", "proto")

UTC = datetime.timezone.utc

# --- msgpack ------------------------------------------------------------------------------------

MSGPACK_CORPUS = [
    None,
    True,
    0,
    -1,
    127,
    128,
    -33,
    65535,
    2**32,
    -(2**63),
    2**64 - 1,
    1.5,
    -0.0,
    "",
    "é😀 unicode",
    "x" * 300,
    b"",
    b"\x00\xff" * 200,
    [],
    [None, [1, [2, [3]]]],
    {"id": 7, "tags": ["a", "b"], "nested": {"deep": {"deeper": [1.25, None]}}},
    {1: "int key", "s": "str key"},
    msgpack.Timestamp(0, 0),
    msgpack.Timestamp(1700000000, 0),
    msgpack.Timestamp(1700000000, 123456789),
    msgpack.Timestamp(2**34, 1),  # the 96-bit form
    msgpack.Timestamp(-1, 500000000),  # before the epoch: 96-bit form
    {"at": msgpack.Timestamp(1, 1), "blob": b"\x01\x02", "price": "10.50", "name": "Zoë"},
    list(range(20)),
    {"k%d" % i: i for i in range(20)},
]


def b64(b):
    return base64.b64encode(b).decode()


def rfc3339(ts):
    secs, nanos = ts.seconds, ts.nanoseconds
    d = datetime.datetime(1970, 1, 1, tzinfo=UTC) + datetime.timedelta(seconds=secs)
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        if nanos % 1000000 == 0:
            s += ".%03d" % (nanos // 1000000)
        elif nanos % 1000 == 0:
            s += ".%06d" % (nanos // 1000)
        else:
            s += ".%09d" % nanos
    return s + "Z"


def jsonable(v):
    """The JSON form Tributary's typed model gives a msgpack value (value.h's rules)."""
    if isinstance(v, bytes):
        return b64(v)
    if isinstance(v, msgpack.Timestamp):
        return rfc3339(v)
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else json.dumps(k)): jsonable(x) for k, x in v.items()}
    return v


# What the C++ test encodes (its own corpus, see python_interop_test.cpp), as Python expects
# to read it back.
MSGPACK_FROM_CPP = {
    "cpp_0": {"id": 1, "name": "é😀", "ok": True, "none": None, "ratio": 0.5,
              "list": [1, -2, 3000000000], "nested": {"a": {"b": []}}},
    "cpp_1": {"at": msgpack.Timestamp(1700000000, 5), "blob": b"\x00\x01\xfe",
              "price": "-12.3400", "day": "2024-02-29",
              "id": "123e4567-e89b-12d3-a456-426614174000"},
    "cpp_2": [None, 18446744073709551615, -9223372036854775808, 1e300],
}

# --- protobuf -----------------------------------------------------------------------------------

PROTO_CORPUS = [
    {},
    {"id": "sensor-1", "big": "-9223372036854775808", "ubig": "18446744073709551615",
     "delta": -5, "value": 21.5, "ratio": 0.25, "ok": True, "raw": "AAEC/w==",
     "unit": "KELVIN"},
    {"tags": ["a", "b", "é😀"], "counts": {"x": 1, "y": -2},
     "points": {"-3": {"x": 1.5, "label": "p"}, "4": {}}, "origin": {"x": 0.5, "y": -0.5}},
    {"at": "2024-05-06T07:08:09.123456789Z", "took": "-1.500s", "maybe": "42",
     "extra": {"k": [1, "two", None, {"z": False}]},
     "detail": {"@type": "type.googleapis.com/trib.common.Point", "x": 2, "label": "in any"}},
    {"text": "oneof text", "path": [{"x": 1}, {"y": 2}], "opt": 0, "mask": "a.b,cD",
     "f32": 4294967295, "sf64": "-1", "packed": [1, -1, 300],
     "child": {"id": "kid", "child": {"unit": "CELSIUS"}}},
    {"number": -7, "at": "0001-01-01T00:00:00Z",
     "detail": {"@type": "type.googleapis.com/google.protobuf.Timestamp",
                "value": "9999-12-31T23:59:59.999999999Z"}},
]

# JSON the C++ side encodes with its schema_path codec (python_interop_test.cpp writes each
# input next to the bytes: cpp_pb_K.in.json).


def load_pool(d):
    desc = os.path.join(d, "corpus.desc")
    with open(desc, "rb") as f:
        fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("trib.test.Reading")), pool


def write(d):
    for k, v in enumerate(MSGPACK_CORPUS):
        with open(os.path.join(d, "mp_%d.bin" % k), "wb") as f:
            f.write(msgpack.packb(v))
    subprocess.run(
        ["protoc", "--include_imports", "--descriptor_set_out=" + os.path.join(d, "corpus.desc"),
         "-I", PROTO_DIR, "-I", os.path.join(PROTO_DIR, "include"),
         os.path.join(PROTO_DIR, "corpus.proto")], check=True)
    reading, pool = load_pool(d)
    for k, v in enumerate(PROTO_CORPUS):
        m = json_format.ParseDict(v, reading(), descriptor_pool=pool)
        with open(os.path.join(d, "pb_%d.bin" % k), "wb") as f:
            f.write(m.SerializeToString())


def check(d):
    problems = []
    # msgpack: Python -> C++ (decode; its JSON form; the bytes it re-encodes).
    for k, v in enumerate(MSGPACK_CORPUS):
        with open(os.path.join(d, "mp_%d.cpp.json" % k)) as f:
            got = json.load(f)
        want = jsonable(v)
        if got != want and not (isinstance(want, float) and want == got):
            problems.append("mp_%d: C++ decoded %r, Python packed %r" % (k, got, want))
        with open(os.path.join(d, "mp_%d.cpp.bin" % k), "rb") as f:
            again = f.read()
        if again != msgpack.packb(v):
            problems.append("mp_%d: C++ re-encoded %s, Python %s" %
                            (k, again.hex(), msgpack.packb(v).hex()))
    # msgpack: C++ -> Python.
    for name, want in MSGPACK_FROM_CPP.items():
        with open(os.path.join(d, name + ".bin"), "rb") as f:
            got = msgpack.unpackb(f.read(), strict_map_key=False)
        if got != want:
            problems.append("%s: Python unpacked %r, expected %r" % (name, got, want))
        if msgpack.packb(got) != open(os.path.join(d, name + ".bin"), "rb").read():
            problems.append("%s: C++ did not write the smallest forms msgpack-python writes" %
                            name)
    # protobuf: Python -> C++ -> Python, through C++'s JSON form and its re-encoded bytes.
    reading, pool = load_pool(d)
    for k, v in enumerate(PROTO_CORPUS):
        want = json_format.ParseDict(v, reading(), descriptor_pool=pool)
        with open(os.path.join(d, "pb_%d.cpp.json" % k)) as f:
            cpp_json = json.load(f)
        try:
            got = json_format.ParseDict(cpp_json, reading(), descriptor_pool=pool)
        except json_format.ParseError as e:
            problems.append("pb_%d: C++ JSON %r does not parse: %s" % (k, cpp_json, e))
            continue
        if got != want:
            problems.append("pb_%d: C++ JSON %r != %r" % (k, cpp_json, v))
        with open(os.path.join(d, "pb_%d.cpp.bin" % k), "rb") as f:
            again = reading.FromString(f.read())
        if again != want:
            problems.append("pb_%d: C++ re-encoded bytes decode to %s" % (k, again))
    # protobuf: C++ (schema_path) -> Python.
    k = 0
    while os.path.exists(os.path.join(d, "cpp_pb_%d.bin" % k)):
        with open(os.path.join(d, "cpp_pb_%d.in.json" % k)) as f:
            want = json_format.Parse(f.read(), reading(), descriptor_pool=pool)
        with open(os.path.join(d, "cpp_pb_%d.bin" % k), "rb") as f:
            got = reading.FromString(f.read())
        if got != want:
            problems.append("cpp_pb_%d: Python read %s, expected %s" % (k, got, want))
        k += 1
    if k == 0:
        problems.append("no cpp_pb_* files: the C++ side wrote nothing")
    for p in problems:
        print(p)
    print("interop: %d msgpack + %d proto values from Python, %d + %d from C++, %d problems" %
          (len(MSGPACK_CORPUS), len(PROTO_CORPUS), len(MSGPACK_FROM_CPP), k, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2]))
