"""Cross-checks Tributary's avro codec against fastavro 1.13 (PyPI, the project's .venv). Driven by
avro_interop_test.cpp in two steps:

  avro_interop.py write DIR   fastavro writes its corpus (tests/data/codecs/avro/event.avsc):
                              DIR/bin_K.bin (bare datums), DIR/so_K.bin (single-object encoding,
                              fingerprint from fastavro), DIR/ocf_<codec>.avro (container files
                              with each codec), DIR/res_K.bin (written with event.avsc, to be read
                              through event_reader.avsc)
  (the C++ test decodes those and writes their JSON forms, and writes its own encodings)
  avro_interop.py check DIR   compares the C++ JSON forms with the forms of what fastavro meant
                              (and, for resolution, what fastavro's own resolution gives), and
                              reads every C++ encoding back with fastavro

Exit status 0 when every comparison holds; otherwise the differences are printed.
"""

import base64
import datetime
import decimal
import io
import json
import os
import struct
import sys
import uuid

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

HERE = os.path.dirname(os.path.abspath(__file__))
AVRO_DIR = os.path.join(HERE, "..", "data", "codecs", "avro")
UTC = datetime.timezone.utc
CODECS = ["null", "deflate", "snappy", "zstandard"]


def load(name):
    with open(os.path.join(AVRO_DIR, name)) as f:
        return json.load(f)


WRITER = load("event.avsc")
READER = load("event_reader.avsc")


def corpus():
    base = {
        "id": 1,
        "name": "plain",
        "ok": True,
        "score": 0.5,
        "ratio": 0.25,
        "count": 7,
        "note": None,
        "choice": None,
        "tags": [],
        "attrs": {},
        "price": decimal.Decimal("0.00"),
        "fprice": decimal.Decimal("0.0000"),
        "uid": uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
        "day": datetime.date(1970, 1, 1),
        "tms": datetime.time(0, 0, 0),
        "tus": datetime.time(0, 0, 0),
        "ts_ms": datetime.datetime(1970, 1, 1, tzinfo=UTC),
        "ts_us": datetime.datetime(1970, 1, 1, tzinfo=UTC),
        "lts": datetime.datetime(1970, 1, 1),
        "level": "LOW",
        "blob": b"",
        "hash": b"\x00\x00\x00\x00",
        "nested": {"a": []},
    }
    out = [dict(base)]
    out.append(
        dict(
            base,
            id=-(2**63),
            name="Zoë 😀 日本語 \"quoted\" \\ \n\t\u0001",
            ok=False,
            score=-1.5e300,
            ratio=-3.5,
            count=-(2**31),
            note="a note",
            choice=42,
            tags=["a", "", "é" * 100],
            attrs={"k1": 1, "": -(2**63), "ключ": 2**63 - 1},
            price=decimal.Decimal("-12345678901234567.89"),
            fprice=decimal.Decimal("-0.0001"),
            uid=uuid.UUID("00000000-0000-0000-0000-000000000000"),
            day=datetime.date(2024, 2, 29),
            tms=datetime.time(12, 34, 56, 789000),
            tus=datetime.time(23, 59, 59, 999999),
            ts_ms=datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
            ts_us=datetime.datetime(2023, 11, 14, 22, 13, 20, 1, tzinfo=UTC),
            lts=datetime.datetime(2000, 1, 1, 12, 0, 0, 500000),
            level="HIGH",
            blob=bytes(range(256)),
            hash=b"\xde\xad\xbe\xef",
            nested={"a": [{"p": {"x": 1, "y": -1}, "q": None}, {}, {"z": {"x": 0, "y": 0}}]},
        )
    )
    out.append(dict(base, choice="text", price=decimal.Decimal("99.99"), level="MID"))
    out.append(dict(base, choice={"x": 3, "y": 4}, fprice=decimal.Decimal("99999999999999.9999")))
    out.append(dict(base, choice=-1, note="", tags=["x"] * 50, attrs={"k%d" % i: i for i in range(40)}))
    out.append(
        dict(
            base,
            ts_us=datetime.datetime(1, 1, 1, tzinfo=UTC),
            ts_ms=datetime.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
            price=decimal.Decimal("-0.01"),
            score=float("1e-300"),
        )
    )
    return out


# --- the JSON form Tributary gives an Avro value (value.h's choices) ----------------------------


