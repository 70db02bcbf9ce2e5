//! What a stateless consumer needs from Kafka: group membership renewed by its own requests
//! (KIP-848 ConsumerGroupHeartbeat, key 68: the broker assigns partitions), Fetch (key 1, record
//! batches of any codec, read_committed with aborted transactions filtered out, KIP-98), and
//! OffsetCommit (key 8).

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::future::join_all;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    ConsumerGroupHeartbeatRequest, FetchRequest, GroupId, OffsetCommitRequest, TopicName,
    consumer_group_heartbeat_request::TopicPartitions as OwnedPartitions,
    fetch_request::{FetchPartition, FetchTopic},
    offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic},
};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::compression::decode_batches;
use crate::kafka::error::{Error, Result};
use crate::kafka::ops::metadata::{self, ClusterMetadata, Topic};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

/// The outcome of one heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub member_id: String,
    pub epoch: i32,
    /// The assignment when the broker sent one (None: unchanged).
    pub assignment: Option<Vec<(String, i32)>>,
    pub interval_ms: i32,
}

/// What to subscribe to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscribe<'a> {
    Topics(&'a [String]),
    Pattern(&'a str),
}

/// One ConsumerGroupHeartbeat at the group's coordinator. `epoch` 0 joins (with a fresh
/// `member_id`), -1 leaves; `owned` is the assignment the member reconciled.
pub async fn heartbeat<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    coordinator: i32,
    group: &str,
    member_id: &str,
    epoch: i32,
    subscribe: &Subscribe<'_>,
    owned: &[(String, i32)],
    topics: &[Topic],
    deadline: Deadline,
) -> Result<Heartbeat> {
    let mut request = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_member_id(StrBytes::from_string(member_id.to_owned()))
        .with_member_epoch(epoch)
        .with_rebalance_timeout_ms(30_000);
    if epoch >= 0 {
        // The full request every time: this member has no memory between HTTP requests.
        request = match subscribe {
            Subscribe::Topics(t) => request.with_subscribed_topic_names(Some(
                t.iter().map(|n| TopicName(StrBytes::from_string(n.clone()))).collect(),
            )),
            Subscribe::Pattern(p) => request.with_subscribed_topic_regex(Some(StrBytes::from_string((*p).to_owned()))),
        };
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in owned {
            by_topic.entry(t).or_default().push(*p);
        }
        request = request.with_topic_partitions(Some(
            by_topic
                .into_iter()
                .filter_map(|(t, ps)| {
                    Some(OwnedPartitions::default().with_topic_id(find(topics, t)?.id).with_partitions(ps))
                })
                .collect(),
        ));
    }
    let response = cluster.call(Target::Broker(coordinator), &request, deadline).await?;
    if let Some(code) = ResponseError::try_from_code(response.error_code) {
        return Err(Error::Broker { code, message: response.error_message.map(|m| m.to_string()) });
    }
    let names: HashMap<uuid::Uuid, &str> = topics.iter().map(|t| (t.id, t.name.as_str())).collect();
    let assignment = response.assignment.map(|a| {
        let mut v: Vec<(String, i32)> = a
            .topic_partitions
            .iter()
            .flat_map(|tp| {
                let name = names.get(&tp.topic_id).map(|n| (*n).to_owned());
                tp.partitions.iter().filter_map(move |p| Some((name.clone()?, *p)))
            })
            .collect();
        v.sort();
        v
    });
    Ok(Heartbeat {
        member_id: response.member_id.map(|m| m.to_string()).unwrap_or_else(|| member_id.to_owned()),
        epoch: response.member_epoch,
        assignment,
        interval_ms: response.heartbeat_interval_ms,
    })
}

/// Topics whose metadata a heartbeat's assignment may name (ids → names): every topic.
pub async fn all_topics<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    deadline: Deadline,
) -> Result<ClusterMetadata> {
    metadata::fetch(cluster, metadata::Topics::All, deadline).await
}

/// A record as a consumer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<bytes::Bytes>,
    pub value: Option<bytes::Bytes>,
    pub headers: Vec<(String, Option<bytes::Bytes>)>,
}

