//! Stateless v2 consumers through the served component: state in the key-value store, any host
//! serves any consumer, group membership renewed by the consumer's own requests (KIP-848).
#![allow(clippy::unwrap_used)]

use kre_test_support as common;
use kre_test_support::needs;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::kafka::Kafka;
use common::{Host, Streaming, bootstrap, unique};
use kafka_protocol::records::Compression;
use serde_json::{Value, json};

const V2: &str = "application/vnd.kafka.v2+json";
const BIN: &str = "application/vnd.kafka.binary.v2+json";
const JSONF: &str = "application/vnd.kafka.json.v2+json";

fn post(host: &Host, path: &str, body: &Value) -> common::Reply {
    host.send("POST", path, &[("content-type", V2)], Some(&serde_json::to_vec(body).unwrap()))
}

fn create(host: &Host, group: &str, body: Value) -> String {
    let r = post(host, &format!("/consumers/{group}"), &body);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["instance_id"].as_str().unwrap().to_owned()
}

fn records(host: &Host, base: &str, accept: &str, timeout_ms: u64) -> Vec<Value> {
    let r = host.send("GET", &format!("{base}/records?timeout={timeout_ms}"), &[("accept", accept)], None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some(accept));
    r.json().as_array().unwrap().clone()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn value_of(r: &Value) -> String {
    let b = common::b64_decode(r["value"].as_str().unwrap());
    String::from_utf8(b).unwrap()
}

/// Reads until `want` records came or `secs` passed.
fn read_all(host: &Host, base: &str, want: usize, secs: u64) -> Vec<Value> {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < end {
        got.extend(records(host, base, BIN, 500));
    }
    got
}

#[test]
fn any_host_serves_any_consumer() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-any");
    kafka.create_topic(&topic, 2, 1);
    let group = unique("g-any");
    let a = Host::start(&[]);
    let b = Host::start(&[]);
    let id = create(
        &a,
        &group,
        json!({"name": "c1", "format": "binary", "auto.offset.reset": "earliest", "auto.commit.enable": "false"}),
    );
    let base = format!("/consumers/{group}/instances/{id}");
    assert_eq!(post(&a, &format!("{base}/subscription"), &json!({"topics": [topic]})).status, 204);
    assert_eq!(b.get(&format!("{base}/subscription")).json(), json!({"topics": [topic]}));
    for p in 0..2 {
        kafka.produce(&topic, p, &["a", "b", "c", "d", "e"]);
    }
    // Read through B what A subscribed: every record once, with headers and timestamps.
    let got = read_all(&b, &base, 10, 30);
    assert_eq!(got.len(), 10);
    assert!(
        got.iter()
            .all(|r| r["timestamp"].as_i64().unwrap() > 0 && r["headers"].is_array() && r["topic"] == topic.as_str())
    );
    let mut seen: Vec<(i64, i64)> =
        got.iter().map(|r| (r["partition"].as_i64().unwrap(), r["offset"].as_i64().unwrap())).collect();
    seen.sort();
    assert_eq!(seen, (0..2).flat_map(|p| (0..5).map(move |o| (p, o))).collect::<Vec<_>>());
    // Nothing more: positions are in the store, not in A or B.
    assert!(records(&a, &base, BIN, 300).is_empty());
    // Commit everything read (empty body), read the commit back through the other host.
    assert_eq!(post(&b, &format!("{base}/offsets"), &json!(null)).status, 204);
    let committed = a.send(
        "GET",
        &format!("{base}/offsets"),
        &[("content-type", V2)],
        Some(
            &serde_json::to_vec(
                &json!({"partitions": [{"topic": topic, "partition": 0}, {"topic": topic, "partition": 1}]}),
            )
            .unwrap(),
        ),
    );
    let offs: Vec<i64> =
        committed.json()["offsets"].as_array().unwrap().iter().map(|o| o["offset"].as_i64().unwrap()).collect();
    assert_eq!(offs, vec![5, 5]);
    let assigned = a.get(&format!("{base}/assignments")).json();
    assert_eq!(assigned["partitions"].as_array().unwrap().len(), 2);
    // A killed mid-stream: B goes on with no gap and no repeat.
    kafka.produce(&topic, 0, &["f", "g"]);
    drop(a);
    let more = read_all(&b, &base, 2, 20);
    assert_eq!(more.iter().map(value_of).collect::<Vec<_>>(), vec!["f", "g"]);
    assert_eq!(b.send("DELETE", &base, &[], None).status, 204);
    b.get(&format!("{base}/subscription")).assert_error(404, 40403);
    b.send("GET", &format!("{base}/records"), &[("accept", BIN)], None).assert_error(404, 40403);
    kafka.delete_topic(&topic);
}

