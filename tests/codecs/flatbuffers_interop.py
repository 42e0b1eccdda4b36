"""Cross-checks Tributary's flat_buffer codec against the Python flatbuffers library (PyPI
flatbuffers, with classes generated at test time by `flatc --python --gen-object-api` from
tests/data/codecs/flatbuffers/corpus.fbs). Driven by flatbuffers_test.cpp in two steps:

  flatbuffers_interop.py write DIR   Python builds its corpus: DIR/py_K.bin and, for each, what
                                     Python itself reads back (DIR/py_K.canon.json)
  (the C++ test decodes py_K.bin to DIR/ours_K.json and encodes that JSON to DIR/enc_K.bin)
  flatbuffers_interop.py check DIR   Python compares our JSON with its own reading of py_K.bin,
                                     and its reading of enc_K.bin with its reading of py_K.bin

Exit status 0 when every comparison holds; otherwise the differences are printed.
"""

import base64
import json
import math
import os
import subprocess
import sys

import flatbuffers

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "codecs", "flatbuffers")


def generate(dirname):
    """Generates the Python classes of corpus.fbs into DIR/py and imports them."""
    out = os.path.join(dirname, "py")
    if not os.path.isdir(out):
        subprocess.run(
            ["flatc", "--python", "--gen-object-api", "--gen-all", "-o", out, "-I",
             os.path.join(DATA, "include"), os.path.join(DATA, "corpus.fbs")],
            check=True)
    sys.path.insert(0, out)
    import trib.test.Reading as R  # noqa: E402
    import trib.test.Tag as T
    import trib.test.Point as P
    import trib.test.Box as B
    import trib.test.Vec3 as V
    import trib.test.Sensor as S
    import trib.test.Camera as C
    import trib.test.Device as D
    import trib.test.Level as L
    # flatc 2.0.8's Python code names the tables of its own namespace (Tag(), Point(), ...)
    # without importing them; give every generated module those names.
    mods = (R, T, P, B, V, S, C, D, L)
    for mod in mods:
        for other in mods:
            base = other.__name__.rsplit(".", 1)[1]
            for name in (base, base + "T", base + "Creator"):
                if hasattr(other, name) and not hasattr(mod, name):
                    setattr(mod, name, getattr(other, name))
    return mods


def corpus(m):
    R, T, P, B, V, S, C, D, L = m

    def point(lat, lon):
        p = P.PointT()
        p.lat, p.lon = lat, lon
        return p

    def tag(k, v):
        t = T.TagT()
        t.key, t.value = k, v
        return t

    cases = []  # (ReadingT, force_defaults)

    full = R.ReadingT()
    full.id = 1234567890123
    full.name = "Zürich – 東京 – 🚀"
    full.active = False
    full.score = 0.1
    full.count = -5
    full.ratio = 0.1
    full.small = -128
    full.ubig = 2**64 - 1
    full.level = L.Level.high
    full.payload = [0, 1, 127, 128, 255]
    # flatc 2.0.8's Python code packs [byte] with PrependByte, which the library checks as
    # uint8: negative bytes cannot be built from Python (the C++ tests cover them).
    full.signedBytes = [0, 1, 127]
    full.values = [0, -1, 2**31 - 1, -(2**31)]
    full.doubles = [1.5, -0.0, 1e308, 5e-324, float("inf"), float("-inf")]
    full.names = ["a", "", "ünïcödé", "line\nbreak \"quoted\""]
    full.tags = [tag("k1", "v1"), tag("k2", None), tag("", "")]
    full.where = point(47.37, 8.54)
    full.points = [point(1.0, 2.0), point(-3.5, 4.25)]
    box = B.BoxT()
    box.corner = point(0.5, -0.5)
    box.size = [3, -4]
    box.level = L.Level.low
    full.box = box
    vec = V.Vec3T()
    vec.x, vec.y, vec.z = 1.0, 2.5, -3.25
    full.pos = vec
    sensor = S.SensorT()
    sensor.name = "thermo"
    sensor.reading = 21.75
    full.deviceType = D.Device.Sensor
    full.device = sensor
    inner = R.ReadingT()
    inner.id = 2
    inner.note = "inner"
    innermost = R.ReadingT()
    innermost.id = 3
    innermost.payload = []
    inner.child = innermost
    full.child = inner
    full.maybe = 0
    full.levels = [L.Level.low, L.Level.high, 7]
    full.note = ""
    cases.append((full, False))

    cases.append((R.ReadingT(), False))  # every field absent: defaults

    cam = R.ReadingT()
    cam.deviceType = D.Device.Camera
    c = C.CameraT()
    c.resolution = [1920, 1080, 65535]
    cam.device = c
    cam.count = 7  # the default, written because force_defaults is on
    cam.level = L.Level.mid
    cam.active = True
    cases.append((cam, True))

    many = R.ReadingT()
    many.tags = [tag("key%d" % i, "value %d" % i) for i in range(1000)]
    many.values = list(range(-500, 500))
    many.names = ["n%d" % i for i in range(300)]
    cases.append((many, False))

    extremes = R.ReadingT()
    extremes.id = -(2**63)
    extremes.ubig = 2**63
    extremes.count = 2**31 - 1
    extremes.small = 127
    extremes.score = -1.7976931348623157e308
    extremes.ratio = 3.4028234663852886e38
    extremes.maybe = -(2**31)
    cases.append((extremes, False))
    return cases


