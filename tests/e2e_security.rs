//! Secure clusters through the served component, against the test broker's secure listeners
//! (scripts/kafka.sh `secure_listeners`): SSL 29094, SASL_SSL 29095 (advertised as
//! broker1.kre.test), SASL_PLAINTEXT 29096, an expired certificate on 29097, mTLS on 29098.
//! Users: alice (all on topics and groups prefixed `alice-`), bob (no ACL).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use kre_test_support as common;
use kre_test_support::needs;

use common::kafka::Kafka;
use common::{Host, bootstrap, unique};

fn certs() -> std::path::PathBuf {
    std::env::var("KRE_TEST_CERTS").map(Into::into).unwrap_or_else(|_| common::repo().join(".run/certs"))
}

fn pem(name: &str) -> String {
    std::fs::read_to_string(certs().join(name)).unwrap()
}

const SASL_SSL: &str = "broker1.kre.test:29095";
const HOST_MAP: &str = "broker1.kre.test=127.0.0.1";

/// An unsigned JWT for the broker's unsecured OAUTHBEARER validator (test listener only).
fn unsecured_jwt(sub: &str) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&json!({"sub": sub, "iat": now, "exp": now + 3600})))
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

fn cluster_id() -> String {
    Kafka::new(&bootstrap()).describe().cluster_id
}

const BINARY: &str = "application/vnd.kafka.binary.v2+json";

/// v2 produce of one record, with optional Authorization.
fn produce(host: &Host, auth: Option<&str>, topic: &str, value: &str) -> common::Reply {
    let body = json!({"records": [{"value": common::b64(value.as_bytes())}]}).to_string();
    let mut headers = vec![("content-type", BINARY)];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    host.send("POST", &format!("/topics/{topic}"), &headers, Some(body.as_bytes()))
}

/// A v2 consumer in `group` reads `topic` from the beginning until it has `want` records.
fn consume(host: &Host, auth: Option<&str>, group: &str, topic: &str, want: usize) -> Vec<String> {
    let mut headers = vec![("content-type", "application/vnd.kafka.v2+json")];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    let create = json!({"name": "c1", "format": "binary", "auto.offset.reset": "earliest"}).to_string();
    let r = host.send("POST", &format!("/consumers/{group}"), &headers, Some(create.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.text());
    let base = format!("/consumers/{group}/instances/c1");
    let sub = json!({"topics": [topic]}).to_string();
    let r = host.send("POST", &format!("{base}/subscription"), &headers, Some(sub.as_bytes()));
    assert_eq!(r.status, 204, "{}", r.text());
    let mut accept = vec![("accept", BINARY)];
    if let Some(a) = auth {
        accept.push(("authorization", a));
    }
    let mut got = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    while got.len() < want && Instant::now() < until {
        let r = host.send("GET", &format!("{base}/records?timeout=1000"), &accept, None);
        assert_eq!(r.status, 200, "{}", r.text());
        for rec in r.json().as_array().unwrap() {
            got.push(String::from_utf8(common::b64_decode(rec["value"].as_str().unwrap())).unwrap());
        }
    }
    assert_eq!(host.send("DELETE", &base, &headers, None).status, 204);
    got
}

#[test]
fn each_protocol_and_mechanism_produces_and_consumes() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_SECURE");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("alice-sec");
    kafka.create_topic(&topic, 1, 1);
    let ca = pem("ca.pem");
    let jwt = unsecured_jwt("alice");
    let setups: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("SSL", vec![("KAFKA_BOOTSTRAP_SERVERS", "localhost:29094".into()), ("KAFKA_SECURITY_PROTOCOL", "SSL".into())]),
        (
            "SSL with a client certificate",
            vec![
                ("KAFKA_BOOTSTRAP_SERVERS", "localhost:29098".into()),
                ("KAFKA_SECURITY_PROTOCOL", "SSL".into()),
                ("KAFKA_TLS_CERT_PEM", pem("client.pem")),
                ("KAFKA_TLS_KEY_PEM", pem("client.key")),
            ],
        ),
        ("SASL_SSL PLAIN", sasl_ssl("PLAIN")),
        ("SASL_SSL SCRAM-SHA-256", sasl_ssl("SCRAM-SHA-256")),
        ("SASL_SSL SCRAM-SHA-512", sasl_ssl("SCRAM-SHA-512")),
        (
            "SASL_PLAINTEXT SCRAM-SHA-512",
            vec![
                ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:29096".into()),
                ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT".into()),
                ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512".into()),
                ("KAFKA_SASL_USERNAME", "alice".into()),
                ("KAFKA_SASL_PASSWORD", "alice-secret".into()),
            ],
        ),
        (
            "SASL_PLAINTEXT OAUTHBEARER",
            vec![
                ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:29096".into()),
                ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT".into()),
                ("KAFKA_SASL_MECHANISM", "OAUTHBEARER".into()),
                ("KAFKA_SASL_OAUTHBEARER_TOKEN", jwt.clone()),
            ],
        ),
    ];
    for (i, (name, mut vars)) in setups.into_iter().enumerate() {
        vars.push(("KAFKA_TLS_CA_PEM", ca.clone()));
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let host = Host::start(&vars);
        let value = format!("record {i} over {name}");
        let r = produce(&host, None, &topic, &value);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert!(r.json()["offsets"][0]["error_code"].is_null(), "{name}: {}", r.text());
        let got = consume(&host, None, &format!("alice-g-{i}-{}", unique("")), &topic, i + 1);
        assert!(got.contains(&value), "{name}: read back {got:?}");
    }
    // What the proxy wrote is there for an independent reader on the PLAINTEXT listener.
    assert_eq!(kafka.read_all(&topic).len(), 7);
    kafka.delete_topic(&topic);
}

