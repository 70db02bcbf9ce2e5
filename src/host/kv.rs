//! `KvStore` on Spin's key-value store (`spin:key-value@3.0.0`), opened on first use.

use std::cell::RefCell;
use std::rc::Rc;

use kre_core::state::{KvError, KvStore};
use spin_sdk::key_value::Store;

pub struct SpinKv {
    label: String,
    store: RefCell<Option<Rc<Store>>>,
}

impl SpinKv {
    pub fn new(label: String) -> Self {
        SpinKv { label, store: RefCell::new(None) }
    }

    async fn store(&self) -> Result<Rc<Store>, KvError> {
        if let Some(s) = self.store.borrow().clone() {
            return Ok(s);
        }
        let s = Rc::new(Store::open(&self.label).await.map_err(|e| KvError(format!("open '{}': {e:?}", self.label)))?);
        *self.store.borrow_mut() = Some(s.clone());
        Ok(s)
    }
}

impl KvStore for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.store().await?.get(key).await.map_err(|e| KvError(format!("get {key}: {e:?}")))
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.store().await?.set(key, value).await.map_err(|e| KvError(format!("set {key}: {e:?}")))
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.store().await?.delete(key).await.map_err(|e| KvError(format!("delete {key}: {e:?}")))
    }
}
