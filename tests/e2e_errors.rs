//! Failure paths through the served component: unknown routes and methods, Kafka unreachable or
//! silent (answers within the deadline, never a hang), broker host names, body limits.
#![allow(clippy::unwrap_used)]

use kre_test_support as common;
use kre_test_support::needs;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{Host, free_port};

#[test]
fn unknown_routes_and_methods_are_json_errors() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[]);
    let r = host.get("/no/such/thing");
    r.assert_error(404, 404);
    assert_eq!(r.header("content-type"), Some("application/vnd.kafka.v2+json"));
    let r = host.get("/v3/nothing-here");
    r.assert_error(404, 404);
    assert_eq!(r.header("content-type"), Some("application/json"));
    host.send("PUT", "/topics", &[], None).assert_error(405, 405);
    host.send("POST", "/v3/clusters", &[], Some(b"{}")).assert_error(405, 405);
    host.send("DELETE", "/brokers", &[], None).assert_error(405, 405);
    host.get("/topics/%E0%A4%A").assert_error(400, 400);
}

#[test]
fn kafka_unreachable_is_a_retriable_5xx() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    // A port nobody listens on: connection refused at once.
    let dead = format!("127.0.0.1:{}", free_port());
    let host = Host::start(&[("KAFKA_BOOTSTRAP_SERVERS", &dead), ("KAFKA_REQUEST_TIMEOUT_MS", "3000")]);
    let started = Instant::now();
    let msg = host.get("/topics").assert_error(500, 50003);
    assert!(started.elapsed() < Duration::from_secs(3), "refused connections fail fast");
    assert!(msg.contains(&dead), "the message names the server: {msg}");
    host.get("/v3/clusters").assert_error(500, 50003);
}

#[test]
fn silent_broker_answers_within_the_deadline() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    // A listener that accepts and never answers: the request must end at its deadline, not hang.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let end = Instant::now() + Duration::from_secs(8);
        while Instant::now() < end {
            if let Ok((s, _)) = listener.accept() {
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let host = Host::start(&[("KAFKA_BOOTSTRAP_SERVERS", &addr), ("KAFKA_REQUEST_TIMEOUT_MS", "1500")]);
    let started = Instant::now();
    let msg = host.get("/brokers").assert_error(500, 50003);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1400) && took < Duration::from_secs(6), "took {took:?}: {msg}");
    drop(host);
    holder.join().unwrap();
}

#[test]
fn broker_host_names_resolve_through_the_map_then_the_host() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let port = common::bootstrap().rsplit(':').next().unwrap().to_owned();
    // Mapped name (how Spin deployments reach brokers that advertise names).
    let mapped = format!("kafka-broker-a.test:{port}");
    let host =
        Host::start(&[("KAFKA_BOOTSTRAP_SERVERS", &mapped), ("KAFKA_HOST_MAP", "kafka-broker-a.test=127.0.0.1")]);
    assert_eq!(host.get("/brokers").status, 200);
    drop(host);
    // The host's own lookup (wasmtime serve -Sallow-ip-name-lookup).
    let host = Host::start(&[("KAFKA_BOOTSTRAP_SERVERS", &format!("localhost:{port}"))]);
    assert_eq!(host.get("/brokers").status, 200);
    drop(host);
    // Neither: the error names the host.
    let host = Host::start(&[("KAFKA_BOOTSTRAP_SERVERS", "no-such-broker.invalid:9092")]);
    let msg = host.get("/brokers").assert_error(500, 50003);
    assert!(msg.contains("no-such-broker.invalid"), "{msg}");
    assert!(msg.contains("kafka_host_map"), "{msg}");
}

#[test]
fn bootstrap_fails_over_to_the_next_server() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let dead = format!("127.0.0.1:{}", free_port());
    let list = format!("{dead},{}", common::bootstrap());
    let host = Host::start(&[("KAFKA_BOOTSTRAP_SERVERS", &list)]);
    let r = host.get("/brokers");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn oversize_bodies_are_413() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[("MAX_REQUEST_BYTES", "1000")]);
    let body = format!("{{\"topic_name\":\"{}\"}}", "a".repeat(2000));
    host.send("POST", "/v3/clusters/x/topics", &[("content-type", "application/json")], Some(body.as_bytes()))
        .assert_error(413, 413);
}

#[test]
fn invalid_configuration_is_reported() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[("KAFKA_REQUEST_TIMEOUT_MS", "soon")]);
    let msg = host.get("/topics").assert_error(500, 500);
    assert!(msg.contains("kafka_request_timeout_ms"), "{msg}");
}
