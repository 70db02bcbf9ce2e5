//! The Kafka client core against the real broker (natively): ApiVersions negotiation, metadata,
//! concurrent calls, connection reuse, bootstrap failover, deadlines. `make test` provides the
//! broker in KRE_TEST_BOOTSTRAP; without it these tests say so and skip.
// A test process beside the broker: it may sleep, time and listen (clippy.toml keeps the
// core itself off the clock, threads and std::net).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![cfg(feature = "native")]
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use futures::future::join_all;
use kafka_protocol::messages::{ApiKey, MetadataRequest};
use kre_core::kafka::cluster::{ClientConfig, Cluster, Target};
use kre_core::kafka::connection::Connection;
use kre_core::kafka::ops::{metadata, offsets, topics};
use kre_core::kafka::resolve::HostMap;
use kre_core::kafka::{Connect, Error};
use kre_core::native::{NativeConnect, NativeRuntime, block_on};
use kre_core::{Deadline, Runtime};

/// Skips the calling test, saying why, when the environment `make test` prepares is missing
/// (so `cargo test --workspace` works offline); under `make test` it is always there.
macro_rules! needs {
    ($($var:literal),+) => {
        $(if std::env::var($var).is_err() {
            eprintln!("skipped: {} is not set (`make test` starts the broker, Redis and hosts)", $var);
            return;
        })+
    };
}

fn bootstrap() -> String {
    std::env::var("KRE_TEST_BOOTSTRAP").expect("KRE_TEST_BOOTSTRAP: run through `make test`")
}

fn cluster(servers: &[&str]) -> Cluster<NativeConnect, NativeRuntime> {
    Cluster::new(
        NativeConnect,
        NativeRuntime::default(),
        ClientConfig {
            bootstrap: servers.iter().map(|s| s.to_string()).collect(),
            client_id: "kre-core-tests".into(),
            host_map: HostMap::default(),
            connect_timeout_ms: 2_000,
            tls: None,
            sasl: None,
        },
    )
}

fn deadline(c: &Cluster<NativeConnect, NativeRuntime>, ms: u64) -> Deadline {
    Deadline::after(c.runtime(), ms)
}

#[test]
fn negotiates_the_highest_common_version() {
    needs!("KRE_TEST_BOOTSTRAP");
    let addr = bootstrap().parse().unwrap();
    let conn = block_on(async {
        let stream = NativeConnect.connect(addr).await.unwrap();
        Connection::handshake(stream, "test".into(), "kre-core-tests").await.unwrap()
    });
    // Kafka 4.x answers Metadata up to v13; kafka-protocol 0.18 speaks up to v13 too.
    let v = conn.version_for::<MetadataRequest>().unwrap();
    assert!(v >= 12, "Metadata v{v}");
    assert!(v <= ApiKey::Metadata.valid_versions().max);
}

#[test]
fn metadata_and_cluster_description_agree() {
    needs!("KRE_TEST_BOOTSTRAP");
    let c = cluster(&[&bootstrap()]);
    let d = deadline(&c, 10_000);
    let meta = block_on(metadata::fetch(&c, metadata::Topics::All, d)).unwrap();
    let desc = block_on(metadata::describe_cluster(&c, d)).unwrap();
    assert_eq!(meta.cluster_id, desc.cluster_id);
    assert_eq!(meta.brokers, desc.brokers);
    assert!(!meta.cluster_id.is_empty());
    // The broker list is learned for routing.
    assert_eq!(c.known_brokers().len(), meta.brokers.len());
}

