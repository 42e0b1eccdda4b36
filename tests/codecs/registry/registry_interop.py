#!/usr/bin/env python3
"""Cross-checks the schema_registry codec against confluent-kafka's own serializers.

  produce URL DIR   confluent-kafka's Protobuf-, JSON- and AvroSerializer, with its real
                    SchemaRegistryClient pointed at URL, write framed payloads into DIR; the same
                    serializers with MockSchemaRegistryClient write mock_*.bin (for the framing
                    alone). The C++ test decodes them.
  consume DIR       confluent-kafka's ProtobufDeserializer and JSONDeserializer read the payloads
                    the C++ codec wrote (ours_*.bin) and print them as JSON lines.
"""
import json
import os
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

# The same schema as reading.proto beside this script, built as a descriptor (no protoc here).
JSON_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "trib.reg.Order",
    "type": "object",
    "properties": {"order": {"type": "integer"}, "item": {"type": "string"},
                   "price": {"type": "number"}},
    "required": ["order", "item"],
})


AVRO_SCHEMA = json.dumps({
    "type": "record", "name": "Sample", "namespace": "trib.reg",
    "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
               {"name": "score", "type": ["null", "double"], "default": None}],
})


def classes():
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = "reading.proto"
    fdp.package = "trib.reg"
    fdp.syntax = "proto3"
    r = fdp.message_type.add(name="Reading")
    F = descriptor_pb2.FieldDescriptorProto
    r.field.add(name="device", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    r.field.add(name="temp", number=2, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    r.field.add(name="ts", number=3, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    r.field.add(name="tags", number=4, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    inner = r.nested_type.add(name="Point")
    inner.field.add(name="x", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    inner.field.add(name="y", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    a = fdp.message_type.add(name="Alert")
    a.field.add(name="code", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    a.field.add(name="text", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = message_factory.GetMessageClass
    return (get(pool.FindMessageTypeByName("trib.reg.Reading")),
            get(pool.FindMessageTypeByName("trib.reg.Reading.Point")),
            get(pool.FindMessageTypeByName("trib.reg.Alert")))


def produce(url, out):
    Reading, Point, Alert = classes()
    ctx = SerializationContext("readings", MessageField.VALUE)
    conf = {"use.deprecated.format": False}
    msgs = {
        "reading": Reading(device="dev-\u00e9", temp=21.5, ts=1700000000123, tags=["a", "b"]),
        "point": Point(x=-3, y=4),
        "alert": Alert(code=7, text="hot"),
    }
    for registry, prefix in ((SchemaRegistryClient({"url": url}), ""),
                             (MockSchemaRegistryClient({"url": "mock://"}), "mock_")):
        for name, m in msgs.items():
            ser = ProtobufSerializer(type(m), registry, conf)
            with open(os.path.join(out, prefix + "proto_" + name + ".bin"), "wb") as f:
                f.write(ser(m, ctx))
        avro = AvroSerializer(registry, AVRO_SCHEMA)
        with open(os.path.join(out, prefix + "avro_sample.bin"), "wb") as f:
            f.write(avro({"id": 5, "name": "five", "score": 2.5},
                         SerializationContext("samples", MessageField.VALUE)))
        js = JSONSerializer(JSON_SCHEMA, registry)
        with open(os.path.join(out, prefix + "json_order.bin"), "wb") as f:
            f.write(js({"order": 42, "item": "bolt", "price": 0.25},
                       SerializationContext("orders", MessageField.VALUE)))
    print("produced")


def consume(d):
    Reading, Point, Alert = classes()
    ctx = SerializationContext("readings", MessageField.VALUE)
    for name, cls in (("reading", Reading), ("point", Point), ("alert", Alert)):
        path = os.path.join(d, "ours_proto_" + name + ".bin")
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        m = ProtobufDeserializer(cls, {"use.deprecated.format": False})(data, ctx)
        print(name, json_format.MessageToJson(m, indent=None, preserving_proto_field_name=True,
                                              sort_keys=True))
    path = os.path.join(d, "ours_json_order.bin")
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
        v = JSONDeserializer(JSON_SCHEMA)(data, SerializationContext("orders",
                                                                    MessageField.VALUE))
        print("order", json.dumps(v, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        produce(sys.argv[2], sys.argv[3])
    else:
        consume(sys.argv[2])