#[test]
fn two_consumers_share_a_group_and_take_over() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-share");
    kafka.create_topic(&topic, 4, 1);
    for p in 0..4 {
        kafka.produce(&topic, p, &["1", "2", "3"]);
    }
    let group = unique("g-share");
    let host = Host::start(&[]);
    let mut bases = Vec::new();
    for name in ["one", "two"] {
        let id = create(&host, &group, json!({"name": name, "auto.offset.reset": "earliest"}));
        let base = format!("/consumers/{group}/instances/{id}");
        assert_eq!(post(&host, &format!("{base}/subscription"), &json!({"topics": [topic]})).status, 204);
        bases.push(base);
    }
    // Both poll until the group settles on disjoint partitions covering the topic.
    let mut seen: Vec<BTreeSet<(i64, i64)>> = vec![BTreeSet::new(), BTreeSet::new()];
    let end = Instant::now() + Duration::from_secs(40);
    loop {
        for (i, b) in bases.iter().enumerate() {
            for r in records(&host, b, BIN, 300) {
                seen[i].insert((r["partition"].as_i64().unwrap(), r["offset"].as_i64().unwrap()));
            }
        }
        let (p0, p1) = (held(&host, &bases[0]), held(&host, &bases[1]));
        if seen[0].len() + seen[1].len() == 12
            && !p0.is_empty()
            && !p1.is_empty()
            && p0.is_disjoint(&p1)
            && p0.len() + p1.len() == 4
        {
            break;
        }
        assert!(Instant::now() < end, "no settled split: {p0:?} {p1:?}, read {} + {}", seen[0].len(), seen[1].len());
    }
    assert!(seen[0].is_disjoint(&seen[1]), "no record read twice");
    // One leaves: the other takes every partition.
    assert_eq!(host.send("DELETE", &bases[0], &[], None).status, 204);
    let end = Instant::now() + Duration::from_secs(40);
    loop {
        records(&host, &bases[1], BIN, 300);
        let n = host.get(&format!("{}/assignments", bases[1])).json()["partitions"].as_array().unwrap().len();
        if n == 4 {
            break;
        }
        assert!(Instant::now() < end, "the survivor has {n} partitions");
    }
    kafka.delete_topic(&topic);
}