#[test]
fn unknown_topic_is_a_typed_error_with_context() {
    needs!("KRE_TEST_BOOTSTRAP");
    let c = cluster(&[&bootstrap()]);
    let err = block_on(metadata::topic(&c, "kre-no-such-topic", deadline(&c, 10_000))).unwrap_err();
    match &err {
        Error::Topic { topic, code, .. } => {
            assert_eq!(topic, "kre-no-such-topic");
            assert_eq!(*code, kafka_protocol::ResponseError::UnknownTopicOrPartition);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("kre-no-such-topic"));
}

#[test]
fn concurrent_calls_use_separate_connections_and_reuse_them() {
    needs!("KRE_TEST_BOOTSTRAP");
    let c = cluster(&[&bootstrap()]);
    let d = deadline(&c, 10_000);
    block_on(metadata::fetch(&c, metadata::Topics::None, d)).unwrap();
    let started = Instant::now();
    let results = block_on(join_all((0..16).map(|_| metadata::fetch(&c, metadata::Topics::All, d))));
    assert!(results.iter().all(Result::is_ok));
    // Then sequential calls run on pooled connections (no new handshakes needed).
    for _ in 0..20 {
        block_on(c.call(Target::Any, &MetadataRequest::default().with_topics(Some(vec![])), d)).unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn bootstrap_fails_over_and_reports_every_failure() {
    needs!("KRE_TEST_BOOTSTRAP");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let c = cluster(&[&dead, &bootstrap()]);
    block_on(metadata::fetch(&c, metadata::Topics::None, deadline(&c, 10_000))).unwrap();

    let c = cluster(&[&dead]);
    let err = block_on(metadata::fetch(&c, metadata::Topics::None, deadline(&c, 10_000))).unwrap_err();
    assert!(matches!(err, Error::NoBroker { .. }), "{err:?}");
    assert!(err.to_string().contains(&dead), "{err}");
    assert!(err.is_retriable());
}

#[test]
fn a_silent_broker_hits_the_deadline() {
    needs!("KRE_TEST_BOOTSTRAP");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let c = cluster(&[&addr]);
    let started = Instant::now();
    let err = block_on(metadata::fetch(&c, metadata::Topics::None, deadline(&c, 700))).unwrap_err();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(650) && took < Duration::from_secs(3), "{took:?}");
    assert!(err.is_retriable(), "{err:?}");
    drop(l);
}

#[test]
fn topic_admin_and_offsets_round_trip() {
    needs!("KRE_TEST_BOOTSTRAP");
    let c = cluster(&[&bootstrap()]);
    let d = deadline(&c, 20_000);
    let name = format!("kre-core-{}", std::process::id());
    let _ = block_on(topics::delete(&c, &name, d));
    let created = block_on(topics::create(
        &c,
        &topics::NewTopic {
            name: name.clone(),
            partitions: Some(2),
            replication_factor: Some(1),
            ..Default::default()
        },
        d,
    ))
    .unwrap();
    assert_eq!(created.partitions, 2);
    let err =
        block_on(topics::create(&c, &topics::NewTopic { name: name.clone(), ..Default::default() }, d)).unwrap_err();
    assert_eq!(err.kafka_code(), Some(kafka_protocol::ResponseError::TopicAlreadyExists));

    let mut topic = None;
    for _ in 0..50 {
        if let Ok(t) = block_on(metadata::topic(&c, &name, d))
            && t.partitions.iter().all(|p| p.leader >= 0)
            && t.partitions.len() == 2
        {
            topic = Some(t);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let topic = topic.expect("topic ready");
    let earliest = block_on(offsets::list(&c, &topic, &[0, 1], offsets::EARLIEST, d)).unwrap();
    let latest = block_on(offsets::list(&c, &topic, &[0, 1], offsets::LATEST, d)).unwrap();
    assert_eq!(earliest.values().copied().collect::<Vec<_>>(), vec![0, 0]);
    assert_eq!(latest.values().copied().collect::<Vec<_>>(), vec![0, 0]);
    let err = block_on(offsets::list(&c, &topic, &[5], offsets::LATEST, d)).unwrap_err();
    assert!(matches!(err, Error::Partition { partition: 5, .. }), "{err:?}");

    block_on(topics::create_partitions(&c, &name, 4, false, d)).unwrap();
    block_on(topics::delete(&c, &name, d)).unwrap();
    let _ = c.runtime().wall_ms();
}

/// Records the broker's response frames as golden bytes for the unit tests
/// (`KRE_CAPTURE_GOLDEN=crates/core/tests/golden`); otherwise checks the capture path still works.
#[test]
fn capture_golden_frames() {
    needs!("KRE_TEST_BOOTSTRAP");
    use std::cell::RefCell;
    use std::rc::Rc;

    use kafka_protocol::messages::{DescribeClusterRequest, TopicName, metadata_request::MetadataRequestTopic};
    use kafka_protocol::protocol::StrBytes;
    use kre_core::kafka::Stream;

    struct Recording<S> {
        inner: S,
        log: Rc<RefCell<Vec<u8>>>,
    }
    impl<S: Stream> Stream for Recording<S> {
        async fn write_all(&mut self, data: Vec<u8>) -> std::io::Result<()> {
            self.inner.write_all(data).await
        }
        async fn read_some(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
            let start = buf.len();
            let n = self.inner.read_some(buf).await?;
            self.log.borrow_mut().extend_from_slice(&buf[start..]);
            Ok(n)
        }
    }

    let log = Rc::new(RefCell::new(Vec::new()));
    let addr = bootstrap().parse().unwrap();
    let (mv, dv) = block_on(async {
        let inner = NativeConnect.connect(addr).await.unwrap();
        let mut conn =
            Connection::handshake(Recording { inner, log: log.clone() }, "golden".into(), "kre-golden").await.unwrap();
        let mv = conn.version_for::<MetadataRequest>().unwrap();
        let request = MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_static_str("kre-golden-missing")))),
        ]));
        conn.call(&request).await.unwrap();
        let dv = conn.version_for::<DescribeClusterRequest>().unwrap();
        conn.call(&DescribeClusterRequest::default()).await.unwrap();
        (mv, dv)
    });
    // Split the recorded bytes into frames (4-byte big-endian length, then the frame).
    let bytes = log.borrow().clone();
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        frames.push(bytes[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
    }
    assert_eq!(frames.len(), 3, "ApiVersions, Metadata, DescribeCluster");
    if let Ok(dir) = std::env::var("KRE_CAPTURE_GOLDEN") {
        std::fs::write(format!("{dir}/api_versions_v3.bin"), &frames[0]).unwrap();
        std::fs::write(format!("{dir}/metadata_v{mv}.bin"), &frames[1]).unwrap();
        std::fs::write(format!("{dir}/describe_cluster_v{dv}.bin"), &frames[2]).unwrap();
    }
}
