"""Python half of text_encoding_test: str.encode/bytes.decode for each `encoding` of the text
codec.

gen DIR    for each encoding E: DIR/E.in (Python's encoding of the sample text that E can hold)
           and DIR/E.utf8 (that text in UTF-8); DIR/E.bad (bytes Python refuses to decode as E,
           where such bytes exist) with DIR/E.bad_offset (the offset Python reports).
check DIR  decodes DIR/E.ours (the codec's encoding of E.utf8) with Python and compares with the
           text; prints "ok N".
"""
import os
import sys

# encoding option -> Python codec
ENCODINGS = {
    "ascii": "ascii",
    "latin1": "latin-1",
    "iso-8859-15": "iso8859-15",
    "windows-1252": "cp1252",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "utf-32": "utf-32",
    "utf-32le": "utf-32-le",
    "utf-32be": "utf-32-be",
}
SAMPLE = "Hello, wörld! 123 ½ € Œ ÿ 日本語 😀 \u0000 tab\there"
BAD = {
    "ascii": b"ok\x80",
    "windows-1252": b"ab\x81cd",
    "utf-16le": b"a\x00\x00\xdc",  # a lone low surrogate
    "utf-16be": b"\x00a\xd8\x00\x00b",  # a high surrogate not followed by a low one
    "utf-32le": b"a\x00\x00\x00\x00\x00\x11\x00",  # beyond U+10FFFF
    "utf-32be": b"\x00\x00\x00a\x00\x00\xd8\x00",  # a surrogate
}


def holdable(codec):
    return "".join(c for c in SAMPLE if c.encode(codec, errors="ignore"))


def main():
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "gen":
        for name, codec in ENCODINGS.items():
            text = holdable(codec)
            with open(os.path.join(d, name + ".in"), "wb") as f:
                f.write(text.encode(codec))
            with open(os.path.join(d, name + ".utf8"), "wb") as f:
                f.write(text.encode("utf-8"))
            if name in BAD:
                try:
                    BAD[name].decode(codec)
                    raise SystemExit("Python accepts the bad sample for " + name)
                except UnicodeDecodeError as e:
                    with open(os.path.join(d, name + ".bad"), "wb") as f:
                        f.write(BAD[name])
                    with open(os.path.join(d, name + ".bad_offset"), "w") as f:
                        f.write(str(e.start))
        return 0
    n = 0
    bad = 0
    for name, codec in ENCODINGS.items():
        with open(os.path.join(d, name + ".ours"), "rb") as f:
            ours = f.read()
        with open(os.path.join(d, name + ".utf8"), "rb") as f:
            text = f.read().decode("utf-8")
        try:
            got = ours.decode(codec)
        except UnicodeDecodeError as e:
            print("%s: Python cannot decode ours: %s" % (name, e))
            bad += 1
            continue
        if got != text:
            print("%s: %r != %r" % (name, got, text))
            bad += 1
        n += 1
    if bad:
        return 1
    print("ok %d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
