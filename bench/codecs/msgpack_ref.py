"""msgpack-python's decode/encode of the 20-field record (bench/codecs/README.md), the reference
for bench_codecs_msgpack: price as a string, uid and payload as bin, day as its number, ts as the
timestamp extension (decoded to an aware datetime). Decode: bytes -> dict; encode: dict -> bytes.

    .venv/bin/python bench/codecs/msgpack_ref.py [--seconds N]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import msgpack  # noqa: E402

from record20 import emit, record, seconds_arg, timed  # noqa: E402

N = 10000


def main():
    seconds = seconds_arg()
    records = [record(i) for i in range(N)]
    payloads = [msgpack.packb(r, datetime=True) for r in records]

    def decode(p):
        msgpack.unpackb(p, timestamp=3)
        return len(p)

    done, nbytes, secs = timed(payloads, seconds, decode)
    emit("msgpack", "msgpack-py", "decode", done, nbytes, secs)

    def encode(r):
        return len(msgpack.packb(r, datetime=True))

    done, nbytes, secs = timed(records, seconds, encode)
    emit("msgpack", "msgpack-py", "encode", done, nbytes, secs)


if __name__ == "__main__":
    main()
