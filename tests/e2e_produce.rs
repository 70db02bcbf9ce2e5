//! Produce through the served component, read back natively from the real broker.
#![allow(clippy::unwrap_used)]

use kre_test_support as common;
use kre_test_support::needs;

use std::collections::BTreeSet;
use std::time::Duration;

use common::kafka::Kafka;
use common::{Host, Streaming, b64, bootstrap, unique};
use kafka_protocol::records::Compression;
use serde_json::{Value, json};

const BINARY: &str = "application/vnd.kafka.binary.v2+json";
const JSONF: &str = "application/vnd.kafka.json.v2+json";

fn v2(host: &Host, path: &str, ct: &str, body: &Value) -> common::Reply {
    host.send("POST", path, &[("content-type", ct)], Some(&serde_json::to_vec(body).unwrap()))
}

fn setup(partitions: i32) -> (Kafka, String, String) {
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("produce");
    kafka.create_topic(&topic, partitions, 1);
    let id = kafka.describe().cluster_id;
    (kafka, topic, id)
}

#[test]
fn v2_binary_round_trip_with_java_partitioning() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let (kafka, topic, _) = setup(3);
    let host = Host::start(&[]);
    // Expected partitions of 3 computed with the Java client's Utils.murmur2/toPositive.
    let keyed = [("key-1", 0), ("key-2", 2), ("order-12345", 1), ("a", 1), ("abc", 0)];
    let mut records: Vec<Value> = keyed
        .iter()
        .map(|(k, _)| json!({"key": b64(k.as_bytes()), "value": b64(format!("v-{k}").as_bytes())}))
        .collect();
    records.push(json!({"value": b64(b"explicit"), "partition": 2, "headers": [{"name": "h1", "value": b64(b"x")}, {"name": "h2", "value": null}]}));
    for i in 0..6 {
        records.push(json!({"value": b64(format!("spread-{i}").as_bytes())}));
    }
    records.push(json!({"key": b64(b"tomb"), "value": null, "partition": 0}));
    let r = v2(&host, &format!("/topics/{topic}"), BINARY, &json!({"records": records}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/vnd.kafka.v2+json"));
    let v = r.json();
    assert_eq!(v["key_schema_id"], Value::Null);
    assert_eq!(v["value_schema_id"], Value::Null);
    let offsets = v["offsets"].as_array().unwrap();
    assert_eq!(offsets.len(), 13);
    for (i, (_, p)) in keyed.iter().enumerate() {
        assert_eq!(offsets[i]["partition"], *p, "key {i}");
        assert_eq!(offsets[i]["error_code"], Value::Null);
    }
    assert_eq!(offsets[5]["partition"], 2);
    let spread: BTreeSet<i64> = offsets[6..12].iter().map(|o| o["partition"].as_i64().unwrap()).collect();
    assert_eq!(spread.len(), 3, "unkeyed records spread over every partition: {spread:?}");

    // Read back natively: every record exactly where the proxy said.
    let all = kafka.read_all(&topic);
    assert_eq!(all.len(), 13);
    for (i, o) in offsets.iter().enumerate() {
        let got = all
            .iter()
            .find(|r| {
                r.partition == o["partition"].as_i64().unwrap() as i32 && r.offset == o["offset"].as_i64().unwrap()
            })
            .unwrap();
        let sent = &records[i];
        let decode = |v: &Value| v.as_str().map(common::b64_decode);
        assert_eq!(got.key, decode(&sent["key"]), "record {i}");
        assert_eq!(got.value, decode(&sent["value"]), "record {i}");
    }
    let explicit = all.iter().find(|r| r.value.as_deref() == Some(b"explicit")).unwrap();
    assert_eq!(explicit.headers, vec![("h1".to_string(), Some(b"x".to_vec())), ("h2".to_string(), None)]);
    let tomb = all.iter().find(|r| r.key.as_deref() == Some(b"tomb")).unwrap();
    assert_eq!(tomb.value, None);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!(all.iter().all(|r| (now - r.timestamp).abs() < 60_000), "CreateTime is now");
    kafka.delete_topic(&topic);
}

#[test]
fn v2_json_and_partition_endpoint() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let (kafka, topic, _) = setup(2);
    let host = Host::start(&[]);
    let values = [json!({"foo": "bar"}), json!(["foo", "bar"]), json!(53.5), json!("text")];
    let records: Vec<Value> = values.iter().map(|v| json!({"key": "somekey", "value": v})).collect();
    let r = v2(&host, &format!("/topics/{topic}/partitions/1"), JSONF, &json!({"records": records}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let offsets = r.json()["offsets"].as_array().unwrap().clone();
    assert!(offsets.iter().all(|o| o["partition"] == 1));
    assert_eq!(offsets.iter().map(|o| o["offset"].as_i64().unwrap()).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    let read = kafka.read_partition(&topic, 1);
    for (r, v) in read.iter().zip(&values) {
        assert_eq!(r.key.as_deref(), Some(&b"\"somekey\""[..]));
        assert_eq!(serde_json::from_slice::<Value>(r.value.as_ref().unwrap()).unwrap(), *v);
    }
    // Less specific types mean binary.
    let r = v2(&host, &format!("/topics/{topic}"), "application/json", &json!({"records": [{"value": b64(b"raw")}]}));
    assert_eq!(r.status, 200);
    kafka.delete_topic(&topic);
}

#[test]
fn v2_bad_input() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let (kafka, topic, _) = setup(2);
    let host = Host::start(&[("MAX_REQUEST_BYTES", "100000")]);
    let path = format!("/topics/{topic}");
    // Malformed bodies are Confluent's (and Karapace's) 400: Jackson's mapping errors.
    v2(&host, &path, BINARY, &json!({"records": [{"value": "not base64!"}]})).assert_error(400, 400);
    v2(&host, &path, BINARY, &json!({"records": [{"value": 5}]})).assert_error(400, 400);
    v2(&host, &path, BINARY, &json!({"records": [5]})).assert_error(400, 400);
    v2(&host, &path, BINARY, &json!({"records": "many"})).assert_error(400, 400);
    v2(&host, &path, BINARY, &json!({"records": []})).assert_error(422, 422);
    v2(&host, &path, BINARY, &json!({})).assert_error(422, 422);
    let msg =
        v2(&host, &path, BINARY, &json!({"records": [{"value": "eA==", "colour": "red"}]})).assert_error(400, 400);
    assert!(msg.contains("colour"), "{msg}");
    v2(&host, &path, BINARY, &json!({"records": [{"value": "eA==", "partition": "one"}]})).assert_error(400, 400);
    host.send("POST", &path, &[("content-type", BINARY)], Some(b"{\"records\": [")).assert_error(400, 400);
    v2(&host, &path, "text/plain", &json!({"records": [{"value": "eA=="}]})).assert_error(415, 415);
    // A schema format with no registry configured: 40801, the message naming the setting.
    let msg = v2(&host, &path, "application/vnd.kafka.protobuf.v2+json", &json!({"records": [{"value": 1}]}))
        .assert_error(408, 40801);
    assert!(msg.contains("schema_registry_url"), "{msg}");
    v2(&host, &path, BINARY, &json!({"records": [{"value": "eA==", "partition": 7}]})).assert_error(404, 40402);
    v2(&host, &format!("{path}/partitions/7"), BINARY, &json!({"records": [{"value": "eA=="}]}))
        .assert_error(404, 40402);
    v2(&host, "/topics/no-such-topic-p", BINARY, &json!({"records": [{"value": "eA=="}]})).assert_error(404, 40401);
    let big = json!({"records": [{"value": b64(&vec![7u8; 120_000])}]});
    v2(&host, &path, BINARY, &big).assert_error(413, 413);
    // Nothing of the above reached the topic.
    assert!(kafka.read_all(&topic).is_empty());
    kafka.delete_topic(&topic);
}

#[test]
fn v3_records_single_and_batch() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let (kafka, topic, id) = setup(3);
    let host = Host::start(&[]);
    let path = format!("/v3/clusters/{id}/topics/{topic}/records");
    let r = host.json(
        "POST",
        &path,
        &json!({"partition_id": 1, "headers": [{"name": "Header-1", "value": "SGVhZGVyLTE="}],
                "key": {"type": "BINARY", "data": "Zm9vYmFy"}, "value": {"type": "JSON", "data": {"foo": "bar"}},
                "timestamp": "2021-02-05T19:14:42Z"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let rep = r.json();
    assert_eq!(
        rep,
        json!({"error_code": 200, "cluster_id": id, "topic_name": topic, "partition_id": 1, "offset": 0,
               "timestamp": "2021-02-05T19:14:42Z", "key": {"type": "BINARY", "size": 6}, "value": {"type": "JSON", "size": 13}})
    );
    let read = kafka.read_partition(&topic, 1);
    assert_eq!(read[0].key.as_deref(), Some(&b"foobar"[..]));
    assert_eq!(read[0].value.as_deref(), Some(&b"{\"foo\":\"bar\"}"[..]));
    assert_eq!(read[0].headers, vec![("Header-1".to_string(), Some(b"Header-1".to_vec()))]);
    assert_eq!(read[0].timestamp, 1_612_552_482_000);

    // STRING, schema-less default (JSON), null key.
    let r = host.json("POST", &path, &json!({"partition_id": 2, "value": {"type": "STRING", "data": "My message"}}));
    assert_eq!(r.json()["value"], json!({"type": "STRING", "size": 10}));
    assert_eq!(r.json()["key"], Value::Null);
    let r = host.json("POST", &path, &json!({"partition_id": 2, "key": {"data": 1000}, "value": {"data": "foobar"}}));
    assert_eq!(r.json()["key"], json!({"type": "JSON", "size": 4}));
    let p2 = kafka.read_partition(&topic, 2);
    assert_eq!(p2[0].value.as_deref(), Some(&b"My message"[..]));
    assert_eq!(p2[1].key.as_deref(), Some(&b"1000"[..]));
    assert_eq!(p2[1].value.as_deref(), Some(&b"\"foobar\""[..]));

    // Per-record errors in a 200 answer.
    let bad = host.json("POST", &path, &json!({"value": {"type": "BINARY", "data": 1}}));
    assert_eq!(bad.status, 200);
    assert_eq!(bad.json()["error_code"], 400);
    let bad = host.json("POST", &path, &json!({"partition_id": 9, "value": {"type": "STRING", "data": "x"}}));
    assert_eq!(bad.json()["error_code"], 40402);
    let bad = host.json("POST", &path, &json!({"value": {"type": "AVRO", "data": 1}}));
    assert!(bad.json()["message"].as_str().unwrap().contains("Schema Registry"));
    let bad = host.json("POST", &path, &json!({"value": {"type": "STRING", "data": "x"}, "timestamp": "yesterday"}));
    assert_eq!(bad.json()["error_code"], 400);
    let bad = host.json("POST", &path, &json!({"value": {"type": "STRING", "data": "x"}, "surprise": 1}));
    assert_eq!(bad.json()["error_code"], 400);

    // Whole-request errors.
    host.send("POST", &path, &[("content-type", "application/json")], Some(b"  ")).assert_error(422, 422);
    host.send("POST", &path, &[("content-type", "text/plain")], Some(b"{}")).assert_error(415, 415);
    host.json("POST", &format!("/v3/clusters/{id}/topics/no-such-topic-v3/records"), &json!({}))
        .assert_error(404, 40401);
    host.json("POST", &format!("/v3/clusters/nope/topics/{topic}/records"), &json!({})).assert_error(404, 404);

    // records:batch
    let r = host.json(
        "POST",
        &format!("{path}:batch"),
        &json!({"entries": [
            {"id": "a", "partition_id": 0, "value": {"type": "STRING", "data": "one"}},
            {"id": "b", "partition_id": 9, "value": {"type": "STRING", "data": "two"}},
            {"id": "c", "value": {"type": "BINARY", "data": "??"}},
            {"id": "d", "partition_id": 0, "key": {"type": "STRING", "data": "k"}, "value": {"type": "STRING", "data": "four"}}
        ]}),
    );
    assert_eq!(r.status, 207, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    let ok: Vec<&str> = v["successes"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    let failed: Vec<(&str, i64)> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["error_code"].as_i64().unwrap()))
        .collect();
    assert_eq!(ok, vec!["a", "d"]);
    assert_eq!(failed, vec![("b", 40402), ("c", 400)]);
    assert_eq!(v["successes"][1]["offset"], 1);
    assert_eq!(kafka.read_partition(&topic, 0).len(), 2);
    host.json("POST", &format!("{path}:batch"), &json!({"entries": [{"id": "x"}, {"id": "x"}]})).assert_error(400, 400);
    // The OpenAPI document answers an empty batch with 400.
    host.json("POST", &format!("{path}:batch"), &json!({"entries": []})).assert_error(400, 400);
    kafka.delete_topic(&topic);
}

#[test]
fn v3_streaming_reports_arrive_while_the_request_is_open() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let (kafka, topic, id) = setup(3);
    let host = Host::start(&[]);
    let mut s = Streaming::open(host.port, &format!("/v3/clusters/{id}/topics/{topic}/records"));
    s.send(br#"{"value": {"type": "STRING", "data": "first"}}"#);
    let reports = s.reports_within(1, Duration::from_secs(20));
    assert_eq!(reports.len(), 1, "the first report came back before the request ended");
    assert_eq!(reports[0]["error_code"], 200);
    s.send(br#"{"value": {"type": "STRING", "data": "second"}}"#);
    assert_eq!(s.reports_within(2, Duration::from_secs(20)).len(), 2);
    let (status, reports) = s.finish();
    assert_eq!(status, 200);
    assert_eq!(reports.len(), 2);
    assert_eq!(kafka.read_all(&topic).len(), 2);
    kafka.delete_topic(&topic);
}

#[test]
fn v3_streaming_10000_records_with_malformed_ones() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let (kafka, topic, id) = setup(3);
    let host = Host::start(&[]);
    let mut s = Streaming::open(host.port, &format!("/v3/clusters/{id}/topics/{topic}/records"));
    let mut expected = Vec::new(); // (is_good, value)
    let mut chunk = Vec::new();
    for i in 0..10_000 {
        let value = format!("record-{i}");
        let rec = json!({"key": {"type": "STRING", "data": format!("k{}", i % 17)}, "value": {"type": "STRING", "data": value}});
        chunk.extend_from_slice(&serde_json::to_vec(&rec).unwrap());
        expected.push((true, value));
        if i % 2500 == 1234 {
            // Malformed in the middle: broken JSON, bad base64, not a record.
            chunk.extend_from_slice(br#"{"value": {"type": "BINARY", "data": "%%%"}}"#);
            chunk.extend_from_slice(br#"{"value": [1, 2"#);
            chunk.extend_from_slice(b"]}");
            chunk.extend_from_slice(b" nonsense ");
            for _ in 0..3 {
                expected.push((false, String::new()));
            }
        }
        if chunk.len() > 16_000 {
            s.send(&chunk);
            chunk.clear();
        }
    }
    s.send(&chunk);
    let (status, reports) = s.finish();
    assert_eq!(status, 200);
    assert_eq!(reports.len(), expected.len(), "one report per record, malformed ones included");
    let mut good = 0;
    for (r, (is_good, _)) in reports.iter().zip(&expected) {
        if *is_good {
            assert_eq!(r["error_code"], 200, "{r}");
            good += 1;
        } else {
            assert_eq!(r["error_code"], 400, "{r}");
        }
    }
    assert_eq!(good, 10_000);
    // Exactly the good records are in the topic, each key's records in order.
    let all = kafka.read_all(&topic);
    assert_eq!(all.len(), 10_000);
    let mut seen: Vec<usize> = all
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap().trim_start_matches("record-").parse().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, (0..10_000).collect::<Vec<_>>());
    for p in 0..3 {
        let vals: Vec<usize> = all
            .iter()
            .filter(|r| r.partition == p)
            .map(|r| {
                String::from_utf8(r.value.clone().unwrap()).unwrap().trim_start_matches("record-").parse().unwrap()
            })
            .collect();
        assert!(vals.windows(2).all(|w| w[0] < w[1]), "order kept within partition {p}");
    }
    kafka.delete_topic(&topic);
}

#[test]
fn every_compression_codec_is_accepted_by_the_broker() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    for (name, codec) in [
        ("gzip", Compression::Gzip),
        ("snappy", Compression::Snappy),
        ("lz4", Compression::Lz4),
        ("zstd", Compression::Zstd),
    ] {
        let (kafka, topic, _) = setup(1);
        let host = Host::start(&[("PRODUCER_COMPRESSION", name)]);
        let values: Vec<String> = (0..200).map(|i| format!("{name}-{i}-{}", "x".repeat(i % 50))).collect();
        let records: Vec<Value> =
            values.iter().map(|v| json!({"value": b64(v.as_bytes()), "key": b64(b"k")})).collect();
        let r = v2(&host, &format!("/topics/{topic}"), BINARY, &json!({"records": records}));
        assert_eq!(r.status, 200, "{name}: {}", String::from_utf8_lossy(&r.body));
        assert!(r.json()["offsets"].as_array().unwrap().iter().all(|o| o["error_code"].is_null()), "{name}");
        let read = kafka.read_partition(&topic, 0);
        assert_eq!(read.len(), 200, "{name}");
        assert!(read.iter().all(|r| r.compression == codec), "{name}: stored with its codec");
        let got: Vec<String> = read.iter().map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap()).collect();
        assert_eq!(got, values, "{name}");
        kafka.delete_topic(&topic);
    }
}

#[test]
fn more_than_one_broker_batch_per_partition_is_split_in_order() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    // 3 MB to one partition: over the broker's message.max.bytes (1 MiB) for a single batch.
    let (kafka, topic, _) = setup(1);
    let host = Host::start(&[]);
    let records: Vec<Value> =
        (0..3000).map(|i| json!({"value": b64(format!("{i:06}-{}", "z".repeat(1018)).as_bytes())})).collect();
    let r = v2(&host, &format!("/topics/{topic}/partitions/0"), BINARY, &json!({"records": records}));
    assert_eq!(r.status, 200);
    let offsets: Vec<i64> =
        r.json()["offsets"].as_array().unwrap().iter().map(|o| o["offset"].as_i64().unwrap()).collect();
    assert_eq!(offsets, (0..3000).collect::<Vec<_>>());
    let read = kafka.read_partition(&topic, 0);
    assert_eq!(read.len(), 3000);
    assert!(read.iter().enumerate().all(|(i, r)| r.value.as_ref().unwrap().starts_with(format!("{i:06}-").as_bytes())));
    kafka.delete_topic(&topic);
}
