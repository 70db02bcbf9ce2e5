//! Graceful limits through the served component: each configurable limit answered with its 4xx
//! (`max_header_bytes` 431, `max_records_per_request` 413, `max_consumers_per_group` 429),
//! expired consumer instances swept out of the store, and the key-value store failing answered as
//! the reference's retriable 50003, within the deadline.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::json;

use kre_test_support as common;
use kre_test_support::needs;

use common::kafka::Kafka;
use common::{Host, bootstrap, free_port, unique};

const BINARY: &str = "application/vnd.kafka.binary.v2+json";
const V2: &str = "application/vnd.kafka.v2+json";

#[test]
fn headers_past_the_limit_are_431() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[("MAX_HEADER_BYTES", "2048")]);
    assert_eq!(host.get("/topics").status, 200);
    let big = "x".repeat(3000);
    let r = host.send("GET", "/topics", &[("x-padding", &big)], None);
    let msg = r.assert_error(431, 431);
    assert!(msg.contains("2048"), "{msg}");
    assert_eq!(r.header("content-type"), Some(V2));
    let r = host.send("GET", "/v3/clusters", &[("x-padding", &big)], None);
    r.assert_error(431, 431);
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[test]
fn records_past_the_limit_are_413_and_nothing_is_written() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("limit-records");
    kafka.create_topic(&topic, 1, 1);
    let host = Host::start(&[("MAX_RECORDS_PER_REQUEST", "3")]);
    let v2 = |n: usize| {
        let records: Vec<_> = (0..n).map(|i| json!({"value": common::b64(format!("r{i}").as_bytes())})).collect();
        let body = json!({ "records": records }).to_string();
        host.send("POST", &format!("/topics/{topic}"), &[("content-type", BINARY)], Some(body.as_bytes()))
    };
    let msg = v2(4).assert_error(413, 413);
    assert!(msg.contains("max_records_per_request"), "{msg}");
    assert_eq!(kafka.read_all(&topic).len(), 0, "a refused request writes nothing");
    assert_eq!(v2(3).status, 200);

    let id = kafka.describe().cluster_id;
    let batch = |n: usize| {
        let entries: Vec<_> =
            (0..n).map(|i| json!({"id": format!("e{i}"), "value": {"type": "STRING", "data": "b"}})).collect();
        host.json("POST", &format!("/v3/clusters/{id}/topics/{topic}/records:batch"), &json!({ "entries": entries }))
    };
    batch(4).assert_error(413, 413);
    assert_eq!(batch(3).status, 207);
    assert_eq!(kafka.read_all(&topic).len(), 6);
    kafka.delete_topic(&topic);
}

#[test]
fn a_full_group_is_429_until_a_place_is_freed_or_expires() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[("MAX_CONSUMERS_PER_GROUP", "2"), ("CONSUMER_INSTANCE_TIMEOUT_MS", "3000")]);
    let group = unique("limit-group");
    let create = |name: &str| {
        let body = json!({ "name": name }).to_string();
        host.send("POST", &format!("/consumers/{group}"), &[("content-type", V2)], Some(body.as_bytes()))
    };
    assert_eq!(create("a").status, 200);
    assert_eq!(create("b").status, 200);
    let msg = create("c").assert_error(429, 429);
    assert!(msg.contains("max_consumers_per_group"), "{msg}");
    // The refused instance does not exist: its name is free, nothing of it is stored.
    host.get(&format!("/consumers/{group}/instances/c/subscription")).assert_error(404, 40403);
    assert_eq!(common::kv_value(&kre_core::state::consumer_key(&group, "c")), None);
    // A deleted instance frees its place.
    assert_eq!(
        host.send("DELETE", &format!("/consumers/{group}/instances/a"), &[("content-type", V2)], None).status,
        204
    );
    assert_eq!(create("c").status, 200);
    create("d").assert_error(429, 429);
    // Idle past consumer_instance_timeout_ms: the places are given up, the records removed.
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(create("d").status, 200);
    assert_eq!(create("e").status, 200);
    for gone in ["b", "c"] {
        assert_eq!(common::kv_value(&kre_core::state::consumer_key(&group, gone)), None, "{gone} is still stored");
    }
    for name in ["d", "e"] {
        let r = host.send("DELETE", &format!("/consumers/{group}/instances/{name}"), &[("content-type", V2)], None);
        assert_eq!(r.status, 204);
    }
}

#[test]
fn expired_instances_are_swept_out_of_the_store_by_other_groups_traffic() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[("CONSUMER_INSTANCE_TIMEOUT_MS", "1500")]);
    let (idle, busy) = (unique("swept"), unique("sweeper"));
    let send = |method: &str, path: &str, body: Option<&[u8]>| host.send(method, path, &[("content-type", V2)], body);
    let names: Vec<String> = (0..5).map(|i| format!("i{i}")).collect();
    for name in &names {
        let body = json!({ "name": name }).to_string();
        assert_eq!(send("POST", &format!("/consumers/{idle}"), Some(body.as_bytes())).status, 200);
    }
    let stored = || {
        names
            .iter()
            .flat_map(|n| [kre_core::state::consumer_key(&idle, n), kre_core::state::claim_key(&idle, n)])
            .filter(|k| common::kv_value(k).is_some())
            .count()
    };
    assert_eq!(stored(), 10, "a record and a name claim each");
    std::thread::sleep(Duration::from_millis(2000));
    // Nobody addresses them again: instances created and deleted in another group sweep them
    // (other tests' groups share the store's list of groups, so it may take a few turns).
    let end = Instant::now() + Duration::from_secs(60);
    let mut k = 0;
    while stored() > 0 {
        assert!(Instant::now() < end, "{} keys of expired instances still stored after {k} creates", stored());
        let body = json!({ "name": format!("x{k}") }).to_string();
        assert_eq!(send("POST", &format!("/consumers/{busy}"), Some(body.as_bytes())).status, 200);
        assert_eq!(send("DELETE", &format!("/consumers/{busy}/instances/x{k}"), None).status, 204);
        k += 1;
    }
    send("GET", &format!("/consumers/{idle}/instances/i0/subscription"), None).assert_error(404, 40403);
}

#[test]
fn a_key_value_store_that_is_down_is_a_retriable_5xx_within_the_deadline() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    if std::env::var("KRE_TEST_HOST").as_deref() == Ok("spin") {
        // Spin's Redis store keeps reconnecting inside the host call (measured: no answer within
        // 120 s, on both artifacts), and a host call cannot be interrupted by the component
        // (docs/deploying.md). Checked under wasmtime serve, both artifacts.
        eprintln!("not run under Spin: its Redis store blocks while Redis is down");
        return;
    }
    // A Redis address nobody listens on: consumer state cannot be read or written.
    let dead = format!("127.0.0.1:{}", free_port());
    let host = Host::start(&[("KRE_REDIS_ADDR", &dead), ("KAFKA_REQUEST_TIMEOUT_MS", "5000")]);
    let group = unique("kv-down");
    let started = Instant::now();
    let r = host.send(
        "POST",
        &format!("/consumers/{group}"),
        &[("content-type", V2)],
        Some(json!({"name": "c"}).to_string().as_bytes()),
    );
    r.assert_error(500, 50003);
    host.get(&format!("/consumers/{group}/instances/c/subscription")).assert_error(500, 50003);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // What needs no state still works.
    assert_eq!(host.get("/topics").status, 200);
}
