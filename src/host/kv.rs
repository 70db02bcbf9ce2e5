//! `KvStore` on Spin's key-value store (`spin:key-value@3.0.0`), opened on first use, with
//! conditional writes through `wasi:keyvalue@0.2.0-draft2` atomics on the same store (Spin serves
//! both interfaces from one store; under wasmtime the Redis shim does).

use std::cell::RefCell;
use std::rc::Rc;

use kre_core::state::{KvError, KvStore, SetIf};
use spin_sdk::key_value::Store;

// The generated canonical-ABI glue is unsafe by nature; our own code in it is not.
#[allow(unsafe_code)]
mod bindings {
    spin_sdk::wit_bindgen::generate!({
        world: "kafka-rest-edge:worlds/kv-atomics",
        path: "wit",
        runtime_path: "spin_sdk::wit_bindgen::rt",
        generate_all,
    });
}

use bindings::wasi::keyvalue::{atomics, store as wkv};

pub struct SpinKv {
    label: String,
    store: RefCell<Option<Rc<Store>>>,
    bucket: RefCell<Option<Rc<wkv::Bucket>>>,
}

impl SpinKv {
    pub fn new(label: String) -> Self {
        SpinKv { label, store: RefCell::new(None), bucket: RefCell::new(None) }
    }

    async fn store(&self) -> Result<Rc<Store>, KvError> {
        if let Some(s) = self.store.borrow().clone() {
            return Ok(s);
        }
        let s =
            Rc::new(Store::open(&self.label).await.map_err(|e| KvError::store(format!("open '{}'", self.label), &e))?);
        *self.store.borrow_mut() = Some(s.clone());
        Ok(s)
    }

    fn bucket(&self) -> Result<Rc<wkv::Bucket>, KvError> {
        if let Some(b) = self.bucket.borrow().clone() {
            return Ok(b);
        }
        let b = Rc::new(wkv::open(&self.label).map_err(|e| KvError::store(format!("open '{}'", self.label), &e))?);
        *self.bucket.borrow_mut() = Some(b.clone());
        Ok(b)
    }
}

/// Spin's SQLite store answers "database is locked" while another instance writes: tried again.
async fn patiently<T>(op: impl AsyncFnMut() -> Result<T, KvError>) -> Result<T, KvError> {
    kre_core::state::patiently(&super::clock::WasiClock, op).await
}

impl KvStore for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let store = self.store().await?;
        patiently(async || store.get(key).await.map_err(|e| KvError::store(format!("get {key}"), &e))).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        let store = self.store().await?;
        patiently(async || store.set(key, value).await.map_err(|e| KvError::store(format!("set {key}"), &e))).await
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        let store = self.store().await?;
        patiently(async || store.delete(key).await.map_err(|e| KvError::store(format!("delete {key}"), &e))).await
    }

    /// One compare-and-swap: what `cas` saw is checked, and `swap` writes only if nothing changed
    /// since (these calls are synchronous: each blocks this instance for one round trip).
    /// Atomic on every store (Redis INCRBY; a transaction on Spin's SQLite store): what claims a
    /// name, where a compare-and-swap of an absent key is not safe (state::create_consumer).
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        let bucket = self.bucket()?;
        patiently(async || {
            atomics::increment(&bucket, key, delta).map_err(|e| KvError::store(format!("increment {key}"), &e))
        })
        .await
    }

    async fn set_if(&self, key: &str, value: &[u8], current: &dyn Fn(Option<&[u8]>) -> bool) -> Result<SetIf, KvError> {
        patiently(async || self.set_if_once(key, value, current).await).await
    }
}

impl SpinKv {
    async fn set_if_once(
        &self,
        key: &str,
        value: &[u8],
        current: &dyn Fn(Option<&[u8]>) -> bool,
    ) -> Result<SetIf, KvError> {
        let bucket = self.bucket()?;
        let cas = atomics::Cas::new(&bucket, key).map_err(|e| KvError::store(format!("cas {key}"), &e))?;
        let seen = cas.current().map_err(|e| KvError::store(format!("cas {key}"), &e))?;
        if !current(seen.as_deref()) {
            return Ok(SetIf::Refused(seen));
        }
        // The answer is not trusted (Spin's stores get it wrong both ways); the core reads the
        // record back and decides (state::save_consumer).
        match atomics::swap(cas, value) {
            Ok(()) => Ok(SetIf::Written),
            Err(atomics::CasError::CasFailed(now)) => {
                Ok(SetIf::Refused(now.current().map_err(|e| KvError::store(format!("cas {key}"), &e))?))
            }
            Err(atomics::CasError::StoreError(e)) => Err(KvError::store(format!("swap {key}"), &e)),
        }
    }
}