def canon_t(obj):
    """What Python reads (object API), as plain JSON-able data; absent (None) fields dropped."""
    if obj is None:
        return None
    if isinstance(obj, (bytes, bytearray)):
        return obj.decode("utf-8")
    if isinstance(obj, list):
        return [canon_t(x) for x in obj]
    if isinstance(obj, float) and math.isinf(obj):
        return "Infinity" if obj > 0 else "-Infinity"
    if hasattr(obj, "__dict__"):
        return {k: canon_t(v) for k, v in vars(obj).items() if v is not None}
    return obj


def camel(name):
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def canon_ours(v, m, key=None):
    """Our JSON in Python's terms: camelCase keys, enums as numbers, bytes as integer lists."""
    L, D = m[8], m[7]
    if isinstance(v, dict):
        return {camel(k): canon_ours(x, m, k) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [canon_ours(x, m, key) for x in v]
    if key == "payload" and isinstance(v, str):
        return list(base64.b64decode(v))
    if key in ("level", "levels") and isinstance(v, str):
        return getattr(L.Level, v)
    if key == "device_type" and isinstance(v, str):
        return getattr(D.Device, v)
    if isinstance(v, float) and math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def unpack(m, data):
    R = m[0]
    root = R.Reading.GetRootAs(data, 0)
    t = R.ReadingT.InitFromObj(root)
    if t.box is not None:
        # flatc 2.0.8's object API reads fixed arrays of structs as vectors (and finds none);
        # the plain accessor reads them right.
        t.box.size = root.Box().Size()
    return canon_t(t)


def write(dirname):
    m = generate(dirname)
    for k, (obj, force) in enumerate(corpus(m)):
        b = flatbuffers.Builder(1024)
        if force:
            b.ForceDefaults(True)
        b.Finish(obj.Pack(b), file_identifier=b"TRBR")
        data = bytes(b.Output())
        with open(os.path.join(dirname, "py_%d.bin" % k), "wb") as f:
            f.write(data)
        with open(os.path.join(dirname, "py_%d.canon.json" % k), "w") as f:
            json.dump(unpack(m, data), f, ensure_ascii=False, sort_keys=True)
    print(len(corpus(m)))


def check(dirname):
    m = generate(dirname)
    bad = 0
    k = 0
    while os.path.exists(os.path.join(dirname, "py_%d.bin" % k)):
        with open(os.path.join(dirname, "py_%d.canon.json" % k)) as f:
            want = json.load(f)
        with open(os.path.join(dirname, "ours_%d.json" % k)) as f:
            ours = canon_ours(json.load(f), m)
        if ours != want:
            bad += 1
            print("case %d: our decoding differs from Python's:\n ours %s\n want %s" %
                  (k, json.dumps(ours, sort_keys=True), json.dumps(want, sort_keys=True)))
        with open(os.path.join(dirname, "enc_%d.bin" % k), "rb") as f:
            enc = f.read()
        if enc[4:8] != b"TRBR":
            bad += 1
            print("case %d: our encoding lacks the file identifier" % k)
        got = json.loads(json.dumps(unpack(m, enc)))
        if got != want:
            bad += 1
            print("case %d: Python reads our encoding differently:\n got  %s\n want %s" %
                  (k, json.dumps(got, sort_keys=True), json.dumps(want, sort_keys=True)))
        k += 1
    if k == 0:
        print("no cases in " + dirname)
        return 1
    print("%d cases, %d differences" % (k, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        print(__doc__)
        sys.exit(2)
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