impl FetchedRecord {
    /// Key + value bytes: what a consumer's `max_bytes` counts.
    pub fn data_len(&self) -> usize {
        self.key.as_ref().map_or(0, |b| b.len()) + self.value.as_ref().map_or(0, |b| b.len())
    }
}

/// Per partition: the records from `position`, and an error if the partition could not be read.
pub struct FetchResult {
    pub records: Vec<FetchedRecord>,
    /// (topic, partition) → error (e.g. OFFSET_OUT_OF_RANGE) for partitions that failed.
    pub errors: Vec<((String, i32), Error)>,
}

/// Fetches from every partition's leader concurrently (one Fetch per leader), waiting up to
/// `max_wait_ms` for `min_bytes`; read_committed, control records and aborted data left out.
pub async fn fetch<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topics: &[Topic],
    positions: &[((String, i32), i64)],
    max_wait_ms: i32,
    min_bytes: i32,
    max_bytes: i32,
    deadline: Deadline,
) -> FetchResult {
    let mut by_leader: BTreeMap<i32, Vec<(&str, i32, i64)>> = BTreeMap::new();
    let mut errors = Vec::new();
    for ((t, p), offset) in positions {
        match find(topics, t).and_then(|topic| topic.partition(*p)) {
            Some(part) if part.leader >= 0 => by_leader.entry(part.leader).or_default().push((t, *p, *offset)),
            _ => errors.push((
                (t.clone(), *p),
                Error::Partition {
                    topic: t.clone(),
                    partition: *p,
                    code: ResponseError::LeaderNotAvailable,
                    message: None,
                },
            )),
        }
    }
    let per_partition = (max_bytes / positions.len().max(1) as i32).max(64 * 1024);
    let calls = by_leader.into_iter().map(|(leader, parts)| {
        let mut by_topic: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for (t, p, offset) in &parts {
            by_topic.entry(t).or_default().push(
                FetchPartition::default()
                    .with_partition(*p)
                    .with_fetch_offset(*offset)
                    .with_current_leader_epoch(-1)
                    .with_last_fetched_epoch(-1)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(per_partition),
            );
        }
        let request = FetchRequest::default()
            .with_replica_id((-1).into())
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(min_bytes)
            .with_max_bytes(max_bytes.max(1))
            .with_isolation_level(1)
            .with_session_epoch(-1)
            .with_topics(
                by_topic
                    .into_iter()
                    .filter_map(|(t, ps)| {
                        let id = find(topics, t)?.id;
                        Some(
                            FetchTopic::default()
                                .with_topic(TopicName(StrBytes::from_string(t.to_owned())))
                                .with_topic_id(id)
                                .with_partitions(ps),
                        )
                    })
                    .collect(),
            );
        let ids: HashMap<uuid::Uuid, String> = topics.iter().map(|t| (t.id, t.name.clone())).collect();
        async move { (parts, ids, cluster.call(Target::Broker(leader), &request, deadline).await) }
    });
    let mut records = Vec::new();
    for (parts, ids, response) in join_all(calls).await {
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                errors.extend(parts.iter().map(|(t, p, _)| (((*t).to_owned(), *p), e.clone())));
                continue;
            }
        };
        for t in response.responses {
            let name = if t.topic.0.is_empty() {
                ids.get(&t.topic_id).cloned().unwrap_or_default()
            } else {
                t.topic.0.to_string()
            };
            for p in t.partitions {
                let start = parts.iter().find(|(tn, pn, _)| *tn == name && *pn == p.partition_index).map_or(0, |x| x.2);
                if let Some(code) = ResponseError::try_from_code(p.error_code) {
                    let e = Error::Partition { topic: name.clone(), partition: p.partition_index, code, message: None };
                    errors.push(((name.clone(), p.partition_index), e));
                    continue;
                }
                let aborted: Vec<(i64, i64)> = p
                    .aborted_transactions
                    .unwrap_or_default()
                    .iter()
                    .map(|a| (a.producer_id.0, a.first_offset))
                    .collect();
                match decode_batches(p.records.unwrap_or_default()) {
                    Ok(sets) => records.extend(visible(&name, p.partition_index, start, sets, &aborted)),
                    Err(reason) => errors.push((
                        (name.clone(), p.partition_index),
                        Error::Protocol { broker: "leader".into(), reason: format!("undecodable batch: {reason}") },
                    )),
                }
            }
        }
    }
    FetchResult { records, errors }
}

