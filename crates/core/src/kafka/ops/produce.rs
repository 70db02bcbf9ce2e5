//! Producing: Produce (key 0, record batch v2), one request per partition leader per attempt, all
//! leaders written concurrently before any answer is awaited. Retriable failures
//! (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, NOT_ENOUGH_REPLICAS, timeouts, lost connections)
//! refresh metadata and retry within the request's deadline; what still fails is reported per record.
//!
//! Delivery is at-least-once: a retry after a lost connection may duplicate records the broker had
//! already written (idempotence would need producer state across requests; see docs/api.md, "Produce").

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::future::join_all;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record};

use crate::kafka::client::Client;
use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::compression::{encode_batch, plain_record};
use crate::kafka::error::{Error, Result};
use crate::kafka::ops::metadata::Topic;
use crate::kafka::partitioner::partition_for_key;
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

/// One record to write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutRecord {
    pub partition: Option<i32>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    /// CreateTime in ms; None: now.
    pub timestamp: Option<i64>,
}

/// Where a record landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub partition: i32,
    pub offset: i64,
    /// CreateTime, or the broker's LogAppendTime when the topic uses it.
    pub timestamp: i64,
}

#[derive(Clone, Copy, Debug)]
pub struct ProduceOptions {
    /// -1 (all in-sync replicas), 0 or 1.
    pub acks: i16,
    pub compression: Compression,
    /// Upper bound for one partition's batch before compression (the broker refuses batches over
    /// `message.max.bytes`, 1 MiB by default, and takes one batch per partition per request).
    pub max_batch_bytes: usize,
}

/// Bytes a record adds to a batch, before compression (a slight overestimate).
fn record_size(r: &OutRecord) -> usize {
    let data = r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len);
    let headers: usize = r.headers.iter().map(|(k, v)| k.len() + v.as_ref().map_or(0, Bytes::len) + 10).sum();
    data + headers + 24
}