def rfc3339(dt):
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    us = dt.microsecond
    if us:
        s += ".%03d" % (us // 1000) if us % 1000 == 0 else ".%06d" % us
    return s.rjust(19, "0") + "Z" if len(s) < 19 else s + "Z"


class Names:
    def __init__(self):
        self.named = {}


def resolve(schema, names, ns=""):
    """Returns (schema dict or primitive name, namespace) with named references resolved."""
    if isinstance(schema, str):
        if schema in names.named:
            return names.named[schema]
        if ns and ns + "." + schema in names.named:
            return names.named[ns + "." + schema]
        return schema, ns
    return schema, ns


def fullname(s, ns):
    name = s["name"]
    if "." in name:
        return name
    space = s.get("namespace", ns)
    return space + "." + name if space else name


def register(schema, names, ns=""):
    if isinstance(schema, list):
        for b in schema:
            register(b, names, ns)
    elif isinstance(schema, dict):
        t = schema["type"]
        if t in ("record", "enum", "fixed"):
            fn = fullname(schema, ns)
            inner_ns = fn.rpartition(".")[0]
            names.named[fn] = (schema, inner_ns)
            if t == "record":
                for f in schema["fields"]:
                    register(f["type"], names, inner_ns)
        elif t == "array":
            register(schema["items"], names, ns)
        elif t == "map":
            register(schema["values"], names, ns)
        elif isinstance(t, (dict, list)):
            register(t, names, ns)


def branch_name(schema, names, ns):
    s, sns = resolve(schema, names, ns)
    if isinstance(s, str):
        return s
    if s["type"] in ("record", "enum", "fixed"):
        return fullname(s, sns)
    return s["type"]


def matches(schema, v, names, ns):
    s, sns = resolve(schema, names, ns)
    t = s if isinstance(s, str) else s["type"]
    if t == "null":
        return v is None
    if t in ("int", "long"):
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "record":
        return isinstance(v, dict)
    return False


def jf(schema, v, names, ns=""):
    s, ns = resolve(schema, names, ns)
    if isinstance(s, list):
        if v is None:
            return None
        nonnull = [b for b in s if b != "null"]
        if "null" in s and len(s) == 2:
            return jf(nonnull[0], v, names, ns)
        for b in s:
            if matches(b, v, names, ns):
                return {branch_name(b, names, ns): jf(b, v, names, ns)}
        raise ValueError("no branch for %r" % (v,))
    if isinstance(s, str):
        t, lt = s, None
    else:
        t, lt = s["type"], s.get("logicalType")
        if isinstance(t, (dict, list)):
            return jf(t, v, names, ns)
    if t in ("record", "enum", "fixed"):
        ns = fullname(s, ns).rpartition(".")[0]
    if lt == "decimal":
        return format(v.quantize(decimal.Decimal(1).scaleb(-s.get("scale", 0))), "f")
    if lt == "uuid":
        return str(v)
    if lt == "date":
        return v.isoformat()
    if lt == "time-millis":
        return ((v.hour * 60 + v.minute) * 60 + v.second) * 1000 + v.microsecond // 1000
    if lt == "time-micros":
        return ((v.hour * 60 + v.minute) * 60 + v.second) * 1000000 + v.microsecond
    if lt in ("timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"):
        return rfc3339(v)
    if t in ("null", "boolean", "int", "long", "string"):
        return v
    if t == "float":
        return struct.unpack("<f", struct.pack("<f", v))[0]
    if t == "double":
        return v
    if t in ("bytes", "fixed"):
        return base64.b64encode(v).decode()
    if t == "enum":
        return v
    if t == "array":
        return [jf(s["items"], x, names, ns) for x in v]
    if t == "map":
        return {k: jf(s["values"], x, names, ns) for k, x in v.items()}
    if t == "record":
        return {f["name"]: jf(f["type"], v[f["name"]], names, ns) for f in s["fields"]}
    raise ValueError("type %r" % (t,))


def json_form(schema, v):
    names = Names()
    register(schema, names)
    return jf(schema, v, names)


def fp_bytes(schema):
    # fastavro gives the CRC-64-AVRO fingerprint as the hex of its little-endian bytes, the order
    # single-object encoding carries (as Java's SchemaNormalization.parsingFingerprint).
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parse_schema(schema)), "CRC-64-AVRO"))


