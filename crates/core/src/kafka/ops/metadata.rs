//! Cluster, broker, topic and partition metadata: Metadata (key 3) and DescribeCluster (key 60, KIP-700).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, MetadataRequest, MetadataResponse, TopicName,
    metadata_request::MetadataRequestTopic,
};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::cluster::{BrokerAddr, Cluster, Target};
use crate::kafka::error::{Error, Result};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub id: i32,
    /// -1 when the partition has no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error: Option<ResponseError>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic {
    pub name: String,
    /// KIP-516 topic id (Produce v13+ and Fetch v13+ address topics by id).
    pub id: uuid::Uuid,
    pub is_internal: bool,
    pub partitions: Vec<Partition>,
}

impl Topic {
    pub fn replication_factor(&self) -> usize {
        self.partitions.iter().map(|p| p.replicas.len()).max().unwrap_or(0)
    }

    pub fn partition(&self, id: i32) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.id == id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterMetadata {
    pub cluster_id: String,
    pub controller_id: i32,
    pub brokers: Vec<Broker>,
    /// Sorted by name.
    pub topics: Vec<Topic>,
}

impl ClusterMetadata {
    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.name == name)
    }
}

/// Which topics a metadata request asks about.
#[derive(Clone, Debug)]
pub enum Topics<'a> {
    All,
    None,
    Named(&'a [String]),
}

/// Fetches metadata from any broker and refreshes the cluster's broker routing table.
/// A named topic that does not exist is reported as `Error::Topic` with `UnknownTopicOrPartition`.
pub async fn fetch<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    topics: Topics<'_>,
    deadline: Deadline,
) -> Result<ClusterMetadata> {
    let request = MetadataRequest::default().with_allow_auto_topic_creation(false).with_topics(match topics {
        Topics::All => None,
        Topics::None => Some(vec![]),
        Topics::Named(names) => Some(
            names
                .iter()
                .map(|n| MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(n.clone())))))
                .collect(),
        ),
    });
    let response = cluster.call(Target::Any, &request, deadline).await?;
    let meta = from_response(response)?;
    cluster.learn_brokers(
        meta.brokers
            .iter()
            .filter_map(|b| Some(BrokerAddr { id: b.id, host: b.host.clone(), port: u16::try_from(b.port).ok()? }))
            .collect(),
    );
    Ok(meta)
}

/// Metadata for one topic; `UnknownTopicOrPartition` when it does not exist.
pub async fn topic<C: Connect, R: Runtime>(cluster: &Cluster<C, R>, name: &str, deadline: Deadline) -> Result<Topic> {
    let names = [name.to_owned()];
    let meta = fetch(cluster, Topics::Named(&names), deadline).await?;
    meta.topics.into_iter().find(|t| t.name == name).ok_or_else(|| Error::Topic {
        topic: name.to_owned(),
        code: ResponseError::UnknownTopicOrPartition,
        message: None,
    })
}

pub fn from_response(response: MetadataResponse) -> Result<ClusterMetadata> {
    let mut brokers: Vec<Broker> = response
        .brokers
        .into_iter()
        .map(|b| Broker {
            id: b.node_id.0,
            host: b.host.to_string(),
            port: b.port,
            rack: b.rack.map(|r| r.to_string()),
        })
        .collect();
    brokers.sort_by_key(|b| b.id);
    let mut topics = Vec::with_capacity(response.topics.len());
    for t in response.topics {
        let name = t.name.map(|n| n.0.to_string()).unwrap_or_default();
        if let Some(code) = ResponseError::try_from_code(t.error_code) {
            return Err(Error::Topic { topic: name, code, message: None });
        }
        let mut partitions: Vec<Partition> = t
            .partitions
            .into_iter()
            .map(|p| Partition {
                id: p.partition_index,
                leader: p.leader_id.0,
                replicas: ids(p.replica_nodes),
                isr: ids(p.isr_nodes),
                error: ResponseError::try_from_code(p.error_code),
            })
            .collect();
        partitions.sort_by_key(|p| p.id);
        topics.push(Topic { name, id: t.topic_id, is_internal: t.is_internal, partitions });
    }
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ClusterMetadata {
        cluster_id: response.cluster_id.map(|c| c.to_string()).unwrap_or_default(),
        controller_id: response.controller_id.0,
        brokers,
        topics,
    })
}

fn ids(v: Vec<BrokerId>) -> Vec<i32> {
    v.into_iter().map(|b| b.0).collect()
}

/// The cluster as DescribeCluster reports it (cluster id, controller, brokers with racks).
pub async fn describe_cluster<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    deadline: Deadline,
) -> Result<ClusterMetadata> {
    let response: DescribeClusterResponse =
        cluster.call(Target::Any, &DescribeClusterRequest::default(), deadline).await?;
    if let Some(code) = ResponseError::try_from_code(response.error_code) {
        return Err(Error::Broker { code, message: response.error_message.map(|m| m.to_string()) });
    }
    let mut brokers: Vec<Broker> = response
        .brokers
        .into_iter()
        .map(|b| Broker {
            id: b.broker_id.0,
            host: b.host.to_string(),
            port: b.port,
            rack: b.rack.map(|r| r.to_string()),
        })
        .collect();
    brokers.sort_by_key(|b| b.id);
    Ok(ClusterMetadata {
        cluster_id: response.cluster_id.to_string(),
        controller_id: response.controller_id.0,
        brokers,
        topics: vec![],
    })
}
