//! Hostile input through the served component (both artifacts, both hosts: make test runs this
//! suite on each): structures nested deeper than the WebAssembly stack allows, records that
//! expand without bound, quadratic validation, strings longer than the Kafka protocol carries,
//! dot names. Each gets a JSON error with the documented status and code — never the host's
//! HTML 500 of a trap — and requests beside it (long polls, a streaming produce; under WASI 0.3
//! they share the instance) are answered normally.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};

use kre_test_support as common;
use kre_test_support::needs;

use common::kafka::Kafka;
use common::{Host, Streaming, b64, bootstrap, registry_post, unique};

const V2: &str = "application/vnd.kafka.v2+json";
const BINARY: &str = "application/vnd.kafka.binary.v2+json";
const AVRO: &str = "application/vnd.kafka.avro.v2+json";
const PROTOBUF: &str = "application/vnd.kafka.protobuf.v2+json";
const JSONSCHEMA: &str = "application/vnd.kafka.jsonschema.v2+json";

/// A linked list: a record a few hundred levels deep overflowed the component's stack.
const NODE: &str =
    r#"{"type":"record","name":"Node","namespace":"kre.hostile","fields":[{"name":"next","type":["null","Node"]}]}"#;

fn host() -> Host {
    Host::start(&[("SCHEMA_REGISTRY_URL", &common::env("KRE_TEST_REGISTRY"))])
}

fn register(kind: &str, schema: &str) -> u32 {
    let subject = unique("kre-hostile");
    let body = json!({"schema": schema, "schemaType": kind});
    registry_post(&format!("/subjects/{subject}/versions"), &body)["id"].as_u64().unwrap() as u32
}

