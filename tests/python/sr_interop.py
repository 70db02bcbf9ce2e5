"""Confluent's own Avro, Protobuf and JSON Schema serializers against records the proxy wrote, and the other way round.

    sr_interop.py read  BOOTSTRAP REGISTRY_URL TOPIC COUNT   -> one JSON line per record: {"key", "value"}
    sr_interop.py write BOOTSTRAP REGISTRY_URL TOPIC SCHEMA_JSON VALUE_JSON...
    sr_interop.py read-json  BOOTSTRAP REGISTRY_URL TOPIC COUNT SCHEMA_JSON   (JSONDeserializer)
    sr_interop.py write-json BOOTSTRAP REGISTRY_URL TOPIC SCHEMA_JSON VALUE_JSON...   (JSONSerializer)
    sr_interop.py read-proto  BOOTSTRAP REGISTRY_URL TOPIC COUNT   (ProtobufDeserializer, kre.test.User)
    sr_interop.py write-proto BOOTSTRAP REGISTRY_URL TOPIC VALUE_JSON...   (ProtobufSerializer, kre.test.User)
    sr_interop.py validate   < lines of [schema, instance]   -> one line per case: true/false (jsonschema)

The Protobuf message is kre.test.User, built here from a descriptor (what protoc would generate
from tests/e2e_schemas.rs's USER_PROTO); Protobuf JSON is json_format's canonical mapping with
default values printed, as Confluent's proxy prints it.

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


def read(bootstrap, registry, topic, count, json_schema=None, proto=False):
    """Prints `count` records of `topic` as JSON lines, values through Confluent's deserializer
    (Avro; JSON Schema with `json_schema`; Protobuf's kre.test.User with `proto`); keys in the
    wire format through the same one, others as text."""
    if proto:
        from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
        pdes = ProtobufDeserializer(user_class(), {"use.deprecated.format": False})

        def des(data, ctx):
            return proto_json(pdes(data, ctx))
    else:
        sr = SchemaRegistryClient({"url": registry})
        des = JSONDeserializer(json_schema, schema_registry_client=sr) if json_schema else AvroDeserializer(sr)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"sr-interop-{topic}",
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
        if key is not None and key[:1] == b"\x00" and not proto:
            key = des(key, SerializationContext(topic, MessageField.KEY))
        elif key is not None:
            key = key.decode("utf-8", "replace")
        value = des(m.value(), SerializationContext(topic, MessageField.VALUE))
        print(json.dumps({"key": key, "value": value}, sort_keys=True, default=str), flush=True)
        got += 1
    c.close()


def user_class():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="kre_user.proto", package="kre.test", syntax="proto3")
    m = fdp.message_type.add(name="User")
    m.field.add(name="name", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="name")
    m.field.add(name="id", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL, json_name="id")
    m.field.add(name="kind", number=3, type=F.TYPE_ENUM, type_name=".kre.test.Kind", label=F.LABEL_OPTIONAL,
                json_name="kind")
    m.field.add(name="tags", number=4, type=F.TYPE_STRING, label=F.LABEL_REPEATED, json_name="tags")
    m.field.add(name="display_name", number=5, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="displayName")
    e = fdp.enum_type.add(name="Kind")
    e.value.add(name="A", number=0)
    e.value.add(name="B", number=1)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    desc = pool.FindMessageTypeByName("kre.test.User")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def proto_json(msg):
    from google.protobuf import json_format
    try:
        return json_format.MessageToDict(msg, always_print_fields_with_no_presence=True)
    except TypeError:
        return json_format.MessageToDict(msg, including_default_value_fields=True)


def write_proto(bootstrap, registry, topic, values):
    from google.protobuf import json_format
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    cls = user_class()
    sr = SchemaRegistryClient({"url": registry})
    ser = ProtobufSerializer(cls, sr, {"use.deprecated.format": False})
    p = Producer({"bootstrap.servers": bootstrap})
    for v in values:
        msg = json_format.Parse(v, cls())
        p.produce(topic, value=ser(msg, SerializationContext(topic, MessageField.VALUE)))
    if p.flush(30) != 0:
        raise SystemExit("not all records delivered")


def validate():
    import jsonschema
    for line in sys.stdin:
        if not line.strip():
            continue
        schema, instance = json.loads(line)
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        print(json.dumps(cls(schema).is_valid(instance)), flush=True)


def write(bootstrap, registry, topic, schema, values, json_schema=False):
    sr = SchemaRegistryClient({"url": registry})
    ser = JSONSerializer(schema, sr) if json_schema else AvroSerializer(sr, schema)
    p = Producer({"bootstrap.servers": bootstrap})
    for v in values:
        p.produce(topic, value=ser(json.loads(v), SerializationContext(topic, MessageField.VALUE)))
    if p.flush(30) != 0:
        raise SystemExit("not all records delivered")


if __name__ == "__main__":
    if sys.argv[1] == "validate":
        validate()
        raise SystemExit(0)
    mode, bootstrap, registry, topic = sys.argv[1:5]
    if mode == "read-proto":
        read(bootstrap, registry, topic, int(sys.argv[5]), proto=True)
    elif mode == "write-proto":
        write_proto(bootstrap, registry, topic, sys.argv[5:])
    elif mode == "read":
        read(bootstrap, registry, topic, int(sys.argv[5]))
    elif mode == "read-json":
        read(bootstrap, registry, topic, int(sys.argv[5]), sys.argv[6])
    elif mode == "write-json":
        write(bootstrap, registry, topic, sys.argv[5], sys.argv[6:], True)
    else:
        write(bootstrap, registry, topic, sys.argv[5], sys.argv[6:])
