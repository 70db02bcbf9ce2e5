//! The consumer-group session against the real broker, without HTTP or a key-value store: the
//! instance's state lives in a local `ConsumerInstance`, as the handler would load and save it.
//! `make test` provides the broker in KRE_TEST_BOOTSTRAP; without it each test says so and skips.
// A test process beside the broker: it may sleep, time and listen (clippy.toml keeps the
// core itself off the clock, threads and std::net).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![cfg(feature = "native")]
// Helpers outside #[test] fns unwrap too (clippy.toml covers the tests themselves).
#![allow(clippy::unwrap_used)]

use std::rc::Rc;

use kre_core::kafka::Client;
use kre_core::kafka::cluster::{ClientConfig, Cluster, Target};
use kre_core::kafka::group::Session;
use kre_core::kafka::ops::produce::{OutRecord, ProduceOptions, produce};
use kre_core::kafka::ops::{metadata, topics};
use kre_core::native::{NativeConnect, NativeRuntime, block_on};
use kre_core::state::{ConsumerInstance, Subscription};
use kre_core::{Deadline, Runtime};

type TestClient = Rc<Client<NativeConnect, NativeRuntime>>;

fn client() -> Option<TestClient> {
    let Ok(bootstrap) = std::env::var("KRE_TEST_BOOTSTRAP") else {
        eprintln!("skipped: KRE_TEST_BOOTSTRAP is not set (run through `make test` for a broker)");
        return None;
    };
    let cluster = Cluster::new(
        NativeConnect,
        NativeRuntime::default(),
        ClientConfig {
            bootstrap: vec![bootstrap],
            client_id: "kre-group-tests".into(),
            host_map: Default::default(),
            connect_timeout_ms: 2_000,
            tls: None,
            sasl: None,
        },
    );
    Some(Rc::new(Client::new(cluster, 10_000)))
}

fn deadline(c: &TestClient, ms: u64) -> Deadline {
    Deadline::after(c.runtime(), ms)
}

fn instance(group: &str, name: &str, topic: &str) -> ConsumerInstance {
    ConsumerInstance {
        group: group.into(),
        name: name.into(),
        format: "binary".into(),
        auto_offset_reset: "earliest".into(),
        auto_commit_enable: false,
        fetch_min_bytes: None,
        request_timeout_ms: None,
        created_ms: 0,
        last_used_ms: 0,
        version: 1,
        subscription: Some(Subscription::Topics(vec![topic.into()])),
        assignment: vec![],
        member: None,
        positions: vec![],
        last_commit_ms: 0,
        write_id: 0,
        owner: None,
        recent_writes: vec![],
        idle_timeout_ms: None,
    }
}

