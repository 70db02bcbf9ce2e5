//! kafka-rest-edge benchmarks (scripts/bench.sh runs them against a local broker and the served
//! component, with the native baseline in the same invocation):
//!
//! - `kre-bench latency URL [N] [CONCURRENCY] [SECONDS]`: N sequential GETs on one keep-alive
//!   connection (p50/p90/p99/max), then CONCURRENCY connections for SECONDS (requests/s, p50/p99).
//! - `kre-bench produce BASE TOPIC BATCH CLIENTS SECONDS`: v2 binary produce of 1 KiB records,
//!   BATCH per request, CLIENTS keep-alive connections; acknowledged records/s and MB/s.
//! - `kre-bench produce-latency BASE TOPIC N`: N sequential single-record produces (p50/p99).
//! - `kre-bench stream BASE CLUSTER TOPIC SECONDS`: one chunked v3 streaming produce for SECONDS;
//!   acknowledged records/s, and the reports' lag behind the records sent.
//!
//! Every response must be a success, or the run fails: a fast error is not a result.
//! Results are printed as `RESULT name value unit` lines for the script to compare.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kre_test_support::Conn;

mod deep_fuzz;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn latency(url: &str, n: usize, concurrency: usize, seconds: u64) -> Result<(), String> {
    let mut conn = Conn::open(url)?;
    for _ in 0..20 {
        conn.get()?; // warm-up: instance creation, broker connections
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let status = conn.get()?;
        times.push(t.elapsed());
        if status != 200 {
            return Err(format!("status {status}"));
        }
    }
    times.sort();
    println!(
        "sequential: {n} requests, p50 {} p90 {} p99 {} max {}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&times, 1.0))
    );

    let end = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let url = url.to_owned();
            std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                let mut conn = Conn::open(&url)?;
                let mut times = Vec::new();
                while Instant::now() < end {
                    let t = Instant::now();
                    let status = conn.get()?;
                    times.push(t.elapsed());
                    if status != 200 {
                        return Err(format!("status {status}"));
                    }
                }
                Ok(times)
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.join().map_err(|_| "worker panicked")??);
    }
    all.sort();
    println!(
        "concurrent: {concurrency} connections x {seconds} s: {} requests, {:.0} req/s, p50 {} p99 {}",
        all.len(),
        all.len() as f64 / seconds as f64,
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );
    Ok(())
}

/// 1 KiB of printable bytes, base64-encoded once (the record value of every benchmark).
fn payload_b64() -> String {
    let data: Vec<u8> = (0..1024u32).map(|i| b'a' + (i * 7 % 26) as u8).collect();
    kre_test_support::b64(&data)
}

fn v2_body(batch: usize, value: &str) -> Vec<u8> {
    let mut body = String::from("{\"records\":[");
    for i in 0..batch {
        if i > 0 {
            body.push(',');
        }
        body.push_str("{\"value\":\"");
        body.push_str(value);
        body.push_str("\"}");
    }
    body.push_str("]}");
    body.into_bytes()
}

/// Records acknowledged in a v2 produce response (offsets with no error).
fn acked(body: &[u8]) -> Result<usize, String> {
    let text = String::from_utf8_lossy(body);
    let ok = text.matches("\"error_code\":null").count();
    let total = text.matches("\"partition\":").count();
    if ok != total {
        return Err(format!("{} of {total} records failed: {}", total - ok, &text[..text.len().min(300)]));
    }
    Ok(ok)
}

const BINARY: &str = "application/vnd.kafka.binary.v2+json";
const AVRO: &str = "application/vnd.kafka.avro.v2+json";
/// The schema benchmarks' record: an id and ~1 KiB of text (about the binary record's size).
const AVRO_SCHEMA: &str = r#"{"type":"record","name":"Blob","namespace":"kre.bench","fields":[{"name":"id","type":"long"},{"name":"text","type":"string"}]}"#;
const PROTO_SCHEMA: &str =
    "syntax = \"proto3\";\npackage kre.bench;\nmessage Blob { int64 id = 1; string text = 2; }\n";
const JSON_SCHEMA: &str = r#"{"type":"object","properties":{"id":{"type":"integer"},"text":{"type":"string","maxLength":2048}},"required":["id","text"],"additionalProperties":false}"#;

/// A schema format's media type and schema (None: binary).
fn schema_format(name: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match name {
        "avro" => Some(("avro", AVRO, AVRO_SCHEMA)),
        "protobuf" => Some(("protobuf", "application/vnd.kafka.protobuf.v2+json", PROTO_SCHEMA)),
        "jsonschema" => Some(("jsonschema", "application/vnd.kafka.jsonschema.v2+json", JSON_SCHEMA)),
        _ => None,
    }
}

