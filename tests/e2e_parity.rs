//! Drop-in parity with Confluent's REST Proxy: shapes and answers third-party clients rely on
//! (Confluent's own source is the yardstick; each case names what it follows).
#![allow(clippy::unwrap_used)]

use kre_test_support as common;
use kre_test_support::needs;

use common::kafka::Kafka;
use common::{Host, bootstrap, unique};
use serde_json::json;

fn cluster_id() -> String {
    Kafka::new(&bootstrap()).describe().cluster_id
}

#[test]
fn paths_are_normalised_and_405_says_what_is_allowed() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let id = cluster_id();
    // A trailing slash or an empty segment: served as the normalised path.
    assert_eq!(host.get("/topics/").status, 200);
    assert_eq!(host.get("/brokers//").status, 200);
    assert_eq!(host.get(&format!("/v3/clusters//{id}/topics/")).status, 200);
    // RFC 9110: a 405 carries Allow.
    let r = host.send("PUT", &format!("/v3/clusters/{id}/topics/t"), &[], None);
    r.assert_error(405, 405);
    assert_eq!(r.header("allow"), Some("GET, DELETE, PATCH"));
    assert_eq!(host.send("DELETE", "/brokers", &[], None).header("allow"), Some("GET"));
    // Confluent Cloud families of Confluent's v3 SDK: the same 501 as the other Confluent-only ones.
    host.get(&format!("/v3/clusters/{id}/cells")).assert_error(501, 501);
}

#[test]
fn topic_creation_takes_both_assignment_shapes_and_internal_topics_are_protected() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let topics = format!("/v3/clusters/{}/topics", cluster_id());
    // The list Confluent's Go SDK sends.
    let name = unique("parity-list");
    let body = json!({"topic_name": name, "replicas_assignments": [
        {"partition_id": 0, "broker_ids": [1]}, {"partition_id": 1, "broker_ids": [1]}, {"partition_id": 2, "broker_ids": [1]}
    ]});
    let r = host.json("POST", &topics, &body);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["partitions_count"], 3);
    assert_eq!(Kafka::new(&bootstrap()).topic(&name).partitions.len(), 3);
    host.json(
        "POST",
        &topics,
        &json!({"topic_name": unique("parity-bad"), "replicas_assignments": [{"partition_id": -1, "broker_ids": [1]}]}),
    )
    .assert_error(400, 400);
    // An empty config name would be stored by Kafka and never be removable.
    let alter = format!("{topics}/{name}/configs:alter");
    host.json("POST", &alter, &json!({"data": [{"name": "", "value": "1"}]})).assert_error(400, 400);
    host.json(
        "POST",
        &format!("{}/broker-configs:alter", topics.trim_end_matches("/topics")),
        &json!({"data": [{"name": " ", "value": "1"}]}),
    )
    .assert_error(400, 400);
    host.send("DELETE", &format!("{topics}/{name}"), &[], None);
    // Internal topics: never deleted, repartitioned or reconfigured unless the setting allows it
    // (a fuzzer deleted __consumer_offsets this way).
    let msg = host.send("DELETE", &format!("{topics}/__consumer_offsets"), &[], None).assert_error(403, 40301);
    assert!(msg.contains("allow_internal_topic_writes"), "{msg}");
    host.json("PATCH", &format!("{topics}/__consumer_offsets"), &json!({"partitions_count": 99}))
        .assert_error(403, 40301);
    host.json("PUT", &format!("{topics}/__consumer_offsets/configs/retention.ms"), &json!({"value": "1"}))
        .assert_error(403, 40301);
    host.json(
        "POST",
        &format!("{topics}/__consumer_offsets/configs:alter"),
        &json!({"data": [{"name": "retention.ms", "value": "1"}]}),
    )
    .assert_error(403, 40301);
    assert_eq!(host.get(&format!("{topics}/__consumer_offsets")).status, 200, "reading stays allowed");
    assert!(Kafka::new(&bootstrap()).try_topic("__consumer_offsets").is_some());
}

#[test]
fn acl_filters_refuse_unknown() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let acls = format!("/v3/clusters/{}/acls", cluster_id());
    for field in ["resource_type", "pattern_type", "operation", "permission"] {
        host.get(&format!("{acls}?{field}=UNKNOWN")).assert_error(400, 400);
        let delete = if field == "resource_type" {
            format!("{acls}?resource_type=UNKNOWN")
        } else {
            format!("{acls}?resource_type=TOPIC&{field}=UNKNOWN")
        };
        host.send("DELETE", &delete, &[], None).assert_error(400, 400);
    }
}

