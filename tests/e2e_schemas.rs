//! The protobuf and jsonschema embedded formats through the served component, against the real
//! broker and a real Schema Registry (Apicurio Registry, Confluent-compatible API), checked with
//! Confluent's own Protobuf and JSON Schema serializers (`confluent-kafka` from PyPI:
//! tests/python/sr_interop.py) and the JSON Schema validator against Python's `jsonschema`.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use kre_test_support as common;
use kre_test_support::needs;

use common::kafka::Kafka;
use common::{Host, bootstrap, consume_v2 as consume, registry_post, sr_interop as python, unique};

const PROTOBUF: &str = "application/vnd.kafka.protobuf.v2+json";
const JSONSCHEMA: &str = "application/vnd.kafka.jsonschema.v2+json";
const V2: &str = "application/vnd.kafka.v2+json";

/// The message tests/python/sr_interop.py builds as kre.test.User.
const USER_PROTO: &str = r#"syntax = "proto3";
package kre.test;
message User {
  string name = 1;
  int64 id = 2;
  Kind kind = 3;
  repeated string tags = 4;
  string display_name = 5;
}
enum Kind { A = 0; B = 1; }
"#;

const ORDER_JSON: &str = r#"{"$schema":"http://json-schema.org/draft-07/schema#","title":"Order","type":"object",
  "properties":{"sku":{"type":"string","pattern":"^[A-Z]{3}-[0-9]+$"},"qty":{"type":"integer","minimum":1},
  "note":{"type":["string","null"]}},"required":["sku","qty"],"additionalProperties":false}"#;

fn registry() -> String {
    common::env("KRE_TEST_REGISTRY")
}

fn host() -> Host {
    Host::start(&[("SCHEMA_REGISTRY_URL", &registry())])
}

fn produce(host: &Host, media: &str, topic: &str, body: &Value) -> common::Reply {
    host.send("POST", &format!("/topics/{topic}"), &[("content-type", media)], Some(body.to_string().as_bytes()))
}

