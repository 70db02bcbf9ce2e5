//! The avro embedded format through the served component, against the real broker and a real
//! Schema Registry (Apicurio Registry, Confluent-compatible API; scripts/registry.sh), checked
//! with Confluent's own Avro serializers (`confluent-kafka` from PyPI: tests/python/sr_interop.py).
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::{Value, json};

use kre_test_support as common;
use kre_test_support::needs;

use common::kafka::Kafka;
use common::{Host, bootstrap, registry_post, sr_interop as python, unique};

const AVRO: &str = "application/vnd.kafka.avro.v2+json";
const V2: &str = "application/vnd.kafka.v2+json";

const USER: &str = r#"{"type":"record","name":"User","namespace":"kre.test","fields":[
    {"name":"name","type":"string"},
    {"name":"age","type":["null","int"],"default":null},
    {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]},"default":"A"}]}"#;

fn registry() -> String {
    common::env("KRE_TEST_REGISTRY")
}

fn host() -> Host {
    Host::start(&[("SCHEMA_REGISTRY_URL", &registry())])
}

fn produce(host: &Host, topic: &str, body: &Value) -> common::Reply {
    host.send("POST", &format!("/topics/{topic}"), &[("content-type", AVRO)], Some(body.to_string().as_bytes()))
}

/// Reads `want` records through a v2 avro consumer (from the beginning).
fn consume(host: &Host, topic: &str, want: usize) -> Vec<Value> {
    common::consume_v2(host, "avro", AVRO, topic, want)
}

