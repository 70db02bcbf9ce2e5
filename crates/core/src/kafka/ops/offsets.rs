//! Earliest / latest offsets of partitions: ListOffsets (key 2, KIP-79 timestamps -2/-1),
//! sent to each partition's leader, all leaders concurrently.

use std::collections::BTreeMap;

use futures::future::join_all;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    ListOffsetsRequest, TopicName,
    list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic},
};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::error::{Error, Result};
use crate::kafka::ops::metadata::Topic;
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

pub const EARLIEST: i64 = -2;
pub const LATEST: i64 = -1;

/// Offsets of `partitions` of `topic` at `timestamp` (EARLIEST, LATEST or a time in ms).
/// Retriable failures (a leader moving, a fresh topic's leadership settling) are retried with
/// fresh metadata within the deadline.
pub async fn list<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topic: &Topic,
    partitions: &[i32],
    timestamp: i64,
    deadline: Deadline,
) -> Result<BTreeMap<i32, i64>> {
    let rt = cluster.runtime();
    let mut current = None;
    let mut attempt = 0u32;
    loop {
        let t = current.as_ref().unwrap_or(topic);
        match list_once(cluster, t, partitions, timestamp, deadline).await {
            Err(e) if e.is_retriable() && attempt < 5 && deadline.remaining_ms(rt) > 0 => {
                rt.sleep((25u64 << attempt).min(deadline.remaining_ms(rt))).await;
                current = Some(super::metadata::topic(cluster, &topic.name, deadline).await?);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A partition's earliest and latest offsets (both ListOffsets at once).
pub async fn bounds<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topic: &Topic,
    partition: i32,
    deadline: Deadline,
) -> Result<(i64, i64)> {
    let ids = [partition];
    let (earliest, latest) =
        futures::join!(list(cluster, topic, &ids, EARLIEST, deadline), list(cluster, topic, &ids, LATEST, deadline));
    let missing = || Error::Partition {
        topic: topic.name.clone(),
        partition,
        code: ResponseError::UnknownTopicOrPartition,
        message: None,
    };
    Ok((*earliest?.get(&partition).ok_or_else(missing)?, *latest?.get(&partition).ok_or_else(missing)?))
}

async fn list_once<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topic: &Topic,
    partitions: &[i32],
    timestamp: i64,
    deadline: Deadline,
) -> Result<BTreeMap<i32, i64>> {
    let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for &p in partitions {
        let part = topic.partition(p).ok_or_else(|| Error::Partition {
            topic: topic.name.clone(),
            partition: p,
            code: ResponseError::UnknownTopicOrPartition,
            message: None,
        })?;
        if part.leader < 0 {
            return Err(Error::Partition {
                topic: topic.name.clone(),
                partition: p,
                code: ResponseError::LeaderNotAvailable,
                message: None,
            });
        }
        by_leader.entry(part.leader).or_default().push(p);
    }
    let calls = by_leader.into_iter().map(|(leader, parts)| {
        let request = ListOffsetsRequest::default().with_replica_id((-1).into()).with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.name.clone())))
                .with_partitions(
                    parts
                        .iter()
                        .map(|&p| ListOffsetsPartition::default().with_partition_index(p).with_timestamp(timestamp))
                        .collect(),
                ),
        ]);
        async move { cluster.call(Target::Broker(leader), &request, deadline).await }
    });
    let mut out = BTreeMap::new();
    for response in join_all(calls).await {
        for t in response?.topics {
            for p in t.partitions {
                if let Some(code) = ResponseError::try_from_code(p.error_code) {
                    return Err(Error::Partition {
                        topic: topic.name.clone(),
                        partition: p.partition_index,
                        code,
                        message: None,
                    });
                }
                out.insert(p.partition_index, p.offset);
            }
        }
    }
    Ok(out)
}