/// Confluent's wire format: magic byte, schema id, payload.
fn framed(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Raw record values written through the binary format (the bytes as they are).
fn produce_raw(host: &Host, topic: &str, values: &[Vec<u8>]) {
    let records: Vec<Value> = values.iter().map(|v| json!({"value": b64(v), "partition": 0})).collect();
    let body = json!({ "records": records }).to_string();
    let r = host.send("POST", &format!("/topics/{topic}"), &[("content-type", BINARY)], Some(body.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A v2 consumer of `format` assigned partition 0 of `topic` from offset 0; its base path.
fn consumer(host: &Host, format: &str, topic: &str) -> String {
    let group = unique("hostile-g");
    let create = json!({"name": "c", "format": format, "auto.offset.reset": "earliest"}).to_string();
    let r = host.send("POST", &format!("/consumers/{group}"), &[("content-type", V2)], Some(create.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.text());
    let base = format!("/consumers/{group}/instances/c");
    let assign = json!({"partitions": [{"topic": topic, "partition": 0}]}).to_string();
    let r = host.send("POST", &format!("{base}/assignments"), &[("content-type", V2)], Some(assign.as_bytes()));
    assert_eq!(r.status, 204, "{}", r.text());
    base
}

fn seek(host: &Host, base: &str, topic: &str, offset: i64) {
    let seek = json!({"offsets": [{"topic": topic, "partition": 0, "offset": offset}]}).to_string();
    let r = host.send("POST", &format!("{base}/positions"), &[("content-type", V2)], Some(seek.as_bytes()));
    assert_eq!(r.status, 204, "{}", r.text());
}

/// The host still answers, with JSON.
fn serving(host: &Host) {
    let r = host.get("/v3/clusters");
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A list `depth` nodes long in Avro's binary encoding (each node: union branch 1, the last 0).
fn avro_list(depth: usize) -> Vec<u8> {
    let mut v = vec![2u8; depth];
    v.push(0);
    v
}

#[test]
fn deep_avro_records_stop_a_consumer_at_them_and_never_trap() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("hostile-avro");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    let id = register("AVRO", NODE);
    // 0: three nodes; 1: 400 nodes (the depth that trapped); 2: 5,000; 3: three again.
    produce_raw(&host, &topic, &[framed(id, &avro_list(3)), framed(id, &avro_list(400))]);
    produce_raw(&host, &topic, &[framed(id, &avro_list(5000)), framed(id, &avro_list(3))]);

    let base = consumer(&host, "avro", &topic);
    seek(&host, &base, &topic, 0);
    let r = host.send("GET", &format!("{base}/records?timeout=3000"), &[("accept", AVRO)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.json();
    assert_eq!(got.as_array().unwrap().len(), 1, "the answer ends before the deep record: {got}");
    assert_eq!(
        got[0]["value"],
        json!({"next": {"kre.hostile.Node": {"next": {"kre.hostile.Node": {"next": {"kre.hostile.Node": {"next": null}}}}}}})
    );
    // The deep record: Confluent's answer to a SerializationException, every time (the position stays).
    for _ in 0..2 {
        let msg = host
            .send("GET", &format!("{base}/records?timeout=2000"), &[("accept", AVRO)], None)
            .assert_error(408, 40801);
        assert!(msg.contains("offset 1") && msg.contains("nested deeper than 100 levels"), "{msg}");
    }
    seek(&host, &base, &topic, 2);
    let msg =
        host.send("GET", &format!("{base}/records?timeout=2000"), &[("accept", AVRO)], None).assert_error(408, 40801);
    assert!(msg.contains("offset 2"), "{msg}");
    seek(&host, &base, &topic, 3);
    let r = host.send("GET", &format!("{base}/records?timeout=3000"), &[("accept", AVRO)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json().as_array().unwrap().len(), 1);

    // v3 renders what it cannot decode as its bytes.
    let id3 = host.get("/v3/clusters").json()["data"][0]["cluster_id"].as_str().unwrap().to_owned();
    let r = host.get(&format!("/v3/clusters/{id3}/topics/{topic}/partitions/0/records?offset=0&format=avro"));
    assert_eq!(r.status, 200, "{}", r.text());
    let records = r.json()["records"].as_array().unwrap().clone();
    assert_eq!(records.len(), 4, "{records:?}");
    assert_eq!(records[0]["value"]["type"], "AVRO");
    assert_eq!(records[1]["value"]["type"], "BINARY");
    assert_eq!(records[2]["value"]["type"], "BINARY");
    serving(&host);
    kafka.delete_topic(&topic);
}

#[test]
fn records_that_expand_without_bound_are_refused() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("hostile-expand");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    // An array claiming 20 M nulls: 5 bytes that rendered to 100 MB.
    let id = register("AVRO", r#"{"type":"array","items":"null"}"#);
    let mut payload = Vec::new();
    let mut n: u64 = 20_000_000 << 1;
    while n >= 0x80 {
        payload.push((n as u8) | 0x80);
        n >>= 7;
    }
    payload.push(n as u8);
    payload.push(0);
    produce_raw(&host, &topic, &[framed(id, &payload)]);
    let base = consumer(&host, "avro", &topic);
    let msg =
        host.send("GET", &format!("{base}/records?timeout=3000"), &[("accept", AVRO)], None).assert_error(408, 40801);
    assert!(msg.contains("renders to more than"), "{msg}");
    let id3 = host.get("/v3/clusters").json()["data"][0]["cluster_id"].as_str().unwrap().to_owned();
    let r = host.get(&format!("/v3/clusters/{id3}/topics/{topic}/partitions/0/records?offset=0&format=avro"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.len() < 4096, "{} bytes", r.body.len());
    serving(&host);
    kafka.delete_topic(&topic);
}

/// `depth` messages nested in one another, in `.proto` text.
fn nested_proto(depth: usize) -> String {
    let mut s = String::from("syntax = \"proto3\";\npackage kre.hostile;\n");
    for i in 0..depth {
        s.push_str(&format!("message M{i} {{ int32 x = 1;\n"));
    }
    s.push_str(&"}\n".repeat(depth));
    s
}

#[test]
fn deep_protobuf_schemas_and_messages_are_errors_not_traps() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("hostile-proto");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    // ~800 nested messages trapped v2 and v3 produce in the schema compiler.
    let body = json!({"value_schema": nested_proto(800), "records": [{"value": {"x": 1}}]}).to_string();
    let msg = host
        .send("POST", &format!("/topics/{topic}"), &[("content-type", PROTOBUF)], Some(body.as_bytes()))
        .assert_error(422, 42205);
    assert!(msg.contains("nests 800 levels"), "{msg}");
    // On a v3 stream: the records before it are written and reported, it fails alone.
    let id3 = host.get("/v3/clusters").json()["data"][0]["cluster_id"].as_str().unwrap().to_owned();
    let mut s = Streaming::open(host.port, &format!("/v3/clusters/{id3}/topics/{topic}/records"));
    s.send(json!({"value": {"type": "JSON", "data": 1}}).to_string().as_bytes());
    s.send(
        json!({"value": {"type": "PROTOBUF", "schema": nested_proto(800), "data": {"x": 1}}}).to_string().as_bytes(),
    );
    s.send(json!({"value": {"type": "JSON", "data": 3}}).to_string().as_bytes());
    let (status, reports) = s.finish();
    assert_eq!(status, 200);
    let codes: Vec<i64> = reports.iter().map(|r| r["error_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, vec![200, 42205, 200], "{reports:?}");

    // A recursive message: 100 levels deep (prost's limit) is rendered, 5,000 deep is an error.
    let id =
        register("PROTOBUF", "syntax = \"proto3\";\npackage kre.hostile;\nmessage N { N next = 1; int32 v = 2; }\n");
    let nested = |depth: usize| {
        let mut m: Vec<u8> = vec![0x10, 0x07]; // v = 7
        for _ in 0..depth {
            let mut outer = vec![0x0a];
            let mut len = m.len();
            while len >= 0x80 {
                outer.push((len as u8) | 0x80);
                len >>= 7;
            }
            outer.push(len as u8);
            outer.extend_from_slice(&m);
            m = outer;
        }
        let mut payload = vec![0]; // message-index path [0]
        payload.extend_from_slice(&m);
        framed(id, &payload)
    };
    // Offsets 0 and 1 are the stream's JSON records.
    produce_raw(&host, &topic, &[nested(100), nested(5000)]);
    let base = consumer(&host, "protobuf", &topic);
    seek(&host, &base, &topic, 2);
    let r = host.send("GET", &format!("{base}/records?timeout=3000"), &[("accept", PROTOBUF)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.json();
    assert_eq!(got.as_array().unwrap().len(), 1, "{got}");
    let mut v = &got[0]["value"];
    for _ in 0..100 {
        v = &v["next"];
    }
    assert_eq!(v["v"], 7);
    host.send("GET", &format!("{base}/records?timeout=2000"), &[("accept", PROTOBUF)], None).assert_error(408, 40801);
    serving(&host);
    kafka.delete_topic(&topic);
}

#[test]
fn deep_json_and_costly_validation_get_clear_answers() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("hostile-json");
    kafka.create_topic(&topic, 1, 1);
    let host = host();
    let path = format!("/topics/{topic}");
    // JSON nested past serde_json's 128 levels: a 400, not a trap.
    let deep = format!(r#"{{"records":[{{"value":{}1{}}}]}}"#, "[".repeat(5000), "]".repeat(5000));
    let json_type = "application/vnd.kafka.json.v2+json";
    host.send("POST", &path, &[("content-type", json_type)], Some(deep.as_bytes())).assert_error(400, 400);
    // uniqueItems over 100,000 items: pairwise this took a minute and failed as a Kafka timeout.
    let schema = r#"{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","uniqueItems":true}"#;
    let items: Vec<u64> = (0..100_000).collect();
    let body = json!({"value_schema": schema, "records": [{"value": items}]}).to_string();
    let r = host.send("POST", &path, &[("content-type", JSONSCHEMA)], Some(body.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["offsets"][0]["error_code"].is_null(), "{}", r.text());
    let body = json!({"value_schema": schema, "records": [{"value": [1, 2, 1.0]}]}).to_string();
    let msg = host.send("POST", &path, &[("content-type", JSONSCHEMA)], Some(body.as_bytes())).assert_error(422, 42203);
    assert!(msg.contains("not unique"), "{msg}");
    // A JSON Schema whose $refs chain deeper than the limit.
    let mut defs = serde_json::Map::new();
    for i in 0..300 {
        defs.insert(format!("d{i}"), json!({"$ref": format!("#/definitions/d{}", i + 1)}));
    }
    defs.insert("d300".into(), json!({"type": "integer"}));
    let chain =
        json!({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": defs, "$ref": "#/definitions/d0"})
            .to_string();
    let body = json!({"value_schema": chain, "records": [{"value": 1}]}).to_string();
    // A subject of its own (the registry checks compatibility within one).
    let chained = unique("hostile-chain");
    kafka.create_topic(&chained, 1, 1);
    let msg = host
        .send("POST", &format!("/topics/{chained}"), &[("content-type", JSONSCHEMA)], Some(body.as_bytes()))
        .assert_error(422, 42203);
    assert!(msg.contains("nest too deeply"), "{msg}");
    kafka.delete_topic(&chained);
    serving(&host);
    kafka.delete_topic(&topic);
}

#[test]
fn strings_longer_than_the_protocol_carries_are_400_naming_the_field() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("hostile-long");
    kafka.create_topic(&topic, 1, 1);
    // Paths of 40 kB (Spin counts the URL twice among the headers it hands over).
    let host = Host::start(&[("MAX_HEADER_BYTES", "262144")]);
    let id = host.get("/v3/clusters").json()["data"][0]["cluster_id"].as_str().unwrap().to_owned();
    let long = "x".repeat(40_000);
    let acl = json!({"resource_type": "TOPIC", "resource_name": long, "pattern_type": "LITERAL",
                     "principal": "User:alice", "host": "*", "operation": "READ", "permission": "ALLOW"});
    let msg = host.json("POST", &format!("/v3/clusters/{id}/acls"), &acl).assert_error(400, 400);
    assert!(msg.contains("resource_name is 40000 bytes"), "{msg}");
    let msg = host.get(&format!("/v3/clusters/{id}/acls?principal=User:{long}")).assert_error(400, 400);
    assert!(msg.contains("principal"), "{msg}");
    let msg = host.get(&format!("/v3/clusters/{id}/consumer-groups/{long}")).assert_error(400, 400);
    assert!(msg.contains("consumer group id"), "{msg}");
    let alter = json!({"data": [{"name": long, "value": "1"}]});
    let msg =
        host.json("POST", &format!("/v3/clusters/{id}/topics/{topic}/configs:alter"), &alter).assert_error(400, 400);
    assert!(msg.contains("data[0].name"), "{msg}");
    let alter = json!({"data": [{"name": "retention.ms", "value": long}]});
    host.json("POST", &format!("/v3/clusters/{id}/topics/{topic}/configs:alter"), &alter).assert_error(400, 400);
    let base = consumer(&host, "binary", &topic);
    let commit = json!({"offsets": [{"topic": topic, "partition": 0, "offset": 0, "metadata": long}]}).to_string();
    let msg = host
        .send("POST", &format!("{base}/offsets"), &[("content-type", V2)], Some(commit.as_bytes()))
        .assert_error(400, 400);
    assert!(msg.contains("metadata"), "{msg}");
    serving(&host);
    kafka.delete_topic(&topic);
}

#[test]
fn dot_names_are_refused() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    for name in [".", ".."] {
        let create = json!({"name": name, "format": "binary"}).to_string();
        let group = unique("hostile-dots");
        host.send("POST", &format!("/consumers/{group}"), &[("content-type", V2)], Some(create.as_bytes()))
            .assert_error(400, 400);
    }
    // A group of that name, percent-encoded so no client rewrites the request itself.
    let create = json!({"name": "c", "format": "binary"}).to_string();
    host.send("POST", "/consumers/%2E%2E", &[("content-type", V2)], Some(create.as_bytes())).assert_error(400, 400);
}

#[test]
fn a_hostile_request_leaves_the_others_answered() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_REGISTRY");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("hostile-beside");
    let quiet = unique("hostile-quiet");
    kafka.create_topic(&topic, 1, 1);
    kafka.create_topic(&quiet, 1, 1);
    let host = host();
    let id3 = host.get("/v3/clusters").json()["data"][0]["cluster_id"].as_str().unwrap().to_owned();
    let node = register("AVRO", NODE);
    produce_raw(&host, &topic, &[framed(node, &avro_list(5000))]);
    // Four long polls of another client on a quiet partition, and a streaming produce.
    let port = host.port;
    let polls: Vec<_> = (0..4)
        .map(|_| {
            let path = format!("/v3/clusters/{id3}/topics/{quiet}/partitions/0/records?offset=0&timeout=4000");
            std::thread::spawn(move || common::request(port, "GET", &path, &[], None))
        })
        .collect();
    let mut stream = Streaming::open(port, &format!("/v3/clusters/{id3}/topics/{topic}/records"));
    stream.send(json!({"value": {"type": "JSON", "data": "before"}}).to_string().as_bytes());
    assert_eq!(stream.reports_within(1, Duration::from_secs(20)).len(), 1);
    // Meanwhile: deep records read, a deep schema, a costly validation, deep JSON.
    let hostile: Vec<_> = (0..3)
        .map(|i| {
            let (topic, id3) = (topic.clone(), id3.clone());
            std::thread::spawn(move || match i {
                0 => common::request(
                    port,
                    "GET",
                    &format!("/v3/clusters/{id3}/topics/{topic}/partitions/0/records?offset=0&format=avro"),
                    &[],
                    None,
                ),
                1 => {
                    let body = json!({"value_schema": nested_proto(800), "records": [{"value": {}}]}).to_string();
                    common::request(
                        port,
                        "POST",
                        &format!("/topics/{topic}"),
                        &[("content-type", PROTOBUF)],
                        Some(body.as_bytes()),
                    )
                }
                _ => {
                    let items: Vec<u64> = (0..200_000).collect();
                    let schema =
                        r#"{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","uniqueItems":true}"#;
                    let body = json!({"value_schema": schema, "records": [{"value": items}]}).to_string();
                    common::request(
                        port,
                        "POST",
                        &format!("/topics/{topic}"),
                        &[("content-type", JSONSCHEMA)],
                        Some(body.as_bytes()),
                    )
                }
            })
        })
        .collect();
    for h in hostile {
        let r = h.join().unwrap();
        assert!(r.status < 500, "{} {}", r.status, r.text());
        r.json();
    }
    for p in polls {
        let r = p.join().unwrap();
        assert_eq!(r.status, 200, "a long poll beside the hostile requests: {}", r.text());
        assert!(r.json()["records"].is_array());
    }
    stream.send(json!({"value": {"type": "JSON", "data": "after"}}).to_string().as_bytes());
    let (status, reports) = stream.finish();
    assert_eq!(status, 200);
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports.iter().all(|r| r["error_code"] == 200), "{reports:?}");
    serving(&host);
    kafka.delete_topic(&topic);
    kafka.delete_topic(&quiet);
}