/// Held partitions of one member (its `assignments`).
fn held(host: &Host, base: &str) -> BTreeSet<i64> {
    host.get(&format!("{base}/assignments")).json()["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["partition"].as_i64().unwrap())
        .collect()
}

#[test]
fn a_member_commits_only_the_partitions_it_holds() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-held");
    kafka.create_topic(&topic, 2, 1);
    for p in 0..2 {
        kafka.produce(&topic, p, &["1", "2", "3"]);
    }
    let group = unique("g-held");
    let host = Host::start(&[]);
    let join = |name: &str| {
        let id = create(
            &host,
            &group,
            json!({"name": name, "auto.offset.reset": "earliest", "auto.commit.enable": "false"}),
        );
        let base = format!("/consumers/{group}/instances/{id}");
        assert_eq!(post(&host, &format!("{base}/subscription"), &json!({"topics": [topic]})).status, 204);
        base
    };
    // Alone, `one` reads both partitions and commits nothing.
    let one = join("one");
    assert_eq!(read_all(&host, &one, 6, 30).len(), 6);
    // `two` joins: the partitions split; `two` reads its own from the start and commits past new records.
    let two = join("two");
    let end = Instant::now() + Duration::from_secs(40);
    let theirs = loop {
        records(&host, &one, BIN, 300);
        records(&host, &two, BIN, 300);
        let (a, b) = (held(&host, &one), held(&host, &two));
        if a.len() == 1 && b.len() == 1 && a.is_disjoint(&b) {
            break *b.first().unwrap();
        }
        assert!(Instant::now() < end, "no settled split: {a:?} {b:?}");
    };
    kafka.produce(&topic, theirs as i32, &["4", "5", "6"]);
    let end = Instant::now() + Duration::from_secs(30);
    let mut read = 0;
    while read < 6 && Instant::now() < end {
        read += records(&host, &two, BIN, 300).iter().filter(|r| r["partition"] == theirs).count();
    }
    assert!(read >= 3, "two read {read} of its partition");
    assert_eq!(post(&host, &format!("{two}/offsets"), &json!({})).status, 204);
    // `one` commits everything it has read: not the partition it gave up, which was read further
    // by its new owner.
    records(&host, &one, BIN, 300);
    assert_eq!(post(&host, &format!("{one}/offsets"), &json!({})).status, 204);
    let id = kafka.describe().cluster_id;
    let lags = host.get(&format!("/v3/clusters/{id}/consumer-groups/{group}/lags")).json();
    let committed = lags["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["partition_id"] == theirs)
        .map(|l| l["current_offset"].as_i64().unwrap());
    assert_eq!(committed, Some(6), "{lags}");
    for b in [&one, &two] {
        assert_eq!(host.send("DELETE", b, &[], None).status, 204);
    }
    kafka.delete_topic(&topic);
}

#[test]
fn manual_assignment_seek_and_json_format() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-seek");
    kafka.create_topic(&topic, 1, 1);
    // Recent times: records older than the broker's retention (7 days) may be deleted at any moment.
    let t0 = now_ms() - 3_600_000;
    kafka.produce_json_with(&topic, 0, &["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"], t0);
    kafka.produce_json_with(&topic, 0, &["{\"n\":3}", "{\"n\":4}"], t0 + 60_000);
    let host = Host::start(&[]);
    let group = unique("g-seek");
    let id = create(&host, &group, json!({"format": "json", "auto.offset.reset": "earliest"}));
    let base = format!("/consumers/{group}/instances/{id}");
    let tp = json!([{"topic": topic, "partition": 0}]);
    assert_eq!(post(&host, &format!("{base}/assignments"), &json!({"partitions": tp})).status, 204);
    post(&host, &format!("{base}/subscription"), &json!({"topics": [topic]})).assert_error(409, 40903);
    let r = records(&host, &base, JSONF, 2000);
    assert_eq!(r.iter().map(|r| r["value"]["n"].as_i64().unwrap()).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert_eq!(r[0]["key"], "k0", "keys are the JSON strings \"k0\"..");
    // Seek to an offset, to the beginning, to the end, to a time.
    assert_eq!(
        post(&host, &format!("{base}/positions"), &json!({"offsets": [{"topic": topic, "partition": 0, "offset": 3}]}))
            .status,
        204
    );
    assert_eq!(records(&host, &base, JSONF, 1000).len(), 2);
    assert_eq!(post(&host, &format!("{base}/positions/beginning"), &json!({"partitions": tp})).status, 204);
    assert_eq!(records(&host, &base, JSONF, 1000).len(), 5);
    assert_eq!(post(&host, &format!("{base}/positions/end"), &json!({"partitions": tp})).status, 204);
    assert!(records(&host, &base, JSONF, 300).is_empty());
    assert_eq!(
        post(
            &host,
            &format!("{base}/positions"),
            &json!({"timestamps": [{"topic": topic, "partition": 0, "timestamp": t0 + 30_000}]})
        )
        .status,
        204
    );
    assert_eq!(
        records(&host, &base, JSONF, 1000).iter().map(|r| r["offset"].as_i64().unwrap()).collect::<Vec<_>>(),
        vec![3, 4]
    );
    // Format mismatch is 40601.
    host.send("GET", &format!("{base}/records"), &[("accept", BIN)], None).assert_error(406, 40601);
    // Seeking a partition this instance is not assigned: Confluent's 409/40903 ("No current
    // assignment for partition"), and nothing stored.
    let other = json!({"offsets": [{"topic": topic, "partition": 1, "offset": 0}]});
    let msg = post(&host, &format!("{base}/positions"), &other).assert_error(409, 40903);
    assert!(msg.contains("No current assignment for partition"), "{msg}");
    let other = json!({"partitions": [{"topic": topic, "partition": 7}]});
    post(&host, &format!("{base}/positions/beginning"), &other).assert_error(409, 40903);
    post(&host, &format!("{base}/positions/end"), &other).assert_error(409, 40903);
    // Manual commit of given offsets: the offset given is the last record consumed, so the commit
    // is the next one (Confluent's commitOffsets) and its metadata is kept.
    let commit = json!({"offsets": [{"topic": topic, "partition": 0, "offset": 2, "metadata": "m-2"}]});
    assert_eq!(post(&host, &format!("{base}/offsets"), &commit).status, 204);
    let c = host
        .send(
            "GET",
            &format!("{base}/offsets"),
            &[("content-type", V2)],
            Some(&serde_json::to_vec(&json!({"partitions": tp})).unwrap()),
        )
        .json();
    assert_eq!(c["offsets"][0]["offset"], 3, "offset + 1 committed: {c}");
    assert_eq!(c["offsets"][0]["metadata"], "m-2");
    // Another instance of the group, with no position of its own, resumes after the last record
    // consumed (not re-reading it).
    let id2 = create(&host, &group, json!({"format": "json"}));
    let base2 = format!("/consumers/{group}/instances/{id2}");
    assert_eq!(post(&host, &format!("{base2}/assignments"), &json!({"partitions": tp})).status, 204);
    let resumed: Vec<i64> = records(&host, &base2, JSONF, 1000).iter().map(|r| r["offset"].as_i64().unwrap()).collect();
    assert_eq!(resumed, vec![3, 4]);
    kafka.delete_topic(&topic);
}

/// Small answers (max_bytes) make every answer full, so each one is followed by a read-ahead or
/// keeps the Fetch's surplus: records still come exactly once and in order, alternating hosts
/// (each with its own read-ahead) and after a seek back.
#[test]
fn read_ahead_keeps_every_record_once_in_order() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-ahead");
    kafka.create_topic(&topic, 2, 1);
    let per_partition = 300usize;
    for p in 0..2 {
        let values: Vec<String> = (0..per_partition).map(|i| format!("p{p}-{i:05}")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        for chunk in refs.chunks(50) {
            kafka.produce(&topic, p, chunk);
        }
    }
    let hosts = [Host::start(&[]), Host::start(&[])];
    let group = unique("g-ahead");
    let id = create(&hosts[0], &group, json!({"auto.offset.reset": "earliest", "auto.commit.enable": "false"}));
    let base = format!("/consumers/{group}/instances/{id}");
    let tp = json!([{"topic": topic, "partition": 0}, {"topic": topic, "partition": 1}]);
    assert_eq!(post(&hosts[0], &format!("{base}/assignments"), &json!({"partitions": tp})).status, 204);
    // Each value is 8 bytes (keys k0.. add 2-3): about 8 records an answer.
    let read = |host: &Host| -> Vec<(i64, i64)> {
        let r = host.send("GET", &format!("{base}/records?timeout=1000&max_bytes=80"), &[("accept", BIN)], None);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let got: Vec<(i64, i64)> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let (p, o) = (r["partition"].as_i64().unwrap(), r["offset"].as_i64().unwrap());
                assert_eq!(value_of(r), format!("p{p}-{o:05}"), "the record at its offset");
                (p, o)
            })
            .collect();
        assert!(got.len() <= 11, "max_bytes honoured: {} records", got.len());
        got
    };
    let mut next = [0i64, 0];
    let mut answers = 0;
    let end = Instant::now() + Duration::from_secs(60);
    let mut sought = false;
    while next.iter().any(|n| *n < per_partition as i64) {
        assert!(Instant::now() < end, "not everything read: {next:?}");
        // Three answers from one host, then three from the other.
        for (p, o) in read(&hosts[(answers / 3) % 2]) {
            assert_eq!(o, next[p as usize], "partition {p}: no gap, no repeat");
            next[p as usize] = o + 1;
        }
        answers += 1;
        if !sought && next[0] >= 200 {
            // Back to 50 through the other host: what either host read ahead is not served.
            let seek = json!({"offsets": [{"topic": topic, "partition": 0, "offset": 50}]});
            assert_eq!(post(&hosts[(answers / 3 + 1) % 2], &format!("{base}/positions"), &seek).status, 204);
            next[0] = 50;
            sought = true;
        }
    }
    assert!(sought && answers >= 60, "{answers} answers");
    kafka.delete_topic(&topic);
}