#[test]
fn lag_summary_of_a_group_without_offsets_is_404_as_confluent_answers() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("parity-lag");
    kafka.create_topic(&topic, 1, 1);
    kafka.produce(&topic, 0, &["a", "b", "c"]);
    // A v2 consumer that subscribed, read and left without committing: the group exists, EMPTY,
    // with no offsets.
    let group = unique("parity-lag-g");
    let r = host.json(
        "POST",
        &format!("/consumers/{group}"),
        &json!({"name": "c", "auto.offset.reset": "earliest", "auto.commit.enable": "false"}),
    );
    assert_eq!(r.status, 200);
    let base = format!("/consumers/{group}/instances/c");
    let v2 = [("content-type", "application/vnd.kafka.v2+json")];
    let sub = serde_json::to_vec(&json!({"topics": [topic]})).unwrap();
    assert_eq!(host.send("POST", &format!("{base}/subscription"), &v2, Some(&sub)).status, 204);
    for _ in 0..20 {
        host.send(
            "GET",
            &format!("{base}/records?timeout=300"),
            &[("accept", "application/vnd.kafka.binary.v2+json")],
            None,
        );
    }
    let summary = format!("/v3/clusters/{}/consumer-groups/{group}/lag-summary", cluster_id());
    let msg = host.get(&summary).assert_error(404, 404);
    assert!(msg.contains("offsets could not be found"), "{msg}");
    // With a commit of offset 0 (the last record consumed; 1 is committed) and nobody left in the
    // group: the summary names no consumer but still links a partition, never null.
    let commit = serde_json::to_vec(&json!({"offsets": [{"topic": topic, "partition": 0, "offset": 0}]})).unwrap();
    assert_eq!(host.send("POST", &format!("{base}/offsets"), &v2, Some(&commit)).status, 204);
    assert_eq!(host.send("DELETE", &base, &v2, None).status, 204);
    let v = host.get(&summary).json();
    assert_eq!(v["max_lag"], 2, "{v}");
    assert_eq!(v["total_lag"], 2);
    assert_eq!(v["max_lag_consumer_id"], "");
    assert!(v["max_lag_consumer"]["related"].is_string(), "{v}");
    assert!(v["max_lag_partition"]["related"].as_str().unwrap().ends_with(&format!("/topics/{topic}/partitions/0")));
    kafka.delete_topic(&topic);
}

#[test]
fn consume_limits_are_the_same_on_v2_and_v3_and_past_the_end_says_the_range() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("parity-range");
    kafka.create_topic(&topic, 1, 1);
    kafka.produce(&topic, 0, &["a", "b", "c"]);
    let part = format!("/v3/clusters/{}/topics/{topic}/partitions/0/records", cluster_id());
    // Past the end: a 4xx naming the valid offsets (was 500/50002).
    let msg = host.get(&format!("{part}?offset=999")).assert_error(400, 400);
    assert!(msg.contains("valid offsets are 0 to 3"), "{msg}");
    // The end itself is where the next record will be: an empty answer.
    let v = host.get(&format!("{part}?offset=3&timeout=100")).json();
    assert_eq!((v["records"].as_array().unwrap().len(), v["next_offset"].as_i64()), (0, Some(3)));
    // Negative max_bytes and timeout are refused as v2 refuses them; a huge timeout is capped
    // (the answer comes well within the request's deadline).
    host.get(&format!("{part}?offset=0&max_bytes=-5")).assert_error(400, 400);
    host.get(&format!("{part}?offset=0&timeout=-5")).assert_error(400, 400);
    let group = unique("parity-range-g");
    assert_eq!(host.json("POST", &format!("/consumers/{group}"), &json!({"name": "c"})).status, 200);
    let bin = [("accept", "application/vnd.kafka.binary.v2+json")];
    let base = format!("/consumers/{group}/instances/c");
    host.send("GET", &format!("{base}/records?max_bytes=-5"), &bin, None).assert_error(400, 400);
    host.send("GET", &format!("{base}/records?timeout=-5"), &bin, None).assert_error(400, 400);
    // A huge timeout: capped, and the long poll ends inside the request's deadline with an answer.
    let short = Host::start(&[("KAFKA_REQUEST_TIMEOUT_MS", "3000")]);
    let started = std::time::Instant::now();
    let v = short.get(&format!("{part}?offset=3&timeout=99999999999"));
    assert_eq!(v.status, 200, "{}", String::from_utf8_lossy(&v.body));
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    kafka.delete_topic(&topic);
}

