#!/usr/bin/env python3
"""Writes the embedded server's hostile-input corpus (tests/server/limits_test.cpp feeds each file
to a connection that has not logged in). Layout: iggy-protocol.md sections 1.2, 1.3 and 1.10. Each
file is whole frames (or a header only); the test sends a PING after it and expects a pong, a
close, or nothing worse."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = bytes(range(1, 17))


def header(size, op=2, code=1, command=5, request=0, session=0):
    h = bytearray(256)
    struct.pack_into("<I", h, 48, size)
    h[60] = command
    h[128:144] = CLIENT
    struct.pack_into("<Q", h, 168, request)
    h[176] = op
    struct.pack_into("<Q", h, 184, session)
    if op == 2:
        struct.pack_into("<I", h, 196, code)
    return bytes(h)


def frame(body, **kw):
    return header(256 + len(body), **kw) + body


def s8(b):
    return bytes([len(b)]) + b


def register_body(user, password, context=b"", context_len=None, version=0x2C00):
    ctx_len = len(context) if context_len is None else context_len
    return (struct.pack("<I", version) + s8(b"evil-sdk") + s8(b"6.6.6") + s8(user) + s8(password) +
            struct.pack("<I", ctx_len) + context)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# Headers that announce more than a client may send before login, or break framing.
write("preauth_announces_64MiB.bin", header(64 << 20))
write("preauth_announces_64KiB_plus_1.bin", header((64 << 10) + 1))
write("preauth_announces_4GiB.bin", header(0xFFFFFFFF))
write("size_below_header.bin", header(100))
write("command_byte_30.bin", header(256, command=30))
# Register bodies: truncated strings, a context length far past the body, a user name of 255
# control characters and newlines (log injection), an empty password, an old protocol version.
write("register_truncated_strings.bin",
      frame(struct.pack("<I", 0x2C00) + bytes([200]) + b"abc", op=1))
write("register_context_len_4GiB.bin",
      frame(register_body(b"iggy", b"iggy", context_len=0xFFFFFFFF), op=1))
write("register_username_control_chars.bin",
      frame(register_body(bytes([10, 13, 27, 0, 39, 92] * 42 + [10, 10, 10]), b"pw"), op=1))
write("register_empty_password.bin", frame(register_body(b"iggy", b""), op=1))
write("register_old_protocol.bin", frame(register_body(b"iggy", b"iggy", version=0x1000), op=1))
# Requests that need a login, sent before it: a replicated create-stream and an NR read with a
# 60 KiB body (under the pre-login frame limit).
write("create_stream_before_login.bin", frame(s8(b"s") + struct.pack("<I", 0), op=128,
                                              request=1, session=1))
write("get_streams_60KiB_body_before_login.bin", frame(bytes(60 << 10), code=201))
# Legacy login code 38 with garbage.
write("legacy_login_user.bin", frame(b"\xff" * 300, code=38))
