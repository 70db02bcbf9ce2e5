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
    #[serde(default)]
    pub subscription: Option<Subscription>,
    /// Partitions assigned by hand (`POST …/assignments`); exclusive with a subscription.
    #[serde(default)]
    pub assignment: Vec<TopicPartition>,
    /// Group membership (KIP-848), renewed by this consumer's own requests.
    #[serde(default)]
    pub member: Option<Membership>,
    /// Next offset to read, per partition.
    #[serde(default)]
    pub positions: Vec<Position>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    Topics(Vec<String>),
    Pattern(String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Membership {
    pub member_id: String,
    pub epoch: i32,
    /// The assignment the broker gave, reconciled at once (nothing is in flight between requests).
    pub assigned: Vec<TopicPartition>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl ConsumerInstance {
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.positions.iter().find(|p| p.topic == topic && p.partition == partition).map(|p| p.offset)
    }

    pub fn set_position(&mut self, topic: &str, partition: i32, offset: i64) {
        match self.positions.iter_mut().find(|p| p.topic == topic && p.partition == partition) {
            Some(p) => p.offset = offset,
            None => self.positions.push(Position { topic: topic.to_owned(), partition, offset }),
        }
    }

    /// The partitions this consumer reads: its manual assignment or what the group gave it.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        if self.subscription.is_some() {
            self.member.as_ref().map(|m| m.assigned.clone()).unwrap_or_default()
        } else {
            self.assignment.clone()
        }
    }
}

/// Why a consumer record could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error("the consumer instance was changed by another request meanwhile")]
    Conflict,
    #[error("the consumer instance was deleted meanwhile")]
    Gone,
}

pub async fn load_consumer<K: KvStore>(kv: &K, group: &str, name: &str) -> Result<Option<ConsumerInstance>, KvError> {
    match kv.get(&consumer_key(group, name)).await? {
        None => Ok(None),
        Some(bytes) => {
            serde_json::from_slice(&bytes).map(Some).map_err(|e| KvError(format!("corrupt consumer record: {e}")))
        }
    }
}

/// Writes `rec` if nobody wrote it since it was read at `rec.version` (check, then write: the
/// window between the two is as small as `spin:key-value@3.0.0`, which has no compare-and-set,
/// allows), bumping the version.
pub async fn save_consumer<K: KvStore>(kv: &K, rec: &mut ConsumerInstance) -> Result<(), SaveError> {
    let key = consumer_key(&rec.group, &rec.name);
    match load_consumer(kv, &rec.group, &rec.name).await? {
        None => return Err(SaveError::Gone),
        Some(current) if current.version != rec.version => return Err(SaveError::Conflict),
        Some(_) => {}
    }
    rec.version += 1;
    let bytes = serde_json::to_vec(rec).map_err(|e| KvError(e.to_string()))?;
    kv.set(&key, &bytes).await?;
    Ok(())
}