#[test]
fn topics_show_every_config_and_not_found_uses_the_fixed_template() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("parity-cfg");
    kafka.create_topic(&topic, 1, 1);
    // Confluent's v2 puts every describeConfigs entry in `configs`, defaults included.
    let t = host.get(&format!("/topics/{topic}")).json();
    assert_eq!(t["configs"]["cleanup.policy"], "delete", "{t}");
    assert!(t["configs"]["segment.bytes"].is_string(), "{t}");
    let msg = host.get("/topics/parity-no-such-topic").assert_error(404, 40401);
    assert_eq!(msg, "Topic parity-no-such-topic not found.");
    let msg = host.get(&format!("/v3/clusters/{}/topics/parity-no-such-topic", cluster_id())).assert_error(404, 40401);
    assert_eq!(msg, "Topic parity-no-such-topic not found.");
    kafka.delete_topic(&topic);
}

#[test]
fn a_json_consumer_reading_bytes_that_are_not_json_gets_confluents_error_not_a_string() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("parity-json");
    kafka.create_topic(&topic, 1, 1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    kafka.produce_json_with(&topic, 0, &["\"test\"", "{\"a\":1}"], now);
    // Keys k0/k1 are not JSON: raw `test` would otherwise come back looking like JSON "test".
    kafka.produce(&topic, 0, &["test"]);
    let group = unique("parity-json-g");
    assert_eq!(host.json("POST", &format!("/consumers/{group}"), &json!({"name": "c", "format": "json"})).status, 200);
    let base = format!("/consumers/{group}/instances/c");
    let v2 = [("content-type", "application/vnd.kafka.v2+json")];
    let assign = serde_json::to_vec(&json!({"partitions": [{"topic": topic, "partition": 0}]})).unwrap();
    assert_eq!(host.send("POST", &format!("{base}/assignments"), &v2, Some(&assign)).status, 204);
    let seek = serde_json::to_vec(&json!({"partitions": [{"topic": topic, "partition": 0}]})).unwrap();
    assert_eq!(host.send("POST", &format!("{base}/positions/beginning"), &v2, Some(&seek)).status, 204);
    let accept = [("accept", "application/vnd.kafka.json.v2+json")];
    // The JSON records before it are answered...
    let r = host.send("GET", &format!("{base}/records?timeout=1000"), &accept, None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let got = r.json();
    assert_eq!(got.as_array().unwrap().len(), 2, "{got}");
    assert_eq!(got[0]["value"], "test");
    // ...then the record that is not JSON is Confluent's 408/40801 (its KafkaRestExceptionMapper's
    // answer to a SerializationException), and stays there.
    for _ in 0..2 {
        let msg = host.send("GET", &format!("{base}/records?timeout=500"), &accept, None).assert_error(408, 40801);
        assert!(msg.contains("offset 2") && msg.contains("not JSON"), "{msg}");
    }
    // Seeking past it goes on.
    let past = serde_json::to_vec(&json!({"offsets": [{"topic": topic, "partition": 0, "offset": 3}]})).unwrap();
    assert_eq!(host.send("POST", &format!("{base}/positions"), &v2, Some(&past)).status, 204);
    assert_eq!(host.send("GET", &format!("{base}/records?timeout=200"), &accept, None).status, 200);
    kafka.delete_topic(&topic);
}

#[test]
fn a_body_that_stops_arriving_is_answered_not_waited_for() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    use std::io::{Read, Write};
    let host = Host::start(&[("BODY_IDLE_TIMEOUT_MS", "1000")]);
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("parity-idle");
    kafka.create_topic(&topic, 1, 1);
    // A whole body promised (Content-Length 100), 10 bytes sent, the connection held open: 408.
    let started = std::time::Instant::now();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", host.port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST /topics/{topic} HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.kafka.binary.v2+json\r\nContent-Length: 100\r\n\r\n{{\"records\""
    );
    s.write_all(head.as_bytes()).unwrap();
    // The host answers with `connection: close`; head and body may come in separate reads.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"error_code\":408"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    // A streaming produce that goes silent: its records are reported, then one final error
    // report, and the stream ends.
    let mut stream =
        common::Streaming::open(host.port, &format!("/v3/clusters/{}/topics/{topic}/records", cluster_id()));
    stream.send(br#"{"value":{"type":"STRING","data":"one"}}"#);
    let reports = stream.reports_within(2, std::time::Duration::from_secs(10));
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0]["error_code"], 200);
    assert_eq!(reports[1]["error_code"], 408, "{reports:?}");
    assert_eq!(kafka.read_all(&topic).len(), 1);
    kafka.delete_topic(&topic);
}
