//! v2 metadata endpoints through the served component, against the real broker.
#![allow(clippy::unwrap_used)]

use kre_test_support as common;
use kre_test_support::needs;

use common::kafka::Kafka;
use common::{Host, bootstrap, unique};
use serde_json::json;

const V2: &str = "application/vnd.kafka.v2+json";

#[test]
fn topics_partitions_offsets_brokers() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let name = unique("v2-meta");
    kafka.create_topic(&name, 3, 1);
    let base = kafka.produce(&name, 1, &["a", "b", "c", "d", "e"]);
    assert_eq!(base, 0);

    let host = Host::start(&[]);

    let r = host.send("GET", "/topics", &[("accept", V2)], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(V2));
    let names = r.json();
    assert!(names.as_array().unwrap().iter().any(|n| n == name.as_str()), "{names}");
    assert!(!names.as_array().unwrap().iter().any(|n| n == "__consumer_offsets"), "internal topics are not listed");

    let t = host.get(&format!("/topics/{name}")).json();
    assert_eq!(t["name"], name.as_str());
    // Every config of the topic, defaults included, as Confluent's v2 answers (never `{}`).
    assert_eq!(t["configs"]["cleanup.policy"], "delete", "{t}");
    assert!(t["configs"]["retention.ms"].is_string(), "{t}");
    assert!(t["configs"].as_object().unwrap().len() > 20, "{t}");
    let parts = t["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        parts[1],
        json!({"partition": 1, "leader": 1, "replicas": [{"broker": 1, "leader": true, "in_sync": true}]})
    );

    let list = host.get(&format!("/topics/{name}/partitions")).json();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(list[2]["partition"], 2);
    let one = host.get(&format!("/topics/{name}/partitions/2")).json();
    assert_eq!(one, list[2]);

    let offsets = host.get(&format!("/topics/{name}/partitions/1/offsets"));
    assert_eq!(offsets.status, 200);
    assert_eq!(offsets.json(), json!({"beginning_offset": 0, "end_offset": 5}));
    assert_eq!(
        host.get(&format!("/topics/{name}/partitions/0/offsets")).json(),
        json!({"beginning_offset": 0, "end_offset": 0})
    );

    assert_eq!(host.get("/brokers").json(), json!({"brokers": [1]}));

    // Errors.
    host.get("/topics/no-such-topic-here").assert_error(404, 40401);
    host.get("/topics/no-such-topic-here/partitions").assert_error(404, 40401);
    host.get("/topics/no-such-topic-here/partitions/0/offsets").assert_error(404, 40401);
    host.get(&format!("/topics/{name}/partitions/7")).assert_error(404, 40402);
    host.get(&format!("/topics/{name}/partitions/7/offsets")).assert_error(404, 40402);
    host.get(&format!("/topics/{name}/partitions/-1")).assert_error(404, 40402);
    // A name no topic can have is looked up like any other (Confluent: no check, 40401); a
    // partition that is not a number is no resource (Jersey's 404 for an `int` path parameter).
    host.get("/topics/bad$name").assert_error(404, 40401);
    host.get(&format!("/topics/{name}/partitions/x")).assert_error(404, 404);
    kafka.delete_topic(&name);
}

#[test]
fn topic_config_overrides_are_shown() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let kafka = Kafka::new(&bootstrap());
    let id = kafka.describe().cluster_id;
    let name = unique("v2-cfg");
    let r = host.json(
        "POST",
        &format!("/v3/clusters/{id}/topics"),
        &json!({"topic_name": name, "partitions_count": 1, "configs": [{"name": "cleanup.policy", "value": "compact"}]}),
    );
    assert_eq!(r.status, 201);
    let t = host.get(&format!("/topics/{name}")).json();
    assert_eq!(t["configs"]["cleanup.policy"], "compact");
    kafka.delete_topic(&name);
}

#[test]
fn content_negotiation() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let accept = |a: &str| host.send("GET", "/brokers", &[("accept", a)], None);

    assert_eq!(host.get("/brokers").header("content-type"), Some(V2), "no Accept: the v2 type");
    assert_eq!(accept("*/*").header("content-type"), Some(V2));
    assert_eq!(accept("application/json").header("content-type"), Some("application/json"));
    assert_eq!(accept("application/vnd.kafka+json").header("content-type"), Some("application/vnd.kafka+json"));
    assert_eq!(
        accept("application/vnd.kafka.v2+json, application/vnd.kafka+json, application/json").header("content-type"),
        Some(V2)
    );
    assert_eq!(
        accept("application/vnd.kafka.v2+json; q=0.2, application/json; q=0.9").header("content-type"),
        Some("application/json"),
        "q-values win over the server's preference"
    );
    assert_eq!(
        accept("application/vnd.kafka.v2+json; q=0.9, application/json; q=0.5").header("content-type"),
        Some(V2)
    );

    let r = accept("text/html");
    r.assert_error(406, 406);
    assert_eq!(r.header("content-type"), Some(V2));
    accept("application/vnd.kafka.v2+json;q=0").assert_error(406, 406);

    // v3 is application/json; a v2-only Accept is not acceptable there.
    let v3 = host.send("GET", "/v3/clusters", &[("accept", V2)], None);
    v3.assert_error(406, 406);
    assert_eq!(v3.header("content-type"), Some("application/json"));
    assert_eq!(host.send("GET", "/v3/clusters", &[("accept", "application/*")], None).status, 200);
}
