//! Topic administration: CreateTopics (key 19, KIP-464 defaults), DeleteTopics (key 20),
//! CreatePartitions (key 37). KRaft brokers forward these to the active controller.

use kafka_protocol::messages::{
    BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, TopicName,
    create_partitions_request::CreatePartitionsTopic,
    create_topics_request::{CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig},
    delete_topics_request::DeleteTopicState,
};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::error::{Error, Result, check_topic};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

#[derive(Clone, Debug, Default)]
pub struct NewTopic {
    pub name: String,
    /// None: the broker's default (`num.partitions`).
    pub partitions: Option<i32>,
    /// None: the broker's default (`default.replication.factor`).
    pub replication_factor: Option<i16>,
    /// partition id → broker ids; when set, partitions and replication factor must be unset.
    pub assignments: Vec<(i32, Vec<i32>)>,
    pub configs: Vec<(String, Option<String>)>,
    pub validate_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedTopic {
    pub partitions: i32,
    pub replication_factor: i16,
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}

fn timeout_ms<R: Runtime>(rt: &R, deadline: Deadline) -> i32 {
    i32::try_from(deadline.remaining_ms(rt)).unwrap_or(i32::MAX)
}

pub async fn create<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topic: &NewTopic,
    deadline: Deadline,
) -> Result<CreatedTopic> {
    let creatable = CreatableTopic::default()
        .with_name(name(&topic.name))
        .with_num_partitions(topic.partitions.unwrap_or(-1))
        .with_replication_factor(topic.replication_factor.unwrap_or(-1))
        .with_assignments(
            topic
                .assignments
                .iter()
                .map(|(p, brokers)| {
                    CreatableReplicaAssignment::default()
                        .with_partition_index(*p)
                        .with_broker_ids(brokers.iter().map(|b| BrokerId(*b)).collect())
                })
                .collect(),
        )
        .with_configs(
            topic
                .configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_value(v.clone().map(StrBytes::from_string))
                })
                .collect(),
        );
    let request = CreateTopicsRequest::default()
        .with_topics(vec![creatable])
        .with_timeout_ms(timeout_ms(cluster.runtime(), deadline))
        .with_validate_only(topic.validate_only);
    let response = cluster.call(Target::Any, &request, deadline).await?;
    let result = response.topics.into_iter().next().ok_or_else(|| Error::Protocol {
        broker: "controller".into(),
        reason: "CreateTopics answered without a result".into(),
    })?;
    check_topic(&topic.name, result.error_code, result.error_message.as_deref())?;
    Ok(CreatedTopic { partitions: result.num_partitions, replication_factor: result.replication_factor })
}

pub async fn delete<C: Connect, R: Runtime>(cluster: &Cluster<C, R>, topic: &str, deadline: Deadline) -> Result<()> {
    let request = DeleteTopicsRequest::default()
        .with_topics(vec![DeleteTopicState::default().with_name(Some(name(topic)))])
        .with_topic_names(vec![name(topic)])
        .with_timeout_ms(timeout_ms(cluster.runtime(), deadline));
    let response = cluster.call(Target::Any, &request, deadline).await?;
    for r in response.responses {
        check_topic(topic, r.error_code, r.error_message.as_deref())?;
    }
    Ok(())
}

/// Raises the partition count of `topic` to `count`.
pub async fn create_partitions<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topic: &str,
    count: i32,
    validate_only: bool,
    deadline: Deadline,
) -> Result<()> {
    let request = CreatePartitionsRequest::default()
        .with_topics(vec![
            CreatePartitionsTopic::default()
                .with_name(name(topic))
                .with_count(count)
                // None: the controller places the new partitions (an empty list would mean "none given").
                .with_assignments(None),
        ])
        .with_timeout_ms(timeout_ms(cluster.runtime(), deadline))
        .with_validate_only(validate_only);
    let response = cluster.call(Target::Any, &request, deadline).await?;
    for r in response.results {
        check_topic(topic, r.error_code, r.error_message.as_deref())?;
    }
    Ok(())
}
