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
