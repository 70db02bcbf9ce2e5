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

    /// Writes `value` only if `current(what is stored now)` holds (`None`: nothing stored), as
    /// one atomic compare-and-swap where the store has one. `Refused` carries what is stored.
    /// The default is check-then-write: a racing writer can slip in between the two.
    async fn set_if(&self, key: &str, value: &[u8], current: &dyn Fn(Option<&[u8]>) -> bool) -> Result<SetIf, KvError> {
        let stored = self.get(key).await?;
        if !current(stored.as_deref()) {
            return Ok(SetIf::Refused(stored));
        }
        self.set(key, value).await?;
        Ok(SetIf::Written)
    }
}

/// The outcome of [`KvStore::set_if`].
#[derive(Debug, PartialEq, Eq)]
pub enum SetIf {
    Written,
    /// The condition did not hold; what the key holds (`None`: nothing).
    Refused(Option<Vec<u8>>),
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
    /// When auto-commit last committed (wall-clock ms).
    #[serde(default)]
    pub last_commit_ms: i64,
    /// Random per write: no two writes store the same bytes, so a host that reports a swap as
    /// failed although it stored it can be checked against the bytes (src/host/kv.rs).
    #[serde(default)]
    pub write_id: u64,
    /// The Kafka principal that created it (passthrough: `User:alice`); only it may use it.
    #[serde(default)]
    pub owner: Option<String>,
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
    /// Wall-clock ms before which no heartbeat is needed (the broker's heartbeat interval).
    #[serde(default)]
    pub next_heartbeat_ms: i64,
    /// "consumer" (KIP-848; `epoch` is the member epoch) or "classic" (`epoch` is the generation;
    /// -1 while a join is pending).
    #[serde(default = "consumer_protocol")]
    pub protocol: String,
}

fn consumer_protocol() -> String {
    "consumer".into()
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

/// Which incarnation (creation time) and version a stored consumer record is, read without the
/// rest of it. The creation time tells a deleted and re-created instance of the same name, whose
/// versions start again at 1, from the one a request read.
fn stored_version(bytes: &[u8]) -> Option<(i64, u64)> {
    #[derive(serde::Deserialize)]
    struct Version {
        created_ms: i64,
        version: u64,
    }
    serde_json::from_slice::<Version>(bytes).ok().map(|v| (v.created_ms, v.version))
}

/// Writes `rec` if nobody wrote it since it was read at `rec.version` — one compare-and-swap on
/// stores that have it (Spin's wasi:keyvalue atomics, the Redis shim), so a request that lost a
/// race is refused rather than moving positions backwards — bumping the version.
pub async fn save_consumer<K: KvStore>(kv: &K, rec: &mut ConsumerInstance) -> Result<(), SaveError> {
    let key = consumer_key(&rec.group, &rec.name);
    let read_at = rec.version;
    rec.version += 1;
    let bytes = serde_json::to_vec(rec).map_err(|e| KvError(e.to_string()))?;
    let read = Some((rec.created_ms, read_at));
    match kv.set_if(&key, &bytes, &|stored| stored.and_then(stored_version) == read).await {
        Ok(SetIf::Written) => Ok(()),
        Ok(SetIf::Refused(stored)) => {
            rec.version = read_at;
            Err(if stored.is_none() { SaveError::Gone } else { SaveError::Conflict })
        }
        Err(e) => {
            rec.version = read_at;
            Err(e.into())
        }
    }
}

/// Stores a new consumer record unless one of that name exists (atomically where the store can).
pub async fn create_consumer<K: KvStore>(kv: &K, rec: &ConsumerInstance) -> Result<bool, KvError> {
    let bytes = serde_json::to_vec(rec).map_err(|e| KvError(e.to_string()))?;
    Ok(kv.set_if(&consumer_key(&rec.group, &rec.name), &bytes, &|stored| stored.is_none()).await? == SetIf::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance() -> ConsumerInstance {
        ConsumerInstance {
            group: "g".into(),
            name: "c".into(),
            format: "binary".into(),
            auto_offset_reset: "latest".into(),
            auto_commit_enable: true,
            fetch_min_bytes: None,
            request_timeout_ms: None,
            created_ms: 0,
            last_used_ms: 0,
            version: 1,
            subscription: None,
            assignment: vec![],
            member: None,
            positions: vec![],
            last_commit_ms: 0,
            write_id: 0,
            owner: None,
        }
    }

    #[test]
    fn racing_writers_are_detected_not_lost() {
        futures::executor::block_on(async {
            let kv = MemoryKv::default();
            let rec = instance();
            kv.set(&consumer_key("g", "c"), &serde_json::to_vec(&rec).expect("json")).await.expect("set");
            // Two requests read version 1; the first write wins, the second is refused.
            let (mut a, mut b) = (rec.clone(), rec.clone());
            a.set_position("t", 0, 10);
            b.set_position("t", 0, 5);
            save_consumer(&kv, &mut a).await.expect("first writer");
            assert!(matches!(save_consumer(&kv, &mut b).await, Err(SaveError::Conflict)));
            let stored = load_consumer(&kv, "g", "c").await.expect("load").expect("exists");
            assert_eq!((stored.version, stored.position("t", 0)), (2, Some(10)), "the position never went back");
            // A refused write leaves the caller's copy at the version it read.
            assert_eq!(b.version, 1);
            // A deleted instance is not resurrected by a late writer.
            kv.delete(&consumer_key("g", "c")).await.expect("delete");
            assert!(matches!(save_consumer(&kv, &mut a).await, Err(SaveError::Gone)));
            // An instance deleted and created again under the same name (versions restart) is
            // not overwritten by a request that read the old one.
            let mut again = rec.clone();
            again.created_ms += 1;
            kv.set(&consumer_key("g", "c"), &serde_json::to_vec(&again).expect("json")).await.expect("set");
            let mut stale = rec.clone();
            assert!(matches!(save_consumer(&kv, &mut stale).await, Err(SaveError::Conflict)));
            kv.delete(&consumer_key("g", "c")).await.expect("delete");
            // Create-if-absent: the first create of a name wins.
            assert!(create_consumer(&kv, &rec).await.expect("create"));
            assert!(!create_consumer(&kv, &rec).await.expect("second create"), "the name is taken");
        });
    }

    #[test]
    fn old_records_without_the_newer_fields_still_load() {
        let old = r#"{"group":"g","name":"c","format":"json","auto_offset_reset":"earliest","auto_commit_enable":false,
                      "fetch_min_bytes":null,"request_timeout_ms":null,"created_ms":1,"last_used_ms":1,"version":3}"#;
        let rec: ConsumerInstance = serde_json::from_str(old).expect("loads");
        assert!(rec.positions.is_empty() && rec.subscription.is_none());
        assert_eq!(consumer_key("a/b", "c"), "consumer/3/a/b/c");
        assert_ne!(consumer_key("a/b", "c"), consumer_key("a", "b/c"));
    }
}