/// read_committed end to end: a real transactional producer (the Kafka jars') commits, aborts and
/// commits again; the REST consumer and the v3 partition read see only the committed records
/// (no aborted data, no transaction markers), and their offsets skip what is hidden.
#[test]
fn aborted_transactions_and_markers_never_appear() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-tx");
    kafka.create_topic(&topic, 1, 1);
    let jars = common::env("KRE_KAFKA_JARS");
    let out = std::process::Command::new("java")
        .args(["-Xmx256m", "-cp", &format!("{jars}/*")])
        .arg(common::repo().join("tests/java/TxProducer.java"))
        .args([&bootstrap(), &topic])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("DONE"), "{}", String::from_utf8_lossy(&out.stderr));
    let host = Host::start(&[]);
    let group = unique("g-tx");
    let id = create(&host, &group, json!({"auto.offset.reset": "earliest"}));
    let base = format!("/consumers/{group}/instances/{id}");
    assert_eq!(
        post(&host, &format!("{base}/assignments"), &json!({"partitions": [{"topic": topic, "partition": 0}]})).status,
        204
    );
    let got = read_all(&host, &base, 4, 20);
    let values: Vec<String> = got.iter().map(value_of).collect();
    assert_eq!(values, ["committed-0", "committed-1", "committed-2", "committed-3"]);
    // 0-2 committed, 3 its marker, 4-6 aborted, 7 the abort marker, 8 committed, 9 its marker.
    let offsets: Vec<i64> = got.iter().map(|r| r["offset"].as_i64().unwrap()).collect();
    assert_eq!(offsets, [0, 1, 2, 8]);
    assert!(records(&host, &base, BIN, 300).is_empty(), "nothing else, markers included");
    let cluster = kafka.describe().cluster_id;
    let read = host.get(&format!("/v3/clusters/{cluster}/topics/{topic}/partitions/0/records?offset=0")).json();
    let v3: Vec<i64> = read["records"].as_array().unwrap().iter().map(|r| r["offset"].as_i64().unwrap()).collect();
    assert_eq!(v3, [0, 1, 2, 8]);
    kafka.delete_topic(&topic);
}

