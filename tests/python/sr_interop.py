"""Confluent's own Avro and JSON Schema serializers against records the proxy wrote, and the other way round.

    sr_interop.py read  BOOTSTRAP REGISTRY_URL TOPIC COUNT   -> one JSON line per record: {"key", "value"}
    sr_interop.py write BOOTSTRAP REGISTRY_URL TOPIC SCHEMA_JSON VALUE_JSON...
    sr_interop.py read-json  BOOTSTRAP REGISTRY_URL TOPIC COUNT SCHEMA_JSON   (JSONDeserializer)
    sr_interop.py write-json BOOTSTRAP REGISTRY_URL TOPIC SCHEMA_JSON VALUE_JSON...   (JSONSerializer)

`read` deserializes values (and keys, when they carry the wire format) with confluent_kafka's
AvroDeserializer; `write` serializes each value with AvroSerializer (auto-registering the schema
under TOPIC-value) and produces it. Run by tests/e2e_avro.rs with the project's cached venv.
"""
import json
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def read(bootstrap, registry, topic, count, json_schema=None):
    sr = SchemaRegistryClient({"url": registry})
    des = JSONDeserializer(json_schema, schema_registry_client=sr) if json_schema else AvroDeserializer(sr)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"avro-interop-{topic}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got = 0
    idle = 0
    while got < count and idle < 30:
        m = c.poll(1.0)
        if m is None:
            idle += 1
            continue
        if m.error():
            raise SystemExit(str(m.error()))
        key = m.key()
        if key is not None and key[:1] == b"\x00":
            key = des(key, SerializationContext(topic, MessageField.KEY))
        elif key is not None:
            key = key.decode("utf-8", "replace")
        value = des(m.value(), SerializationContext(topic, MessageField.VALUE))
        print(json.dumps({"key": key, "value": value}, sort_keys=True, default=str), flush=True)
        got += 1
    c.close()


def write(bootstrap, registry, topic, schema, values, json_schema=False):
    sr = SchemaRegistryClient({"url": registry})
    ser = JSONSerializer(schema, sr) if json_schema else AvroSerializer(sr, schema)
    p = Producer({"bootstrap.servers": bootstrap})
    for v in values:
        p.produce(topic, value=ser(json.loads(v), SerializationContext(topic, MessageField.VALUE)))
    if p.flush(30) != 0:
        raise SystemExit("not all records delivered")


if __name__ == "__main__":
    mode, bootstrap, registry, topic = sys.argv[1:5]
    if mode == "read":
        read(bootstrap, registry, topic, int(sys.argv[5]))
    elif mode == "read-json":
        read(bootstrap, registry, topic, int(sys.argv[5]), sys.argv[6])
    elif mode == "write-json":
        write(bootstrap, registry, topic, sys.argv[5], sys.argv[6:], True)
    else:
        write(bootstrap, registry, topic, sys.argv[5], sys.argv[6:])
