//! State in the key-value store (Spin's interface, served by the Redis shim under wasmtime):
//! consumer instances outlive the host that created them and are visible to every host.
#![allow(clippy::unwrap_used)]

use kre_test_support as common;
use kre_test_support::needs;

use common::{Host, unique};
use serde_json::json;

#[test]
fn consumer_instances_survive_a_host_restart() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let group = unique("g");
    let first = Host::start(&[]);
    let r = first.send(
        "POST",
        &format!("/consumers/{group}"),
        &[("content-type", "application/vnd.kafka.v2+json")],
        Some(br#"{"name": "c1", "format": "json", "auto.offset.reset": "earliest", "auto.commit.enable": "false"}"#),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["instance_id"], "c1");
    assert_eq!(v["base_uri"], first.url(&format!("/consumers/{group}/instances/c1")));
    // Same name again: 40902.
    first.json("POST", &format!("/consumers/{group}"), &json!({"name": "c1"})).assert_error(409, 40902);
    drop(first);

    // A new host process (empty memory) sees the instance the old one created.
    let second = Host::start(&[]);
    second.json("POST", &format!("/consumers/{group}"), &json!({"name": "c1"})).assert_error(409, 40902);
    assert_eq!(second.send("DELETE", &format!("/consumers/{group}/instances/c1"), &[], None).status, 204);
    second.send("DELETE", &format!("/consumers/{group}/instances/c1"), &[], None).assert_error(404, 40403);
}

#[test]
fn two_hosts_share_instances() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let group = unique("g");
    let a = Host::start(&[]);
    let b = Host::start(&[]);
    let r = a.json("POST", &format!("/consumers/{group}"), &json!({}));
    assert_eq!(r.status, 200);
    let id = r.json()["instance_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("rest-consumer-"), "{id}");
    assert_eq!(b.send("DELETE", &format!("/consumers/{group}/instances/{id}"), &[], None).status, 204);
    a.send("DELETE", &format!("/consumers/{group}/instances/{id}"), &[], None).assert_error(404, 40403);
}

#[test]
fn invalid_consumer_settings_are_42204() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let path = format!("/consumers/{}", unique("g"));
    for body in [
        json!({"format": "xml"}),
        json!({"auto.offset.reset": "sometimes"}),
        json!({"auto.commit.enable": "maybe"}),
        json!({"fetch.min.bytes": "-5"}),
        json!({"consumer.request.timeout.ms": "soon"}),
        json!({"name": ["not", "a", "string"]}),
    ] {
        host.json("POST", &path, &body).assert_error(422, 42204);
    }
    host.send("POST", &path, &[("content-type", "application/json")], Some(b"[1,2]")).assert_error(422, 422);
    host.send("POST", &path, &[("content-type", "application/json")], Some(b"{oops")).assert_error(400, 400);
    host.send("POST", &path, &[("content-type", "text/plain")], Some(b"{}")).assert_error(415, 415);
}

/// The stored record of a consumer instance, read from the store itself (the host's key layout).
fn stored_record(group: &str, name: &str) -> serde_json::Value {
    let bytes = common::kv_value(&format!("consumer/{}/{group}/{name}", group.len())).expect("the record is stored");
    serde_json::from_slice(&bytes).unwrap()
}

/// Many requests for one instance at once, through two hosts: creates of one name and seeks.
/// Every write is one compare-and-swap, so exactly one create wins, and every seek answered 204
/// moved the record by exactly one version (a write that lost the race is a 409, never applied).
#[test]
fn racing_writes_are_refused_never_lost() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let group = unique("g-race");
    // Spin's SQLite store is one process's local file: several `spin up` processes on one file
    // get "database is locked" from SQLite itself, which is not how it is deployed. One host
    // then, its concurrent instances racing; everywhere else two hosts on one shared store.
    let sqlite = std::env::var("KRE_TEST_SPIN_KV").as_deref() == Ok("sqlite");
    let hosts: std::sync::Arc<Vec<Host>> =
        std::sync::Arc::new(if sqlite { vec![Host::start(&[])] } else { vec![Host::start(&[]), Host::start(&[])] });
    type Job = std::sync::Arc<dyn Fn(&Host, usize) -> common::Reply + Send + Sync>;
    let race = |n: usize, job: Job| {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let (hosts, barrier, job) = (hosts.clone(), barrier.clone(), job.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    job(&hosts[i % hosts.len()], i)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect::<Vec<_>>()
    };
    let g = group.clone();
    let creates = race(
        12,
        std::sync::Arc::new(move |h: &Host, _| h.json("POST", &format!("/consumers/{g}"), &json!({"name": "same"}))),
    );
    assert_eq!(creates.iter().filter(|r| r.status == 200).count(), 1, "one create wins");
    for r in creates.iter().filter(|r| r.status != 200) {
        r.assert_error(409, 40902);
    }
    let base = format!("/consumers/{group}/instances/same");
    let assign = json!({"partitions": [{"topic": "t", "partition": 0}]});
    assert_eq!(hosts[0].json("POST", &format!("{base}/assignments"), &assign).status, 204);
    let mut applied = 0;
    for round in 0..5 {
        let before = stored_record(&group, "same")["version"].as_u64().unwrap();
        let b = base.clone();
        let seeks = race(
            10,
            std::sync::Arc::new(move |h: &Host, i| {
                let seek = json!({"offsets": [{"topic": "t", "partition": 0, "offset": round * 100 + i}]});
                h.json("POST", &format!("{b}/positions"), &seek)
            }),
        );
        let ok = seeks.iter().filter(|r| r.status == 204).count();
        for r in seeks.iter().filter(|r| r.status != 204) {
            r.assert_error(409, 409);
        }
        let after = stored_record(&group, "same");
        assert_eq!(after["version"].as_u64().unwrap() - before, ok as u64, "each 204 is one write, none lost");
        assert!(ok >= 1, "someone wins each race");
        applied += ok;
    }
    assert!(applied >= 5);
    assert_eq!(hosts[hosts.len() - 1].send("DELETE", &base, &[], None).status, 204);
}
