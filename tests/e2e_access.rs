//! API allow/block lists (Confluent's `api.endpoints.allowlist` / `api.endpoints.blocklist`),
//! with the reference's three examples, through the served component.
#![allow(clippy::unwrap_used)]

use kre_test_support as common;
use kre_test_support::needs;

use common::kafka::Kafka;
use common::{Host, bootstrap};

#[test]
fn the_reference_examples() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let id = Kafka::new(&bootstrap()).describe().cluster_id;
    let one = format!("/v3/clusters/{id}");
    let v2_produce = |h: &Host| {
        h.send("POST", "/topics/t", &[("content-type", "application/vnd.kafka.binary.v2+json")], Some(b"{}"))
    };
    // Only the v3 cluster APIs accessible.
    let host = Host::start(&[("API_ENDPOINTS_ALLOWLIST", "api.v3.clusters.*")]);
    assert_eq!(host.get("/v3/clusters").status, 200);
    assert_eq!(host.get(&one).status, 200);
    let msg = host.get(&format!("{one}/topics")).assert_error(404, 404);
    assert_eq!(msg, "HTTP 404 Not Found");
    host.get("/topics").assert_error(404, 404);
    v2_produce(&host).assert_error(405, 405);
    drop(host);
    // Only the v3 cluster APIs inaccessible.
    let host = Host::start(&[("API_ENDPOINTS_BLOCKLIST", "api.v3.clusters.*")]);
    host.get("/v3/clusters").assert_error(404, 404);
    host.get(&one).assert_error(404, 404);
    assert_eq!(host.get(&format!("{one}/topics")).status, 200);
    assert_eq!(host.get("/topics").status, 200);
    drop(host);
    // The cluster APIs accessible, except list; a method id and a family id mixed.
    let host = Host::start(&[
        ("API_ENDPOINTS_ALLOWLIST", "api.v3.clusters.*, api.v2.topics.list, api.v2.produce-to-topic.json"),
        ("API_ENDPOINTS_BLOCKLIST", "api.v3.clusters.list"),
    ]);
    host.get("/v3/clusters").assert_error(404, 404);
    assert_eq!(host.get(&one).status, 200);
    assert_eq!(host.get("/topics").status, 200);
    host.get("/topics/t").assert_error(404, 404);
    // One id per embedded format, as Confluent's produce methods: json allowed, binary not.
    v2_produce(&host).assert_error(405, 405);
    let json = host.send(
        "POST",
        "/topics/access-no-such-topic",
        &[("content-type", "application/vnd.kafka.json.v2+json")],
        Some(br#"{"records":[{"value":1}]}"#),
    );
    json.assert_error(404, 40401);
}