fn sasl_ssl(mechanism: &str) -> Vec<(&'static str, String)> {
    vec![
        ("KAFKA_BOOTSTRAP_SERVERS", SASL_SSL.into()),
        ("KAFKA_HOST_MAP", HOST_MAP.into()),
        ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL".into()),
        ("KAFKA_SASL_MECHANISM", mechanism.into()),
        ("KAFKA_SASL_USERNAME", "alice".into()),
        ("KAFKA_SASL_PASSWORD", "alice-secret".into()),
    ]
}

fn passthrough_host(mechanism: &str) -> Host {
    let ca = pem("ca.pem");
    Host::start(&[
        ("KAFKA_BOOTSTRAP_SERVERS", SASL_SSL),
        ("KAFKA_HOST_MAP", HOST_MAP),
        ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
        ("KAFKA_SASL_MECHANISM", mechanism),
        ("KAFKA_AUTH_MODE", "passthrough"),
        ("KAFKA_TLS_CA_PEM", &ca),
    ])
}

#[test]
fn passthrough_acts_as_the_caller() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_SECURE");
    let kafka = Kafka::new(&bootstrap());
    let mine = unique("alice-pt");
    let theirs = unique("sec-other");
    kafka.create_topic(&mine, 1, 1);
    kafka.create_topic(&theirs, 1, 1);
    let id = cluster_id();
    let host = passthrough_host("SCRAM-SHA-512");
    let alice = basic("alice", "alice-secret");
    let bob = basic("bob", "bob-secret");

    // No credentials, or wrong ones: 401/40101 with a challenge.
    let r = host.get("/topics");
    r.assert_error(401, 40101);
    assert!(r.header("www-authenticate").is_some_and(|h| h.contains("Basic")), "{:?}", r.header("www-authenticate"));
    let wrong = basic("alice", "guess");
    let r = host.send("GET", "/topics", &[("authorization", &wrong)], None);
    let msg = r.assert_error(401, 40101);
    assert!(!msg.contains("guess"), "{msg}");

    // Produce: allowed on her topics, 403/40301 elsewhere (v2 and v3).
    assert_eq!(produce(&host, Some(&alice), &mine, "hers").status, 200);
    produce(&host, Some(&alice), &theirs, "not hers").assert_error(403, 40301);
    let v3 = |topic: &str, auth: &str| {
        host.send(
            "POST",
            &format!("/v3/clusters/{id}/topics/{topic}/records"),
            &[("content-type", "application/json"), ("authorization", auth)],
            Some(br#"{"value":{"type":"STRING","data":"v3"}}"#),
        )
    };
    assert_eq!(v3(&mine, &alice).status, 200);
    let r = v3(&theirs, &alice);
    // Refused before anything is produced (the topic's metadata is refused): the whole request,
    // or its one delivery report, carries 40301.
    assert!(r.status == 403 || r.status == 200, "{} {}", r.status, r.text());
    assert_eq!(r.json()["error_code"].as_u64(), Some(40301), "{} {}", r.status, r.text());
    assert_eq!(kafka.read_all(&theirs).len(), 0, "nothing written where she may not write");

    // Topic admin: she may create her own topics, not others'.
    let create = |name: &str| {
        host.send(
            "POST",
            &format!("/v3/clusters/{id}/topics"),
            &[("content-type", "application/json"), ("authorization", &alice)],
            Some(json!({"topic_name": name, "partitions_count": 1, "replication_factor": 1}).to_string().as_bytes()),
        )
    };
    let hers = unique("alice-new");
    assert_eq!(create(&hers).status, 201);
    create(&unique("sec-new")).assert_error(403, 40301);
    // ACL admin needs the cluster's permission.
    host.send("GET", &format!("/v3/clusters/{id}/acls"), &[("authorization", &alice)], None).assert_error(403, 40301);

    // Listing shows what the principal may describe.
    let listed = |auth: &str| -> Vec<String> {
        let r = host.send("GET", "/topics", &[("authorization", auth)], None);
        assert_eq!(r.status, 200, "{}", r.text());
        r.json().as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect()
    };
    let seen = listed(&alice);
    assert!(seen.contains(&mine) && !seen.contains(&theirs), "{seen:?}");
    assert!(listed(&bob).is_empty());

    // Consumers: hers works; bob cannot see her instance, nor read her group's topics.
    let got = consume(&host, Some(&alice), &unique("alice-grp"), &mine, 2);
    assert_eq!(got.len(), 2, "{got:?}");
    let group = unique("alice-owned");
    let headers = |auth: &str| {
        vec![
            ("content-type".to_string(), "application/vnd.kafka.v2+json".to_string()),
            ("authorization".into(), auth.to_owned()),
        ]
    };
    let send = |method: &str, path: &str, auth: &str, body: Option<&[u8]>| {
        let h = headers(auth);
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        host.send(method, path, &h, body)
    };
    assert_eq!(send("POST", &format!("/consumers/{group}"), &alice, Some(br#"{"name":"mine"}"#)).status, 200);
    let base = format!("/consumers/{group}/instances/mine");
    send("GET", &format!("{base}/subscription"), &bob, None).assert_error(404, 40403);
    send("DELETE", &base, &bob, None).assert_error(404, 40403);
    assert_eq!(send("GET", &format!("{base}/subscription"), &alice, None).status, 200);
    // bob's own consumer on her topic: the group is not his.
    let bobs = unique("bob-grp");
    assert_eq!(send("POST", &format!("/consumers/{bobs}"), &bob, Some(br#"{"name":"b"}"#)).status, 200);
    let sub = json!({"topics": [mine]}).to_string();
    let r = send("POST", &format!("/consumers/{bobs}/instances/b/subscription"), &bob, Some(sub.as_bytes()));
    let records = host.send(
        "GET",
        &format!("/consumers/{bobs}/instances/b/records?timeout=500"),
        &[("accept", BINARY), ("authorization", &bob)],
        None,
    );
    assert!(
        r.status == 403 || records.status == 403,
        "subscribe {} / records {} {}",
        r.status,
        records.status,
        records.text()
    );
    assert_eq!(records.json()["error_code"], 40301, "{}", records.text());

    // No secret anywhere in the key-value store.
    for (key, value) in common::redis_dump() {
        let text = String::from_utf8_lossy(&value);
        for secret in ["alice-secret", "bob-secret", "guess"] {
            assert!(!text.contains(secret) && !key.contains(secret), "{key} holds a secret");
        }
    }
    // Nor in the host's log.
    let log = std::fs::read_to_string(&host.log).unwrap_or_default();
    assert!(!log.contains("alice-secret") && !log.contains("bob-secret"));
    kafka.delete_topic(&mine);
    kafka.delete_topic(&theirs);
    kafka.delete_topic(&hers);
}

#[test]
fn passthrough_bearer_tokens_log_in_with_oauthbearer() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_SECURE");
    let kafka = Kafka::new(&bootstrap());
    let mine = unique("alice-oauth");
    kafka.create_topic(&mine, 1, 1);
    let host = Host::start(&[
        ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:29096"),
        ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
        ("KAFKA_SASL_MECHANISM", "PLAIN"),
        ("KAFKA_AUTH_MODE", "passthrough"),
    ]);
    let alice = format!("Bearer {}", unsecured_jwt("alice"));
    let bob = format!("Bearer {}", unsecured_jwt("bob"));
    assert_eq!(produce(&host, Some(&alice), &mine, "token").status, 200);
    produce(&host, Some(&bob), &mine, "token").assert_error(403, 40301);
    // Basic logins go through the configured mechanism on the same host.
    assert_eq!(produce(&host, Some(&basic("alice", "alice-secret")), &mine, "plain").status, 200);
    host.send("GET", "/topics", &[("authorization", "Bearer not-a-token")], None).assert_error(401, 40101);
    assert_eq!(kafka.read_all(&mine).len(), 2);
    kafka.delete_topic(&mine);
}

#[test]
fn tls_failures_are_clear_and_never_fall_back() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_SECURE");
    let ca = pem("ca.pem");
    let other = pem("other-ca.pem");
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("a CA that did not sign the broker", "localhost:29094", &other, "issuer"),
        ("an expired certificate", "localhost:29097", &ca, "expired"),
        ("a host name the certificate does not name", "127.0.0.1:29094", &ca, "not valid for name"),
        ("a plaintext port", "127.0.0.1:29092", &ca, "handshake"),
    ];
    for (what, bootstrap, ca, expect) in cases {
        let host = Host::start(&[
            ("KAFKA_BOOTSTRAP_SERVERS", bootstrap),
            ("KAFKA_SECURITY_PROTOCOL", "SSL"),
            ("KAFKA_TLS_CA_PEM", ca),
            ("KAFKA_REQUEST_TIMEOUT_MS", "10000"),
        ]);
        let started = Instant::now();
        let r = host.get("/v3/clusters");
        assert!(started.elapsed() < Duration::from_secs(12), "{what}: {:?}", started.elapsed());
        assert_eq!(r.status, 500, "{what}: {}", r.text());
        let msg = r.json()["message"].as_str().unwrap_or_default().to_owned();
        assert!(msg.contains("TLS") && msg.contains(bootstrap) && msg.to_lowercase().contains(expect), "{what}: {msg}");
    }
    // Verification is off only when asked for: then the expired certificate is accepted.
    let host = Host::start(&[
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost:29097"),
        ("KAFKA_SECURITY_PROTOCOL", "SSL"),
        ("KAFKA_TLS_INSECURE_SKIP_VERIFY", "true"),
    ]);
    assert_eq!(host.get("/v3/clusters").status, 200);
}

#[test]
fn sessions_are_renewed_before_the_broker_ends_them() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS", "KRE_TEST_SECURE");
    // The broker's SASL sessions last 5 s (connections.max.reauth.ms): a minute of requests on
    // one instance crosses a dozen of them.
    let vars = sasl_ssl("SCRAM-SHA-256");
    let mut vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ca = pem("ca.pem");
    vars.push(("KAFKA_TLS_CA_PEM", &ca));
    let host = Host::start(&vars);
    let seconds: u64 = std::env::var("KRE_REAUTH_TEST_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut conn = common::Conn::open(&host.url("/topics")).unwrap();
    let mut n = 0;
    while Instant::now() < until {
        let status = conn.get().unwrap();
        assert_eq!(status, 200, "request {n} failed");
        n += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(n as u64 > seconds, "{n} requests in {seconds} s");
}