#[test]
fn protobuf_records_we_write_are_read_by_confluents_deserializer_and_by_us() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY", "KRE_TEST_PYTHON");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("proto-out");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    let values = [
        json!({"name": "ann", "id": "42", "kind": "B", "tags": ["x", "y"], "displayName": "Ann"}),
        json!({"name": "bob"}),
    ];
    let r = produce(
        &host,
        PROTOBUF,
        &topic,
        &json!({"value_schema": USER_PROTO, "records": [{"value": values[0]}, {"value": values[1]}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["value_schema_id"].as_i64().unwrap();
    // By id the next time; the id comes back unchanged.
    let r = produce(&host, PROTOBUF, &topic, &json!({"value_schema_id": id, "records": [{"value": {"id": 7}}]}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["value_schema_id"].as_i64(), Some(id));

    // Confluent's ProtobufDeserializer reads all three.
    let read = python(&["read-proto", &bootstrap(), &registry(), &topic, "3"]);
    assert_eq!(read.len(), 3, "{read:?}");
    assert_eq!(read[0]["value"], values[0]);
    assert_eq!(read[1]["value"], json!({"name": "bob", "id": "0", "kind": "A", "tags": [], "displayName": ""}));
    assert_eq!(read[2]["value"]["id"], "7");

    // Our protobuf consumer prints the canonical JSON with defaults, as Confluent's proxy does.
    let got = consume(&host, "protobuf", PROTOBUF, &topic, 3);
    assert_eq!(got.len(), 3, "{got:?}");
    for (ours, theirs) in got.iter().zip(&read) {
        assert_eq!(ours["value"], theirs["value"]);
    }
    kafka.delete_topic(&topic);
}

#[test]
fn protobuf_records_confluents_serializer_wrote_read_through_us() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY", "KRE_TEST_PYTHON");
    let kafka = Kafka::new(&bootstrap());
    let cluster = kafka.describe().cluster_id;
    let topic = unique("proto-in");
    kafka.create_topic(&topic, 1, 1);
    // The Python serializer registers its schema as a base64 FileDescriptorProto.
    python(&[
        "write-proto",
        &bootstrap(),
        &registry(),
        &topic,
        r#"{"name":"dee","id":"9","kind":"B","tags":["t"]}"#,
        r#"{"name":"eve"}"#,
    ]);
    let host = host();
    let got = consume(&host, "protobuf", PROTOBUF, &topic, 2);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["value"], json!({"name": "dee", "id": "9", "kind": "B", "tags": ["t"], "displayName": ""}));
    assert_eq!(got[1]["value"]["name"], "eve");
    // The v3 consume extension decodes it too, and says which schema it carried.
    let part = format!("/v3/clusters/{cluster}/topics/{topic}/partitions/0/records?offset=0&format=protobuf");
    let decoded = host.get(&part).json();
    assert_eq!(decoded["records"][0]["value"]["type"], "PROTOBUF", "{decoded}");
    assert!(decoded["records"][0]["value"]["schema_id"].as_i64().is_some(), "{decoded}");
    assert_eq!(decoded["records"][0]["value"]["data"]["name"], "dee");
    kafka.delete_topic(&topic);
}

#[test]
fn protobuf_errors_have_the_references_codes_and_write_nothing() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("proto-err");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    produce(&host, PROTOBUF, &topic, &json!({"records": [{"value": {"name": "x"}}]})).assert_error(422, 42202);
    produce(&host, PROTOBUF, &topic, &json!({"value_schema": USER_PROTO, "records": [{"key": {}, "value": {}}]}))
        .assert_error(422, 42201);
    let msg = produce(&host, PROTOBUF, &topic, &json!({"value_schema": "message {", "records": [{"value": {}}]}))
        .assert_error(422, 42205);
    assert!(msg.contains("Invalid Protobuf schema"), "{msg}");
    let msg = produce(
        &host,
        PROTOBUF,
        &topic,
        &json!({"value_schema": USER_PROTO, "records": [{"value": {"name": "ok"}}, {"value": {"id": "many"}}]}),
    )
    .assert_error(422, 42203);
    assert!(msg.contains("records[1].value") && msg.contains("id"), "{msg}");
    produce(&host, PROTOBUF, &topic, &json!({"value_schema": USER_PROTO, "records": [{"value": {"nope": 1}}]}))
        .assert_error(422, 42203);
    assert_eq!(kafka.read_all(&topic).len(), 0, "nothing was written");
    // A record in the wire format of another kind stops a protobuf consumer at it (408/40801).
    // (Registered under a subject of its own: this topic's value subject holds a Protobuf schema.)
    let json_id = registry_post(
        &format!("/subjects/{}/versions", unique("kre-order")),
        &json!({"schema": ORDER_JSON, "schemaType": "JSON"}),
    )["id"]
        .clone();
    let r = produce(
        &host,
        JSONSCHEMA,
        &topic,
        &json!({"value_schema_id": json_id, "records": [{"value": {"sku": "ABC-1", "qty": 1}}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let group = unique("proto-bad");
    let create = json!({"name": "c", "format": "protobuf", "auto.offset.reset": "earliest"}).to_string();
    host.send("POST", &format!("/consumers/{group}"), &[("content-type", V2)], Some(create.as_bytes()));
    let base = format!("/consumers/{group}/instances/c");
    let assign = json!({"partitions": [{"topic": topic, "partition": 0}]}).to_string();
    host.send("POST", &format!("{base}/assignments"), &[("content-type", V2)], Some(assign.as_bytes()));
    let msg = host
        .send("GET", &format!("{base}/records?timeout=2000"), &[("accept", PROTOBUF)], None)
        .assert_error(408, 40801);
    assert!(msg.contains("JSON Schema schema, not Protobuf") && msg.contains("offset 0"), "{msg}");
    // Accept must match the consumer's format.
    host.send("GET", &format!("{base}/records"), &[("accept", JSONSCHEMA)], None).assert_error(406, 40601);
    host.send("DELETE", &base, &[("content-type", V2)], None);
    kafka.delete_topic(&topic);
}

#[test]
fn protobuf_imports_resolve_through_references_and_versions_evolve() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("proto-ref");
    kafka.create_topic(&topic, 1, 1);
    let dep = "syntax = \"proto3\";\npackage kre.dep;\nmessage Address { string city = 1; }\n";
    let dep_subject = unique("kre-dep-address");
    registry_post(&format!("/subjects/{dep_subject}/versions"), &json!({"schema": dep, "schemaType": "PROTOBUF"}));
    let person = "syntax = \"proto3\";\npackage kre.ref;\nimport \"kre/dep/address.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage Person { string name = 1; kre.dep.Address home = 2; google.protobuf.Timestamp born = 3; }\n";
    let id = registry_post(
        &format!("/subjects/{topic}-value/versions"),
        &json!({"schema": person, "schemaType": "PROTOBUF",
                "references": [{"name": "kre/dep/address.proto", "subject": dep_subject, "version": 1}]}),
    )["id"]
        .as_i64()
        .unwrap();
    let host = host();
    let value = json!({"name": "ref", "home": {"city": "Oslo"}, "born": "2001-02-03T04:05:06Z"});
    let r = produce(&host, PROTOBUF, &topic, &json!({"value_schema_id": id, "records": [{"value": value}]}));
    assert_eq!(r.status, 200, "{}", r.text());
    // A second version of the same subject (a field added); both records render with their own.
    let v1 = "syntax = \"proto3\";\nmessage Item { string sku = 1; }\n";
    let v2 = "syntax = \"proto3\";\nmessage Item { string sku = 1; int64 price = 2; }\n";
    let evo = unique("proto-evo");
    kafka.create_topic(&evo, 1, 1);
    let a = produce(&host, PROTOBUF, &evo, &json!({"value_schema": v1, "records": [{"value": {"sku": "a"}}]}));
    assert_eq!(a.status, 200, "{}", a.text());
    let b = produce(
        &host,
        PROTOBUF,
        &evo,
        &json!({"value_schema": v2, "records": [{"value": {"sku": "b", "price": "5"}}]}),
    );
    assert_eq!(b.status, 200, "{}", b.text());
    assert_ne!(a.json()["value_schema_id"], b.json()["value_schema_id"]);
    let got = consume(&host, "protobuf", PROTOBUF, &topic, 1);
    assert_eq!(got[0]["value"], value);
    let got = consume(&host, "protobuf", PROTOBUF, &evo, 2);
    assert_eq!(got[0]["value"], json!({"sku": "a"}));
    assert_eq!(got[1]["value"], json!({"sku": "b", "price": "5"}));
    kafka.delete_topic(&topic);
    kafka.delete_topic(&evo);
}

#[test]
fn jsonschema_records_we_write_are_read_by_confluents_deserializer_and_the_other_way() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY", "KRE_TEST_PYTHON");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("json-out");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    let values = [json!({"sku": "ABC-1", "qty": 2, "note": null}), json!({"sku": "XYZ-22", "qty": 1})];
    let r = produce(
        &host,
        JSONSCHEMA,
        &topic,
        &json!({"value_schema": ORDER_JSON, "records": [{"value": values[0]}, {"value": values[1]}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["value_schema_id"].as_i64().is_some());
    let read = python(&["read-json", &bootstrap(), &registry(), &topic, "2", ORDER_JSON]);
    assert_eq!(read.len(), 2, "{read:?}");
    assert_eq!(read[0]["value"], values[0]);
    assert_eq!(read[1]["value"], values[1]);
    let got = consume(&host, "jsonschema", JSONSCHEMA, &topic, 2);
    assert_eq!(got[0]["value"], values[0]);
    assert_eq!(got[1]["value"], values[1]);
    // Data that does not fit: 42203 naming the field, nothing written.
    for (bad, field) in [
        (json!({"sku": "abc", "qty": 1}), "sku"),
        (json!({"sku": "ABC-1", "qty": 0}), "qty"),
        (json!({"sku": "ABC-1"}), "qty"),
    ] {
        let msg = produce(&host, JSONSCHEMA, &topic, &json!({"value_schema": ORDER_JSON, "records": [{"value": bad}]}))
            .assert_error(422, 42203);
        assert!(msg.contains(&format!("field '{field}'")), "{msg}");
    }
    produce(&host, JSONSCHEMA, &topic, &json!({"value_schema": "{\"type\": 5}", "records": [{"value": 1}]}))
        .assert_error(422, 42205);
    assert_eq!(kafka.read_all(&topic).len(), 2);

    // Confluent's JSONSerializer writes; our consumer reads.
    let other = unique("json-in");
    kafka.create_topic(&other, 1, 1);
    python(&["write-json", &bootstrap(), &registry(), &other, ORDER_JSON, r#"{"sku":"DEF-3","qty":3}"#]);
    let got = consume(&host, "jsonschema", JSONSCHEMA, &other, 1);
    assert_eq!(got[0]["value"], json!({"sku": "DEF-3", "qty": 3}));
    // And the v3 consume extension.
    let cluster = kafka.describe().cluster_id;
    let part = format!("/v3/clusters/{cluster}/topics/{other}/partitions/0/records?offset=0&format=jsonschema");
    let decoded = host.get(&part).json();
    assert_eq!(decoded["records"][0]["value"]["type"], "JSONSCHEMA", "{decoded}");
    assert_eq!(decoded["records"][0]["value"]["data"], json!({"sku": "DEF-3", "qty": 3}), "{decoded}");
    kafka.delete_topic(&topic);
    kafka.delete_topic(&other);
}

#[test]
fn jsonschema_refs_to_other_subjects_resolve() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("json-ref");
    kafka.create_topic(&topic, 1, 1);
    let addr = r#"{"$id":"https://kre.test/address.json","type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#;
    let addr_subject = unique("kre-address");
    registry_post(&format!("/subjects/{addr_subject}/versions"), &json!({"schema": addr, "schemaType": "JSON"}));
    let person = r#"{"type":"object","properties":{"name":{"type":"string"},"home":{"$ref":"address.json"}}}"#;
    let id = registry_post(
        &format!("/subjects/{topic}-value/versions"),
        &json!({"schema": person, "schemaType": "JSON",
                "references": [{"name": "address.json", "subject": addr_subject, "version": 1}]}),
    )["id"]
        .as_i64()
        .unwrap();
    let host = host();
    let ok = json!({"name": "r", "home": {"city": "Oslo"}});
    let r = produce(&host, JSONSCHEMA, &topic, &json!({"value_schema_id": id, "records": [{"value": ok}]}));
    assert_eq!(r.status, 200, "{}", r.text());
    let msg = produce(&host, JSONSCHEMA, &topic, &json!({"value_schema_id": id, "records": [{"value": {"home": {}}}]}))
        .assert_error(422, 42203);
    assert!(msg.contains("home.city"), "{msg}");
    assert_eq!(consume(&host, "jsonschema", JSONSCHEMA, &topic, 1)[0]["value"], ok);
    kafka.delete_topic(&topic);
}

#[test]
fn v3_produce_mixes_formats_per_side_with_per_record_errors() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY", "KRE_TEST_PYTHON");
    let kafka = Kafka::new(&bootstrap());
    let cluster = kafka.describe().cluster_id;
    let topic = unique("mixed-v3");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    let path = format!("/v3/clusters/{cluster}/topics/{topic}/records");
    let send = |body: Value| common::v3_produce(&host, &path, &body);
    let key_schema = r#"{"type":"object","title":"Key","properties":{"k":{"type":"integer"}},"required":["k"]}"#;
    let first = send(json!({
        "key": {"type": "JSONSCHEMA", "schema": key_schema, "data": {"k": 1}},
        "value": {"type": "PROTOBUF", "schema": USER_PROTO, "data": {"name": "v3", "id": "3"}}
    }));
    assert_eq!(first[0]["error_code"], 200, "{first:?}");
    assert_eq!(first[0]["key"]["type"], "JSONSCHEMA");
    assert_eq!(first[0]["key"]["subject"], format!("{topic}-key"));
    assert_eq!(first[0]["value"]["type"], "PROTOBUF");
    let value_id = first[0]["value"]["schema_id"].as_i64().unwrap();
    // By id without a type: the schema's own type. By the subject's latest version.
    let by_id = send(json!({"value": {"schema_id": value_id, "data": {"name": "by-id"}}}));
    assert_eq!(by_id[0]["value"]["type"], "PROTOBUF", "{by_id:?}");
    let latest = send(json!({"value": {"type": "PROTOBUF", "data": {"name": "latest"}}}));
    assert_eq!(latest[0]["value"]["schema_id"].as_i64(), Some(value_id), "{latest:?}");
    // RECORD_NAME: the first message's full name; a JSON Schema's title. (A package of this run's
    // own: subjects named after records are shared by every test using the registry.)
    let pkg =
        format!("kre.n{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    let named_proto = format!("syntax = \"proto3\";\npackage {pkg};\nmessage Named {{ string name = 1; }}\n");
    let named = send(json!({
        "key": {"type": "JSONSCHEMA", "subject_name_strategy": "TOPIC_RECORD_NAME", "schema": key_schema, "data": {"k": 2}},
        "value": {"type": "PROTOBUF", "subject_name_strategy": "RECORD_NAME", "schema": named_proto, "data": {"name": "named"}}
    }));
    assert_eq!(named[0]["value"]["subject"], format!("{pkg}.Named"), "{named:?}");
    assert_eq!(named[0]["key"]["subject"], format!("{topic}-Key"), "{named:?}");
    // A record that does not fit fails alone.
    let bad = send(json!({"key": {"type": "JSONSCHEMA", "schema": key_schema, "data": {"k": "one"}}}));
    assert_eq!(bad[0]["error_code"], 42203, "{bad:?}");
    // A type that does not match the schema named by id.
    let wrong = send(json!({"value": {"type": "AVRO", "schema_id": value_id, "data": {}}}));
    assert_eq!(wrong[0]["error_code"], 42205, "{wrong:?}");

    let read = python(&["read-proto", &bootstrap(), &registry(), &topic, "4"]);
    let names: Vec<&str> = read.iter().map(|r| r["value"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["v3", "by-id", "latest", "named"]);
    let part = format!("/v3/clusters/{cluster}/topics/{topic}/partitions/0/records?offset=0&format=schema");
    let decoded = host.get(&part).json();
    assert_eq!(
        decoded["records"][0]["key"],
        json!({"type": "JSONSCHEMA", "schema_id": first[0]["key"]["schema_id"], "data": {"k": 1}}),
        "{decoded}"
    );
    assert_eq!(decoded["records"][0]["value"]["data"]["id"], "3", "{decoded}");
    kafka.delete_topic(&topic);
}

#[test]
fn the_json_schema_validator_agrees_with_pythons_jsonschema() {
    needs!("KRE_TEST_PYTHON");
    let cases = kre_core::registry::json_schema::cases();
    let py = common::env("KRE_TEST_PYTHON");
    let mut child = Command::new(py)
        .arg(common::repo().join("tests/python/sr_interop.py"))
        .arg("validate")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for (schema, instance, _) in &cases {
            writeln!(stdin, "{}", json!([schema, instance])).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: Vec<bool> = String::from_utf8(out.stdout).unwrap().lines().map(|l| l == "true").collect();
    assert_eq!(theirs.len(), cases.len());
    for ((schema, instance, expected), theirs) in cases.iter().zip(theirs) {
        assert_eq!(*expected, theirs, "Python's jsonschema disagrees with the expectation: {schema} on {instance}");
        let ours = kre_core::registry::json_schema::JsonSchema::parse(&schema.to_string(), &[]).unwrap();
        assert_eq!(ours.validate(instance).is_ok(), theirs, "{schema} on {instance}");
    }
}
