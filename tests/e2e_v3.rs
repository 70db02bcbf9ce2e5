//! v3 metadata and topic administration through the served component, against the real broker.
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
fn clusters_and_brokers() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let id = cluster_id();
    let r = host.get("/v3/clusters");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Whole answers carry their length and are not chunked: chunked, Spin's server (which does not
    // set TCP_NODELAY) held small answers ~40 ms on keep-alive connections.
    assert_eq!(r.header("content-length"), Some(r.body.len().to_string().as_str()), "{:?}", r.headers);
    assert_eq!(r.header("transfer-encoding"), None);
    let v = r.json();
    assert_eq!(v["kind"], "KafkaClusterList");
    assert_eq!(v["metadata"]["self"], host.url("/v3/clusters"));
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let c = &v["data"][0];
    assert_eq!(c["kind"], "KafkaCluster");
    assert_eq!(c["cluster_id"], id.as_str());
    assert_eq!(c["metadata"]["resource_name"], format!("crn:///kafka={id}"));
    assert_eq!(c["topics"]["related"], host.url(&format!("/v3/clusters/{id}/topics")));
    assert_eq!(c["controller"]["related"], host.url(&format!("/v3/clusters/{id}/brokers/1")));
    for rel in ["acls", "brokers", "broker_configs", "consumer_groups", "partition_reassignments"] {
        assert!(c[rel]["related"].as_str().unwrap().starts_with(&host.url(&format!("/v3/clusters/{id}/"))), "{rel}");
    }

    let one = host.get(&format!("/v3/clusters/{id}"));
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), *c);

    let brokers = host.get(&format!("/v3/clusters/{id}/brokers")).json();
    assert_eq!(brokers["kind"], "KafkaBrokerList");
    let b = &brokers["data"][0];
    assert_eq!(b["kind"], "KafkaBroker");
    assert_eq!(b["broker_id"], 1);
    assert_eq!(b["host"], "127.0.0.1");
    assert_eq!(b["port"], bootstrap().rsplit(':').next().unwrap().parse::<i64>().unwrap());
    assert!(b["rack"].is_null());
    assert_eq!(b["configs"]["related"], host.url(&format!("/v3/clusters/{id}/brokers/1/configs")));
    assert_eq!(b["metadata"]["resource_name"], format!("crn:///kafka={id}/broker=1"));
    assert_eq!(host.get(&format!("/v3/clusters/{id}/brokers/1")).json(), *b);

    host.get(&format!("/v3/clusters/{id}/brokers/42")).assert_error(404, 404);
    host.get(&format!("/v3/clusters/{id}/brokers/abc")).assert_error(404, 404);
    host.get("/v3/clusters/no-such-cluster").assert_error(404, 404);
    host.get("/v3/clusters/no-such-cluster/brokers").assert_error(404, 404);
    host.get("/v3/clusters/no-such-cluster/topics").assert_error(404, 404);
}

#[test]
fn topic_lifecycle() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let id = cluster_id();
    let name = unique("v3-life");
    let topics = format!("/v3/clusters/{id}/topics");

    let r = host.json(
        "POST",
        &topics,
        &json!({"topic_name": name, "partitions_count": 3, "replication_factor": 1,
                "configs": [{"name": "cleanup.policy", "value": "compact"}, {"name": "retention.ms", "value": "3600000"}]}),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let t = r.json();
    assert_eq!(t["kind"], "KafkaTopic");
    assert_eq!(t["topic_name"], name.as_str());
    assert_eq!(t["partitions_count"], 3);
    assert_eq!(t["replication_factor"], 1);
    assert_eq!(t["is_internal"], false);
    assert_eq!(t["metadata"]["self"], host.url(&format!("{topics}/{name}")));
    assert_eq!(t["metadata"]["resource_name"], format!("crn:///kafka={id}/topic={name}"));
    assert_eq!(t["partitions"]["related"], host.url(&format!("{topics}/{name}/partitions")));
    assert_eq!(t["configs"]["related"], host.url(&format!("{topics}/{name}/configs")));

    // What the broker itself says, independently of the proxy.
    let native = Kafka::new(&bootstrap()).topic(&name);
    assert_eq!(native.partitions.len(), 3);

    let got = host.get(&format!("{topics}/{name}"));
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["partitions_count"], 3);

    let list = host.get(&topics).json();
    assert_eq!(list["kind"], "KafkaTopicList");
    let names: Vec<&str> = list["data"].as_array().unwrap().iter().map(|t| t["topic_name"].as_str().unwrap()).collect();
    assert!(names.contains(&name.as_str()));
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "stable ordering by name");

    // Partitions.
    let parts = host.get(&format!("{topics}/{name}/partitions")).json();
    assert_eq!(parts["kind"], "KafkaPartitionList");
    assert_eq!(parts["data"].as_array().unwrap().len(), 3);
    let p1 = host.get(&format!("{topics}/{name}/partitions/1")).json();
    assert_eq!(p1["kind"], "KafkaPartition");
    assert_eq!(p1["partition_id"], 1);
    assert_eq!(p1["topic_name"], name.as_str());
    assert_eq!(p1["leader"]["related"], host.url(&format!("{topics}/{name}/partitions/1/replicas/1")));
    assert_eq!(p1["replicas"]["related"], host.url(&format!("{topics}/{name}/partitions/1/replicas")));
    assert_eq!(p1["metadata"]["resource_name"], format!("crn:///kafka={id}/topic={name}/partition=1"));
    host.get(&format!("{topics}/{name}/partitions/3")).assert_error(404, 40402);
    let offsets = host.get(&format!("{topics}/{name}/partitions/1/offset")).json();
    assert_eq!(offsets["kind"], "KafkaPartitionWithOffsets");
    assert_eq!((offsets["earliest_offset"].as_i64(), offsets["latest_offset"].as_i64()), (Some(0), Some(0)));
    host.get(&format!("{topics}/{name}/partitions/1/offset?offset_type=middle")).assert_error(400, 400);
    host.get(&format!("{topics}/{name}/partitions/9/offset")).assert_error(404, 40402);
    host.get(&format!("{topics}/{name}/partitions/x")).assert_error(404, 404);

    // Grow partitions; shrinking is refused.
    let patched = host.json("PATCH", &format!("{topics}/{name}"), &json!({"partitions_count": 5}));
    assert_eq!(patched.status, 200, "{}", String::from_utf8_lossy(&patched.body));
    assert_eq!(patched.json()["partitions_count"], 5);
    assert_eq!(Kafka::new(&bootstrap()).topic(&name).partitions.len(), 5);
    host.json("PATCH", &format!("{topics}/{name}"), &json!({"partitions_count": 2})).assert_error(400, 40002);
    host.json("PATCH", &format!("{topics}/{name}"), &json!({"partitions_count": "many"})).assert_error(400, 400);

    // Exists already.
    let msg = host.json("POST", &topics, &json!({"topic_name": name})).assert_error(400, 40002);
    assert!(msg.contains("already exists"), "{msg}");

    // Delete, then it is gone.
    let del = host.send("DELETE", &format!("{topics}/{name}"), &[], None);
    assert_eq!(del.status, 204);
    // The controller has deleted it; brokers learn it from the metadata log a moment later
    // (KRaft), so a GET right away may still find it — as with Confluent's proxy.
    let gone_by = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while host.get(&format!("{topics}/{name}")).status == 200 && std::time::Instant::now() < gone_by {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    host.get(&format!("{topics}/{name}")).assert_error(404, 40401);
    host.send("DELETE", &format!("{topics}/{name}"), &[], None).assert_error(404, 40401);
    host.get(&format!("{topics}/{name}/partitions")).assert_error(404, 40401);
}