/// The records a read_committed consumer sees: no control records, nothing from aborted
/// transactions, nothing before `start` (a batch may begin earlier than the position).
fn visible(
    topic: &str,
    partition: i32,
    start: i64,
    sets: Vec<kafka_protocol::records::RecordSet>,
    aborted: &[(i64, i64)],
) -> Vec<FetchedRecord> {
    let mut pending: Vec<(i64, i64)> = aborted.to_vec();
    pending.sort_by_key(|a| a.1);
    let mut active: HashSet<i64> = HashSet::new();
    let mut out = Vec::new();
    for set in sets {
        for r in set.records {
            // Transactions that were aborted start at their first offset ...
            while let Some(&(pid, first)) = pending.first() {
                if first <= r.offset {
                    active.insert(pid);
                    pending.remove(0);
                } else {
                    break;
                }
            }
            if r.control {
                // ... and end at their marker.
                active.remove(&r.producer_id);
                continue;
            }
            if r.transactional && active.contains(&r.producer_id) {
                continue;
            }
            if r.offset < start {
                continue;
            }
            out.push(FetchedRecord {
                topic: topic.to_owned(),
                partition,
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key,
                value: r.value,
                headers: r.headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            });
        }
    }
    out
}

/// Commits offsets for a group. Members of a KIP-848 group commit with their id and epoch;
/// consumers outside the group (manual assignment) with none.
pub async fn commit<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    coordinator: i32,
    group: &str,
    member: Option<(&str, i32)>,
    offsets: &[((String, i32), i64, Option<String>)],
    deadline: Deadline,
) -> Result<()> {
    let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for ((t, p), offset, meta) in offsets {
        by_topic.entry(t).or_default().push(
            OffsetCommitRequestPartition::default()
                .with_partition_index(*p)
                .with_committed_offset(*offset)
                .with_committed_leader_epoch(-1)
                .with_committed_metadata(meta.clone().map(StrBytes::from_string)),
        );
    }
    let (member_id, epoch) = member.unwrap_or(("", -1));
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_member_id(StrBytes::from_string(member_id.to_owned()))
        .with_generation_id_or_member_epoch(epoch)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    OffsetCommitRequestTopic::default()
                        .with_name(TopicName(StrBytes::from_string(t.to_owned())))
                        .with_partitions(ps)
                })
                .collect(),
        );
    let response = cluster.call(Target::Broker(coordinator), &request, deadline).await?;
    for t in response.topics {
        for p in t.partitions {
            if let Some(code) = ResponseError::try_from_code(p.error_code) {
                return Err(Error::Partition {
                    topic: t.name.0.to_string(),
                    partition: p.partition_index,
                    code,
                    message: None,
                });
            }
        }
    }
    Ok(())
}

fn find<'t>(topics: &'t [Topic], name: &str) -> Option<&'t Topic> {
    topics.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::{Compression, Record, RecordSet, TimestampType};

    fn rec(offset: i64, pid: i64, transactional: bool, control: bool) -> Record {
        Record {
            transactional,
            control,
            partition_leader_epoch: 0,
            producer_id: pid,
            producer_epoch: 0,
            timestamp_type: TimestampType::Creation,
            offset,
            sequence: 0,
            timestamp: 0,
            key: None,
            value: Some(bytes::Bytes::from(format!("v{offset}"))),
            headers: Default::default(),
            delete_horizon: false,
        }
    }

    #[test]
    fn aborted_and_control_records_are_invisible() {
        // pid 7 commits offsets 0-1 (marker 2); pid 9 aborts 3-4 (marker 5); plain record 6.
        let records = vec![
            rec(0, 7, true, false),
            rec(1, 7, true, false),
            rec(2, 7, true, true),
            rec(3, 9, true, false),
            rec(4, 9, true, false),
            rec(5, 9, true, true),
            rec(6, -1, false, false),
        ];
        let sets = vec![RecordSet { version: 2, compression: Compression::None, records }];
        let got: Vec<i64> = visible("t", 0, 1, sets, &[(9, 3)]).iter().map(|r| r.offset).collect();
        assert_eq!(got, vec![1, 6], "from position 1: committed 1, aborted 3-4 and markers dropped");
    }
}
