//! Ongoing partition reassignments: ListPartitionReassignments (46, KIP-455).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    ListPartitionReassignmentsRequest, TopicName,
    list_partition_reassignments_request::ListPartitionReassignmentsTopics,
};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::error::{Error, Result};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reassignment {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// Reassignments in progress: all, or those of `topic` (and `partitions`).
pub async fn list<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topic: Option<(&str, &[i32])>,
    deadline: Deadline,
) -> Result<Vec<Reassignment>> {
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(i32::try_from(deadline.remaining_ms(cluster.runtime())).unwrap_or(i32::MAX))
        .with_topics(topic.map(|(name, parts)| {
            vec![
                ListPartitionReassignmentsTopics::default()
                    .with_name(TopicName(StrBytes::from_string(name.to_owned())))
                    .with_partition_indexes(parts.to_vec()),
            ]
        }));
    let response = cluster.call(Target::Any, &request, deadline).await?;
    if let Some(code) = ResponseError::try_from_code(response.error_code) {
        return Err(Error::Broker { code, message: response.error_message.map(|m| m.to_string()) });
    }
    let mut out = Vec::new();
    for t in response.topics {
        for p in t.partitions {
            out.push(Reassignment {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                replicas: p.replicas.iter().map(|b| b.0).collect(),
                adding: p.adding_replicas.iter().map(|b| b.0).collect(),
                removing: p.removing_replicas.iter().map(|b| b.0).collect(),
            });
        }
    }
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(out)
}
