//! Against the 3-broker cluster (scripts/kafka.sh start cluster): brokers, replicas and ISR as the
//! API reports them, matching what the brokers themselves say, also after losing a broker.
#![allow(clippy::unwrap_used)]

use kre_test_support as common;
use kre_test_support::needs;

use std::process::Command;
use std::time::{Duration, Instant};

use common::kafka::Kafka;
use common::{Host, env, repo, unique};
use serde_json::{Value, json};

fn kafka_script(args: &[&str]) {
    let status = Command::new(repo().join("scripts/kafka.sh")).args(args).status().unwrap();
    assert!(status.success(), "scripts/kafka.sh {args:?}");
}

/// Brings a stopped node back even when an assertion fails half-way.
struct Restart(&'static str);
impl Drop for Restart {
    fn drop(&mut self) {
        kafka_script(&["start-node", self.0]);
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
    needs!("KRE_TEST_CLUSTER", "KRE_TEST_REDIS");
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
        // Metadata reaches every broker shortly after the create: a broker may not know it yet.
        let t = kafka.try_topic(&name);
        if t.as_ref()
            .is_some_and(|t| t.partitions.len() == 3 && t.partitions.iter().all(|p| p.isr.len() == 3 && p.leader > 0))
        {
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
    let _restart = Restart("node3");
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

#[test]
fn a_leader_change_during_produce_loses_no_acknowledged_record() {
    needs!("KRE_TEST_CLUSTER", "KRE_TEST_REDIS");
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let bootstrap = env("KRE_TEST_CLUSTER");
    let kafka = Kafka::new(&bootstrap);
    let topic = unique("leader-change");
    kafka.create_topic(&topic, 3, 3);
    let host = Host::start(&[("KAFKA_BOOTSTRAP_SERVERS", &bootstrap), ("KAFKA_METADATA_MAX_AGE_MS", "60000")]);
    let port = host.port;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let failed = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let (acked, failed, stop, topic) = (acked.clone(), failed.clone(), stop.clone(), topic.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let values: Vec<String> = (0..20).map(|i| format!("lc-{n}-{i}")).collect();
                n += 1;
                let records: Vec<Value> = values
                    .iter()
                    .map(|v| json!({"key": common::b64(v.as_bytes()), "value": common::b64(v.as_bytes())}))
                    .collect();
                let body = serde_json::to_vec(&json!({"records": records})).unwrap();
                let r = common::request(
                    port,
                    "POST",
                    &format!("/topics/{topic}"),
                    &[("content-type", "application/vnd.kafka.binary.v2+json")],
                    Some(&body),
                );
                if r.status != 200 {
                    failed.lock().unwrap().push(format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)));
                    continue;
                }
                let v = r.json();
                for (o, value) in v["offsets"].as_array().unwrap().iter().zip(values) {
                    if o["offset"].is_i64() {
                        acked.lock().unwrap().push(value);
                    } else {
                        failed.lock().unwrap().push(o.to_string());
                    }
                }
            }
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let leader = kafka.topic(&topic).partition(0).unwrap().leader;
    let node: &'static str = ["", "node1", "node2", "node3"][leader as usize];
    let before = acked.lock().unwrap().len();
    {
        let _restart = Restart(node);
        kafka_script(&["stop-node", node]);
        std::thread::sleep(Duration::from_secs(4));
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();

    let acked = acked.lock().unwrap().clone();
    let failed = failed.lock().unwrap().clone();
    assert!(acked.len() > before + 200, "produce went on through the leader change ({before} → {})", acked.len());
    // Every acknowledged record is in the topic (duplicates from retries are allowed: at-least-once).
    let stored: std::collections::HashSet<Vec<u8>> =
        kafka.read_all(&topic).into_iter().filter_map(|r| r.value).collect();
    let lost: Vec<&String> = acked.iter().filter(|v| !stored.contains(v.as_bytes())).collect();
    assert!(lost.is_empty(), "{} acknowledged records lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
    eprintln!("leader change: {} records acknowledged, {} reported as failed", acked.len(), failed.len());
    kafka.delete_topic(&topic);
}