fn avro_body(batch: usize, schema: &str) -> Vec<u8> {
    let text: String = (0..1012u32).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
    let records: Vec<serde_json::Value> =
        (0..batch).map(|i| serde_json::json!({"value": {"id": i, "text": text}})).collect();
    let mut body = serde_json::json!({"records": records});
    match schema.parse::<i64>() {
        Ok(id) => body["value_schema_id"] = serde_json::json!(id),
        Err(_) => body["value_schema"] = serde_json::json!(schema),
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

fn produce(base: &str, topic: &str, batch: usize, clients: usize, seconds: u64, format: &str) -> Result<(), String> {
    let url = format!("{base}/topics/{topic}");
    let mut warm = Conn::open(&url)?;
    // A schema format: the schema registered once (as a client would), then named by id.
    let label_owned;
    let (content_type, body, label) = if let Some((name, media, schema)) = schema_format(format) {
        let (status, b) = warm.post(media, &avro_body(1, schema))?;
        let answer: serde_json::Value = serde_json::from_slice(&b).map_err(|e| format!("{status}: {e}"))?;
        let id = answer["value_schema_id"].as_i64().ok_or_else(|| format!("no schema id: {answer}"))?;
        label_owned = format!("{name}_");
        (media, avro_body(batch, &id.to_string()), label_owned.as_str())
    } else {
        (BINARY, v2_body(batch, &payload_b64()), "")
    };
    // Warm-up: instances and broker connections exist before the clock starts.
    for _ in 0..5 {
        let (status, b) = warm.post(content_type, &body)?;
        if status != 200 {
            return Err(format!("status {status}: {}", String::from_utf8_lossy(&b)));
        }
    }
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            std::thread::spawn(move || -> Result<usize, String> {
                let mut conn = Conn::open(&url)?;
                let mut n = 0;
                while Instant::now() < end {
                    let (status, b) = conn.post(content_type, &body)?;
                    if status != 200 {
                        return Err(format!("status {status}: {}", String::from_utf8_lossy(&b)));
                    }
                    n += acked(&b)?;
                }
                Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.join().map_err(|_| "worker panicked")??;
    }
    let secs = started.elapsed().as_secs_f64();
    let rps = total as f64 / secs;
    println!("RESULT rest_{label}produce_b{batch}_records_per_s {rps:.0} records/s");
    println!("RESULT rest_{label}produce_b{batch}_mb_per_s {:.2} MB/s", rps * 1024.0 / 1_048_576.0);
    Ok(())
}

fn produce_latency(base: &str, topic: &str, n: usize) -> Result<(), String> {
    let body = v2_body(1, &payload_b64());
    let mut conn = Conn::open(&format!("{base}/topics/{topic}"))?;
    for _ in 0..50 {
        conn.post(BINARY, &body)?;
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let (status, b) = conn.post(BINARY, &body)?;
        times.push(t.elapsed());
        if status != 200 {
            return Err(format!("status {status}: {}", String::from_utf8_lossy(&b)));
        }
        acked(&b)?;
    }
    times.sort();
    println!("RESULT rest_single_p50_ms {:.3} ms", percentile(&times, 0.5).as_secs_f64() * 1000.0);
    println!("RESULT rest_single_p99_ms {:.3} ms", percentile(&times, 0.99).as_secs_f64() * 1000.0);
    Ok(())
}

/// One chunked v3 request: a writer thread sends records, this thread counts the reports.
fn stream(base: &str, cluster: &str, topic: &str, seconds: u64) -> Result<(), String> {
    let rest = base.strip_prefix("http://").ok_or("only http:// URLs")?;
    let host = rest.split('/').next().unwrap_or(rest).to_owned();
    let mut out = TcpStream::connect(&host).map_err(|e| e.to_string())?;
    out.set_nodelay(true).map_err(|e| e.to_string())?;
    let input = out.try_clone().map_err(|e| e.to_string())?;
    let head = format!(
        "POST /v3/clusters/{cluster}/topics/{topic}/records HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    out.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    let record = format!("{{\"value\":{{\"type\":\"BINARY\",\"data\":\"{}\"}}}}", payload_b64());
    let chunk: String = std::iter::repeat_n(record.as_str(), 50).collect();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let writer = {
        let sent = sent.clone();
        std::thread::spawn(move || -> Result<(), String> {
            while Instant::now() < end {
                out.write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes()).map_err(|e| e.to_string())?;
                sent.fetch_add(50, std::sync::atomic::Ordering::Relaxed);
            }
            out.write_all(b"0\r\n\r\n").map_err(|e| e.to_string())
        })
    };
    let mut reader = BufReader::new(input);
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if line == "\r\n" {
            break; // end of the response head
        }
    }
    let (mut ok, mut failed) = (0usize, 0usize);
    let mut first_failure = String::new();
    let mut pending = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(line.trim(), 16).map_err(|e| format!("chunk size {line:?}: {e}"))?;
        let mut buf = vec![0; size + 2];
        reader.read_exact(&mut buf).map_err(|e| e.to_string())?;
        if size == 0 {
            break;
        }
        pending.extend_from_slice(&buf[..size]);
        while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
            let report: Vec<u8> = pending.drain(..=nl).collect();
            if report.starts_with(b"{\"error_code\":200") {
                ok += 1
            } else {
                if failed == 0 {
                    first_failure = String::from_utf8_lossy(&report).to_string();
                }
                failed += 1
            }
        }
    }
    writer.join().map_err(|_| "writer panicked")??;
    let secs = started.elapsed().as_secs_f64();
    if failed > 0 {
        return Err(format!("{failed} records failed in the stream, e.g. {first_failure}"));
    }
    let rps = ok as f64 / secs;
    println!("RESULT rest_stream_records_per_s {rps:.0} records/s ({ok} records in {secs:.1} s)");
    println!("RESULT rest_stream_mb_per_s {:.2} MB/s", rps * 1024.0 / 1_048_576.0);
    Ok(())
}

/// The native baseline for single-record latency: one Produce round trip per record, straight to
/// the partition leader from this process (kre-core over std sockets), acks=all.
fn native_latency(bootstrap: &str, topic: &str, n: usize) -> Result<(), String> {
    use kre_core::kafka::Client;
    use kre_core::kafka::cluster::{ClientConfig, Cluster};
    use kre_core::kafka::ops::produce::{OutRecord, ProduceOptions, produce};
    use kre_core::native::{NativeConnect, NativeRuntime, block_on};
    let client = Client::new(
        Cluster::new(
            NativeConnect,
            NativeRuntime::default(),
            ClientConfig {
                bootstrap: vec![bootstrap.to_owned()],
                client_id: "kre-bench".into(),
                host_map: Default::default(),
                connect_timeout_ms: 5000,
                tls: None,
                sasl: None,
            },
        ),
        600_000,
    );
    let opts = ProduceOptions { acks: -1, compression: kafka_protocol_none(), max_batch_bytes: 1_000_000 };
    let value = bytes::Bytes::from(vec![b'x'; 1024]);
    let one = || async {
        let deadline = kre_core::Deadline::after(client.runtime(), 10_000);
        let rec = OutRecord { partition: Some(0), value: Some(value.clone()), ..Default::default() };
        match produce(&client, topic, vec![rec], opts, deadline).await {
            Ok(mut r) => r.pop().ok_or("no result".to_string())?.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    for _ in 0..50 {
        block_on(one())?;
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        block_on(one())?;
        times.push(t.elapsed());
    }
    times.sort();
    println!("RESULT native_single_p50_ms {:.3} ms", percentile(&times, 0.5).as_secs_f64() * 1000.0);
    println!("RESULT native_single_p99_ms {:.3} ms", percentile(&times, 0.99).as_secs_f64() * 1000.0);
    Ok(())
}

fn kafka_protocol_none() -> kre_core::kafka::compression::Codec {
    kre_core::kafka::compression::Codec::None
}

/// One REST consumer (binary, earliest) reads `topic` for up to `seconds` with max_bytes 1 MiB;
/// acknowledged records/s. Prints the consumer's base path for the script's storage check.
fn consume(base: &str, group: &str, topic: &str, seconds: u64, label: &str) -> Result<(), String> {
    // A label naming a schema format ("avro_", "protobuf_", "jsonschema_") reads with a consumer
    // of that format (records rendered from their schema).
    let (format, accept) = match schema_format(label.trim_end_matches('_')) {
        Some((name, media, _)) => (name, media),
        None => ("binary", BINARY),
    };
    let mut create = Conn::open(&format!("{base}/consumers/{group}"))?;
    let (status, body) = create.post(
        "application/vnd.kafka.v2+json",
        format!(r#"{{"name":"bench","format":"{format}","auto.offset.reset":"earliest"}}"#).as_bytes(),
    )?;
    if status != 200 {
        return Err(format!("create: {status} {}", String::from_utf8_lossy(&body)));
    }
    let inst = format!("{base}/consumers/{group}/instances/bench");
    let mut sub = Conn::open(&format!("{inst}/subscription"))?;
    let (status, body) =
        sub.post("application/vnd.kafka.v2+json", format!("{{\"topics\":[\"{topic}\"]}}").as_bytes())?;
    if status != 204 {
        return Err(format!("subscribe: {status} {}", String::from_utf8_lossy(&body)));
    }
    let mut conn = Conn::open(&format!("{inst}/records?timeout=1000&max_bytes=1048576"))?;
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let (mut n, mut empty, mut answers) = (0usize, 0, 0usize);
    let mut last_data = started;
    while Instant::now() < end && empty < 5 {
        let req = format!("GET {} HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\n\r\n", conn.path, conn.host);
        conn.reader.get_mut().write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let (status, body) = conn.read_response()?;
        if status != 200 {
            return Err(format!("records: {status} {}", String::from_utf8_lossy(&body)));
        }
        // Counted, not parsed (as ConsumerPerformance counts without deserializing).
        let got = memchr::memmem::find_iter(&body, b"\"offset\":").count();
        if got == 0 && n > 0 {
            empty += 1;
        } else if got > 0 {
            last_data = Instant::now();
            answers += 1;
        }
        n += got;
    }
    // Up to the last answer with records: the empty polls at the end of the topic are not reading.
    let secs = last_data.duration_since(started).as_secs_f64().max(0.001);
    println!("RESULT rest_{label}consume_records_per_s {:.0} records/s ({n} records in {secs:.1} s)", n as f64 / secs);
    // Round trips a client needs per 100,000 records (answers that carried records).
    println!(
        "RESULT rest_{label}consume_round_trips_per_100k {:.0} requests ({answers} answers for {n} records)",
        answers as f64 * 100_000.0 / n.max(1) as f64
    );
    Ok(())
}

/// A request to a warm instance (keep-alive, back to back) vs one to a new instance (after the
/// host dropped the idle one: wasmtime and Spin keep a WASI 0.3 instance 1 s; WASI 0.2 hosts make
/// one per request anyway), on a new connection each time, p50/p99.
fn edge(url: &str, label: &str, idle_samples: usize) -> Result<(), String> {
    let mut conn = Conn::open(url)?;
    for _ in 0..20 {
        conn.get()?;
    }
    let mut warm = Vec::with_capacity(300);
    for _ in 0..300 {
        let t = Instant::now();
        let status = conn.get()?;
        warm.push(t.elapsed());
        if status != 200 {
            return Err(format!("status {status}"));
        }
    }
    drop(conn);
    let mut cold = Vec::with_capacity(idle_samples);
    for _ in 0..idle_samples {
        std::thread::sleep(Duration::from_millis(1500));
        let t = Instant::now();
        let status = Conn::open(url)?.get()?;
        cold.push(t.elapsed());
        if status != 200 {
            return Err(format!("status {status}"));
        }
    }
    warm.sort();
    cold.sort();
    for (kind, times) in [("warm", &warm), ("new_instance", &cold)] {
        for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
            println!("RESULT edge_{label}_{kind}_{name}_ms {:.3} ms", percentile(times, p).as_secs_f64() * 1000.0);
        }
    }
    Ok(())
}

/// One POST on a new connection (Connection: close), waiting at most `timeout` for the answer.
fn post_once(
    base: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    http_once("POST", base, path, &[("Content-Type", content_type)], body, timeout)
}

/// An HTTP/1.1 request head (with `Connection: close` when `close`) for a body of `len` bytes.
fn request_head(method: &str, host: &str, path: &str, headers: &[(&str, &str)], len: usize, close: bool) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    if close {
        head.push_str("Connection: close\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {len}\r\n\r\n"));
    head
}

/// Opens a connection and sends one request (Connection: close) on it; reads wait `timeout`.
fn send_once(
    method: &str,
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<TcpStream, String> {
    let host = base.strip_prefix("http://").ok_or("only http:// URLs")?;
    let mut s = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let head = request_head(method, host, path, headers, body.len(), true);
    s.write_all(head.as_bytes()).and_then(|()| s.write_all(body)).map_err(|e| e.to_string())?;
    Ok(s)
}

/// One request on a new connection (Connection: close), waiting at most `timeout` for the answer.
fn http_once(
    method: &str,
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let mut s = send_once(method, base, path, headers, body, timeout)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no response head")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).ok_or("bad status line")?;
    let mut body = raw[end + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).map_err(|e| e.to_string())?;
            if size == 0 || rest.len() < eol + 2 + size {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 4 + size..];
        }
        body = out;
    }
    Ok((status, body))
}

/// One request on a keep-alive connection, opened when there is none and dropped after an
/// error (the next request opens another); the status.
fn keep_alive(
    conn: &mut Option<Conn>,
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<u16, String> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(Conn::open(&format!("{base}/"))?),
    };
    let head = request_head(method, &c.host, path, headers, body.len(), false);
    let s = c.reader.get_mut();
    // Head and body in two writes, as many clients send them (it matters: see `load`).
    let r = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .map_err(|e| format!("writing: {e}"))
        .and_then(|()| c.read_response().map_err(|e| format!("reading: {e}")));
    if r.is_err() || c.closing {
        *conn = None;
    }
    r.map(|(status, _)| status)
}