def write(d):
    parsed = parse_schema(WRITER)
    records = corpus()
    for k, r in enumerate(records):
        b = io.BytesIO()
        fastavro.schemaless_writer(b, parsed, r)
        with open(os.path.join(d, "bin_%d.bin" % k), "wb") as f:
            f.write(b.getvalue())
        with open(os.path.join(d, "bin_%d.want.json" % k), "w") as f:
            json.dump(json_form(WRITER, r), f, ensure_ascii=False)
        with open(os.path.join(d, "so_%d.bin" % k), "wb") as f:
            f.write(b"\xc3\x01" + fp_bytes(WRITER) + b.getvalue())
        # Written with the writer schema, resolved by fastavro to the reader schema.
        resolved = fastavro.schemaless_reader(io.BytesIO(b.getvalue()), parsed, parse_schema(READER))
        with open(os.path.join(d, "res_%d.bin" % k), "wb") as f:
            f.write(b.getvalue())
        with open(os.path.join(d, "res_%d.want.json" % k), "w") as f:
            json.dump(json_form(READER, resolved), f, ensure_ascii=False)
    for c in CODECS:
        with open(os.path.join(d, "ocf_%s.avro" % c), "wb") as f:
            fastavro.writer(f, parsed, records, codec=c)
    with open(os.path.join(d, "ocf.want.json"), "w") as f:
        json.dump([json_form(WRITER, r) for r in records], f, ensure_ascii=False)
    with open(os.path.join(d, "fingerprint.txt"), "w") as f:
        f.write(to_parsing_canonical_form(parsed) + "\n" + fp_bytes(WRITER).hex())


def check(d):
    problems = []
    parsed = parse_schema(WRITER)
    records = corpus()

    def compare(what, got_path, want_path):
        with open(got_path) as f:
            got = json.load(f)
        with open(want_path) as f:
            want = json.load(f)
        if got != want:
            problems.append("%s: C++ decoded %s\n  fastavro meant %s" % (what, json.dumps(got, ensure_ascii=False), json.dumps(want, ensure_ascii=False)))

    for k, r in enumerate(records):
        compare("bin_%d" % k, os.path.join(d, "bin_%d.cpp.json" % k), os.path.join(d, "bin_%d.want.json" % k))
        compare("so_%d" % k, os.path.join(d, "so_%d.cpp.json" % k), os.path.join(d, "bin_%d.want.json" % k))
        compare("res_%d (resolution)" % k, os.path.join(d, "res_%d.cpp.json" % k), os.path.join(d, "res_%d.want.json" % k))
        # C++ encodings read back by fastavro.
        with open(os.path.join(d, "bin_%d.cpp.bin" % k), "rb") as f:
            ours = f.read()
        bio = io.BytesIO(ours)
        back = fastavro.schemaless_reader(bio, parsed, parsed)
        if bio.tell() != len(ours):
            problems.append("bin_%d: fastavro read %d of %d bytes" % (k, bio.tell(), len(ours)))
        theirs = io.BytesIO()
        fastavro.schemaless_writer(theirs, parsed, r)
        want = fastavro.schemaless_reader(io.BytesIO(theirs.getvalue()), parsed, parsed)
        if back != want:
            problems.append("bin_%d: fastavro reads C++'s bytes as %r\n  wanted %r" % (k, back, want))
        if ours != theirs.getvalue():
            problems.append("bin_%d: C++ bytes %s differ from fastavro's %s" % (k, ours.hex(), theirs.getvalue().hex()))
        with open(os.path.join(d, "so_%d.cpp.bin" % k), "rb") as f:
            so = f.read()
        if so[:10] != b"\xc3\x01" + fp_bytes(WRITER) or so[10:] != ours:
            problems.append("so_%d: single-object %s is not C3 01 + fastavro's fingerprint + datum" % (k, so[:10].hex()))
    for c in CODECS:
        compare("ocf_%s" % c, os.path.join(d, "ocf_%s.cpp.json" % c), os.path.join(d, "ocf.want.json"))
        with open(os.path.join(d, "ocf_%s.cpp.avro" % c), "rb") as f:
            rd = fastavro.reader(f)
            got = list(rd)
            codec = rd.codec
        want = [fastavro.schemaless_reader(io.BytesIO(_w(parsed, r)), parsed, parsed) for r in records]
        if got != want:
            problems.append("ocf_%s: fastavro reads C++'s container as something else" % c)
        if codec != c:
            problems.append("ocf_%s: the file says codec %s" % (c, codec))
    for p in problems:
        print(p)
    print("%d problems" % len(problems))
    return 1 if problems else 0


def _w(parsed, r):
    b = io.BytesIO()
    fastavro.schemaless_writer(b, parsed, r)
    return b.getvalue()


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2]))