#[test]
fn every_codec_comes_back_exactly() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-codec");
    kafka.create_topic(&topic, 1, 1);
    let t0 = now_ms() - 3_600_000;
    let codecs = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];
    for (i, codec) in codecs.iter().enumerate() {
        kafka.produce_with(&topic, 0, &[&format!("codec-{i}-a"), &format!("codec-{i}-b")], *codec, t0 + i as i64);
    }
    let host = Host::start(&[]);
    let group = unique("g-codec");
    let id = create(&host, &group, json!({"auto.offset.reset": "earliest"}));
    let base = format!("/consumers/{group}/instances/{id}");
    assert_eq!(
        post(&host, &format!("{base}/assignments"), &json!({"partitions": [{"topic": topic, "partition": 0}]})).status,
        204
    );
    let got = read_all(&host, &base, 10, 20);
    assert_eq!(got.len(), 10);
    for (i, r) in got.iter().enumerate() {
        let batch = i / 2;
        assert_eq!(value_of(r), format!("codec-{batch}-{}", if i % 2 == 0 { "a" } else { "b" }));
        assert_eq!(common::b64_decode(r["key"].as_str().unwrap()), format!("k{}", i % 2).into_bytes());
        assert_eq!(r["timestamp"], t0 + batch as i64);
        assert_eq!(r["headers"], json!([{"key": format!("h{}", i % 2), "value": "aHY="}]));
    }
    kafka.delete_topic(&topic);
}

