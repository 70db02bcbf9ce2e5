//! The component: wit-bindgen exports of `spin:key-value` and `spin:variables`.

use std::cell::RefCell;
use std::net::SocketAddr;

use kre_wasi_tcp::TcpStream;

use crate::resp::{self, Value};

wit_bindgen::generate!({
    world: "kv-redis",
    path: "../../wit",
});

use exports::spin::key_value::key_value::{self as kv, Error as KvError};
use exports::spin::variables::variables::{self as vars, Error as VarError};

struct Shim;

export!(Shim);

/// Idle Redis connections of this instance; concurrent calls each take their own.
const MAX_IDLE: usize = 8;

thread_local! {
    static IDLE: RefCell<Vec<Conn>> = const { RefCell::new(Vec::new()) };
}

struct Conn {
    tcp: TcpStream,
    buf: Vec<u8>,
}

fn redis_addr() -> Result<SocketAddr, String> {
    let text = std::env::var("KRE_REDIS_ADDR").unwrap_or_else(|_| "127.0.0.1:6379".into());
    text.parse().map_err(|_| format!("KRE_REDIS_ADDR '{text}' is not an IP:port"))
}

fn prefix() -> String {
    std::env::var("KRE_REDIS_PREFIX").unwrap_or_else(|_| "kre:".into())
}

impl Conn {
    async fn open() -> Result<Conn, String> {
        let addr = redis_addr()?;
        let tcp = TcpStream::connect(addr).await.map_err(|e| format!("cannot connect to Redis at {addr}: {e}"))?;
        Ok(Conn { tcp, buf: Vec::with_capacity(4096) })
    }

    async fn call(&mut self, args: &[&[u8]]) -> Result<Value, String> {
        self.tcp.write_all(resp::command(args)).await.map_err(|e| format!("Redis write: {e}"))?;
        loop {
            if let Some((value, used)) = resp::parse(&self.buf)? {
                self.buf.drain(..used);
                return Ok(value);
            }
            let n = self.tcp.read_some(&mut self.buf).await.map_err(|e| format!("Redis read: {e}"))?;
            if n == 0 {
                return Err("Redis closed the connection".into());
            }
        }
    }
}

/// One command on a pooled connection; a stale pooled connection is replaced once.
async fn call(args: &[&[u8]]) -> Result<Value, String> {
    let pooled = IDLE.with(|i| i.borrow_mut().pop());
    let reused = pooled.is_some();
    let mut conn = match pooled {
        Some(c) => c,
        None => Conn::open().await?,
    };
    let value = match conn.call(args).await {
        Ok(v) => v,
        Err(_) if reused => {
            conn = Conn::open().await?;
            conn.call(args).await?
        }
        Err(e) => return Err(e),
    };
    IDLE.with(|i| {
        let mut idle = i.borrow_mut();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    });
    match value {
        Value::Error(e) => Err(format!("Redis: {e}")),
        v => Ok(v),
    }
}

fn other(e: String) -> KvError {
    KvError::Other(e)
}

pub struct Store {
    prefix: String,
}

impl Store {
    fn key(&self, key: &str) -> Vec<u8> {
        format!("{}{key}", self.prefix).into_bytes()
    }
}

impl kv::Guest for Shim {
    type Store = Store;
}

impl kv::GuestStore for Store {
    async fn open(label: String) -> Result<kv::Store, KvError> {
        // Stores are namespaces of one Redis database: `<prefix><label>:<key>`.
        Ok(kv::Store::new(Store { prefix: format!("{}{label}:", prefix()) }))
    }

    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        match call(&[b"GET", &self.key(&key)]).await.map_err(other)? {
            Value::Bulk(v) => Ok(v),
            v => Err(other(format!("unexpected GET reply {v:?}"))),
        }
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        call(&[b"SET", &self.key(&key), &value]).await.map_err(other).map(drop)
    }

    async fn delete(&self, key: String) -> Result<(), KvError> {
        call(&[b"DEL", &self.key(&key)]).await.map_err(other).map(drop)
    }

    async fn exists(&self, key: String) -> Result<bool, KvError> {
        match call(&[b"EXISTS", &self.key(&key)]).await.map_err(other)? {
            Value::Int(n) => Ok(n > 0),
            v => Err(other(format!("unexpected EXISTS reply {v:?}"))),
        }
    }

    async fn get_keys(&self) -> (wit_bindgen::StreamReader<String>, wit_bindgen::FutureReader<Result<(), KvError>>) {
        let (mut keys_tx, keys_rx) = wit_stream::new::<String>();
        let (done_tx, done_rx) = wit_future::new::<Result<(), KvError>>(|| Ok(()));
        let prefix = self.prefix.clone();
        wit_bindgen::spawn(async move {
            let result = scan(&prefix).await;
            let status = match result {
                Ok(keys) => {
                    keys_tx.write_all(keys).await;
                    Ok(())
                }
                Err(e) => Err(other(e)),
            };
            drop(keys_tx);
            let _ = done_tx.write(status).await;
        });
        (keys_rx, done_rx)
    }
}

/// Every key under `prefix` (SCAN, so Redis is never blocked by a KEYS over a large database).
async fn scan(prefix: &str) -> Result<Vec<String>, String> {
    let pattern = format!("{}*", escape_glob(prefix));
    let mut cursor = b"0".to_vec();
    let mut keys = Vec::new();
    loop {
        let reply = call(&[b"SCAN", &cursor, b"MATCH", pattern.as_bytes(), b"COUNT", b"1000"]).await?;
        let Value::Array(Some(mut parts)) = reply else { return Err("unexpected SCAN reply".into()) };
        let (Some(Value::Array(Some(batch))), Some(Value::Bulk(Some(next)))) = (parts.pop(), parts.pop()) else {
            return Err("unexpected SCAN reply".into());
        };
        for k in batch {
            if let Value::Bulk(Some(k)) = k
                && let Ok(k) = String::from_utf8(k)
                && let Some(stripped) = k.strip_prefix(prefix)
            {
                keys.push(stripped.to_owned());
            }
        }
        if next == b"0" {
            return Ok(keys);
        }
        cursor = next;
    }
}

fn escape_glob(s: &str) -> String {
    s.chars().flat_map(|c| if matches!(c, '*' | '?' | '[' | ']' | '\\') { vec!['\\', c] } else { vec![c] }).collect()
}

impl vars::Guest for Shim {
    async fn get(name: String) -> Result<String, VarError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(VarError::InvalidName(format!(
                "'{name}': variable names are lower-case letters, digits and '_'"
            )));
        }
        std::env::var(name.to_ascii_uppercase())
            .map_err(|_| VarError::Undefined(format!("no environment variable {}", name.to_ascii_uppercase())))
    }
}