fn fresh_topic(c: &TestClient, name: &str, partitions: i32, records: usize) {
    let d = deadline(c, 20_000);
    let _ = block_on(topics::delete(c.cluster(), name, d));
    let t = topics::NewTopic { name: name.into(), partitions: Some(partitions), ..Default::default() };
    block_on(topics::create(c.cluster(), &t, d)).unwrap();
    // The new topic's leaders must be known before producing.
    for _ in 0..50 {
        if block_on(c.topic(name, d)).is_ok_and(|t| t.partitions.len() == partitions as usize) {
            break;
        }
        c.forget_topic(name);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out: Vec<OutRecord> = (0..records)
        .map(|i| OutRecord {
            partition: Some(i as i32 % partitions),
            value: Some(bytes::Bytes::from(format!("v{i}"))),
            ..Default::default()
        })
        .collect();
    let opts =
        ProduceOptions { acks: -1, compression: kafka_protocol::records::Compression::None, max_batch_bytes: 1 << 20 };
    let results = block_on(produce(c, name, out, opts, d)).unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

/// Polls until `want` records arrived or `rounds` requests passed (a join takes a few).
fn poll_until(c: &TestClient, protocol: &str, rec: &mut ConsumerInstance, want: usize, rounds: usize) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..rounds {
        let session = Session { client: c, protocol, deadline: deadline(c, 5_000) };
        // A fresh broker may still be creating the offsets topic: retriable, as a client retries.
        let out = match block_on(session.poll(rec, 500, 1 << 20)) {
            Ok(out) => out,
            Err(kre_core::kafka::group::Error::Kafka(e)) if e.is_retriable() => {
                eprintln!("retrying after: {e}");
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        got.extend(out.iter().map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()));
        if got.len() >= want {
            break;
        }
    }
    got
}

#[test]
fn a_cold_client_routes_to_a_broker_by_id_without_fetching_metadata_first() {
    let Some(c) = client() else { return };
    let d = deadline(&c, 10_000);
    let meta = block_on(metadata::fetch(c.cluster(), metadata::Topics::None, d)).unwrap();
    // A new client has an empty broker table: routing by id fills it itself.
    let Some(cold) = client() else { return };
    let request = kafka_protocol::messages::ApiVersionsRequest::default();
    let answer = block_on(cold.cluster().call(Target::Broker(meta.brokers[0].id), &request, d));
    assert!(answer.is_ok(), "{answer:?}");
    assert!(matches!(
        block_on(cold.cluster().call(Target::Broker(9_999), &request, d)),
        Err(kre_core::kafka::Error::UnknownBroker { broker_id: 9_999 })
    ));
}

#[test]
fn a_kip848_member_joins_reads_every_record_once_and_leaves() {
    membership_reads_everything("consumer");
}

#[test]
fn a_classic_member_joins_reads_every_record_once_and_leaves() {
    membership_reads_everything("classic");
}

fn membership_reads_everything(protocol: &str) {
    let Some(c) = client() else { return };
    let topic = format!("kre-group-session-{protocol}");
    fresh_topic(&c, &topic, 3, 30);
    let group = format!("kre-group-session-{protocol}-{}", c.runtime().random_u64());
    let mut rec = instance(&group, "a", &topic);
    let mut got = poll_until(&c, protocol, &mut rec, 30, 40);
    got.sort_by_key(|v| v[1..].parse::<u32>().unwrap_or(0));
    assert_eq!(got, (0..30).map(|i| format!("v{i}")).collect::<Vec<_>>(), "every record once");
    let member = rec.member.clone().expect("a member");
    assert_eq!(member.protocol, protocol);
    assert_eq!(rec.partitions().len(), 3, "one member holds every partition");
    // Positions moved past what was returned: 10 records per partition.
    assert!(rec.positions.iter().all(|p| p.offset == 10), "{:?}", rec.positions);
    // Nothing more to read; the membership stands between heartbeats.
    assert!(poll_until(&c, protocol, &mut rec, 1, 1).is_empty());
    let session = Session { client: &c, protocol, deadline: deadline(&c, 5_000) };
    block_on(session.leave(&rec));
    let _ = block_on(topics::delete(c.cluster(), &topic, deadline(&c, 10_000)));
}

#[test]
fn auto_offset_reset_none_without_a_commit_is_an_error_not_a_guess() {
    let Some(c) = client() else { return };
    let topic = "kre-group-session-reset-none";
    fresh_topic(&c, topic, 1, 1);
    let group = format!("kre-group-session-none-{}", c.runtime().random_u64());
    let mut rec = instance(&group, "a", topic);
    rec.auto_offset_reset = "none".into();
    let mut last = None;
    for _ in 0..40 {
        let session = Session { client: &c, protocol: "consumer", deadline: deadline(&c, 5_000) };
        match block_on(session.poll(&mut rec, 300, 1 << 20)) {
            Ok(out) => assert!(out.is_empty()),
            Err(kre_core::kafka::group::Error::Kafka(e)) if e.is_retriable() => {}
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    assert!(matches!(last, Some(kre_core::kafka::group::Error::NoCommittedOffset { partitions: 1 })), "{last:?}");
}
