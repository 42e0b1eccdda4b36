"""protobuf's Python runtime (upb in protobuf 6.x) decoding/encoding the 20-field record
(bench/codecs/README.md, schema record20.proto), the reference for bench_codecs_proto. The
message class comes from a descriptor set protoc writes into a temporary directory (nothing is
generated into the tree). Two pairs of lines: `protobuf-upb` is the runtime itself (bytes ->
message, message -> bytes: protobuf's native objects, the harder reference), `protobuf-upb-dict`
adds the conversion to and from a dict (json_format.MessageToDict / ParseDict, pure Python).

    .venv/bin/python bench/codecs/proto_ref.py [--seconds N]
"""

import base64
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory  # noqa: E402
from google.protobuf.internal import api_implementation  # noqa: E402

from record20 import emit, record, seconds_arg, timed  # noqa: E402

N = 10000
HERE = os.path.dirname(os.path.abspath(__file__))


def message_class():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "record20.desc")
        subprocess.run(["protoc", "--include_imports", "--descriptor_set_out=" + out,
                        "-I", HERE, os.path.join(HERE, "record20.proto")], check=True)
        fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.Record20"))


def as_json_dict(r):
    """The record in the proto3 JSON form ParseDict takes (bytes base64, ts RFC 3339)."""
    d = dict(r)
    d["ts"] = r["ts"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    d["uid"] = base64.b64encode(r["uid"]).decode()
    d["payload"] = base64.b64encode(r["payload"]).decode()
    return d


def main():
    seconds = seconds_arg()
    impl = "protobuf-" + api_implementation.Type()
    cls = message_class()
    dicts = [as_json_dict(record(i, omit_null=True)) for i in range(N)]
    msgs = [json_format.ParseDict(d, cls()) for d in dicts]
    payloads = [m.SerializeToString() for m in msgs]

    def decode(p):
        m = cls()
        m.ParseFromString(p)
        json_format.MessageToDict(m, preserving_proto_field_name=True)
        return len(p)

    done, nbytes, secs = timed(payloads, seconds, decode)
    emit("proto", impl + "-dict", "decode", done, nbytes, secs)

    def parse_only(p):
        cls().ParseFromString(p)
        return len(p)

    done, nbytes, secs = timed(payloads, seconds, parse_only)
    emit("proto", impl, "decode", done, nbytes, secs)

    def encode(d):
        return len(json_format.ParseDict(d, cls()).SerializeToString())

    done, nbytes, secs = timed(dicts, seconds, encode)
    emit("proto", impl + "-dict", "encode", done, nbytes, secs)

    def serialize_only(m):
        return len(m.SerializeToString())

    done, nbytes, secs = timed(msgs, seconds, serialize_only)
    emit("proto", impl, "encode", done, nbytes, secs)


if __name__ == "__main__":
    main()
