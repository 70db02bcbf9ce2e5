//! State in the key-value store (Spin's interface, served by the Redis shim under wasmtime):
//! consumer instances outlive the host that created them and are visible to every host.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Host, unique};
use serde_json::json;

#[test]
fn consumer_instances_survive_a_host_restart() {
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
