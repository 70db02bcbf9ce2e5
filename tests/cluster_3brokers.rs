//! Against the 3-broker cluster (scripts/kafka.sh start cluster): brokers, replicas and ISR as the
//! API reports them, matching what the brokers themselves say, also after losing a broker.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::kafka::Kafka;
use common::{Host, env, repo, unique};
use serde_json::{Value, json};

fn kafka_script(args: &[&str]) {
    let status = Command::new(repo().join("scripts/kafka.sh")).args(args).status().unwrap();
    assert!(status.success(), "scripts/kafka.sh {args:?}");
}

/// Brings node3 back even when an assertion fails half-way.
struct Restart;
impl Drop for Restart {
    fn drop(&mut self) {
        kafka_script(&["start-node", "node3"]);
    }
}

fn in_sync(p: &Value) -> Vec<i64> {
    p["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["in_sync"] == true)
        .map(|r| r["broker"].as_i64().unwrap())
        .collect()
}

#[test]
fn replicas_isr_and_broker_loss() {
    let bootstrap = env("KRE_TEST_CLUSTER");
    let kafka = Kafka::new(&bootstrap);
    let id = kafka.describe().cluster_id;
    let host = Host::start(&[("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)]);

    let brokers = host.get(&format!("/v3/clusters/{id}/brokers")).json();
    let listed: Vec<(i64, i64)> = brokers["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["broker_id"].as_i64().unwrap(), b["port"].as_i64().unwrap()))
        .collect();
    assert_eq!(listed, vec![(1, 19092), (2, 19093), (3, 19094)]);
    assert_eq!(host.get("/brokers").json(), json!({"brokers": [1, 2, 3]}));

    let name = unique("rf3");
    let r = host.json(
        "POST",
        &format!("/v3/clusters/{id}/topics"),
        &json!({"topic_name": name, "partitions_count": 3, "replication_factor": 3}),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["replication_factor"], 3);

    // Wait for every replica to join the ISR, as the brokers report it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = kafka.topic(&name);
        if t.partitions.len() == 3 && t.partitions.iter().all(|p| p.isr.len() == 3 && p.leader > 0) {
            break;
        }
        assert!(Instant::now() < deadline, "ISR never reached 3: {t:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let native = kafka.topic(&name);
    let v2 = host.get(&format!("/topics/{name}/partitions")).json();
    for (p, n) in v2.as_array().unwrap().iter().zip(&native.partitions) {
        assert_eq!(p["partition"], n.id);
        assert_eq!(p["leader"], n.leader);
        let replicas: Vec<i64> =
            p["replicas"].as_array().unwrap().iter().map(|r| r["broker"].as_i64().unwrap()).collect();
        assert_eq!(replicas, n.replicas.iter().map(|&b| b as i64).collect::<Vec<_>>());
        assert_eq!(in_sync(p).len(), 3);
        let leaders: Vec<&Value> = p["replicas"].as_array().unwrap().iter().filter(|r| r["leader"] == true).collect();
        assert_eq!(leaders.len(), 1);
        assert_eq!(leaders[0]["broker"], n.leader);
    }
    let v3 = host.get(&format!("/v3/clusters/{id}/topics/{name}")).json();
    assert_eq!(v3["replication_factor"], 3);
    assert_eq!(v3["partitions_count"], 3);

    // Lose broker 3: it leaves the broker list and every ISR; leadership moves off it.
    let _restart = Restart;
    kafka_script(&["stop-node", "node3"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = host.get("/brokers");
        let v2 = host.get(&format!("/topics/{name}/partitions"));
        if listed.status == 200 && v2.status == 200 {
            let parts = v2.json();
            let gone = listed.json() == json!({"brokers": [1, 2]});
            let isr_ok = parts.as_array().unwrap().iter().all(|p| !in_sync(p).contains(&3) && p["leader"] != 3);
            if gone && isr_ok {
                for p in parts.as_array().unwrap() {
                    assert_eq!(p["replicas"].as_array().unwrap().len(), 3, "replicas stay assigned");
                }
                break;
            }
        }
        assert!(Instant::now() < deadline, "broker 3's loss never showed: {}", String::from_utf8_lossy(&v2.body));
        std::thread::sleep(Duration::from_millis(500));
    }
    host.get(&format!("/v3/clusters/{id}/brokers/3")).assert_error(404, 404);
    let b = host.get(&format!("/v3/clusters/{id}/brokers")).json();
    assert_eq!(b["data"].as_array().unwrap().len(), 2);
    assert_eq!(host.send("DELETE", &format!("/v3/clusters/{id}/topics/{name}"), &[], None).status, 204);
}
