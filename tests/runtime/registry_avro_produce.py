#!/usr/bin/env python3
"""Writes Confluent-framed Avro payloads for codecs_run_test with confluent-kafka's own
AvroSerializer and its real SchemaRegistryClient (the schema is registered at URL, subject
<topic>-value).

  registry_avro_produce.py URL TOPIC OUT_DIR   -> OUT_DIR/avro_0.bin, avro_1.bin
"""
import json
import os
import sys

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

SCHEMA = json.dumps({
    "type": "record", "name": "Reading", "namespace": "trib.run",
    "fields": [{"name": "device", "type": "string"},
               {"name": "seq", "type": "long"},
               {"name": "temp", "type": ["null", "double"], "default": None}],
})

RECORDS = [
    {"device": "av-\u00e9", "seq": 1, "temp": 20.25},
    {"device": "av-2", "seq": 2, "temp": None},
]


def main():
    url, topic, out = sys.argv[1], sys.argv[2], sys.argv[3]
    ser = AvroSerializer(SchemaRegistryClient({"url": url}), SCHEMA)
    ctx = SerializationContext(topic, MessageField.VALUE)
    for i, r in enumerate(RECORDS):
        with open(os.path.join(out, "avro_%d.bin" % i), "wb") as f:
            f.write(ser(r, ctx))
    print("produced", len(RECORDS))


if __name__ == "__main__":
    main()
