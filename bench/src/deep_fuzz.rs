//! `make chaos`'s deep-structure fuzz pass (and make test's short one): requests and records built
//! to be deep, wide or expensive — JSON nested up to 20,000 levels, Avro schemas and records
//! nested as deep (linked lists, nested records), arrays claiming billions of items, random bytes
//! under a real schema, `.proto` files with thousands of nested messages, recursive Protobuf
//! messages, JSON Schemas nested deep, `uniqueItems` over large arrays — sent through the served
//! component (both artifacts) with a real Schema Registry, and the records read back in their
//! formats (v3 `format=…`, v2 schema consumers).
//!
//! Every answer must be the reference's JSON (a 5xx other than 501, an error without a JSON body,
//! or no answer within 40 s is a defect). A trap shows as the host's 500 without JSON here and as
//! a line in the host's log, which `scripts/chaos.sh` counts. Names made here start with `fz-`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use kre_test_support::b64;

use super::http_once;

const V2: &str = "application/vnd.kafka.v2+json";
const BINARY: &str = "application/vnd.kafka.binary.v2+json";
const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
const AVRO: &str = "application/vnd.kafka.avro.v2+json";
const PROTOBUF: &str = "application/vnd.kafka.protobuf.v2+json";
const JSONSCHEMA: &str = "application/vnd.kafka.jsonschema.v2+json";
const DRAFT7: &str = "http://json-schema.org/draft-07/schema#";

/// A small xorshift generator: a seed replays a run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    /// A depth spread over orders of magnitude: mostly near the limits, sometimes far past them.
    fn depth(&mut self) -> usize {
        [1, 10, 60, 99, 100, 101, 150, 400, 1000, 5000, 20_000][self.below(11)] + self.below(3)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.below(256) as u8).collect()
    }
}

