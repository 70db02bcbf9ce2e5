//! The component: wit-bindgen exports of `spin:key-value`, `spin:variables`, `wasi:config` and
//! `wasi:keyvalue`.

use std::cell::RefCell;
use std::net::SocketAddr;

use kre_wasi_tcp::TcpStream;

use crate::Namespace;
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

impl Conn {
    async fn open() -> Result<Conn, String> {
        let addr: SocketAddr = crate::redis_addr()?;
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
    resp::reply(value)
}

fn other(e: String) -> KvError {
    KvError::Other(e)
}

pub struct Store(Namespace);

impl Store {
    fn key(&self, key: &str) -> Vec<u8> {
        self.0.key(key)
    }
}

impl kv::Guest for Shim {
    type Store = Store;
}

impl kv::GuestStore for Store {
    async fn open(label: String) -> Result<kv::Store, KvError> {
        // Stores are namespaces of one Redis database.
        Ok(kv::Store::new(Store(Namespace::open(&label))))
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
        let (prefix, pattern) = (self.0.prefix().to_owned(), self.0.pattern());
        wit_bindgen::spawn(async move {
            let result = scan(&prefix, &pattern).await;
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
async fn scan(prefix: &str, pattern: &str) -> Result<Vec<String>, String> {
    let mut cursor = b"0".to_vec();
    let mut keys = Vec::new();
    loop {
        let reply = call(&[b"SCAN", &cursor, b"MATCH", pattern.as_bytes(), b"COUNT", b"1000"]).await?;
        let (page, next) = resp::scan_page(reply, prefix)?;
        keys.extend(page);
        if next == b"0" {
            return Ok(keys);
        }
        cursor = next;
    }
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

// wasi:config (the WASI 0.2 artifact's settings): the same environment variables as above.
use exports::wasi::config::store::{self as config, Error as ConfigError};

impl config::Guest for Shim {
    fn get(key: String) -> Result<Option<String>, ConfigError> {
        Ok(std::env::var(key.to_ascii_uppercase()).ok())
    }

    fn get_all() -> Result<Vec<(String, String)>, ConfigError> {
        // Only the component's own settings: the host's other environment stays private.
        Ok(std::env::vars()
            .filter(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// wasi:keyvalue@0.2.0-draft2 (synchronous): the same Redis keys as spin:key-value's stores, so a
// compare-and-swap here guards what spin:key-value reads.

use exports::wasi::keyvalue::atomics::{self as atomics, CasError};
use exports::wasi::keyvalue::store::{self as wstore, Error as WError, KeyResponse};

fn werr(e: String) -> WError {
    WError::Other(e)
}

pub struct Bucket(Namespace);

impl Bucket {
    fn key(&self, key: &str) -> Vec<u8> {
        self.0.key(key)
    }
}

fn bulk(v: Value) -> Result<Option<Vec<u8>>, WError> {
    match v {
        Value::Bulk(v) => Ok(v),
        v => Err(werr(format!("unexpected GET reply {v:?}"))),
    }
}

impl wstore::Guest for Shim {
    type Bucket = Bucket;

    fn open(identifier: String) -> Result<wstore::Bucket, WError> {
        Ok(wstore::Bucket::new(Bucket(Namespace::open(&identifier))))
    }
}

impl wstore::GuestBucket for Bucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, WError> {
        bulk(crate::blocking::call(&[b"GET", &self.key(&key)]).map_err(werr)?)
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), WError> {
        crate::blocking::call(&[b"SET", &self.key(&key), &value]).map_err(werr).map(drop)
    }

    fn delete(&self, key: String) -> Result<(), WError> {
        crate::blocking::call(&[b"DEL", &self.key(&key)]).map_err(werr).map(drop)
    }

    fn exists(&self, key: String) -> Result<bool, WError> {
        match crate::blocking::call(&[b"EXISTS", &self.key(&key)]).map_err(werr)? {
            Value::Int(n) => Ok(n > 0),
            v => Err(werr(format!("unexpected EXISTS reply {v:?}"))),
        }
    }

    fn list_keys(&self, cursor: Option<String>) -> Result<KeyResponse, WError> {
        let (pattern, cursor) = (self.0.pattern(), cursor.unwrap_or_else(|| "0".into()));
        let reply =
            crate::blocking::call(&[b"SCAN", cursor.as_bytes(), b"MATCH", pattern.as_bytes(), b"COUNT", b"1000"])
                .map_err(werr)?;
        let (keys, next) = resp::scan_page(reply, self.0.prefix()).map_err(werr)?;
        let next = String::from_utf8_lossy(&next).into_owned();
        Ok(KeyResponse { keys, cursor: (next != "0").then_some(next) })
    }
}

/// A compare-and-swap under way: the key and what it held when the operation began.
pub struct Cas {
    key: Vec<u8>,
    seen: Option<Vec<u8>>,
}

impl Cas {
    fn begin(key: Vec<u8>) -> Result<Cas, WError> {
        let seen = bulk(crate::blocking::call(&[b"GET", &key]).map_err(werr)?)?;
        Ok(Cas { key, seen })
    }
}

impl atomics::GuestCas for Cas {
    fn new(bucket: wstore::BucketBorrow<'_>, key: String) -> Result<atomics::Cas, WError> {
        Ok(atomics::Cas::new(Cas::begin(bucket.get::<Bucket>().key(&key))?))
    }

    fn current(&self) -> Result<Option<Vec<u8>>, WError> {
        Ok(self.seen.clone())
    }
}

impl atomics::Guest for Shim {
    type Cas = Cas;

    fn increment(bucket: wstore::BucketBorrow<'_>, key: String, delta: i64) -> Result<i64, WError> {
        let delta = delta.to_string();
        match crate::blocking::call(&[b"INCRBY", &bucket.get::<Bucket>().key(&key), delta.as_bytes()]).map_err(werr)? {
            Value::Int(n) => Ok(n),
            v => Err(werr(format!("unexpected INCRBY reply {v:?}"))),
        }
    }

    fn swap(cas: atomics::Cas, value: Vec<u8>) -> Result<(), CasError> {
        let cas: Cas = cas.into_inner();
        let (present, seen): (&[u8], &[u8]) = match &cas.seen {
            Some(v) => (b"1", v),
            None => (b"0", b""),
        };
        let reply = crate::blocking::call(&[
            b"EVAL",
            crate::blocking::SWAP_SCRIPT.as_bytes(),
            b"1",
            &cas.key,
            present,
            seen,
            &value,
        ])
        .map_err(|e| CasError::StoreError(werr(e)))?;
        match reply {
            Value::Int(1) => Ok(()),
            Value::Int(_) => {
                // Changed meanwhile: a handle on what is there now, for a retry.
                let fresh = Cas::begin(cas.key).map_err(CasError::StoreError)?;
                Err(CasError::CasFailed(atomics::Cas::new(fresh)))
            }
            v => Err(CasError::StoreError(werr(format!("unexpected EVAL reply {v:?}")))),
        }
    }
}