#[test]
fn consumer_errors_and_idle_expiry() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let host = Host::start(&[("CONSUMER_INSTANCE_TIMEOUT_MS", "1500")]);
    let group = unique("g-err");
    let id = create(&host, &group, json!({"name": "e1"}));
    let base = format!("/consumers/{group}/instances/{id}");
    post(&host, &format!("/consumers/{group}"), &json!({"name": "e1"})).assert_error(409, 40902);
    post(&host, &format!("{base}/subscription"), &json!({"topics": ["a"], "topic_pattern": "b.*"}))
        .assert_error(409, 40903);
    post(&host, &format!("{base}/subscription"), &json!({"topics": "a"})).assert_error(422, 422);
    post(&host, &format!("{base}/assignments"), &json!({"partitions": [{"topic": "a"}]})).assert_error(422, 422);
    assert_eq!(
        post(&host, &format!("{base}/subscription"), &json!({"topic_pattern": "nothing-matches-.*"})).status,
        204
    );
    post(&host, &format!("{base}/assignments"), &json!({"partitions": [{"topic": "a", "partition": 0}]}))
        .assert_error(409, 40903);
    host.get(&format!("/consumers/{group}/instances/nobody/subscription")).assert_error(404, 40403);
    host.send("GET", &format!("{base}/records?timeout=abc"), &[("accept", BIN)], None).assert_error(400, 400);
    // Idle longer than consumer.instance.timeout.ms: gone.
    std::thread::sleep(Duration::from_millis(2000));
    host.get(&format!("{base}/subscription")).assert_error(404, 40403);
    // And the record is cleaned up: the name can be used again.
    create(&host, &group, json!({"name": "e1"}));
}

#[test]
fn v3_consume_extension_reads_and_follows() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-v3");
    kafka.create_topic(&topic, 2, 1);
    kafka.produce_with(&topic, 0, &["a", "b", "c", "d"], Compression::Lz4, 1_650_000_000_000);
    let id = kafka.describe().cluster_id;
    let host = Host::start(&[]);
    let part = format!("/v3/clusters/{id}/topics/{topic}/partitions/0/records");

    // Stateless partition reads, continued with next_offset.
    let first = host.get(&format!("{part}?offset=0&max_bytes=6")).json();
    assert_eq!(first["records"].as_array().unwrap().len(), 2, "max_bytes counts key + value bytes (3 per record)");
    assert_eq!(first["next_offset"], 2);
    let r0 = &first["records"][0];
    assert_eq!(r0["value"], json!({"type": "BINARY", "data": "YQ=="}));
    assert_eq!(r0["key"], json!({"type": "BINARY", "data": "azA="}));
    assert_eq!(r0["timestamp"], "2022-04-15T05:20:00Z");
    assert_eq!(r0["headers"], json!([{"name": "h0", "value": "aHY="}]));
    let rest = host.get(&format!("{part}?offset=2")).json();
    assert_eq!(
        rest["records"].as_array().unwrap().iter().map(|r| r["offset"].as_i64().unwrap()).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(rest["next_offset"], 4);
    let empty = host.get(&format!("{part}?offset=4&timeout=200")).json();
    assert_eq!((empty["records"].as_array().unwrap().len(), empty["next_offset"].as_i64()), (0, Some(4)));
    host.get(&format!("{part}?offset=-1")).assert_error(400, 400);
    host.get(&format!("/v3/clusters/{id}/topics/{topic}/partitions/7/records")).assert_error(404, 40402);

    // Follow both partitions from a position; new records arrive while the stream is open.
    let mut s =
        Streaming::get(host.port, &format!("/v3/clusters/{id}/topics/{topic}/records?from=0:2,1:0&timeout=200"));
    let got = s.reports_within(2, Duration::from_secs(20));
    assert_eq!(got.iter().map(|r| r["offset"].as_i64().unwrap()).collect::<Vec<_>>(), vec![2, 3]);
    kafka.produce(&topic, 1, &["x", "y"]);
    let got = s.reports_within(4, Duration::from_secs(20));
    assert_eq!(got.len(), 4);
    assert!(got[2..].iter().all(|r| r["partition_id"] == 1));
    host.get(&format!("/v3/clusters/{id}/topics/{topic}/records?from=9:0")).assert_error(404, 40402);
    host.get(&format!("/v3/clusters/{id}/topics/{topic}/records?from=zero")).assert_error(400, 400);
    kafka.delete_topic(&topic);
}

