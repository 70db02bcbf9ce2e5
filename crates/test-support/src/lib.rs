//! Shared by the end-to-end tests and the benchmark: the real wasm host (`wasmtime serve`
//! running the composed component), HTTP/1.1 clients (one exchange per connection for tests,
//! keep-alive [`Conn`] for load), base64, Kafka fixtures, and the environment `make test`
//! prepares (KRE_TEST_BOOTSTRAP: the test broker; KRE_TEST_REDIS: the test Redis).
// Test support: a failed unwrap is the failing test's message.
#![allow(clippy::unwrap_used)]

/// Skips the calling test, saying why, when the environment `make test` prepares is missing
/// (so `cargo test --workspace` works offline). Under `make test` (KRE_TEST_STRICT) a missing
/// variable fails the test instead: a skipped test must never pass as a green one there.
#[macro_export]
macro_rules! needs {
    ($($var:literal),+) => {
        $(if std::env::var($var).is_err() {
            if std::env::var("KRE_TEST_STRICT").is_ok() {
                panic!("{} is not set, but make test (KRE_TEST_STRICT) should have set it", $var);
            }
            eprintln!("skipped: {} is not set (`make test` starts the broker, Redis and hosts)", $var);
            return;
        })+
    };
}

pub mod kafka;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the end-to-end tests through `make test`"))
}

pub fn bootstrap() -> String {
    env("KRE_TEST_BOOTSTRAP")
}

/// The repository's root (this crate lives in crates/test-support).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port nobody listens on, never the same twice in this test process: tests run in parallel,
/// and the kernel may hand a just-released port to the next caller (two hosts on one port: one
/// fails to bind, and its test talks to the other test's host until that one is gone).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut given = GIVEN.lock().unwrap();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Where the host keeps key-value `key` in Redis: the shim prefixes `kre:<store>:`, Spin's Redis
/// store writes keys as they are.
pub fn redis_key(key: &str) -> String {
    if std::env::var("KRE_TEST_HOST").as_deref() == Ok("spin") { key.to_owned() } else { format!("kre:default:{key}") }
}

/// Which artifact the hosts run (KRE_TEST_ARTIFACT): `p3`, the WASI 0.3 component (default), or
/// `p2`, the WASI 0.2 one. Returns (the component alone, for Spin; composed with the key-value
/// shim, for wasmtime serve).
pub fn artifact() -> (PathBuf, PathBuf) {
    match std::env::var("KRE_TEST_ARTIFACT").as_deref() {
        Ok("p2") => (
            repo().join("target/wasm32-wasip2/release/kafka_rest_edge_p2.wasm"),
            repo().join("target/kafka-rest-edge-p2.composed.wasm"),
        ),
        Ok("p3") | Err(_) => (
            repo().join("target/wasm32-wasip2/release/kafka_rest_edge.wasm"),
            repo().join("target/kafka-rest-edge.composed.wasm"),
        ),
        Ok(other) => panic!("KRE_TEST_ARTIFACT={other}: p2 or p3"),
    }
}

/// With KRE_TEST_SPIN_KV=sqlite, Spin hosts keep their key-value store in Spin's SQLite store
/// (this file, shared by the test process's hosts) instead of the test Redis.
fn spin_sqlite() -> Option<PathBuf> {
    (std::env::var("KRE_TEST_SPIN_KV").as_deref() == Ok("sqlite"))
        .then(|| std::env::temp_dir().join(format!("kre-spin-kv-{}.db", std::process::id())))
}

/// What the hosts' key-value store holds at `key`, read from the store itself: the test Redis
/// (the shim's prefix, or Spin's Redis store's bare keys) or Spin's SQLite file.
pub fn kv_value(key: &str) -> Option<Vec<u8>> {
    if std::env::var("KRE_TEST_HOST").as_deref() == Ok("spin")
        && let Some(db) = spin_sqlite()
    {
        let script = "import sqlite3,sys\nr=sqlite3.connect(sys.argv[1]).execute(\"SELECT value FROM spin_key_value WHERE store='default' AND key=?\",(sys.argv[2],)).fetchone()\nsys.stdout.buffer.write(b'' if r is None else b'+'+bytes(r[0]))";
        let out = Command::new("python3").arg("-c").arg(script).arg(&db).arg(key).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        return out.stdout.strip_prefix(b"+").map(<[u8]>::to_vec);
    }
    let key = redis_key(key);
    let mut tcp = TcpStream::connect(env("KRE_TEST_REDIS")).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tcp.write_all(format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes()).unwrap();
    let mut reader = BufReader::new(tcp);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let len: i64 = line.trim_start_matches('$').trim().parse().unwrap();
    let len = usize::try_from(len).ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    Some(body)
}

