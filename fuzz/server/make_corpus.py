#!/usr/bin/env python3
"""Seed corpus for fuzz_server_request from the real-server wire captures.

Input shape of the fuzz target (server_request_fuzz.cpp): byte 0 picks the first frame's operation
(even: an index into `ops`) or NR code (odd: an index into `nr_codes`), bytes 1..2 are the length
(u16 LE) of that frame's body, which follows; the rest is cut into whole frames (256-byte header
with the size at offset 48, then the body). Seeds: every client frame of the captures alone
(selector, length, captured body), and each connection's frames in runs of up to RUN frames (the
first in that shape, the others as captured, header and body). Frames whose operation or code the
target cannot select are not used as first frames.

Usage: fuzz/server/make_corpus.py [captures-dir] [out-dir]
  (defaults: ../shared/iggy-wire-captures and fuzz/corpus/fuzz_server_request)
"""

import hashlib
import json
import os
import sys

# Must match server_request_fuzz.cpp.
OPS = [1, 2, 3, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143,
       144, 145, 146, 147, 148, 149, 160, 161, 162]
NR_CODES = [1, 10, 12, 13, 20, 21, 22, 31, 32, 38, 41, 44, 100, 102, 120, 200, 201, 300, 301, 600,
            601, 606, 9999]
HEADER = 256
RUN = 6


def selector(op, code):
    if op == 2:
        return 2 * NR_CODES.index(code) + 1 if code in NR_CODES else None
    return 2 * OPS.index(op) if op in OPS else None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    captures = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared",
                                                                     "iggy-wire-captures")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "fuzz", "corpus",
                                                             "fuzz_server_request")
    os.makedirs(out, exist_ok=True)
    seeds = []
    skipped = 0
    for name in ("tour.jsonl", "groups.jsonl"):
        conns = {}
        with open(os.path.join(captures, name)) as f:
            for line in f:
                fr = json.loads(line)
                if fr["dir"] == "c2s":
                    conns.setdefault(fr["conn"], []).append(fr)
        for frames in conns.values():
            for i, fr in enumerate(frames):
                raw = bytes.fromhex(fr["hex"])
                sel = selector(fr["operation"], fr.get("code", 0))
                if sel is None:
                    skipped += 1
                    continue
                body = raw[HEADER:]
                first = bytes([sel]) + len(body).to_bytes(2, "little") + body
                seeds.append(first)
                if i % RUN == 0 and i + 1 < len(frames):
                    rest = b"".join(bytes.fromhex(x["hex"]) for x in frames[i + 1:i + RUN])
                    seeds.append(first + rest)
    written = 0
    for seed in seeds:
        path = os.path.join(out, hashlib.sha1(seed).hexdigest())
        if not os.path.exists(path):
            with open(path, "wb") as o:
                o.write(seed)
            written += 1
    print(f"{written} seeds written to {out}, {skipped} frames not usable as a first frame")


if __name__ == "__main__":
    main()