#[test]
fn pattern_subscription_picks_up_new_topics() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    let kafka = Kafka::new(&bootstrap());
    let prefix = unique("pat");
    let host = Host::start(&[]);
    let group = unique("g-pat");
    let id = create(&host, &group, json!({"auto.offset.reset": "earliest"}));
    let base = format!("/consumers/{group}/instances/{id}");
    assert_eq!(
        post(&host, &format!("{base}/subscription"), &json!({"topic_pattern": format!("{prefix}-.*")})).status,
        204
    );
    assert!(records(&host, &base, BIN, 300).is_empty());
    // A topic created after the subscription.
    let topic = format!("{prefix}-later");
    kafka.create_topic(&topic, 1, 1);
    kafka.produce(&topic, 0, &["late"]);
    let got = read_all(&host, &base, 1, 60);
    assert_eq!(got.iter().map(value_of).collect::<Vec<_>>(), vec!["late"]);
    assert_eq!(host.get(&format!("{base}/subscription")).json(), json!({"topics": [topic]}));
    kafka.delete_topic(&topic);
}

#[test]
fn a_native_java_consumer_and_a_rest_consumer_share_a_group() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    native_and_rest_share_a_group("consumer");
}

#[test]
fn a_native_classic_consumer_and_a_rest_classic_consumer_share_a_group() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    native_and_rest_share_a_group("classic");
}

/// A Java KafkaConsumer and a REST consumer in one group, both speaking `protocol`.
fn native_and_rest_share_a_group(protocol: &str) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-mixed");
    kafka.create_topic(&topic, 4, 1);
    let group = unique("g-mixed");
    let host = Host::start(&[("CONSUMER_GROUP_PROTOCOL", protocol)]);
    let id = create(&host, &group, json!({"auto.offset.reset": "earliest"}));
    let base = format!("/consumers/{group}/instances/{id}");
    assert_eq!(post(&host, &format!("{base}/subscription"), &json!({"topics": [topic]})).status, 204);
    records(&host, &base, BIN, 500);
    // A Java KafkaConsumer joins the same group.
    let jars = common::env("KRE_KAFKA_JARS");
    let mut java = Command::new("java")
        .args(["-Xmx256m", "-cp", &format!("{jars}/*")])
        .arg(common::repo().join("tests/java/GroupMember.java"))
        .args([&bootstrap(), &topic, &group, protocol, "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(java.stdout.take().unwrap());
    // Keep the REST member's membership alive while the Java member joins.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while out.read_line(&mut line).unwrap_or(0) > 0 {
            if line.starts_with("READY") {
                let _ = tx.send(());
                return;
            }
            line.clear();
        }
    });
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        records(&host, &base, BIN, 300);
        if rx.try_recv().is_ok() || Instant::now() > end {
            break;
        }
    }
    // Both hold partitions, none twice: the v3 view of the group shows two members.
    let end = Instant::now() + Duration::from_secs(40);
    loop {
        records(&host, &base, BIN, 300);
        let rest_parts = host.get(&format!("{base}/assignments")).json()["partitions"].as_array().unwrap().len();
        let members =
            host.get(&format!("/v3/clusters/{}/consumer-groups/{group}/consumers", kafka.describe().cluster_id)).json();
        let counts: Vec<usize> = members["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                host.get(&format!(
                    "/v3/clusters/{}/consumer-groups/{group}/consumers/{}/assignments",
                    kafka.describe().cluster_id,
                    m["consumer_id"].as_str().unwrap()
                ))
                .json()["data"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .collect();
        if counts.len() == 2
            && counts.iter().sum::<usize>() == 4
            && counts.iter().all(|c| *c > 0)
            && (1..4).contains(&rest_parts)
        {
            break;
        }
        assert!(Instant::now() < end, "no shared split: REST {rest_parts}, members {counts:?}");
    }
    let _ = java.kill();
    let _ = java.wait();
    kafka.delete_topic(&topic);
}