/// Writes `records` to `topic`. The outer error is a whole-request failure (unknown topic, no
/// broker reachable before any record was tried); inner results are per record, in input order.
pub async fn produce<C: Connect, R: Runtime>(
    client: &Client<C, R>,
    topic_name: &str,
    records: Vec<OutRecord>,
    options: ProduceOptions,
    deadline: Deadline,
) -> Result<Vec<Result<Delivery>>> {
    let cluster = client.cluster();
    let rt = cluster.runtime();
    let mut topic = client.topic(topic_name, deadline).await?;
    let count = topic.partitions.len() as i32;
    let now = rt.wall_ms();

    // Partition per record, decided once: a retry never moves a record to another partition.
    let mut results: Vec<Option<Result<Delivery>>> = Vec::with_capacity(records.len());
    let mut assigned: Vec<i32> = Vec::with_capacity(records.len());
    for r in &records {
        let p = match (r.partition, &r.key) {
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, count),
            (None, None) => client.spread().next(count),
        };
        assigned.push(p);
        results.push((!(0..count).contains(&p)).then(|| {
            Err(Error::Partition {
                topic: topic_name.to_owned(),
                partition: p,
                code: ResponseError::UnknownTopicOrPartition,
                message: None,
            })
        }));
    }

    let mut retries = 0;
    loop {
        // Pending records by partition, in input order, as many as fit in one batch: the rest go
        // in the next round, after these are written (order within a partition is kept).
        let mut by_partition: BTreeMap<i32, (Vec<usize>, usize)> = BTreeMap::new();
        for (i, r) in results.iter().enumerate() {
            if r.is_none() {
                let (indices, bytes) = by_partition.entry(assigned[i]).or_default();
                let size = record_size(&records[i]);
                if indices.is_empty() || *bytes + size <= options.max_batch_bytes {
                    indices.push(i);
                    *bytes += size;
                }
            }
        }
        if by_partition.is_empty() {
            break;
        }
        let by_partition: BTreeMap<i32, Vec<usize>> = by_partition.into_iter().map(|(p, (v, _))| (p, v)).collect();
        let outcome = write_once(cluster, &topic, &records, &by_partition, now, options, deadline).await;
        let mut retry = false;
        for (partition, result) in outcome {
            let indices = &by_partition[&partition];
            match result {
                Ok((base, append_time)) => {
                    for (n, &i) in indices.iter().enumerate() {
                        let timestamp =
                            if append_time >= 0 { append_time } else { records[i].timestamp.unwrap_or(now) };
                        results[i] = Some(Ok(Delivery { partition, offset: base + n as i64, timestamp }));
                    }
                }
                // Retried until the deadline, as the Java producer does until delivery.timeout.ms: a
                // leader on a dead broker stays in the metadata until the controller moves it, which
                // takes longer than a few quick retries when the controller itself failed (make
                // chaos: 5 retries gave up after ~1 s with "cannot connect to broker").
                Err(e) if e.is_retriable() && deadline.remaining_ms(rt) > 0 => retry = true,
                Err(e) => {
                    for &i in indices {
                        results[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        if !retry {
            continue;
        }
        retries += 1;
        // Fresh metadata before the next attempt; short, growing pauses for elections to finish.
        client.forget_topic(topic_name);
        let pause = (25u64 << retries.min(4)).min(deadline.remaining_ms(rt));
        rt.sleep(pause).await;
        match client.topic(topic_name, deadline).await {
            Ok(t) => topic = t,
            Err(e) if e.is_retriable() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Timeout { what: "produce".into(), ms: deadline.budget_ms() })))
        .collect())
}

/// One attempt: a Produce request per leader, all concurrently; the result per partition is the
/// base offset and LogAppendTime (-1 when CreateTime), or the error.
async fn write_once<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topic: &Topic,
    records: &[OutRecord],
    by_partition: &BTreeMap<i32, Vec<usize>>,
    now: i64,
    options: ProduceOptions,
    deadline: Deadline,
) -> Vec<(i32, Result<(i64, i64)>)> {
    let mut out = Vec::new();
    let mut by_leader: BTreeMap<i32, Vec<(i32, Bytes)>> = BTreeMap::new();
    for (&partition, indices) in by_partition {
        let leader = topic.partition(partition).map_or(-1, |p| p.leader);
        if leader < 0 {
            out.push((partition, Err(partition_error(topic, partition, ResponseError::LeaderNotAvailable, None))));
            continue;
        }
        let batch: Vec<Record> =
            indices.iter().enumerate().map(|(n, &i)| to_record(&records[i], n as i64, now)).collect();
        match encode_batch(&batch, options.compression) {
            Ok(bytes) => by_leader.entry(leader).or_default().push((partition, bytes)),
            Err(reason) => out.push((partition, Err(Error::Protocol { broker: format!("leader {leader}"), reason }))),
        }
    }
    let timeout_ms = i32::try_from(deadline.remaining_ms(cluster.runtime())).unwrap_or(i32::MAX);
    let calls = by_leader.into_iter().map(|(leader, batches)| {
        let partitions: Vec<i32> = batches.iter().map(|(p, _)| *p).collect();
        let request =
            ProduceRequest::default().with_acks(options.acks).with_timeout_ms(timeout_ms).with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(topic.name.clone())))
                    .with_topic_id(topic.id)
                    .with_partition_data(
                        batches
                            .into_iter()
                            .map(|(p, b)| PartitionProduceData::default().with_index(p).with_records(Some(b)))
                            .collect(),
                    ),
            ]);
        async move { (partitions, cluster.call(Target::Broker(leader), &request, deadline).await) }
    });
    for (partitions, response) in join_all(calls).await {
        match response {
            Ok(response) => {
                let mut answered: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
                let mut failed: BTreeMap<i32, Error> = BTreeMap::new();
                for t in response.responses {
                    for p in t.partition_responses {
                        match ResponseError::try_from_code(p.error_code) {
                            None => {
                                answered.insert(p.index, (p.base_offset, p.log_append_time_ms));
                            }
                            Some(code) => {
                                let msg = p.error_message.map(|m| m.to_string());
                                failed.insert(p.index, partition_error(topic, p.index, code, msg));
                            }
                        }
                    }
                }
                for p in partitions {
                    let result = match (answered.remove(&p), failed.remove(&p)) {
                        (Some(ok), _) => Ok(ok),
                        (None, Some(e)) => Err(e),
                        (None, None) if options.acks == 0 => Ok((-1, -1)),
                        (None, None) => Err(Error::Protocol {
                            broker: "leader".into(),
                            reason: format!("no answer for partition {p} of '{}'", topic.name),
                        }),
                    };
                    out.push((p, result));
                }
            }
            Err(e) => {
                for p in partitions {
                    out.push((p, Err(e.clone())));
                }
            }
        }
    }
    out
}

fn partition_error(topic: &Topic, partition: i32, code: ResponseError, message: Option<String>) -> Error {
    Error::Partition { topic: topic.name.clone(), partition, code, message }
}

fn to_record(r: &OutRecord, offset: i64, now: i64) -> Record {
    plain_record(
        offset,
        r.timestamp.unwrap_or(now),
        r.key.clone(),
        r.value.clone(),
        r.headers.iter().map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone())).collect(),
    )
}