#[test]
fn records_we_write_are_read_by_confluents_deserializer_and_by_us() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY", "KRE_TEST_PYTHON");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("avro-out");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    let values =
        [json!({"name": "ann", "age": {"int": 42}, "kind": "B"}), json!({"name": "bob", "age": null, "kind": "A"})];
    let r = produce(
        &host,
        &topic,
        &json!({"key_schema": "\"string\"", "value_schema": USER,
                "records": [{"key": "k1", "value": values[0]}, {"key": "k2", "value": values[1]}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    let (key_id, value_id) = (answer["key_schema_id"].as_i64().unwrap(), answer["value_schema_id"].as_i64().unwrap());
    assert!(answer["offsets"].as_array().unwrap().iter().all(|o| o["error_code"].is_null()), "{answer}");
    // By id the next time; the ids come back unchanged.
    let r = produce(
        &host,
        &topic,
        &json!({"key_schema_id": key_id, "value_schema_id": value_id,
                                          "records": [{"key": "k3", "value": {"name": "cy", "kind": "A"}}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["value_schema_id"].as_i64(), Some(value_id));
    // Ids as strings of digits, as some clients send them (Confluent's Jackson coerces them).
    let r = produce(
        &host,
        &topic,
        &json!({"key_schema_id": key_id.to_string(), "value_schema_id": value_id.to_string(),
                "records": [{"key": "k4", "value": {"name": "dan", "kind": "A"}}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["value_schema_id"].as_i64(), Some(value_id));

    // Confluent's AvroDeserializer reads all four (unions come back as plain values there).
    let read = python(&["read", &bootstrap(), &registry(), &topic, "4"]);
    assert_eq!(read.len(), 4, "{read:?}");
    assert_eq!(read[0], json!({"key": "k1", "value": {"name": "ann", "age": 42, "kind": "B"}}));
    assert_eq!(read[2]["value"], json!({"name": "cy", "age": null, "kind": "A"}));

    // Our avro consumer renders Avro's JSON encoding, as Confluent's proxy does.
    let got = consume(&host, &topic, 4);
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0]["key"], "k1");
    assert_eq!(got[0]["value"], values[0]);
    assert_eq!(got[1]["value"], values[1]);
    kafka.delete_topic(&topic);
}

#[test]
fn records_confluents_serializer_wrote_read_through_us() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY", "KRE_TEST_PYTHON");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("avro-in");
    kafka.create_topic(&topic, 1, 1);
    python(&[
        "write",
        &bootstrap(),
        &registry(),
        &topic,
        USER,
        r#"{"name":"dee","age":7,"kind":"B"}"#,
        r#"{"name":"eve","age":null,"kind":"A"}"#,
    ]);
    let host = host();
    let got = consume(&host, &topic, 2);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["value"], json!({"name": "dee", "age": {"int": 7}, "kind": "B"}));
    assert_eq!(got[1]["value"], json!({"name": "eve", "age": null, "kind": "A"}));
    kafka.delete_topic(&topic);
}

#[test]
fn schema_errors_have_the_references_codes_and_write_nothing() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("avro-err");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    // Values without a value schema; keys without a key schema.
    produce(&host, &topic, &json!({"records": [{"value": {"name": "x"}}]})).assert_error(422, 42202);
    produce(&host, &topic, &json!({"value_schema": USER, "records": [{"key": "k", "value": {"name": "x"}}]}))
        .assert_error(422, 42201);
    // A schema that is not one.
    produce(&host, &topic, &json!({"value_schema": "{\"type\":\"record\"}", "records": [{"value": {}}]}))
        .assert_error(422, 42205);
    // Data that does not fit: the field is named.
    let msg = produce(
        &host,
        &topic,
        &json!({"value_schema": USER, "records": [{"value": {"name": "x", "age": {"int": "old"}}}]}),
    )
    .assert_error(422, 42203);
    assert!(msg.contains("age"), "{msg}");
    // An id the registry does not know: its refusal (Confluent's SchemaManagerImpl: 42207); the
    // same id as a string of digits is read as the number (Jackson's coercion).
    produce(&host, &topic, &json!({"value_schema_id": 987654, "records": [{"value": {"name": "x"}}]}))
        .assert_error(422, 42207);
    produce(&host, &topic, &json!({"value_schema_id": "987654", "records": [{"value": {"name": "x"}}]}))
        .assert_error(422, 42207);
    produce(&host, &topic, &json!({"value_schema_id": "x", "records": [{"value": {"name": "x"}}]}))
        .assert_error(400, 400);
    assert_eq!(kafka.read_all(&topic).len(), 0, "nothing was written");

    // A record not in Confluent's wire format stops an avro consumer at it (408/40801: Confluent's
    // answer to a SerializationException), and a
    // seek past it goes on.
    kafka.produce(&topic, 0, &["plain bytes"]);
    let r = produce(&host, &topic, &json!({"value_schema": USER, "records": [{"value": {"name": "after"}}]}));
    assert_eq!(r.status, 200, "{}", r.text());
    let group = unique("avro-bad");
    let create = json!({"name": "c", "format": "avro", "auto.offset.reset": "earliest"}).to_string();
    host.send("POST", &format!("/consumers/{group}"), &[("content-type", V2)], Some(create.as_bytes()));
    let base = format!("/consumers/{group}/instances/c");
    let assign = json!({"partitions": [{"topic": topic, "partition": 0}]}).to_string();
    assert_eq!(
        host.send("POST", &format!("{base}/assignments"), &[("content-type", V2)], Some(assign.as_bytes())).status,
        204
    );
    let seek = json!({"offsets": [{"topic": topic, "partition": 0, "offset": 0}]}).to_string();
    assert_eq!(
        host.send("POST", &format!("{base}/positions"), &[("content-type", V2)], Some(seek.as_bytes())).status,
        204
    );
    let msg =
        host.send("GET", &format!("{base}/records?timeout=2000"), &[("accept", AVRO)], None).assert_error(408, 40801);
    assert!(msg.contains("magic byte") && msg.contains("offset 0"), "{msg}");
    let past = json!({"offsets": [{"topic": topic, "partition": 0, "offset": 1}]}).to_string();
    assert_eq!(
        host.send("POST", &format!("{base}/positions"), &[("content-type", V2)], Some(past.as_bytes())).status,
        204
    );
    let r = host.send("GET", &format!("{base}/records?timeout=2000"), &[("accept", AVRO)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()[0]["value"]["name"], "after");
    kafka.delete_topic(&topic);
}

#[test]
fn without_a_reachable_registry_formats_answer_40801() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let topic = "avro-none";
    let body = json!({"value_schema": USER, "records": [{"value": {"name": "x"}}]});
    // None configured: the error names the setting.
    let host = Host::start(&[]);
    let msg = produce(&host, topic, &body).assert_error(408, 40801);
    assert!(msg.contains("schema_registry_url"), "{msg}");
    drop(host);
    // Configured but nothing listens: 40801 within the registry's timeout.
    let port = common::free_port();
    let host = Host::start(&[
        ("SCHEMA_REGISTRY_URL", &format!("http://127.0.0.1:{port}")),
        ("SCHEMA_REGISTRY_TIMEOUT_MS", "2000"),
    ]);
    let started = std::time::Instant::now();
    produce(&host, topic, &body).assert_error(408, 40801);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn v3_produce_with_avro_schemas_and_per_record_errors() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY", "KRE_TEST_PYTHON");
    let kafka = Kafka::new(&bootstrap());
    let cluster = kafka.describe().cluster_id;
    let topic = unique("avro-v3");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    let path = format!("/v3/clusters/{cluster}/topics/{topic}/records");
    let send = |body: Value| common::v3_produce(&host, &path, &body);
    // A schema in the request: registered under <topic>-value (TopicNameStrategy).
    let first = send(
        json!({"value": {"type": "AVRO", "schema": USER, "data": {"name": "v3", "age": {"int": 1}, "kind": "A"}}}),
    );
    assert_eq!(first[0]["error_code"], 200, "{first:?}");
    assert_eq!(first[0]["value"]["type"], "AVRO");
    assert_eq!(first[0]["value"]["subject"], format!("{topic}-value"));
    let id = first[0]["value"]["schema_id"].as_i64().unwrap();
    // By id; by the subject's latest version (no schema named at all).
    let by_id = send(json!({"value": {"type": "AVRO", "schema_id": id, "data": {"name": "by-id", "kind": "B"}}}));
    assert_eq!(by_id[0]["value"]["schema_id"].as_i64(), Some(id), "{by_id:?}");
    let latest = send(json!({"value": {"type": "AVRO", "data": {"name": "latest"}}}));
    assert_eq!(latest[0]["value"]["schema_id"].as_i64(), Some(id), "{latest:?}");
    assert!(latest[0]["value"]["schema_version"].as_i64().is_some(), "{latest:?}");
    // RecordNameStrategy: the subject is the record's full name.
    let named = send(
        json!({"value": {"type": "AVRO", "subject_name_strategy": "RECORD_NAME", "schema": USER, "data": {"name": "named"}}}),
    );
    assert_eq!(named[0]["value"]["subject"], "kre.test.User", "{named:?}");
    // A record that does not fit fails alone; the next one in the same stream is written.
    let mixed = send(json!({"value": {"type": "AVRO", "schema_id": id, "data": {"name": 5}}}));
    assert_eq!(mixed[0]["error_code"], 42203, "{mixed:?}");
    assert!(mixed[0]["message"].as_str().unwrap().contains("name"), "{mixed:?}");

    // Confluent's deserializer reads the four written.
    let read = python(&["read", &bootstrap(), &registry(), &topic, "4"]);
    let names: Vec<&str> = read.iter().map(|r| r["value"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["v3", "by-id", "latest", "named"]);

    // The v3 consume extension decodes with format=avro; the bytes stay available without it.
    let part = format!("/v3/clusters/{cluster}/topics/{topic}/partitions/0/records?offset=0");
    let decoded = host.get(&format!("{part}&format=avro")).json();
    assert_eq!(decoded["records"][0]["value"]["type"], "AVRO", "{decoded}");
    assert_eq!(decoded["records"][0]["value"]["schema_id"].as_i64(), Some(id));
    assert_eq!(decoded["records"][0]["value"]["data"], json!({"name": "v3", "age": {"int": 1}, "kind": "A"}));
    let raw = host.get(&part).json();
    assert_eq!(raw["records"][0]["value"]["type"], "BINARY", "{raw}");
    host.get(&format!("{part}&format=xml")).assert_error(400, 400);
    kafka.delete_topic(&topic);
}

#[test]
fn records_of_two_schema_versions_render_each_with_its_own() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("avro-evo");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    let v1 = r#"{"type":"record","name":"Item","fields":[{"name":"sku","type":"string"}]}"#;
    let v2 = r#"{"type":"record","name":"Item","fields":[{"name":"sku","type":"string"},{"name":"price","type":"long","default":0}]}"#;
    let a = produce(&host, &topic, &json!({"value_schema": v1, "records": [{"value": {"sku": "a"}}]}));
    assert_eq!(a.status, 200, "{}", a.text());
    // A BACKWARD-compatible change (a field with a default) registers as the subject's next version.
    let b = produce(&host, &topic, &json!({"value_schema": v2, "records": [{"value": {"sku": "b", "price": 5}}]}));
    assert_eq!(b.status, 200, "{}", b.text());
    assert_ne!(a.json()["value_schema_id"], b.json()["value_schema_id"]);
    // An incompatible one is refused by the registry: 42207 (Confluent's SchemaManagerImpl) with
    // its message, nothing written.
    let v3 = r#"{"type":"record","name":"Item","fields":[{"name":"sku","type":"long"}]}"#;
    produce(&host, &topic, &json!({"value_schema": v3, "records": [{"value": {"sku": 1}}]})).assert_error(422, 42207);
    let got = consume(&host, &topic, 2);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["value"], json!({"sku": "a"}));
    assert_eq!(got[1]["value"], json!({"sku": "b", "price": 5}));
    assert_eq!(kafka.read_all(&topic).len(), 2);
    kafka.delete_topic(&topic);
}

#[test]
fn a_registry_that_goes_away_is_40801_then_recovers() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    // A registry of this test's own (stopping the shared one would disturb the others).
    let port = common::free_port();
    let mgmt = common::free_port();
    let run = std::env::temp_dir().join(format!("kre-registry-{port}"));
    let script = common::repo().join("scripts/registry.sh");
    let registry = |cmd: &str| {
        let out = Command::new("bash")
            .arg(&script)
            .arg(cmd)
            .env("KRE_REGISTRY_PORT", port.to_string())
            .env("KRE_REGISTRY_MGMT_PORT", mgmt.to_string())
            .env("KRE_RUN_DIR", &run)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let url = registry("start");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("avro-sr-down");
    kafka.create_topic(&topic, 1, 1);
    let host = Host::start(&[("SCHEMA_REGISTRY_URL", &url), ("SCHEMA_REGISTRY_TIMEOUT_MS", "2000")]);
    let body = |name: &str| json!({"value_schema": USER, "records": [{"value": {"name": name}}]});
    assert_eq!(produce(&host, &topic, &body("before")).status, 200);
    registry("stop");
    // A schema it has not seen yet needs the registry: 40801 within the registry timeout.
    let other = r#"{"type":"record","name":"Other","fields":[{"name":"x","type":"int"}]}"#;
    let started = std::time::Instant::now();
    produce(&host, &topic, &json!({"value_schema": other, "records": [{"value": {"x": 1}}]})).assert_error(408, 40801);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    // Back (in-memory storage: it starts empty, and the proxy registers again).
    let url2 = registry("start");
    assert_eq!(url, url2);
    let r = produce(&host, &topic, &json!({"value_schema": other, "records": [{"value": {"x": 2}}]}));
    assert_eq!(r.status, 200, "{}", r.text());
    registry("stop");
    kafka.delete_topic(&topic);
}

#[test]
fn a_named_type_from_another_subject_is_resolved() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY", "KRE_TEST_PYTHON");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("avro-ref");
    kafka.create_topic(&topic, 1, 1);
    // kre.ref.Address lives in a subject of its own; Person refers to it by name.
    let address =
        r#"{"type":"record","name":"Address","namespace":"kre.ref","fields":[{"name":"city","type":"string"}]}"#;
    let address_subject = unique("kre.ref.Address");
    registry_post(&format!("/subjects/{address_subject}/versions"), &json!({"schema": address}));
    let person = r#"{"type":"record","name":"Person","namespace":"kre.ref","fields":[{"name":"name","type":"string"},{"name":"home","type":"kre.ref.Address"}]}"#;
    let id = registry_post(
        &format!("/subjects/{topic}-value/versions"),
        &json!({"schema": person, "references": [{"name": "kre.ref.Address", "subject": address_subject, "version": 1}]}),
    )["id"]
        .as_i64()
        .unwrap();
    let host = host();
    let value = json!({"name": "ref", "home": {"city": "Oslo"}});
    let r = produce(&host, &topic, &json!({"value_schema_id": id, "records": [{"value": value}]}));
    assert_eq!(r.status, 200, "{}", r.text());
    let got = consume(&host, &topic, 1);
    assert_eq!(got[0]["value"], value);
    // Confluent's deserializer resolves the same reference and reads our bytes.
    let read = python(&["read", &bootstrap(), &registry(), &topic, "1"]);
    assert_eq!(read[0]["value"], value);
    kafka.delete_topic(&topic);
}
