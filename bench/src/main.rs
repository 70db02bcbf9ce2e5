//! `kre-bench latency URL [N] [CONCURRENCY] [SECONDS]`: N sequential GETs on one keep-alive
//! connection (p50/p90/p99/max), then CONCURRENCY connections for SECONDS (requests/s, p50/p99).
//! Every response must be 200, or the run fails: a fast error is not a result.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
    path: String,
}

impl Conn {
    fn open(url: &str) -> Result<Conn, String> {
        let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
        let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
        let s = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn { reader: BufReader::new(s), host: host.to_owned(), path })
    }

    /// One GET; returns the status after reading the whole body (Content-Length or chunked).
    fn get(&mut self) -> Result<u16, String> {
        let req = format!("GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\r\n", self.path, self.host);
        self.reader.get_mut().write_all(req.as_bytes()).map_err(|e| e.to_string())?;
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
            }
        }
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
            }
        } else if let Some(n) = length {
            let mut buf = vec![0; n];
            self.reader.read_exact(&mut buf).map_err(|e| e.to_string())?;
        }
        Ok(status)
    }
}

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("latency") if args.len() >= 3 => {
            let n = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
            let c = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(16);
            let secs = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(10);
            latency(&args[2], n, c, secs)
        }
        _ => Err("usage: kre-bench latency URL [N=1000] [CONCURRENCY=16] [SECONDS=10]".into()),
    };
    if let Err(e) = result {
        eprintln!("kre-bench: {e}");
        std::process::exit(1);
    }
}