/// What a load phase measured: each answer's latency, statuses, requests that got no answer.
#[derive(Default)]
struct Tally {
    micros: Vec<u32>,
    statuses: std::collections::BTreeMap<String, u64>,
    unanswered: u64,
}

impl Tally {
    fn add(&mut self, what: &str, r: Result<u16, String>, took: Duration) {
        match r {
            Ok(status) => {
                self.micros.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                *self.statuses.entry(format!("{what} {status}")).or_default() += 1;
            }
            Err(e) => {
                self.unanswered += 1;
                // Why, without the parts that differ per request (ports, addresses).
                let why: String = e.chars().filter(|c| !c.is_ascii_digit()).take(60).collect();
                *self.statuses.entry(format!("{what} unanswered: {why}")).or_default() += 1;
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.micros.extend(other.micros);
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.unanswered += other.unanswered;
    }

    /// RESULT lines under `label`: answers, rate over `elapsed`, p50/p99/max, 5xx, unanswered.
    fn report(mut self, label: &str, elapsed: Duration) {
        self.micros.sort_unstable();
        let pct = |p: f64| {
            if self.micros.is_empty() {
                return f64::NAN;
            }
            let i = ((self.micros.len() as f64 * p) as usize).min(self.micros.len() - 1);
            f64::from(self.micros[i]) / 1000.0
        };
        let fivexx: u64 = self
            .statuses
            .iter()
            .filter(|(k, _)| k.rsplit(' ').next().is_some_and(|s| s.starts_with('5')))
            .map(|(_, v)| v)
            .sum();
        println!("RESULT {label}_answers {}", self.micros.len());
        println!("RESULT {label}_per_s {:.0}", self.micros.len() as f64 / elapsed.as_secs_f64());
        println!("RESULT {label}_p50_ms {:.1}", pct(0.5));
        println!("RESULT {label}_p99_ms {:.1}", pct(0.99));
        println!("RESULT {label}_max_ms {:.1}", pct(1.0));
        println!("RESULT {label}_5xx {fivexx}");
        println!("RESULT {label}_unanswered {}", self.unanswered);
        // The proxy's own deadline (kafka_request_timeout_ms, 30 s by default) plus a second for
        // the host: an answer later than that outlived its request's deadline.
        let late = self.micros.iter().filter(|&&us| us > 31_000_000).count();
        println!("RESULT {label}_over_deadline {late}");
        let reused: u64 = self
            .statuses
            .iter()
            .filter(|(k, _)| k.contains(" unanswered: ") && !k.contains("(new connection)"))
            .map(|(_, v)| v)
            .sum();
        println!("RESULT {label}_unanswered_reused {reused}");
        for (what, n) in &self.statuses {
            println!("STATUS {label} {n} {what}");
        }
    }
}

/// `make chaos`'s connection load: `conns` concurrent keep-alive connections spread over
/// `bases`, each sending requests back to back for `seconds` — v3 topic reads, one-record v2
/// produces, v3 broker lists and v2 partition lists in turn by connection.
fn load(bases: &str, cluster: &str, topic: &str, seconds: u64, conns: usize) -> Result<(), String> {
    let bases: Vec<String> = bases.split(',').map(str::to_owned).collect();
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let body = v2_body(1, &payload_b64());
    let workers: Vec<_> = (0..conns)
        .map(|i| {
            let base = bases[i % bases.len()].clone();
            let (cluster, topic, body) = (cluster.to_owned(), topic.to_owned(), body.clone());
            std::thread::Builder::new().stack_size(256 << 10).spawn(move || {
                let mut tally = Tally::default();
                let mut conn = None;
                while Instant::now() < end {
                    let t = Instant::now();
                    let first = conn.is_none();
                    let (what, r) = match i % 4 {
                        0 => (
                            "topic",
                            keep_alive(
                                &mut conn,
                                &base,
                                "GET",
                                &format!("/v3/clusters/{cluster}/topics/{topic}"),
                                &[],
                                b"",
                            ),
                        ),
                        1 => (
                            "produce",
                            keep_alive(
                                &mut conn,
                                &base,
                                "POST",
                                &format!("/topics/{topic}"),
                                &[("Content-Type", BINARY)],
                                &body,
                            ),
                        ),
                        2 => (
                            "brokers",
                            keep_alive(&mut conn, &base, "GET", &format!("/v3/clusters/{cluster}/brokers"), &[], b""),
                        ),
                        _ => (
                            "partitions",
                            keep_alive(&mut conn, &base, "GET", &format!("/topics/{topic}/partitions"), &[], b""),
                        ),
                    };
                    let failed = r.is_err();
                    // A new connection's first request apart: when the host's listen queue
                    // overflows (1,000 connections opened at once), the kernel completes the
                    // handshake with SYN cookies, and a request whose head and body come in two
                    // segments fails the cookie check and is reset before the host ever sees it.
                    let what = if failed && first { format!("{what} (new connection)") } else { what.to_owned() };
                    tally.add(&what, r, t.elapsed());
                    if failed {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                tally
            })
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut all = Tally::default();
    for w in workers {
        all.merge(w.join().map_err(|_| "a load thread panicked")?);
    }
    println!("RESULT load_connections {conns}");
    all.report("load", started.elapsed());
    Ok(())
}

/// `make chaos`'s instance load: `n` v2 consumer instances (binary) created over `groups` groups
/// and `bases`, each assigned partition 0 of `topic` and polled once (timeout 0), by `workers`
/// threads; then left to expire. Prints progress (`PROGRESS <seconds> <created>`) for the
/// script's key-value samples.
fn instances(bases: &str, topic: &str, n: usize, groups: usize, workers: usize, prefix: &str) -> Result<(), String> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const V2: &str = "application/vnd.kafka.v2+json";
    let bases: Arc<Vec<String>> = Arc::new(bases.split(',').map(str::to_owned).collect());
    let created = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (bases, created, topic, prefix) = (bases.clone(), created.clone(), topic.to_owned(), prefix.to_owned());
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                let mut conns: Vec<Option<Conn>> = (0..bases.len()).map(|_| None).collect();
                for k in (w..n).step_by(workers) {
                    let group = format!("{prefix}-g{}", k % groups);
                    let inst = format!("/consumers/{group}/instances/i{k}");
                    let b = k % bases.len();
                    let mut step = |what: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]| {
                        let t = Instant::now();
                        let r = keep_alive(&mut conns[b], &bases[b], method, path, headers, body);
                        let ok = r.as_ref().is_ok_and(|s| *s < 300);
                        tally.add(what, r, t.elapsed());
                        ok
                    };
                    let create = format!(r#"{{"name":"i{k}","format":"binary","auto.offset.reset":"earliest"}}"#);
                    if !step(
                        "create",
                        "POST",
                        &format!("/consumers/{group}"),
                        &[("Content-Type", V2)],
                        create.as_bytes(),
                    ) {
                        continue;
                    }
                    created.fetch_add(1, Ordering::Relaxed);
                    let assign = format!(r#"{{"partitions":[{{"topic":"{topic}","partition":0}}]}}"#);
                    step("assign", "POST", &format!("{inst}/assignments"), &[("Content-Type", V2)], assign.as_bytes());
                    step(
                        "poll",
                        "GET",
                        &format!("{inst}/records?timeout=0&max_bytes=1024"),
                        &[("Accept", BINARY)],
                        b"",
                    );
                }
                tally
            })
        })
        .collect();
    let mut last = 0;
    while handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        let t = started.elapsed().as_secs();
        if t != last {
            last = t;
            println!("PROGRESS {t} {}", created.load(Ordering::Relaxed));
        }
    }
    let mut all = Tally::default();
    for h in handles {
        all.merge(h.join().map_err(|_| "an instance thread panicked")?);
    }
    println!("RESULT instances_created {}", created.load(Ordering::Relaxed));
    all.report("instances", started.elapsed());
    Ok(())
}

type Stats = std::sync::Mutex<(u64, u64, u64, u64, Duration, u64)>;

/// `chaos_produce`'s streaming client: v3 streaming produce requests (one open until `deadline`,
/// another opened if one breaks), each record `{"c": c, "s": seq}` as JSON; every record's outcome
/// logged as the batch clients do (A, F with the error code, U when the stream broke before its
/// report). Returns records sent, reports read, requests made.
fn chaos_stream(
    base: &str,
    topic: &str,
    c: usize,
    deadline: Instant,
    log: &std::sync::Mutex<std::io::BufWriter<std::fs::File>>,
    stats: &Stats,
) -> Result<(u64, u64, u64), String> {
    use std::sync::{Arc, Mutex};
    let (status, body) = http_once("GET", base, "/v3/clusters", &[], b"", Duration::from_secs(30))?;
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("{status}: {e}"))?;
    let cluster = v["data"][0]["cluster_id"].as_str().ok_or("no cluster id")?.to_owned();
    let host = base.strip_prefix("http://").ok_or("only http:// URLs")?.to_owned();
    let (mut seq, mut reported_all, mut streams) = (0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        streams += 1;
        let first = seq;
        // When each record went out, for the wait until its report.
        let sent_at: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let mut out = match TcpStream::connect(&host) {
            Ok(s) => s,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        let _ = out.set_nodelay(true);
        let _ = out.set_read_timeout(Some(Duration::from_secs(90)));
        let input = out.try_clone().map_err(|e| e.to_string())?;
        let head = format!(
            "POST /v3/clusters/{cluster}/topics/{topic}/records HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        let writer = {
            let sent_at = sent_at.clone();
            std::thread::spawn(move || -> u64 {
                let mut next = first;
                let mut ok = out.write_all(head.as_bytes()).is_ok();
                while ok && Instant::now() < deadline {
                    let record = format!(r#"{{"value":{{"type":"JSON","data":{{"c":{c},"s":{next}}}}}}}"#);
                    if let Ok(mut at) = sent_at.lock() {
                        at.push(Instant::now());
                    }
                    ok = out.write_all(format!("{:x}\r\n{record}\r\n", record.len()).as_bytes()).is_ok();
                    next += 1;
                    std::thread::sleep(Duration::from_millis(2));
                }
                let _ = out.write_all(b"0\r\n\r\n");
                next
            })
        };
        let mut reader = BufReader::new(input);
        let mut reports = Vec::new();
        let mut read_stream = || -> Result<(), String> {
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                    return Err("closed".into());
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut pending = Vec::new();
            loop {
                line.clear();
                reader.read_line(&mut line).map_err(|e| e.to_string())?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(|e| format!("chunk size {line:?}: {e}"))?;
                let mut buf = vec![0; size + 2];
                reader.read_exact(&mut buf).map_err(|e| e.to_string())?;
                if size == 0 {
                    return Ok(());
                }
                pending.extend_from_slice(&buf[..size]);
                while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                    let report: Vec<u8> = pending.drain(..=nl).collect();
                    let v: serde_json::Value = serde_json::from_slice(&report).unwrap_or_default();
                    let message = v["message"].as_str().unwrap_or("").chars().take(100).collect::<String>();
                    reports.push((
                        v["error_code"].as_i64().unwrap_or(0),
                        v["offset"].is_i64(),
                        Instant::now(),
                        message,
                    ));
                }
            }
        };
        let ended = read_stream();
        // Stops the writer too when the answer ended early.
        let _ = reader.get_ref().shutdown(std::net::Shutdown::Both);
        let sent_to = writer.join().map_err(|_| "the stream writer panicked")?;
        let at = sent_at.lock().map_err(|e| e.to_string())?;
        let mut lines = String::new();
        let (mut a, mut f, mut u, mut longest, mut hung) = (0, 0, 0, Duration::ZERO, 0);
        for s in first..sent_to {
            let k = (s - first) as usize;
            match reports.get(k) {
                Some((200, true, when, _)) => {
                    lines.push_str(&format!("A {c} {s}\n"));
                    a += 1;
                    if let Some(t) = at.get(k) {
                        let waited = when.saturating_duration_since(*t);
                        longest = longest.max(waited);
                        hung += u64::from(waited >= Duration::from_secs(90));
                    }
                }
                Some((code, _, _, message)) => {
                    lines.push_str(&format!("F {c} {s} stream/{code} {message}\n"));
                    f += 1;
                }
                None => {
                    let why = ended.as_ref().err().map_or("ended", |e| e.split_whitespace().next().unwrap_or("io"));
                    lines.push_str(&format!("U {c} {s} stream-{why}\n"));
                    u += 1;
                }
            }
        }
        reported_all += reports.len() as u64;
        seq = sent_to;
        let _ = log.lock().map(|mut l| l.write_all(lines.as_bytes()));
        if let Ok(mut st) = stats.lock() {
            st.0 += 1;
            st.1 += a;
            st.2 += f;
            st.3 += u;
            st.4 = st.4.max(longest);
            st.5 += hung;
        }
    }
    Ok((seq, reported_all, streams))
}

/// After the instances expired: `n` v2 consumer instances created and deleted again in one group
/// (`PREFIX-churn`) by 4 threads over `bases` — ordinary traffic, each create and delete sweeping
/// expired instances out of the store (see docs/reliability.md).
fn churn(bases: &str, n: usize, prefix: &str) -> Result<(), String> {
    const V2: &str = "application/vnd.kafka.v2+json";
    const WORKERS: usize = 4;
    let bases: Vec<String> = bases.split(',').map(str::to_owned).collect();
    let started = Instant::now();
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (bases, prefix) = (bases.clone(), prefix.to_owned());
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                let mut conns: Vec<Option<Conn>> = (0..bases.len()).map(|_| None).collect();
                for k in (w..n).step_by(WORKERS) {
                    let b = k % bases.len();
                    let group = format!("{prefix}-churn");
                    let create = format!(r#"{{"name":"x{k}","format":"binary"}}"#);
                    let t = Instant::now();
                    let r = keep_alive(
                        &mut conns[b],
                        &bases[b],
                        "POST",
                        &format!("/consumers/{group}"),
                        &[("Content-Type", V2)],
                        create.as_bytes(),
                    );
                    tally.add("create", r, t.elapsed());
                    let t = Instant::now();
                    let path = format!("/consumers/{group}/instances/x{k}");
                    let r = keep_alive(&mut conns[b], &bases[b], "DELETE", &path, &[("Content-Type", V2)], b"");
                    tally.add("delete", r, t.elapsed());
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for h in handles {
        all.merge(h.join().map_err(|_| "a churn thread panicked")?);
    }
    all.report("churn", started.elapsed());
    Ok(())
}

/// `make chaos`'s load: `clients` threads send v2 JSON batches of `batch` records, each record a
/// unique `{"c": client, "s": sequence}`, round robin over `bases` (several hosts), for `seconds`.
/// Every record's outcome goes to `out` as a line: `A c s` (acknowledged with an offset),
/// `F c s code` (answered as failed), `U c s why` (no answer: the connection broke or the answer
/// did not come within 90 s, a hung request). The independent read-back decides what was lost.
fn chaos_produce(
    bases: &str,
    topic: &str,
    clients: usize,
    seconds: u64,
    batch: usize,
    out: &str,
    first_client: usize,
) -> Result<(), String> {
    use std::sync::{Arc, Mutex};
    let bases: Arc<Vec<String>> = Arc::new(bases.split(',').map(str::to_owned).collect());
    let file = std::fs::File::create(out).map_err(|e| e.to_string())?;
    let log = Arc::new(Mutex::new(std::io::BufWriter::new(file)));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let stats: Arc<Stats> = Arc::new(Mutex::new((0u64, 0u64, 0u64, 0u64, Duration::ZERO, 0u64))); // requests, A, F, U, max wait, hung
    let threads: Vec<_> = (0..clients)
        .map(|c| c + first_client)
        .map(|c| {
            let (bases, log, stats, topic) = (bases.clone(), log.clone(), stats.clone(), topic.to_owned());
            std::thread::spawn(move || {
                let mut seq = 0u64;
                let mut n = c;
                while Instant::now() < deadline {
                    let base = &bases[n % bases.len()];
                    n += 1;
                    let values: Vec<serde_json::Value> =
                        (0..batch as u64).map(|k| serde_json::json!({"value": {"c": c, "s": seq + k}})).collect();
                    let body = serde_json::to_vec(&serde_json::json!({"records": values})).unwrap_or_default();
                    let t = Instant::now();
                    let result = post_once(
                        base,
                        &format!("/topics/{topic}"),
                        "application/vnd.kafka.json.v2+json",
                        &body,
                        Duration::from_secs(90),
                    );
                    let waited = t.elapsed();
                    let mut lines = String::new();
                    let (mut a, mut f, mut u) = (0, 0, 0);
                    match &result {
                        Ok((200, answer)) => {
                            let v: serde_json::Value = serde_json::from_slice(answer).unwrap_or_default();
                            let offsets = v["offsets"].as_array().cloned().unwrap_or_default();
                            for k in 0..batch {
                                let o = offsets.get(k).cloned().unwrap_or_default();
                                if o["error_code"].is_null() && o["offset"].is_i64() {
                                    lines.push_str(&format!("A {c} {}\n", seq + k as u64));
                                    a += 1;
                                } else {
                                    lines.push_str(&format!("F {c} {} {}\n", seq + k as u64, o["error_code"]));
                                    f += 1;
                                }
                            }
                        }
                        Ok((status, answer)) => {
                            let v: serde_json::Value = serde_json::from_slice(answer).unwrap_or_default();
                            for k in 0..batch as u64 {
                                lines.push_str(&format!("F {c} {} {status}/{}\n", seq + k, v["error_code"]));
                            }
                            f += batch as u64;
                        }
                        Err(e) => {
                            let why = e.split_whitespace().next().unwrap_or("io").to_owned();
                            for k in 0..batch as u64 {
                                lines.push_str(&format!("U {c} {} {why}\n", seq + k));
                            }
                            u += batch as u64;
                        }
                    }
                    seq += batch as u64;
                    let _ = log.lock().map(|mut l| l.write_all(lines.as_bytes()));
                    if let Ok(mut s) = stats.lock() {
                        s.0 += 1;
                        s.1 += a;
                        s.2 += f;
                        s.3 += u;
                        s.4 = s.4.max(waited);
                        s.5 += u64::from(waited >= Duration::from_secs(90));
                    }
                    if result.is_err() {
                        // A host restarting or gone: do not spin on it.
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
        })
        .collect();
    // And one long v3 streaming request on the first host (client number `first_client + clients`):
    // a record every 2 ms for the whole run, its delivery reports read as they come.
    let streamer = {
        let (base, log, stats, topic) = (bases[0].clone(), log.clone(), stats.clone(), topic.to_owned());
        let c = first_client + clients;
        std::thread::spawn(move || chaos_stream(&base, &topic, c, deadline, &log, &stats))
    };
    for t in threads {
        t.join().map_err(|_| "a client thread panicked")?;
    }
    let streamed = streamer.join().map_err(|_| "the streaming client panicked")?;
    log.lock().map_err(|e| e.to_string())?.flush().map_err(|e| e.to_string())?;
    let s = stats.lock().map_err(|e| e.to_string())?;
    let (records, reported, streams) = streamed?;
    println!("RESULT chaos_stream_records {records} records");
    println!("RESULT chaos_stream_reported {reported} records");
    println!("RESULT chaos_streams {streams} requests");
    println!("RESULT chaos_requests {} requests", s.0);
    println!("RESULT chaos_acknowledged {} records", s.1);
    println!("RESULT chaos_failed {} records", s.2);
    println!("RESULT chaos_unanswered {} records", s.3);
    println!("RESULT chaos_longest_wait_ms {:.0} ms", s.4.as_secs_f64() * 1000.0);
    println!("RESULT chaos_hung {} requests", s.5);
    Ok(())
}

/// Seeks every partition a consumer holds back to the group's committed offset (the beginning
/// where none is committed); false when any step got no good answer (to be tried again).
fn back_to_committed(call: &mut Call<'_>, n: &mut usize, inst: &str) -> bool {
    const V2: &str = "application/vnd.kafka.v2+json";
    let ct = [("Content-Type", V2)];
    let Ok((200, body)) = call(n, "rewind: assignments", "GET", &format!("{inst}/assignments"), &[], b"") else {
        return false;
    };
    let held: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let partitions = held["partitions"].clone();
    if partitions.as_array().is_none_or(Vec::is_empty) {
        return true;
    }
    let ask = serde_json::to_vec(&serde_json::json!({ "partitions": partitions })).unwrap_or_default();
    let Ok((200, body)) = call(n, "rewind: committed", "GET", &format!("{inst}/offsets"), &ct, &ask) else {
        return false;
    };
    let committed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let (mut seek, mut start) = (Vec::new(), Vec::new());
    for o in committed["offsets"].as_array().into_iter().flatten() {
        let tp = serde_json::json!({"topic": o["topic"], "partition": o["partition"]});
        match o["offset"].as_i64() {
            Some(at) if at >= 0 => {
                seek.push(serde_json::json!({"topic": o["topic"], "partition": o["partition"], "offset": at}))
            }
            _ => start.push(tp),
        }
    }
    let mut ok = true;
    if !seek.is_empty() {
        let body = serde_json::to_vec(&serde_json::json!({ "offsets": seek })).unwrap_or_default();
        ok &= matches!(call(n, "rewind: seek", "POST", &format!("{inst}/positions"), &ct, &body), Ok((204, _)));
    }
    if !start.is_empty() {
        let body = serde_json::to_vec(&serde_json::json!({ "partitions": start })).unwrap_or_default();
        let r = call(n, "rewind: seek", "POST", &format!("{inst}/positions/beginning"), &ct, &body);
        ok &= matches!(r, Ok((204, _)));
    }
    ok
}

/// One HTTP exchange of `chaos_consume`: (next host, what, method, path, headers, body).
type Call<'a> = dyn FnMut(&mut usize, &str, &str, &str, &[(&str, &str)], &[u8]) -> Result<(u16, Vec<u8>), String> + 'a;

/// `make chaos`'s consumers: `consumers` REST consumer instances of one group read `topic` (JSON
/// records `{"c","s"}` from `chaos-produce`), each request to the next host of `bases` in turn (any
/// host serves any consumer: its state is in the key-value store), committing what they read after
/// every answer, until every instance has seen the end of the topic `empty` times in a row after
/// `min_seconds` (the faults' window), or `max_seconds`. Meanwhile one more thread reads the
/// group's committed offsets (v3 lags) and counts any that moved backwards. Every record read goes
/// to `out` as `c s` lines; the script compares them with what was acknowledged.
#[allow(clippy::too_many_arguments)]
fn chaos_consume(
    bases: &str,
    cluster: &str,
    topic: &str,
    group: &str,
    consumers: usize,
    min_seconds: u64,
    max_seconds: u64,
    out: &str,
) -> Result<(), String> {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    const V2: &str = "application/vnd.kafka.v2+json";
    const JSON: &str = "application/vnd.kafka.json.v2+json";
    // An answer later than this is hung: the request's own timeout is 1 s, Kafka's budget 30 s.
    const HUNG: Duration = Duration::from_secs(40);
    let bases: Arc<Vec<String>> = Arc::new(bases.split(',').map(str::to_owned).collect());
    let file = std::fs::File::create(out).map_err(|e| e.to_string())?;
    let log = Arc::new(Mutex::new(std::io::BufWriter::new(file)));
    let started = Instant::now();
    let (min_end, max_end) = (started + Duration::from_secs(min_seconds), started + Duration::from_secs(max_seconds));
    let statuses: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let waits = Arc::new(Mutex::new((Duration::ZERO, 0u64))); // longest, hung
    let at_end = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let count = |statuses: &Mutex<BTreeMap<String, u64>>, what: String| {
        if let Ok(mut m) = statuses.lock() {
            *m.entry(what).or_default() += 1;
        }
    };
    // One request to the next host; its outcome counted, its wait measured.
    let call = {
        let (bases, statuses, waits) = (bases.clone(), statuses.clone(), waits.clone());
        move |n: &mut usize, what: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]| {
            let base = &bases[*n % bases.len()];
            *n += 1;
            let t = Instant::now();
            let r = http_once(method, base, path, headers, body, HUNG);
            let waited = t.elapsed();
            if let Ok(mut w) = waits.lock() {
                w.0 = w.0.max(waited);
                w.1 += u64::from(waited >= HUNG);
            }
            let key = match &r {
                Ok((status, b)) if *status >= 300 => {
                    let v: serde_json::Value = serde_json::from_slice(b).unwrap_or_default();
                    format!("{what} {status}/{}", v["error_code"])
                }
                Ok((status, _)) => format!("{what} {status}"),
                Err(_) => format!("{what} no answer (host down)"),
            };
            count(&statuses, key);
            // A host down or a 5xx (a coordinator moving, Redis restarting): no tight retry loop.
            if r.as_ref().map_or(true, |(status, _)| *status >= 500) {
                std::thread::sleep(Duration::from_millis(100));
            }
            r
        }
    };
    let monitor = {
        let (bases, done, statuses) = (bases.clone(), done.clone(), statuses.clone());
        let path = format!("/v3/clusters/{cluster}/consumer-groups/{group}/lags");
        std::thread::spawn(move || {
            let mut committed: HashMap<i64, i64> = HashMap::new();
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                let base = &bases[n % bases.len()];
                n += 1;
                if let Ok((200, body)) = http_once("GET", base, &path, &[], b"", HUNG) {
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    for lag in v["data"].as_array().into_iter().flatten() {
                        let (Some(p), Some(o)) = (lag["partition_id"].as_i64(), lag["current_offset"].as_i64()) else {
                            continue;
                        };
                        let before = committed.entry(p).or_insert(o);
                        if o < *before {
                            count(
                                &statuses,
                                format!("committed offset moved backwards (partition {p}: {} -> {o})", *before),
                            );
                        }
                        *before = (*before).max(o);
                    }
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let threads: Vec<_> = (0..consumers)
        .map(|i| {
            let (call, log, at_end, topic, group) =
                (call.clone(), log.clone(), at_end.clone(), topic.to_owned(), group.to_owned());
            std::thread::spawn(move || {
                let mut call = call;
                let mut n = i;
                let inst = format!("/consumers/{group}/instances/c{i}");
                let ct = [("Content-Type", V2)];
                let join = |call: &mut Call<'_>, n: &mut usize| {
                    let create = format!(r#"{{"name":"c{i}","format":"json","auto.offset.reset":"earliest","auto.commit.enable":"false"}}"#);
                    while Instant::now() < max_end {
                        match call(n, "create", "POST", &format!("/consumers/{group}"), &ct, create.as_bytes()) {
                            Ok((200, _)) => break,
                            Ok((409, _)) => break, // made by an earlier try whose answer was lost
                            _ => {}
                        }
                    }
                    let sub = format!(r#"{{"topics":["{topic}"]}}"#);
                    while Instant::now() < max_end {
                        if let Ok((204, _)) =
                            call(n, "subscribe", "POST", &format!("{inst}/subscription"), &ct, sub.as_bytes())
                        {
                            break;
                        }
                    }
                };
                join(&mut call, &mut n);
                let mut empty = 0;
                let mut counted_at_end = false;
                let mut rewind = false;
                while Instant::now() < max_end {
                    // An answer that did not arrive may have moved the positions past records this
                    // client never saw (a host killed after saving them): back to the group's commit
                    // first, as an at-least-once client of this API (and of Confluent's) does.
                    if rewind {
                        rewind = !back_to_committed(&mut call, &mut n, &inst);
                        continue;
                    }
                    let r = call(
                        &mut n,
                        "records",
                        "GET",
                        &format!("{inst}/records?timeout=1000&max_bytes=65536"),
                        &[("Accept", JSON)],
                        b"",
                    );
                    match r {
                        Ok((200, body)) => {
                            let records: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap_or_default();
                            let mut lines = String::with_capacity(records.len() * 12);
                            for rec in &records {
                                lines.push_str(&format!("{} {}\n", rec["value"]["c"], rec["value"]["s"]));
                            }
                            if let Ok(mut l) = log.lock() {
                                let _ = l.write_all(lines.as_bytes());
                            }
                            if records.is_empty() {
                                empty += 1;
                            } else {
                                empty = 0;
                                let _ = call(&mut n, "commit", "POST", &format!("{inst}/offsets"), &ct, b"");
                            }
                        }
                        Ok((404, _)) => join(&mut call, &mut n),
                        _ => rewind = true,
                    }
                    let finished = empty >= 5 && Instant::now() >= min_end;
                    if finished != counted_at_end {
                        if finished {
                            at_end.fetch_add(1, Ordering::SeqCst)
                        } else {
                            at_end.fetch_sub(1, Ordering::SeqCst)
                        };
                        counted_at_end = finished;
                    }
                    if at_end.load(Ordering::SeqCst) == consumers {
                        break;
                    }
                }
                let _ = call(&mut n, "delete", "DELETE", &inst, &ct, b"");
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "a consumer thread panicked")?;
    }
    done.store(true, Ordering::Relaxed);
    monitor.join().map_err(|_| "the monitor panicked")?;
    log.lock().map_err(|e| e.to_string())?.flush().map_err(|e| e.to_string())?;
    let w = waits.lock().map_err(|e| e.to_string())?;
    for (what, n) in statuses.lock().map_err(|e| e.to_string())?.iter() {
        println!("STATUS {n} {what}");
    }
    println!("RESULT consume_seconds {:.1} s", started.elapsed().as_secs_f64());
    println!("RESULT consume_longest_wait_ms {:.0} ms", w.0.as_secs_f64() * 1000.0);
    println!("RESULT consume_hung {} requests", w.1);
    Ok(())
}

/// One fuzz request: the answer, or `None` for a 200 stream still open after 40 s (the v3
/// streaming consume extension answers for as long as the client stays).
fn fuzz_once(
    method: &str,
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Option<Vec<u8>>), String> {
    let mut s = send_once(method, base, path, headers, body, Duration::from_secs(40))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                // A head is sent with its whole answer unless the answer streams: then 3 s more
                // without an end is a stream, not a hang.
                if raw.starts_with(b"HTTP/1.1 200") && raw.windows(4).any(|w| w == b"\r\n\r\n") {
                    s.set_read_timeout(Some(Duration::from_secs(3))).map_err(|e| e.to_string())?;
                }
            }
            Err(e) => {
                let streaming = raw.starts_with(b"HTTP/1.1 200") && raw.windows(4).any(|w| w == b"\r\n\r\n");
                return if streaming { Ok((200, None)) } else { Err(e.to_string()) };
            }
        }
    }
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no response head")?;
    let status =
        String::from_utf8_lossy(&raw[..end]).split(' ').nth(1).and_then(|c| c.parse().ok()).ok_or("bad status line")?;
    // Chunked bodies are left framed: only error answers are parsed, and those carry a length.
    Ok((status, Some(raw[end + 4..].to_vec())))
}

/// `make chaos`'s HTTP-level fuzz pass: for `seconds`, requests built from random pieces —
/// methods (real, lower-case, made up), paths from the route table with random segments (empty,
/// percent garbage, very long, non-ASCII, numbers out of range), random query strings, content
/// types and Accept headers (real and broken), bodies (JSON of the right and wrong shapes,
/// truncated, binary, deeply nested, large) — each on its own connection, round robin over `bases`.
/// Every answer is classified; a 5xx is listed with what caused it (Kafka is up, so none is
/// expected), and so is an error answer without the reference's JSON error body. Names it makes
/// start with `fz-`, so nothing of anyone else's is touched.
fn http_fuzz(bases: &str, cluster: &str, seconds: u64, seed: u64) -> Result<(), String> {
    use std::collections::BTreeMap;
    let bases: Vec<&str> = bases.split(',').collect();
    let mut x = seed | 1;
    let mut rnd = move |n: usize| -> usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "FROB"];
    const PATHS: &[&str] = &[
        "/topics",
        "/topics/{}",
        "/topics/{}/partitions",
        "/topics/{}/partitions/{}",
        "/topics/{}/partitions/{}/offsets",
        "/brokers",
        "/consumers/{}",
        "/consumers/{}/instances/{}",
        "/consumers/{}/instances/{}/records",
        "/consumers/{}/instances/{}/subscription",
        "/consumers/{}/instances/{}/assignments",
        "/consumers/{}/instances/{}/offsets",
        "/consumers/{}/instances/{}/positions",
        "/consumers/{}/instances/{}/positions/beginning",
        "/v3/clusters",
        "/v3/clusters/{C}",
        "/v3/clusters/{C}/topics",
        "/v3/clusters/{C}/topics/{}",
        "/v3/clusters/{C}/topics/{}/records",
        "/v3/clusters/{C}/topics/{}/records:batch",
        "/v3/clusters/{C}/topics/{}/configs",
        "/v3/clusters/{C}/topics/{}/configs/{}",
        "/v3/clusters/{C}/topics/{}/partitions/{}",
        "/v3/clusters/{C}/acls",
        "/v3/clusters/{C}/acls:batch",
        "/v3/clusters/{C}/brokers/{}/configs",
        "/v3/clusters/{C}/consumer-groups/{}",
        "/v3/clusters/{C}/consumer-groups/{}/lags",
        "/v3/clusters/{C}/broker-configs",
        "/v3/clusters/{C}/topics/-/partitions/-/reassignment",
        "/",
        "/v3",
        "/v2/../topics",
        "//topics",
    ];
    const SEGMENTS: &[&str] = &[
        "fz-topic",
        "fz-a.b_c",
        "",
        "%zz",
        "%",
        "%2F",
        "fz-%E2%82%AC",
        "fz-\u{e9}",
        "..",
        "-1",
        "99999999999",
        "0",
        "1",
        "fz-x y",
        "fz-;",
        "__consumer_offsets",
        "-",
    ];
    const TYPES: &[&str] = &[
        "application/json",
        "application/vnd.kafka.v2+json",
        "application/vnd.kafka.binary.v2+json",
        "application/vnd.kafka.json.v2+json",
        "application/vnd.kafka.avro.v2+json",
        "application/vnd.kafka.protobuf.v2+json",
        "text/plain",
        "application/json; charset=utf-16",
        "*/*",
        "application/vnd.kafka.v3+json",
        "garbage/",
        ";;;",
        "application/vnd.kafka.binary.v2+json, text/html;q=0.9",
    ];
    const BODIES: &[&str] = &[
        r#"{"records":[{"value":"aGk="}]}"#,
        r#"{"records":[{"value":{"a":1},"partition":99999}]}"#,
        r#"{"records":[]}"#,
        r#"{"records":"x"}"#,
        r#"{"value":{"type":"STRING","data":"x"}}"#,
        r#"{"value":{"type":"BINARY","data":"!!"}}"#,
        r#"{"entries":[{"id":"1","value":{"type":"JSON","data":1}}]}"#,
        r#"{"topic_name":"fz-t","partitions_count":-3,"replication_factor":9}"#,
        r#"{"topics":["fz-t"]}"#,
        r#"{"topic_pattern":"("}"#,
        r#"{"partitions":[{"topic":"fz-t","partition":-1}]}"#,
        r#"{"offsets":[{"topic":"fz-t","partition":0,"offset":-5}]}"#,
        r#"{"name":"fz-c","format":"nope"}"#,
        r#"{"name":"fz-c","auto.offset.reset":"earliest"}"#,
        r#"{"data":[{"name":"x","value":null}]}"#,
        r#"{"resource_type":"TOPIC","operation":"READ"}"#,
        "{",
        "[",
        "null",
        "\"\"",
        "1e999999",
        "{\"a\":",
        "\u{0}\u{1}\u{2}",
        "",
    ];
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut bad: BTreeMap<String, u64> = BTreeMap::new();
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut n = 0u64;
    while Instant::now() < end {
        let base = bases[rnd(bases.len())];
        let method = METHODS[rnd(METHODS.len())];
        let template = PATHS[rnd(PATHS.len())];
        let mut path = String::new();
        for (i, part) in template.split("{}").enumerate() {
            if i > 0 {
                path.push_str(&match rnd(10) {
                    0 => format!("fz-{}", "x".repeat(rnd(3) * 5000)),
                    1 => format!("fz-{}", rnd(1_000_000)),
                    _ => SEGMENTS[rnd(SEGMENTS.len())].to_owned(),
                });
            }
            path.push_str(part);
        }
        let path = path.replace("{C}", if rnd(5) == 0 { "fz-cluster" } else { cluster });
        let query = match rnd(6) {
            0 => "?timeout=-5&max_bytes=abc",
            1 => "?timeout=99999999999999999999",
            2 => "?offset=1&count=%zz",
            3 => "?&&==",
            _ => "",
        };
        let mut body: Vec<u8> = match rnd(8) {
            0 => (0..rnd(2000)).map(|_| rnd(256) as u8).collect(),
            1 => format!("{}{}", "[".repeat(rnd(20_000)), "]".repeat(rnd(3))).into_bytes(),
            2 => format!(r#"{{"records":[{}{{"value":"aGk="}}]}}"#, r#"{"value":"aGk="},"#.repeat(rnd(3000)))
                .into_bytes(),
            _ => BODIES[rnd(BODIES.len())].as_bytes().to_vec(),
        };
        if rnd(10) == 0 {
            body.truncate(body.len() / 2);
        }
        let mut headers: Vec<(&str, String)> = Vec::new();
        if rnd(4) != 0 {
            headers.push(("Content-Type", TYPES[rnd(TYPES.len())].to_owned()));
        }
        if rnd(3) != 0 {
            headers.push(("Accept", TYPES[rnd(TYPES.len())].to_owned()));
        }
        match rnd(12) {
            0 => headers.push(("Authorization", "Basic !!!".into())),
            1 => headers.push(("X-Fuzz", "v".repeat(rnd(8000)))),
            2 => headers.push(("Accept-Encoding", "gzip, zstd".into())),
            _ => {}
        }
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let what = format!("{method} {template}{}", if query.is_empty() { "" } else { "?…" });
        n += 1;
        match fuzz_once(method, base, &format!("{path}{query}"), &h, &body) {
            Ok((_, None)) => *counts.entry("2xx streaming (still open, as documented)".into()).or_default() += 1,
            Ok((status, Some(answer))) => {
                *counts.entry(format!("{}xx", status / 100)).or_default() += 1;
                let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
                let code = v["error_code"].as_u64();
                // The host's own answers to broken HTTP (400 without a body) are not the component's.
                let component = !(status == 400 && answer.is_empty());
                // 501: the Confluent-Server-only endpoints, as documented.
                if status >= 500 && status != 501 {
                    let msg: String = v["message"].as_str().unwrap_or("").chars().take(90).collect();
                    *bad.entry(format!("{status}/{code:?} {what}: {msg}")).or_default() += 1;
                } else if status >= 400 && method != "HEAD" && component && code.is_none() {
                    *bad.entry(format!("{status} without a JSON error body: {what}")).or_default() += 1;
                }
            }
            Err(e) => {
                let kind: String = e.chars().take(40).collect();
                *counts.entry(format!("no answer ({kind})")).or_default() += 1;
                if e.contains("timed out") || e.contains("WouldBlock") || e.contains("temporarily") {
                    *bad.entry(format!("no answer within 40 s: {what}")).or_default() += 1;
                }
            }
        }
    }
    for (k, v) in &counts {
        println!("FUZZ {v} {k}");
    }
    for (k, v) in &bad {
        println!("FUZZBAD {v} {k}");
    }
    // Still serving, on every host.
    let mut serving = 0;
    for base in &bases {
        if let Ok((200, _)) = http_once("GET", base, "/v3/clusters", &[], b"", Duration::from_secs(10)) {
            serving += 1;
        }
    }
    println!("RESULT http_fuzz_seed {seed} (kre-bench http-fuzz BASES CLUSTER SECONDS SEED replays it)");
    println!("RESULT http_fuzz_requests {n} requests");
    println!("RESULT http_fuzz_bad {} answers", bad.values().sum::<u64>());
    println!("RESULT http_fuzz_hosts_serving {serving} of {}", bases.len());
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("latency") if args.len() >= 3 => {
            let n = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
            let c = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(16);
            let secs = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(10);
            latency(&args[2], n, c, secs)
        }
        Some("produce") if args.len() >= 7 => produce(
            &args[2],
            &args[3],
            args[4].parse().unwrap_or(1),
            args[5].parse().unwrap_or(8),
            args[6].parse().unwrap_or(10),
            args.get(7).map_or("binary", String::as_str),
        ),
        Some("produce-latency") if args.len() >= 5 => {
            produce_latency(&args[2], &args[3], args[4].parse().unwrap_or(2000))
        }
        Some("consume") if args.len() >= 6 => consume(
            &args[2],
            &args[3],
            &args[4],
            args[5].parse().unwrap_or(20),
            &args.get(6).map(|l| format!("{l}_")).unwrap_or_default(),
        ),
        Some("native-latency") if args.len() >= 5 => {
            native_latency(&args[2], &args[3], args[4].parse().unwrap_or(2000))
        }
        Some("edge") if args.len() >= 4 => {
            edge(&args[2], &args[3], args.get(4).and_then(|s| s.parse().ok()).unwrap_or(15))
        }
        Some("chaos-produce") if args.len() >= 8 => chaos_produce(
            &args[2],
            &args[3],
            args[4].parse().unwrap_or(4),
            args[5].parse().unwrap_or(60),
            args[6].parse().unwrap_or(50),
            &args[7],
            args.get(8).and_then(|s| s.parse().ok()).unwrap_or(0),
        ),
        Some("chaos-consume") if args.len() >= 10 => chaos_consume(
            &args[2],
            &args[3],
            &args[4],
            &args[5],
            args[6].parse().unwrap_or(3),
            args[7].parse().unwrap_or(60),
            args[8].parse().unwrap_or(300),
            &args[9],
        ),
        Some("deep-fuzz") if args.len() >= 6 => deep_fuzz::run(
            &args[2],
            &args[3],
            &args[4],
            args[5].parse().unwrap_or(60),
            args.get(6).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
            }),
        ),
        Some("http-fuzz") if args.len() >= 5 => http_fuzz(
            &args[2],
            &args[3],
            args[4].parse().unwrap_or(60),
            // A new sequence each run unless a seed is given (printed, to replay a finding).
            args.get(5).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
            }),
        ),
        Some("stream") if args.len() >= 6 => stream(&args[2], &args[3], &args[4], args[5].parse().unwrap_or(60)),
        Some("load") if args.len() >= 7 => {
            load(&args[2], &args[3], &args[4], args[5].parse().unwrap_or(30), args[6].parse().unwrap_or(1000))
        }
        Some("instances") if args.len() >= 7 => instances(
            &args[2],
            &args[3],
            args[4].parse().unwrap_or(10_000),
            args[5].parse().unwrap_or(20),
            16,
            &args[6],
        ),
        Some("churn") if args.len() >= 5 => churn(&args[2], args[3].parse().unwrap_or(1000), &args[4]),
        _ => Err(
            "usage: kre-bench latency URL [N] [CONCURRENCY] [SECONDS] | produce BASE TOPIC BATCH CLIENTS SECONDS | \
                  produce-latency BASE TOPIC N | stream BASE CLUSTER TOPIC SECONDS | edge URL LABEL [IDLE_SAMPLES] | \
                  http-fuzz BASES CLUSTER SECONDS [SEED] | deep-fuzz BASES CLUSTER REGISTRY SECONDS [SEED]"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("kre-bench: {e}");
        std::process::exit(1);
    }
}