/// `spin up` of the component (KRE_TEST_HOST=spin): a manifest of its own in a fresh directory
/// (Spin writes `.spin/` beside it), outbound TCP to loopback, Spin's key-value store on the test
/// Redis (a runtime-config file), the host's variables as Spin variables.
fn spin_command(port: u16, vars: &[(String, String)]) -> Command {
    let dir = std::env::temp_dir().join(format!("kre-spin-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = std::fs::read_to_string(repo().join("spin.toml")).unwrap();
    let component = artifact().0;
    let manifest = manifest
        .replace(
            "source = \"target/wasm32-wasip2/release/kafka_rest_edge_p2.wasm\"",
            &format!("source = \"{}\"", component.display()),
        )
        .replace(
            "allowed_outbound_hosts = [\"tcp://127.0.0.1:9092\", \"tcp://127.0.0.1:8081\"]",
            "allowed_outbound_hosts = [\"tcp://127.0.0.1:*\"]",
        );
    let manifest = manifest.split("[component.kafka-rest-edge.build]").next().unwrap_or_default().to_owned();
    std::fs::write(dir.join("spin.toml"), manifest).unwrap();
    let redis = vars.iter().find(|(k, _)| k == "KRE_REDIS_ADDR").map(|(_, v)| v.clone()).unwrap_or_default();
    let store = match spin_sqlite() {
        // Spin's own store (SQLite), one file shared by this test process's hosts.
        Some(path) => format!("type = \"spin\"\npath = \"{}\"", path.display()),
        None => format!("type = \"redis\"\nurl = \"redis://{redis}\""),
    };
    std::fs::write(dir.join("rt.toml"), format!("[key_value_store.default]\n{store}\n")).unwrap();
    let spin = std::env::var("KRE_SPIN").unwrap_or_else(|_| "spin".into());
    let mut cmd = Command::new(spin);
    cmd.current_dir(&dir).args(["up", "--listen"]).arg(format!("127.0.0.1:{port}"));
    cmd.args(["--runtime-config-file", "rt.toml"]);
    // Spin gives components no name lookup: the tests' `localhost` brokers (the TLS listeners'
    // certificate name) are mapped as a Spin user maps theirs (docs/deploying.md).
    let mut vars = vars.to_vec();
    match vars.iter_mut().find(|(k, _)| k == "KAFKA_HOST_MAP") {
        Some((_, map)) if !map.split(',').any(|e| e.starts_with("localhost=")) => map.push_str(",localhost=127.0.0.1"),
        Some(_) => {}
        None => vars.push(("KAFKA_HOST_MAP".into(), "localhost=127.0.0.1".into())),
    }
    for (k, v) in vars.iter().filter(|(k, _)| !k.starts_with("KRE_")) {
        cmd.arg("--variable").arg(format!("{}={v}", k.to_ascii_lowercase()));
    }
    cmd
}

/// A running `wasmtime serve` with the composed component (or `spin up`); killed when dropped.
pub struct Host {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Host {
    /// Starts a host against the test broker and Redis, with `vars` (environment) on top.
    pub fn start(vars: &[(&str, &str)]) -> Host {
        let port = free_port();
        let mut all: Vec<(String, String)> = vec![
            ("KAFKA_BOOTSTRAP_SERVERS".into(), bootstrap()),
            ("KRE_REDIS_ADDR".into(), env("KRE_TEST_REDIS")),
            ("ADVERTISED_BASE_URL".into(), format!("http://127.0.0.1:{port}")),
        ];
        for (k, v) in vars {
            all.retain(|(name, _)| name != k);
            all.push(((*k).into(), (*v).into()));
        }
        Self::start_on(port, &all)
    }

    pub fn start_on(port: u16, vars: &[(String, String)]) -> Host {
        let log = std::env::temp_dir().join(format!("kre-host-{port}.log"));
        let mut cmd = if std::env::var("KRE_TEST_HOST").as_deref() == Ok("spin") {
            spin_command(port, vars)
        } else {
            let wasmtime = std::env::var("KRE_WASMTIME").unwrap_or_else(|_| "wasmtime".into());
            let mut cmd = Command::new(wasmtime);
            cmd.args(["serve", "-Scli", "-Sinherit-network", "-Sallow-ip-name-lookup", "--addr"])
                .arg(format!("127.0.0.1:{port}"));
            for (k, v) in vars {
                cmd.arg("--env").arg(format!("{k}={v}"));
            }
            cmd.arg(artifact().1);
            cmd
        };
        // Its own process group: `spin up` starts `spin trigger http` as a child, and dropping the
        // host stops the whole group (the parent alone would leave the trigger serving).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let out = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("the host binary (wasmtime from make test's tools, or spin)");
        // Recorded for `make test`'s cleanup, which stops what a crashed test left by PID.
        if let Ok(dir) = std::env::var("KRE_HOST_PIDS") {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(PathBuf::from(dir).join(child.id().to_string()), b"");
        }
        let mut host = Host { child, port, log };
        host.wait_ready();
        host
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            // A host that exited (its port taken by something else) is not ready, whoever answers.
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "host on port {} exited ({status}): {}",
                    self.port,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("host on port {} did not start: {}", self.port, std::fs::read_to_string(&self.log).unwrap_or_default());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn get(&self, path: &str) -> Reply {
        request(self.port, "GET", path, &[], None)
    }

    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
        request(self.port, method, path, headers, body)
    }

    /// A JSON request with `Content-Type: application/json`.
    pub fn json(&self, method: &str, path: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).unwrap();
        request(self.port, method, path, &[("content-type", "application/json")], Some(&bytes))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // The group by its id (the host's PID), then the host itself.
        let _ = Command::new("kill").arg("--").arg(format!("-{}", self.child.id())).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(dir) = std::env::var("KRE_HOST_PIDS") {
            let _ = std::fs::remove_file(PathBuf::from(dir).join(self.child.id().to_string()));
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the reference's error shape with this status and error_code.
    pub fn assert_error(&self, status: u16, code: u64) -> String {
        let v = self.json();
        assert_eq!(self.status, status, "status; body {v}");
        assert_eq!(v["error_code"].as_u64(), Some(code), "error_code; body {v}");
        let msg = v["message"].as_str().unwrap_or_else(|| panic!("message missing: {v}")).to_owned();
        assert!(!msg.is_empty());
        msg
    }
}

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`), chunked bodies decoded.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    if let Some(b) = body {
        s.write_all(b).unwrap();
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let reply = parse_reply(&raw);
    capture(method, path, &reply);
    reply
}

/// With KRE_V3_CAPTURE set (a directory), every v3 JSON answer is kept there for the conformance
/// test (tests/v3_conformance.rs), which checks it against the v3 OpenAPI document.
fn capture(method: &str, path: &str, reply: &Reply) {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let Ok(dir) = std::env::var("KRE_V3_CAPTURE") else { return };
    let json = reply.header("content-type").is_some_and(|t| t.starts_with("application/json"));
    if !path.starts_with("/v3/") || !json || reply.body.is_empty() {
        return;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&reply.body) else { return };
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let entry = serde_json::json!({"method": method, "path": path, "status": reply.status, "body": body});
    let _ = std::fs::create_dir_all(&dir);
    let file = PathBuf::from(dir).join(format!("{}-{n}.json", std::process::id()));
    let _ = std::fs::write(file, serde_json::to_vec(&entry).unwrap_or_default());
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Reply { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else { return out };
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).split(';').next().unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}

/// A name no earlier run used (the test broker keeps its data between runs).
pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{:x}-{}", n % (1u128 << 48), std::process::id())
}

/// A chunked (streaming) request held open: send chunks, read what the server already answered.
pub struct Streaming {
    stream: TcpStream,
    raw: Vec<u8>,
    body_start: Option<usize>,
}

impl Streaming {
    pub fn open(port: u16, path: &str) -> Streaming {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        Streaming { stream, raw: Vec::new(), body_start: None }
    }

    /// A GET whose answer streams (the v3 follow endpoint).
    pub fn get(port: u16, path: &str) -> Streaming {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        Streaming { stream, raw: Vec::new(), body_start: None }
    }

    pub fn send(&mut self, data: &[u8]) {
        self.stream.write_all(format!("{:x}\r\n", data.len()).as_bytes()).unwrap();
        self.stream.write_all(data).unwrap();
        self.stream.write_all(b"\r\n").unwrap();
    }

    /// Reads until `want` delivery reports (newline-terminated JSON) arrived, or `timeout`.
    pub fn reports_within(&mut self, want: usize, timeout: Duration) -> Vec<Value> {
        let end = Instant::now() + timeout;
        loop {
            let reports = self.reports();
            if reports.len() >= want || Instant::now() >= end {
                return reports;
            }
            self.stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) => return self.reports(),
                Ok(n) => self.raw.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
    }

    fn reports(&mut self) -> Vec<Value> {
        if self.body_start.is_none() {
            self.body_start = self.raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
        }
        let Some(start) = self.body_start else { return vec![] };
        let body = dechunk_partial(&self.raw[start..]);
        body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).filter_map(|l| serde_json::from_slice(l).ok()).collect()
    }

    /// Ends the request body and reads the rest of the answer.
    pub fn finish(mut self) -> (u16, Vec<Value>) {
        self.stream.write_all(b"0\r\n\r\n").unwrap();
        self.stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut rest = Vec::new();
        self.stream.read_to_end(&mut rest).unwrap();
        self.raw.extend_from_slice(&rest);
        let status = String::from_utf8_lossy(&self.raw[..12.min(self.raw.len())])
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, self.reports())
    }
}

/// Decodes the complete chunks of a chunked body received so far.
fn dechunk_partial(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else { return out };
        let Ok(size) =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).split(';').next().unwrap().trim(), 16)
        else {
            return out;
        };
        if size == 0 || data.len() < end + 2 + size {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[(end + 4 + size).min(data.len())..];
    }
}

pub fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub fn b64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// A keep-alive HTTP/1.1 connection (TCP_NODELAY) for load: one request at a time, bodies read
/// whole (Content-Length or chunked).
pub struct Conn {
    pub reader: BufReader<TcpStream>,
    pub host: String,
    pub path: String,
    /// The last response said `Connection: close`: the server closes after it.
    pub closing: bool,
}

impl Conn {
    pub fn open(url: &str) -> Result<Conn, String> {
        let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
        let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
        let s = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        // A request that never answers fails its test instead of hanging the suite.
        s.set_read_timeout(Some(Duration::from_secs(120))).map_err(|e| e.to_string())?;
        Ok(Conn { reader: BufReader::new(s), host: host.to_owned(), path, closing: false })
    }

    /// One GET; returns the status after reading the whole body (Content-Length or chunked).
    pub fn get(&mut self) -> Result<u16, String> {
        let req = format!("GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\r\n", self.path, self.host);
        self.reader.get_mut().write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        self.read_response().map(|(status, _)| status)
    }

    /// One POST with a body; returns the status and the response body.
    pub fn post(&mut self, content_type: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let req = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.path,
            self.host,
            body.len()
        );
        let s = self.reader.get_mut();
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        s.write_all(body).map_err(|e| e.to_string())?;
        self.read_response()
    }

    pub fn read_response(&mut self) -> Result<(u16, Vec<u8>), String> {
        let mut line = String::new();
        self.reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let status: u16 =
            line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or(format!("bad status line {line:?}"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line).map_err(|e| e.to_string())?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            } else if lower.starts_with("connection:") && lower.contains("close") {
                self.closing = true;
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line).map_err(|e| e.to_string())?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                    .map_err(|e| e.to_string())?;
                let mut buf = vec![0; size + 2];
                self.reader.read_exact(&mut buf).map_err(|e| e.to_string())?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&buf[..size]);
            }
        } else if let Some(n) = length {
            body = vec![0; n];
            self.reader.read_exact(&mut body).map_err(|e| e.to_string())?;
        }
        Ok((status, body))
    }
}

/// Every key of the test Redis with its value (strings only): for checks that nothing secret
/// is stored.
pub fn redis_dump() -> Vec<(String, Vec<u8>)> {
    let tcp = TcpStream::connect(env("KRE_TEST_REDIS")).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut writer = tcp.try_clone().unwrap();
    let mut reader = BufReader::new(tcp);
    fn bulk(reader: &mut impl BufRead) -> Option<Vec<u8>> {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        // `$<len>`, or `$-1` for a key deleted since KEYS listed it (tests run side by side): the
        // sign is part of the number (stripping it read nil as length 1 and waited for ever).
        let len: i64 = line.strip_prefix('$').and_then(|n| n.trim().parse().ok()).unwrap_or(-1);
        let len = usize::try_from(len).ok()?;
        let mut body = vec![0; len + 2];
        reader.read_exact(&mut body).unwrap_or_else(|e| panic!("redis: {e} reading {} bytes after {line:?}", len + 2));
        body.truncate(len);
        Some(body)
    }
    writer.write_all(b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n").unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let n: usize = line.trim_start_matches('*').trim().parse().unwrap();
    let keys: Vec<String> =
        (0..n).filter_map(|_| bulk(&mut reader)).map(|k| String::from_utf8_lossy(&k).into_owned()).collect();
    keys.into_iter()
        .filter_map(|key| {
            writer.write_all(format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes()).unwrap();
            bulk(&mut reader).map(|v| (key, v))
        })
        .collect()
}

/// Runs tests/python/sr_interop.py (Confluent's own serializers, in the venv KRE_TEST_PYTHON
/// names) with `args`; one JSON value per line it prints.
pub fn sr_interop(args: &[&str]) -> Vec<Value> {
    let script = repo().join("tests/python/sr_interop.py");
    let out = Command::new(env("KRE_TEST_PYTHON")).arg(script).args(args).output().expect("python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

/// POST to the test Schema Registry (KRE_TEST_REGISTRY) itself — schemas registered as a Java
/// producer would, references included; its JSON answer (asserted 200).
pub fn registry_post(path: &str, body: &Value) -> Value {
    let url = env("KRE_TEST_REGISTRY");
    let rest = url.trim_start_matches("http://");
    let (authority, base) = rest.split_once('/').expect("a path after the authority");
    let port: u16 = authority.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("a port");
    let r = request(
        port,
        "POST",
        &format!("/{base}{path}"),
        &[("content-type", "application/vnd.schemaregistry.v1+json")],
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Reads `want` records of `topic` (from the beginning, within 30 s) through a new v2 consumer of
/// `format`, whose records requests accept `media`; the consumer is deleted afterwards.
pub fn consume_v2(host: &Host, format: &str, media: &str, topic: &str, want: usize) -> Vec<Value> {
    const V2: &str = "application/vnd.kafka.v2+json";
    let group = unique("consume-g");
    let create = serde_json::json!({"name": "c", "format": format, "auto.offset.reset": "earliest"}).to_string();
    let r = host.send("POST", &format!("/consumers/{group}"), &[("content-type", V2)], Some(create.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.text());
    let base = format!("/consumers/{group}/instances/c");
    let sub = serde_json::json!({"topics": [topic]}).to_string();
    let r = host.send("POST", &format!("{base}/subscription"), &[("content-type", V2)], Some(sub.as_bytes()));
    assert_eq!(r.status, 204, "{}", r.text());
    let mut got = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    while got.len() < want && Instant::now() < until {
        let r = host.send("GET", &format!("{base}/records?timeout=1000"), &[("accept", media)], None);
        assert_eq!(r.status, 200, "{}", r.text());
        got.extend(r.json().as_array().expect("an array of records").iter().cloned());
    }
    host.send("DELETE", &base, &[("content-type", V2)], None);
    got
}

/// One v3 produce request (`POST …/records`, records as a JSON stream) asserted 200; its
/// delivery reports, one per record.
pub fn v3_produce(host: &Host, path: &str, body: &Value) -> Vec<Value> {
    let r = host.send("POST", path, &[("content-type", "application/json")], Some(body.to_string().as_bytes()));
    assert_eq!(r.status, 200, "{}", r.text());
    r.text().lines().map(|l| serde_json::from_str(l).expect("a JSON delivery report")).collect()
}
