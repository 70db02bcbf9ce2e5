//! TLS and SASL of the core's client, natively, against the test broker's secure listeners
//! (scripts/kafka.sh: SSL 29094, SASL_PLAINTEXT 29096). The served component is tested the same
//! way end to end in tests/e2e_security.rs; these check what HTTP cannot see.
// A test process beside the broker: it may sleep, time and listen (clippy.toml keeps the
// core itself off the clock, threads and std::net).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![cfg(feature = "native")]
#![allow(clippy::unwrap_used)]

use kre_core::kafka::cluster::{ClientConfig, Cluster, Target};
use kre_core::kafka::connection::Connection;
use kre_core::kafka::resolve::HostMap;
use kre_core::kafka::sasl::{Credentials, Mechanism, Sasl, Secret};
use kre_core::kafka::tls::{Tls, TlsOptions};
use kre_core::kafka::transport::Connect;
use kre_core::native::{NativeConnect, NativeRuntime, block_on};
use kre_core::{Deadline, Runtime};

macro_rules! needs {
    ($($var:literal),+) => {
        $(if std::env::var($var).is_err() {
            eprintln!("skipped: {} is not set (`make test` starts the broker)", $var);
            return;
        })+
    };
}

fn ca() -> String {
    let dir = std::env::var("KRE_TEST_CERTS").unwrap();
    std::fs::read_to_string(format!("{dir}/ca.pem")).unwrap()
}

/// rustls offers resumption (its in-memory ticket and session-id cache lives in the instance's
/// configuration), but Apache Kafka 4.3.1 on JDK 17 declined every resumption tried here — ours,
/// and `openssl s_client -sess_in` with TLS 1.3 and 1.2 — so each connection is a full handshake.
/// This pins that down: if a broker starts resuming, the assertion tells.
#[test]
fn tls_connections_of_an_instance_and_resumption() {
    needs!("KRE_TEST_SECURE", "KRE_TEST_CERTS");
    let tls = Tls::new(&TlsOptions { ca_pem: Some(ca()), ..Default::default() }).unwrap();
    let addr = "127.0.0.1:29094".parse().unwrap();
    block_on(async {
        let mut kinds = Vec::new();
        for _ in 0..3 {
            let stream = tls.connect(|| NativeConnect.connect(addr), "localhost").await.unwrap();
            kinds.push(stream.resumed());
            // A request and its answer: TLS 1.3 tickets arrive after the handshake.
            let conn = Connection::handshake(
                kre_core::kafka::tls::BrokerStream::Tls(Box::new(stream)),
                "ssl".into(),
                "kre-core-tests",
            )
            .await
            .unwrap();
            drop(conn);
        }
        assert!(!kinds[0], "the first handshake is full");
        assert_eq!(kinds, vec![false, false, false], "Kafka's broker declined resumption so far: {kinds:?}");
    });
}

#[test]
fn every_mechanism_logs_in_and_a_wrong_password_is_refused() {
    needs!("KRE_TEST_SECURE");
    let cluster = |credentials: Credentials| {
        Cluster::new(
            NativeConnect,
            NativeRuntime::default(),
            ClientConfig {
                bootstrap: vec!["127.0.0.1:29096".into()],
                client_id: "kre-core-tests".into(),
                host_map: HostMap::default(),
                connect_timeout_ms: 5_000,
                tls: None,
                sasl: Some(Sasl { credentials, from_caller: true }),
            },
        )
    };
    let password =
        |mechanism, pw: &str| Credentials::Password { mechanism, username: "alice".into(), password: Secret::new(pw) };
    block_on(async {
        for m in [Mechanism::Plain, Mechanism::ScramSha256, Mechanism::ScramSha512] {
            let c = cluster(password(m, "alice-secret"));
            let deadline = Deadline::after(c.runtime(), 10_000);
            c.refresh_brokers(deadline).await.unwrap_or_else(|e| panic!("{m:?}: {e}"));
            assert!(!c.known_brokers().is_empty());
            let c = cluster(password(m, "wrong"));
            let deadline = Deadline::after(c.runtime(), 10_000);
            let e = c.refresh_brokers(deadline).await.expect_err("refused");
            let text = e.to_string();
            assert!(matches!(e, kre_core::kafka::Error::Authentication { caller: true, .. }), "{m:?}: {text}");
            assert!(text.contains(m.name()) && !text.contains("wrong"), "{text}");
        }
        // The broker's session lifetime (5 s on this listener) retires pooled connections.
        let c = cluster(password(Mechanism::ScramSha512, "alice-secret"));
        let deadline = Deadline::after(c.runtime(), 20_000);
        c.refresh_brokers(deadline).await.unwrap();
        c.runtime().sleep(5_500).await;
        c.call(Target::Any, &kafka_protocol::messages::MetadataRequest::default().with_topics(Some(vec![])), deadline)
            .await
            .expect("a retired connection is replaced, not reused after the broker ended its session");
    });
}