#[test]
fn create_topic_validation() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let id = cluster_id();
    let topics = format!("/v3/clusters/{id}/topics");

    // validate_only: accepted, nothing created.
    let name = unique("v3-validate");
    let r = host.json("POST", &topics, &json!({"topic_name": name, "partitions_count": 2, "validate_only": true}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["partitions_count"], 2);
    host.get(&format!("{topics}/{name}")).assert_error(404, 40401);

    // Names Kafka rejects, named in the message.
    for bad in ["bad name", "a/b", "..", &"x".repeat(250)] {
        let msg = host.json("POST", &topics, &json!({"topic_name": bad})).assert_error(400, 400);
        assert!(msg.contains("Invalid topic name"), "{msg}");
    }
    host.get(&format!("{topics}/bad%20name")).assert_error(400, 400);

    // Bad JSON, wrong types, missing fields, wrong content type, empty body.
    let r = host.send("POST", &topics, &[("content-type", "application/json")], Some(b"{\"topic_name\":"));
    r.assert_error(400, 400);
    let msg = host.json("POST", &topics, &json!({"topic_name": 5})).assert_error(400, 400);
    assert!(msg.contains("invalid type"), "{msg}");
    let msg = host.json("POST", &topics, &json!({"partitions_count": 1})).assert_error(400, 400);
    assert!(msg.contains("topic_name"), "{msg}");
    host.json("POST", &topics, &json!({"topic_name": unique("v3-x"), "partitions_count": "3"})).assert_error(400, 400);
    host.send("POST", &topics, &[("content-type", "text/plain")], Some(b"{}")).assert_error(415, 415);
    host.send("POST", &topics, &[("content-type", "application/json")], None).assert_error(400, 400);

    // What the broker refuses: replication above the broker count, unknown configs, zero partitions.
    let msg = host
        .json("POST", &topics, &json!({"topic_name": unique("v3-rf"), "replication_factor": 3}))
        .assert_error(400, 40002);
    assert!(msg.contains("replica"), "{msg}");
    let msg = host
        .json(
            "POST",
            &topics,
            &json!({"topic_name": unique("v3-cfg"), "configs": [{"name": "no.such.config", "value": "1"}]}),
        )
        .assert_error(400, 40002);
    assert!(msg.contains("no.such.config"), "{msg}");
    host.json("POST", &topics, &json!({"topic_name": unique("v3-zero"), "partitions_count": 0}))
        .assert_error(400, 40002);
    host.json("POST", &topics, &json!({"topic_name": unique("v3-ra"), "replicas_assignments": {"x": [1]}}))
        .assert_error(400, 400);

    // Explicit replica assignment.
    let name = unique("v3-assign");
    let r = host.json("POST", &topics, &json!({"topic_name": name, "replicas_assignments": {"0": [1], "1": [1]}}));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["partitions_count"], 2);
    host.send("DELETE", &format!("{topics}/{name}"), &[], None);
}
