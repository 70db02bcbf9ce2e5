//! The v3 admin surface against the 3-broker cluster: configs, replicas, reassignments, consumer
//! groups made by real Java consumers (classic and KIP-848), ACLs, broker unregistration, and the
//! Confluent-Server-only families.
#![allow(clippy::unwrap_used)]

use kre_test_support as common;
use kre_test_support::needs;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::kafka::Kafka;
use common::{Host, env, repo, unique};
use serde_json::{Value, json};

fn cluster() -> (Kafka, Host, String) {
    let bootstrap = env("KRE_TEST_CLUSTER");
    let kafka = Kafka::new(&bootstrap);
    let id = kafka.describe().cluster_id;
    let host = Host::start(&[("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)]);
    (kafka, host, format!("/v3/clusters/{id}"))
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn topic_broker_and_cluster_configs() {
    needs!("KRE_TEST_CLUSTER", "KRE_TEST_REDIS");
    let (kafka, host, c) = cluster();
    let topic = unique("cfg");
    kafka.create_topic(&topic, 1, 3);
    let t = format!("{c}/topics/{topic}/configs");

    let all = host.get(&t).json();
    assert_eq!(all["kind"], "KafkaTopicConfigList");
    let names: Vec<&str> = all["data"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"retention.ms") && names.contains(&"cleanup.policy"), "{names:?}");
    let r = host.get(&format!("{t}/retention.ms")).json();
    assert_eq!(
        (r["kind"].as_str(), r["is_default"].as_bool(), r["source"].as_str()),
        (Some("KafkaTopicConfig"), Some(true), Some("DEFAULT_CONFIG"))
    );
    assert_eq!(r["topic_name"], topic.as_str());

    // PUT → read back → DELETE → default again. Each broker applies a change when the metadata log
    // reaches it, and a describe may go to any of the three: wait for it, then check the rest.
    assert_eq!(host.json("PUT", &format!("{t}/retention.ms"), &json!({"value": "3600000"})).status, 204);
    let mut r = Value::Null;
    wait_for("retention.ms to apply", 20, || {
        r = host.get(&format!("{t}/retention.ms")).json();
        r["value"] == "3600000"
    });
    assert_eq!(
        (r["value"].as_str(), r["source"].as_str(), r["is_default"].as_bool()),
        (Some("3600000"), Some("DYNAMIC_TOPIC_CONFIG"), Some(false))
    );
    assert_eq!(host.send("DELETE", &format!("{t}/retention.ms"), &[], None).status, 204);
    wait_for("retention.ms back to its default", 20, || {
        host.get(&format!("{t}/retention.ms")).json()["is_default"] == true
    });

    // :alter with SET and DELETE; validate_only changes nothing.
    let alter = format!("{c}/topics/{topic}/configs:alter");
    let r = host.json("POST", &alter, &json!({"data": [{"name": "cleanup.policy", "value": "compact"}, {"name": "segment.ms", "value": "100000", "operation": "SET"}], "validate_only": true}));
    assert_eq!(r.status, 204);
    assert_eq!(host.get(&format!("{t}/cleanup.policy")).json()["value"], "delete");
    assert_eq!(host.json("POST", &alter, &json!({"data": [{"name": "cleanup.policy", "value": "compact"}, {"name": "segment.ms", "value": "100000"}]})).status, 204);
    wait_for("cleanup.policy to apply", 20, || host.get(&format!("{t}/cleanup.policy")).json()["value"] == "compact");
    assert_eq!(
        host.json("POST", &alter, &json!({"data": [{"name": "segment.ms", "operation": "DELETE"}]})).status,
        204
    );
    wait_for("segment.ms back to its default", 20, || {
        host.get(&format!("{t}/segment.ms")).json()["is_default"] == true
    });

    // Bad input.
    host.json("PUT", &format!("{t}/no.such.config"), &json!({"value": "1"})).assert_error(400, 40002);
    host.json("PUT", &format!("{t}/retention.ms"), &json!({"value": "soon"})).assert_error(400, 40002);
    host.json("PUT", &format!("{t}/retention.ms"), &json!({})).assert_error(400, 400);
    host.json("POST", &alter, &json!({"data": [{"name": "retention.ms", "value": "1", "operation": "MULTIPLY"}]}))
        .assert_error(400, 400);
    host.get(&format!("{t}/no.such.config")).assert_error(404, 404);
    host.get(&format!("{c}/topics/no-such-topic-cfg/configs")).assert_error(404, 40401);

    // Every topic's configs.
    let every = host.get(&format!("{c}/topics/-/configs")).json();
    assert!(
        every["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["topic_name"] == topic.as_str() && d["name"] == "cleanup.policy")
    );

    // One broker's configs; read-only ones are refused; unknown broker is 404.
    let b = host.get(&format!("{c}/brokers/2/configs/log.retention.hours")).json();
    assert_eq!((b["kind"].as_str(), b["broker_id"].as_i64()), (Some("KafkaBrokerConfig"), Some(2)));
    let msg =
        host.json("PUT", &format!("{c}/brokers/2/configs/broker.id"), &json!({"value": "9"})).assert_error(400, 40002);
    assert!(msg.contains("broker.id"), "{msg}");
    assert_eq!(
        host.json("PUT", &format!("{c}/brokers/2/configs/log.cleaner.threads"), &json!({"value": "2"})).status,
        204
    );
    // Broker configs reach the broker through the metadata log: shortly, not at once.
    let mut v = Value::Null;
    wait_for("the broker config to apply", 20, || {
        v = host.get(&format!("{c}/brokers/2/configs/log.cleaner.threads")).json();
        v["value"] == "2"
    });
    assert_eq!((v["value"].as_str(), v["source"].as_str()), (Some("2"), Some("DYNAMIC_BROKER_CONFIG")));
    assert!(v["synonyms"].as_array().unwrap().iter().any(|s| s["source"] == "DYNAMIC_BROKER_CONFIG"), "{v}");
    assert_eq!(host.send("DELETE", &format!("{c}/brokers/2/configs/log.cleaner.threads"), &[], None).status, 204);
    host.get(&format!("{c}/brokers/42/configs")).assert_error(404, 404);
    let every = host.get(&format!("{c}/brokers/-/configs")).json();
    let brokers: std::collections::BTreeSet<i64> =
        every["data"].as_array().unwrap().iter().map(|d| d["broker_id"].as_i64().unwrap()).collect();
    assert_eq!(brokers.into_iter().collect::<Vec<_>>(), vec![1, 2, 3]);

    // Cluster-wide broker defaults.
    assert_eq!(
        host.json("PUT", &format!("{c}/broker-configs/log.cleaner.threads"), &json!({"value": "2"})).status,
        204
    );
    wait_for("the cluster default to apply", 20, || {
        host.get(&format!("{c}/broker-configs/log.cleaner.threads")).status == 200
    });
    let v = host.get(&format!("{c}/broker-configs/log.cleaner.threads")).json();
    assert_eq!(
        (v["kind"].as_str(), v["config_type"].as_str(), v["source"].as_str()),
        (Some("KafkaClusterConfig"), Some("BROKER"), Some("DYNAMIC_DEFAULT_BROKER_CONFIG"))
    );
    assert!(
        host.get(&format!("{c}/broker-configs")).json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "log.cleaner.threads")
    );
    assert_eq!(host.send("DELETE", &format!("{c}/broker-configs/log.cleaner.threads"), &[], None).status, 204);
    wait_for("the cluster default to go", 20, || {
        host.get(&format!("{c}/broker-configs/log.cleaner.threads")).status == 404
    });
    host.get(&format!("{c}/broker-configs/log.cleaner.threads")).assert_error(404, 404);
    kafka.delete_topic(&topic);
}

#[test]
fn replicas_and_a_reassignment_in_progress() {
    needs!("KRE_TEST_CLUSTER", "KRE_TEST_REDIS");
    let (kafka, host, c) = cluster();
    let topic = unique("reassign");
    kafka.create_topic(&topic, 2, 1);
    let p0 = kafka.topic(&topic).partition(0).unwrap().clone();
    let leader = p0.leader;

    let replicas = host.get(&format!("{c}/topics/{topic}/partitions/0/replicas")).json();
    assert_eq!(replicas["kind"], "KafkaReplicaList");
    let r = &replicas["data"][0];
    assert_eq!(
        (r["broker_id"].as_i64(), r["is_leader"].as_bool(), r["is_in_sync"].as_bool()),
        (Some(leader as i64), Some(true), Some(true))
    );
    assert_eq!(host.get(&format!("{c}/topics/{topic}/partitions/0/replicas/{leader}")).json(), *r);
    let other = (1..=3).find(|b| *b != leader).unwrap();
    host.get(&format!("{c}/topics/{topic}/partitions/0/replicas/{other}")).assert_error(404, 404);
    let on_broker = host.get(&format!("{c}/brokers/{leader}/partition-replicas")).json();
    assert!(
        on_broker["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["topic_name"] == topic.as_str() && d["partition_id"] == 0)
    );

    // Data, then throttle replication to a crawl so the reassignment stays in progress.
    let value = common::b64(&vec![b'r'; 1000]);
    let records: Vec<Value> = (0..500).map(|_| json!({"value": value})).collect();
    for _ in 0..4 {
        let r = host.send(
            "POST",
            &format!("/topics/{topic}/partitions/0"),
            &[("content-type", "application/vnd.kafka.binary.v2+json")],
            Some(&serde_json::to_vec(&json!({"records": records})).unwrap()),
        );
        assert_eq!(r.status, 200);
    }
    let throttle = |on: bool| {
        for b in 1..=3 {
            for name in ["leader.replication.throttled.rate", "follower.replication.throttled.rate"] {
                let r = if on {
                    host.json("PUT", &format!("{c}/brokers/{b}/configs/{name}"), &json!({"value": "1024"}))
                } else {
                    host.send("DELETE", &format!("{c}/brokers/{b}/configs/{name}"), &[], None)
                };
                assert_eq!(r.status, 204, "{name}: {}", String::from_utf8_lossy(&r.body));
            }
        }
        for name in ["leader.replication.throttled.replicas", "follower.replication.throttled.replicas"] {
            let r = if on {
                host.json("PUT", &format!("{c}/topics/{topic}/configs/{name}"), &json!({"value": "*"}))
            } else {
                host.send("DELETE", &format!("{c}/topics/{topic}/configs/{name}"), &[], None)
            };
            assert_eq!(r.status, 204);
        }
    };
    throttle(true);
    kafka.reassign(&topic, 0, Some(vec![leader, other]));
    let mut seen = Value::Null;
    wait_for("the reassignment to show", 20, || {
        seen = host.get(&format!("{c}/topics/{topic}/partitions/0/reassignment")).json();
        seen["kind"] == "KafkaReassignment"
    });
    assert_eq!(seen["adding_replicas"], json!([other]));
    assert_eq!(seen["removing_replicas"], json!([]));
    let all = host.get(&format!("{c}/topics/-/partitions/-/reassignment")).json();
    assert!(all["data"].as_array().unwrap().iter().any(|d| d["topic_name"] == topic.as_str()));
    let of_topic = host.get(&format!("{c}/topics/{topic}/partitions/-/reassignment")).json();
    assert_eq!(of_topic["data"].as_array().unwrap().len(), 1);
    host.get(&format!("{c}/topics/{topic}/partitions/1/reassignment")).assert_error(404, 404);
    kafka.reassign(&topic, 0, None);
    throttle(false);
    wait_for("the reassignment to end", 20, || {
        host.get(&format!("{c}/topics/{topic}/partitions/0/reassignment")).status == 404
    });
    kafka.delete_topic(&topic);
}

/// A Java KafkaConsumer in a group; killed when dropped.
struct JavaMember(Child);

impl JavaMember {
    fn start(bootstrap: &str, topic: &str, group: &str, protocol: &str, commit: i64) -> JavaMember {
        let jars = env("KRE_KAFKA_JARS");
        let mut child = Command::new("java")
            .args(["-Xmx256m", "-cp", &format!("{jars}/*"), "-Dlog4j2.level=ERROR"])
            .arg(repo().join("tests/java/GroupMember.java"))
            .args([bootstrap, topic, group, protocol, &commit.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let end = Instant::now() + Duration::from_secs(90);
        while !line.starts_with("READY") {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0 && Instant::now() < end,
                "the Java consumer did not get ready"
            );
        }
        JavaMember(child)
    }
}

impl Drop for JavaMember {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn check_group(protocol: &str, group_type: &str) {
    let (kafka, host, c) = cluster();
    let topic = unique(&format!("grp-{protocol}"));
    kafka.create_topic(&topic, 2, 3);
    for p in 0..2 {
        kafka.produce(&topic, p, &["a", "b", "c", "d", "e", "f", "g", "h"]);
    }
    let group = unique(&format!("group-{protocol}"));
    let _member = JavaMember::start(&env("KRE_TEST_CLUSTER"), &topic, &group, protocol, 3);
    let g = format!("{c}/consumer-groups/{group}");

    let mut v = Value::Null;
    wait_for("a stable group", 30, || {
        v = host.get(&g).json();
        v["state"] == "STABLE"
    });
    assert_eq!(v["kind"], "KafkaConsumerGroup");
    assert_eq!(v["type"], group_type);
    assert_eq!(v["is_simple"], false);
    assert!(!v["partition_assignor"].as_str().unwrap().is_empty(), "{v}");
    assert!(v["coordinator"]["related"].as_str().unwrap().contains("/brokers/"));
    let listed = host.get(&format!("{c}/consumer-groups")).json();
    assert!(listed["data"].as_array().unwrap().iter().any(|d| d["consumer_group_id"] == group.as_str()));

    let consumers = host.get(&format!("{g}/consumers")).json();
    let members = consumers["data"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["client_id"], format!("kre-test-{protocol}"));
    let member_id = members[0]["consumer_id"].as_str().unwrap().to_owned();
    assert_eq!(host.get(&format!("{g}/consumers/{member_id}")).json(), members[0]);
    let assigned = host.get(&format!("{g}/consumers/{member_id}/assignments")).json();
    let parts: Vec<(String, i64)> = assigned["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["topic_name"].as_str().unwrap().to_owned(), a["partition_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(parts, vec![(topic.clone(), 0), (topic.clone(), 1)]);
    assert_eq!(
        host.get(&format!("{g}/consumers/{member_id}/assignments/{topic}/partitions/1")).json()["partition_id"],
        1
    );
    host.get(&format!("{g}/consumers/nobody")).assert_error(404, 404);

    // Committed 3 of 8 on each partition: lag 5 each.
    let lags = host.get(&format!("{g}/lags")).json();
    let rows = lags["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(
            (r["current_offset"].as_i64(), r["log_end_offset"].as_i64(), r["lag"].as_i64()),
            (Some(3), Some(8), Some(5)),
            "{r}"
        );
        assert_eq!(r["consumer_id"], member_id.as_str());
    }
    assert_eq!(host.get(&format!("{g}/lags/{topic}/partitions/1")).json()["lag"], 5);
    let summary = host.get(&format!("{g}/lag-summary")).json();
    assert_eq!((summary["total_lag"].as_i64(), summary["max_lag"].as_i64()), (Some(10), Some(5)));
    assert_eq!(summary["max_lag_consumer_id"], member_id.as_str());
    host.get(&format!("{c}/consumer-groups/{}", unique("no-such-group"))).assert_error(404, 404);
    kafka.delete_topic(&topic);
}

#[test]
fn classic_consumer_group() {
    needs!("KRE_TEST_CLUSTER", "KRE_TEST_REDIS");
    check_group("classic", "CLASSIC");
}

#[test]
fn kip848_consumer_group() {
    needs!("KRE_TEST_CLUSTER", "KRE_TEST_REDIS");
    check_group("consumer", "CONSUMER");
}

#[test]
fn acls_create_filter_delete() {
    needs!("KRE_TEST_CLUSTER", "KRE_TEST_REDIS");
    let (_kafka, host, c) = cluster();
    let topic = unique("acl-topic");
    let acl = |principal: &str, op: &str| json!({"resource_type": "TOPIC", "resource_name": topic, "pattern_type": "LITERAL", "principal": principal, "host": "*", "operation": op, "permission": "ALLOW"});
    assert_eq!(host.json("POST", &format!("{c}/acls"), &acl("User:alice", "READ")).status, 201);
    assert_eq!(
        host.json(
            "POST",
            &format!("{c}/acls:batch"),
            &json!({"data": [acl("User:bob", "WRITE"), acl("User:alice", "DESCRIBE")]})
        )
        .status,
        201
    );

    // Brokers apply ACL changes from the metadata log each on their own: a describe may reach one
    // that has not yet. Each listing waits (bounded) for the count it expects rather than race.
    let listed = |query: &str, want: usize| {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let v = host.get(&format!("{c}/acls?{query}")).json();
            if v["data"].as_array().unwrap().len() == want || std::time::Instant::now() > until {
                return v;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    let all = listed(&format!("resource_type=TOPIC&resource_name={topic}"), 3);
    assert_eq!(all["kind"], "KafkaAclList");
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    let alice = listed(&format!("resource_name={topic}&principal=User:alice"), 2);
    assert_eq!(alice["data"].as_array().unwrap().len(), 2);
    let read = listed(&format!("resource_name={topic}&operation=READ"), 1);
    assert_eq!(read["data"][0]["principal"], "User:alice");
    assert_eq!(read["data"][0]["kind"], "KafkaAcl");

    // Bad filters and bad ACLs.
    host.get(&format!("{c}/acls?operation=FLY")).assert_error(400, 400);
    host.send("DELETE", &format!("{c}/acls?principal=User:alice"), &[], None).assert_error(400, 400);
    let mut cluster_acl = acl("User:x", "ALTER");
    cluster_acl["resource_type"] = json!("CLUSTER");
    host.json("POST", &format!("{c}/acls"), &cluster_acl).assert_error(400, 40002);
    host.json("POST", &format!("{c}/acls"), &acl("alice", "READ")).assert_error(400, 400);
    let mut any = acl("User:x", "ANY");
    any["permission"] = json!("ALLOW");
    host.json("POST", &format!("{c}/acls"), &any).assert_error(400, 400);
    host.json("POST", &format!("{c}/acls"), &json!({"resource_type": "TOPIC"})).assert_error(400, 400);

    // Delete with a filter returns what was deleted.
    let deleted = host.send(
        "DELETE",
        &format!("{c}/acls?resource_type=TOPIC&resource_name={topic}&principal=User:alice"),
        &[],
        None,
    );
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json()["data"].as_array().unwrap().len(), 2);
    let left = listed(&format!("resource_type=TOPIC&resource_name={topic}"), 1);
    assert_eq!(left["data"].as_array().unwrap().len(), 1);
    assert_eq!(left["data"][0]["principal"], "User:bob");
    host.send("DELETE", &format!("{c}/acls?resource_type=TOPIC&resource_name={topic}"), &[], None);
}

#[test]
fn confluent_server_families_answer_clearly() {
    needs!("KRE_TEST_CLUSTER", "KRE_TEST_REDIS");
    let (_kafka, host, c) = cluster();
    for (method, path) in [
        ("GET", format!("{c}/links")),
        ("POST", format!("{c}/links/l1/mirrors:promote")),
        ("GET", format!("{c}/balancer")),
        ("GET", format!("{c}/brokers/-/tasks")),
        ("GET", format!("{c}/brokers/1/tasks/add-broker")),
        ("GET", format!("{c}/broker-replica-exclusions")),
        ("GET", format!("{c}/remove-broker-tasks/1")),
        ("GET", format!("{c}/topics/-/partitions/-/replica-status")),
        ("GET", format!("{c}/topics/t/default-configs")),
        ("DELETE", format!("{c}/brokers/1")),
        ("POST", format!("{c}/brokers:delete")),
    ] {
        let msg = host.send(method, &path, &[("content-type", "application/json")], Some(b"{}")).assert_error(501, 501);
        assert!(msg.contains("Confluent Server"), "{method} {path}: {msg}");
    }
}

#[test]
fn unregister_a_stopped_broker() {
    needs!("KRE_TEST_CLUSTER", "KRE_TEST_REDIS");
    let (kafka, host, c) = cluster();
    host.json("POST", &format!("{c}/brokers/42:unregister"), &json!({})).assert_error(404, 404);
    let script = repo().join("scripts/kafka.sh");
    assert!(Command::new(&script).args(["stop-node", "node3"]).status().unwrap().success());
    let restart = scopeguard(|| {
        let _ = Command::new(repo().join("scripts/kafka.sh")).args(["start-node", "node3"]).status();
    });
    wait_for("broker 3 to leave", 30, || host.get("/brokers").json() == json!({"brokers": [1, 2]}));
    let r = host.send("POST", &format!("{c}/brokers/3:unregister"), &[], None);
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    drop(restart);
    wait_for("broker 3 to register again", 60, || kafka.describe().brokers.len() == 3);
}

/// Runs `f` when dropped (also when an assertion fails).
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}
