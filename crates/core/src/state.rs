//! State that must outlive an instance lives in a key-value store supplied by the host
//! (Spin's `spin:key-value`; under wasmtime, the project's Redis-backed shim exporting the same
//! interface). Instance memory is only ever a cache.

use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
#[error("key-value store: {0}")]
pub struct KvError(pub String);

pub trait KvStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;
    async fn delete(&self, key: &str) -> Result<(), KvError>;
}

/// An in-memory store for unit tests.
#[derive(Default)]
pub struct MemoryKv(RefCell<BTreeMap<String, Vec<u8>>>);

impl KvStore for MemoryKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.0.borrow().get(key).cloned())
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.0.borrow_mut().insert(key.to_owned(), value.to_vec());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.0.borrow_mut().remove(key);
        Ok(())
    }
}

/// Key of a v2 consumer instance's record.
pub fn consumer_key(group: &str, instance: &str) -> String {
    // Length-prefixing the group keeps ("a/b", "c") and ("a", "b/c") apart.
    format!("consumer/{}/{group}/{instance}", group.len())
}

/// A v2 consumer instance, as stored between requests (any proxy instance can serve it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsumerInstance {
    pub group: String,
    pub name: String,
    /// binary, json, avro, jsonschema, protobuf
    pub format: String,
    /// earliest, latest, none
    pub auto_offset_reset: String,
    pub auto_commit_enable: bool,
    pub fetch_min_bytes: Option<i32>,
    pub request_timeout_ms: Option<u64>,
    pub created_ms: i64,
    pub last_used_ms: i64,
    /// Incremented on every write; the basis for detecting racing writers.
    pub version: u64,
}