/// Avro's and Protobuf's variable-length integers.
fn zigzag(n: i64, out: &mut Vec<u8>) {
    varint(((n << 1) ^ (n >> 63)) as u64, out)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Confluent's wire format.
fn framed(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&(id as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// One record whose value is `value` (JSON text, possibly nested deeper than serde_json builds)
/// under `schema`: through v2 (the topic's value subject, shared by every case, so the registry
/// may refuse it as incompatible) or v3 with a subject of its own (so the schema is parsed and
/// used).
fn with_schema(
    t: &Target<'_>,
    base: &str,
    v2_media: &str,
    v3_type: &str,
    schema: &str,
    value: &str,
    rng: &mut Rng,
) -> Answer {
    if rng.below(2) == 0 {
        let head = json!({ "value_schema": schema }).to_string();
        let body = format!(r#"{},"records":[{{"value":{value}}}]}}"#, &head[..head.len() - 1]);
        return v2_produce(t, base, v2_media, &body);
    }
    let subject = format!("fz-deep-{:x}", rng.below(1 << 40));
    let head = json!({"type": v3_type, "subject": subject, "schema": schema}).to_string();
    let body = format!(r#"{{"value":{},"data":{value}}}}}"#, &head[..head.len() - 1]);
    v3_produce(t, base, &body)
}

/// JSON text nested `depth` levels (arrays and objects mixed).
fn deep_json(rng: &mut Rng, depth: usize) -> String {
    let kinds: Vec<bool> = (0..depth).map(|_| rng.below(2) == 0).collect();
    let mut s = String::with_capacity(depth * 6);
    for &array in &kinds {
        s.push_str(if array { "[" } else { "{\"a\":" });
    }
    s.push('1');
    for &array in kinds.iter().rev() {
        s.push(if array { ']' } else { '}' });
    }
    s
}

/// An Avro schema of records nested `depth` deep, and a value that fits it.
fn nested_avro(depth: usize) -> (String, String) {
    let mut schema = String::from("\"int\"");
    let mut value = String::from("1");
    for i in 0..depth {
        schema = format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"f","type":{schema}}}]}}"#);
        value = format!(r#"{{"f":{value}}}"#);
    }
    (schema, value)
}

/// `.proto` text with `depth` messages nested in one another.
fn nested_proto(depth: usize) -> String {
    let mut s = String::from("syntax = \"proto3\";\npackage fz.deep;\n");
    for i in 0..depth {
        s.push_str(&format!("message M{i} {{ int32 x = 1;\n"));
    }
    s.push_str(&"}\n".repeat(depth));
    s
}

/// A recursive Protobuf message `N { N next = 1; int32 v = 2; }` nested `depth` deep.
fn nested_proto_bytes(depth: usize) -> Vec<u8> {
    let mut m: Vec<u8> = vec![0x10, 0x07];
    for _ in 0..depth {
        let mut outer = vec![0x0a];
        varint(m.len() as u64, &mut outer);
        outer.extend_from_slice(&m);
        m = outer;
    }
    [vec![0], m].concat()
}

/// A JSON Schema nested `depth` deep through `properties`, and an instance as deep.
fn nested_json_schema(depth: usize) -> (String, String) {
    let mut schema = String::from(r#"{"type":"integer"}"#);
    let mut value = String::from("1");
    for _ in 0..depth {
        schema = format!(r#"{{"type":"object","properties":{{"a":{schema}}},"required":["a"]}}"#);
        value = format!(r#"{{"a":{value}}}"#);
    }
    let schema = format!(r#"{{"$schema":"{DRAFT7}",{}"#, &schema[1..]);
    (schema, value)
}

struct Target<'a> {
    bases: Vec<&'a str>,
    cluster: &'a str,
    topic: String,
}

/// `kre-bench deep-fuzz BASES CLUSTER REGISTRY SECONDS [SEED]`.
pub fn run(bases: &str, cluster: &str, registry: &str, seconds: u64, seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed | 1);
    let t = Target { bases: bases.split(',').collect(), cluster, topic: format!("fz-deep-{seed:x}") };
    let create = json!({"topic_name": t.topic, "partitions_count": 1, "replication_factor": 1}).to_string();
    let (status, _) = http_once(
        "POST",
        t.bases[0],
        &format!("/v3/clusters/{cluster}/topics"),
        &[("Content-Type", "application/json")],
        create.as_bytes(),
        Duration::from_secs(30),
    )?;
    if status != 201 && status != 400 {
        return Err(format!("creating {}: {status}", t.topic));
    }
    // Schemas registered directly, as a Java producer would, for the records written raw.
    let node = register(
        registry,
        "AVRO",
        r#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}"#,
    )?;
    let nulls = register(registry, "AVRO", r#"{"type":"array","items":"null"}"#)?;
    let mixed = register(
        registry,
        "AVRO",
        r#"{"type":"record","name":"Mix","fields":[{"name":"m","type":{"type":"map","values":{"type":"array","items":["null","string","Mix"]}}},{"name":"d","type":{"type":"fixed","name":"D","size":3,"logicalType":"decimal","precision":6}},{"name":"u","type":{"type":"string","logicalType":"uuid"}},{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}]}"#,
    )?;
    let chain = register(
        registry,
        "PROTOBUF",
        "syntax = \"proto3\";\npackage fz.deep;\nmessage N { N next = 1; int32 v = 2; }\n",
    )?;

    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut bad: BTreeMap<String, u64> = BTreeMap::new();
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut n = 0u64;
    while Instant::now() < end {
        let base = t.bases[rng.below(t.bases.len())];
        let depth = rng.depth();
        let case = rng.below(11);
        let (what, answers) = match case {
            0 => {
                let body = format!(r#"{{"records":[{{"value":{}}}]}}"#, deep_json(&mut rng, depth));
                ("json value, v2", vec![v2_produce(&t, base, JSON_V2, &body)])
            }
            1 => {
                let body = format!(r#"{{"value":{{"type":"JSON","data":{}}}}}"#, deep_json(&mut rng, depth));
                ("json value, v3", vec![v3_produce(&t, base, &body)])
            }
            2 => {
                let (schema, value) = nested_avro(depth.min(3000));
                ("avro nested records", vec![with_schema(&t, base, AVRO, "AVRO", &schema, &value, &mut rng)])
            }
            3 => {
                let list = [vec![2u8; depth], vec![0]].concat();
                ("avro linked list, read back", raw_and_read(&t, base, &framed(node, &list), "avro", &mut rng))
            }
            4 => {
                let mut claim = Vec::new();
                zigzag([10, 1 << 20, 20_000_000, 1 << 40, i64::MAX / 2][rng.below(5)], &mut claim);
                claim.push(0);
                (
                    "avro array claiming many items, read back",
                    raw_and_read(&t, base, &framed(nulls, &claim), "avro", &mut rng),
                )
            }
            5 => {
                let len = rng.below(4000);
                let junk = rng.bytes(len);
                (
                    "random bytes under an avro schema, read back",
                    raw_and_read(&t, base, &framed(mixed, &junk), "avro", &mut rng),
                )
            }
            6 => {
                let schema = nested_proto(depth.min(3000));
                ("nested .proto", vec![with_schema(&t, base, PROTOBUF, "PROTOBUF", &schema, "{}", &mut rng)])
            }
            7 => {
                let bytes = framed(chain, &nested_proto_bytes(depth));
                ("recursive protobuf message, read back", raw_and_read(&t, base, &bytes, "protobuf", &mut rng))
            }
            8 => {
                let (schema, value) = nested_json_schema(depth.min(3000));
                ("nested json schema", vec![with_schema(&t, base, JSONSCHEMA, "JSONSCHEMA", &schema, &value, &mut rng)])
            }
            9 => {
                // At most ~700 kB of JSON: under the brokers' 1 MB record limit.
                let len = [10, 1000, 30_000, 100_000][rng.below(4)];
                let mut items: Vec<u64> = (0..len as u64).collect();
                if rng.below(2) == 0 {
                    items.push(rng.below(len) as u64);
                }
                let schema = format!(r#"{{"$schema":"{DRAFT7}","type":"array","uniqueItems":true}}"#);
                let value = Value::from(items).to_string();
                let answer = with_schema(&t, base, JSONSCHEMA, "JSONSCHEMA", &schema, &value, &mut rng);
                ("uniqueItems over a large array", vec![answer])
            }
            _ => {
                // A v2 avro consumer positioned on whatever the topic holds.
                ("v2 avro consumer over the topic", v2_consume(&t, base, &mut rng))
            }
        };
        for (step, answer) in answers {
            n += 1;
            match answer {
                Ok((status, body)) => {
                    *counts.entry(format!("{what}: {status}")).or_default() += 1;
                    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let error_without_json = status >= 400 && v["error_code"].as_u64().is_none();
                    // A v3 stream's reports, one per line: a record's 5xx (50002, 500…) counts as
                    // an answer's.
                    let failed_report = status == 200
                        && body.split(|b| *b == b'\n').any(|line| {
                            let code =
                                serde_json::from_slice::<Value>(line).ok().and_then(|r| r["error_code"].as_u64());
                            code.map(|c| if c >= 1000 { c / 100 } else { c }).is_some_and(|c| c >= 500 && c != 501)
                        });
                    if (status >= 500 && status != 501) || error_without_json || failed_report {
                        let msg: String = v["message"].as_str().unwrap_or("(no JSON error)").chars().take(90).collect();
                        *bad.entry(format!("{status} {what} ({step}, depth {depth}): {msg}")).or_default() += 1;
                    }
                }
                Err(e) => {
                    *bad.entry(format!("no answer: {what} ({step}, depth {depth}): {e}")).or_default() += 1;
                }
            }
        }
    }
    for (k, v) in &counts {
        println!("DEEP {v} {k}");
    }
    for (k, v) in &bad {
        println!("DEEPBAD {v} {k}");
    }
    let mut serving = 0;
    for base in &t.bases {
        if let Ok((200, _)) = http_once("GET", base, "/v3/clusters", &[], b"", Duration::from_secs(10)) {
            serving += 1;
        }
    }
    println!("RESULT deep_fuzz_seed {seed} (kre-bench deep-fuzz BASES CLUSTER REGISTRY SECONDS SEED replays it)");
    println!("RESULT deep_fuzz_requests {n} requests");
    println!("RESULT deep_fuzz_bad {} answers", bad.values().sum::<u64>());
    println!("RESULT deep_fuzz_hosts_serving {serving} of {}", t.bases.len());
    Ok(())
}

type Answer = (&'static str, Result<(u16, Vec<u8>), String>);

fn wait() -> Duration {
    Duration::from_secs(40)
}

fn v2_produce(t: &Target<'_>, base: &str, media: &str, body: &str) -> Answer {
    (
        "produce",
        http_once("POST", base, &format!("/topics/{}", t.topic), &[("Content-Type", media)], body.as_bytes(), wait()),
    )
}

fn v3_produce(t: &Target<'_>, base: &str, body: &str) -> Answer {
    let path = format!("/v3/clusters/{}/topics/{}/records", t.cluster, t.topic);
    ("produce", http_once("POST", base, &path, &[("Content-Type", "application/json")], body.as_bytes(), wait()))
}

/// Writes `bytes` as a record (binary format), then reads it back through v3 in `format`.
fn raw_and_read(t: &Target<'_>, base: &str, bytes: &[u8], format: &str, rng: &mut Rng) -> Vec<Answer> {
    let body = json!({"records": [{"value": b64(bytes), "partition": 0}]}).to_string();
    let written = v2_produce(t, base, BINARY, &body);
    let offset = match &written.1 {
        Ok((200, b)) => serde_json::from_slice::<Value>(b).ok().and_then(|v| v["offsets"][0]["offset"].as_i64()),
        _ => None,
    };
    let mut out = vec![written];
    if let Some(offset) = offset {
        let max = [1, 100, 1 << 20][rng.below(3)];
        let path = format!(
            "/v3/clusters/{}/topics/{}/partitions/0/records?offset={offset}&format={format}&max_bytes={max}",
            t.cluster, t.topic
        );
        out.push(("read v3", http_once("GET", base, &path, &[], b"", wait())));
    }
    out
}

/// A v2 avro consumer created, assigned, read from a random offset and deleted.
fn v2_consume(t: &Target<'_>, base: &str, rng: &mut Rng) -> Vec<Answer> {
    let group = format!("fz-deep-{:x}", rng.below(1 << 30));
    let ct = [("Content-Type", V2)];
    let create = json!({"name": "c", "format": "avro"}).to_string();
    let mut out =
        vec![("create", http_once("POST", base, &format!("/consumers/{group}"), &ct, create.as_bytes(), wait()))];
    let inst = format!("/consumers/{group}/instances/c");
    let assign = json!({"partitions": [{"topic": t.topic, "partition": 0}]}).to_string();
    out.push(("assign", http_once("POST", base, &format!("{inst}/assignments"), &ct, assign.as_bytes(), wait())));
    let seek = json!({"offsets": [{"topic": t.topic, "partition": 0, "offset": rng.below(200)}]}).to_string();
    out.push(("seek", http_once("POST", base, &format!("{inst}/positions"), &ct, seek.as_bytes(), wait())));
    let max = [100, 1 << 20][rng.below(2)];
    let path = format!("{inst}/records?timeout=200&max_bytes={max}");
    out.push(("read v2", http_once("GET", base, &path, &[("Accept", AVRO)], b"", wait())));
    out.push(("delete", http_once("DELETE", base, &inst, &ct, b"", wait())));
    out
}

/// Registers `schema` of `kind` under a subject of its own; its id.
fn register(registry: &str, kind: &str, schema: &str) -> Result<u64, String> {
    let rest = registry.strip_prefix("http://").ok_or("the registry URL must be http://")?;
    let (authority, prefix) = rest.split_once('/').map_or((rest, String::new()), |(a, p)| (a, format!("/{p}")));
    let subject = format!("fz-deep-{}-{}", kind.to_ascii_lowercase(), std::process::id());
    let body = json!({"schema": schema, "schemaType": kind}).to_string();
    let (status, answer) = http_once(
        "POST",
        &format!("http://{authority}"),
        &format!("{prefix}/subjects/{subject}-{}/versions", schema.len()),
        &[("Content-Type", "application/vnd.schemaregistry.v1+json")],
        body.as_bytes(),
        Duration::from_secs(30),
    )?;
    let v: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    v["id"].as_u64().ok_or_else(|| format!("registering a {kind} schema: {status} {v}"))
}