#[test]
fn classic_protocol_split_and_takeover() {
    needs!("KRE_TEST_BOOTSTRAP", "KRE_TEST_REDIS");
    // The classic group protocol (JoinGroup/SyncGroup/Heartbeat), as used with brokers without
    // KIP-848; chosen here by configuration so the same broker can test it.
    let kafka = Kafka::new(&bootstrap());
    let topic = unique("c-classic");
    kafka.create_topic(&topic, 4, 1);
    for p in 0..4 {
        kafka.produce(&topic, p, &["1", "2", "3"]);
    }
    let group = unique("g-classic");
    let host = Host::start(&[("CONSUMER_GROUP_PROTOCOL", "classic")]);
    let mut bases = Vec::new();
    for name in ["one", "two"] {
        let id = create(&host, &group, json!({"name": name, "auto.offset.reset": "earliest"}));
        let base = format!("/consumers/{group}/instances/{id}");
        assert_eq!(post(&host, &format!("{base}/subscription"), &json!({"topics": [topic]})).status, 204);
        bases.push(base);
    }
    let mut seen: Vec<BTreeSet<(i64, i64)>> = vec![BTreeSet::new(), BTreeSet::new()];
    let parts = |b: &str| -> BTreeSet<i64> {
        host.get(&format!("{b}/assignments")).json()["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["partition"].as_i64().unwrap())
            .collect()
    };
    // A join that outlives its request is re-sent under the member id the broker gave, so the
    // group settles within a few heartbeats (3 s each) rather than rebalancing over and over.
    let end = Instant::now() + Duration::from_secs(60);
    let mut slowest = Duration::ZERO;
    loop {
        for (i, b) in bases.iter().enumerate() {
            let t = Instant::now();
            let got = records(&host, b, BIN, 500);
            slowest = slowest.max(t.elapsed());
            for r in got {
                seen[i].insert((r["partition"].as_i64().unwrap(), r["offset"].as_i64().unwrap()));
            }
        }
        let (p0, p1) = (parts(&bases[0]), parts(&bases[1]));
        if p0.len() == 2 && p1.len() == 2 && p0.is_disjoint(&p1) && seen[0].len() + seen[1].len() == 12 {
            break;
        }
        assert!(Instant::now() < end, "no classic split: {p0:?} {p1:?}, read {} + {}", seen[0].len(), seen[1].len());
    }
    // A rebalance never holds a records request past its timeout (500 ms; slack for the answer).
    assert!(slowest < Duration::from_millis(1500), "a records request took {slowest:?}");
    let id = kafka.describe().cluster_id;
    let g = host.get(&format!("/v3/clusters/{id}/consumer-groups/{group}")).json();
    assert_eq!((g["type"].as_str(), g["partition_assignor"].as_str()), (Some("CLASSIC"), Some("range")), "{g}");
    // One leaves (LeaveGroup): the other rejoins at its next heartbeat and takes everything —
    // well before the leaver's 45 s session would have run out.
    assert_eq!(host.send("DELETE", &bases[0], &[], None).status, 204);
    let end = Instant::now() + Duration::from_secs(20);
    while parts(&bases[1]).len() != 4 {
        records(&host, &bases[1], BIN, 500);
        assert!(Instant::now() < end, "the survivor has {:?}", parts(&bases[1]));
    }
    kafka.delete_topic(&topic);
}
