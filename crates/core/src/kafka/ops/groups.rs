//! Consumer groups, classic and KIP-848: ListGroups (16) on every broker, FindCoordinator (10,
//! KIP-699 batched keys), DescribeGroups (15) for classic groups, ConsumerGroupDescribe (69) for
//! KIP-848 groups, OffsetFetch (9, KIP-709 groups form) for committed offsets.

use std::collections::{BTreeMap, HashMap};

use bytes::{Buf, Bytes};
use futures::future::join_all;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerProtocolAssignment, DescribeGroupsRequest, FindCoordinatorRequest, GroupId,
    ListGroupsRequest, OffsetFetchRequest, offset_fetch_request::OffsetFetchRequestGroup,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::error::{Error, Result};
use crate::kafka::ops::metadata;
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedGroup {
    pub id: String,
    pub protocol_type: String,
    /// "classic", "consumer", "share", "streams"
    pub group_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// (topic, partition), sorted.
    pub assignment: Vec<(String, i32)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    /// The v3 API's state name: STABLE, EMPTY, PREPARING_REBALANCE, ASSIGNING, ...
    pub state: String,
    /// CLASSIC or CONSUMER
    pub group_type: String,
    pub protocol_type: String,
    pub assignor: String,
    pub coordinator: i32,
    pub members: Vec<Member>,
}

impl Group {
    /// A group that only commits offsets and never had members join (Confluent's "simple" group).
    pub fn is_simple(&self) -> bool {
        self.group_type == "CLASSIC" && self.protocol_type.is_empty()
    }
}

/// `PreparingRebalance` → `PREPARING_REBALANCE`.
pub fn state_name(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    if out.is_empty() { "UNKNOWN".into() } else { out }
}

fn group_error(group: &str, code: i16, message: Option<StrBytes>) -> Result<()> {
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(code) => Err(Error::Broker {
            code,
            message: Some(message.map(|m| m.to_string()).unwrap_or_else(|| format!("group '{group}'"))),
        }),
    }
}

/// Consumer groups (classic and KIP-848) across every broker, sorted by id.
pub async fn list<C: Connect, R: Runtime>(cluster: &Cluster<C, R>, deadline: Deadline) -> Result<Vec<ListedGroup>> {
    let meta = metadata::fetch(cluster, metadata::Topics::None, deadline).await?;
    let request = ListGroupsRequest::default();
    let calls = meta.brokers.iter().map(|b| cluster.call(Target::Broker(b.id), &request, deadline));
    let mut out = BTreeMap::new();
    for response in join_all(calls).await {
        let response = response?;
        group_error("*", response.error_code, None)?;
        for g in response.groups {
            let group_type = if g.group_type.is_empty() { "classic".to_owned() } else { g.group_type.to_lowercase() };
            // Share and streams groups are not consumer groups.
            if group_type != "classic" && group_type != "consumer" {
                continue;
            }
            if group_type == "classic" && !g.protocol_type.is_empty() && g.protocol_type.as_str() != "consumer" {
                continue; // e.g. Connect workers
            }
            let id = g.group_id.0.to_string();
            out.insert(id.clone(), ListedGroup { id, protocol_type: g.protocol_type.to_string(), group_type });
        }
    }
    Ok(out.into_values().collect())
}

/// The coordinator broker of each group (one FindCoordinator for all of them). Retriable
/// answers (the offsets topic still being created or loaded) are retried within the deadline.
pub async fn coordinators<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    groups: &[String],
    deadline: Deadline,
) -> Result<HashMap<String, i32>> {
    let rt = cluster.runtime();
    let mut attempt = 0u64;
    loop {
        match coordinators_once(cluster, groups, deadline).await {
            Err(e) if e.is_retriable() && deadline.remaining_ms(rt) > 100 && attempt < 30 => {
                attempt += 1;
                rt.sleep((50 * attempt).min(500)).await;
            }
            other => return other,
        }
    }
}

async fn coordinators_once<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    groups: &[String],
    deadline: Deadline,
) -> Result<HashMap<String, i32>> {
    let mut out = HashMap::new();
    if groups.is_empty() {
        return Ok(out);
    }
    // v4+ (KIP-699) asks for many keys at once; older brokers take one key per request.
    let version = cluster.negotiated_version::<FindCoordinatorRequest>(Target::Any, deadline).await?;
    if version < 4 {
        for g in groups {
            let request = FindCoordinatorRequest::default().with_key(StrBytes::from_string(g.clone()));
            let response = cluster.call(Target::Any, &request, deadline).await?;
            group_error(g, response.error_code, response.error_message)?;
            out.insert(g.clone(), response.node_id.0);
        }
        return Ok(out);
    }
    let request = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(groups.iter().map(|g| StrBytes::from_string(g.clone())).collect());
    let response = cluster.call(Target::Any, &request, deadline).await?;
    for c in response.coordinators {
        group_error(&c.key, c.error_code, c.error_message)?;
        out.insert(c.key.to_string(), c.node_id.0);
    }
    Ok(out)
}

fn decode_assignment(bytes: &Bytes) -> Vec<(String, i32)> {
    let mut buf = bytes.clone();
    if buf.remaining() < 2 {
        return vec![];
    }
    let version = buf.get_i16().clamp(0, 3);
    let mut out: Vec<(String, i32)> = match ConsumerProtocolAssignment::decode(&mut buf, version) {
        Ok(a) => a
            .assigned_partitions
            .into_iter()
            .flat_map(|tp| {
                let t = tp.topic.0.to_string();
                tp.partitions.into_iter().map(move |p| (t.clone(), p))
            })
            .collect(),
        Err(_) => vec![],
    };
    out.sort();
    out
}

/// Describes groups (each at its coordinator): KIP-848 groups with ConsumerGroupDescribe, classic
/// ones with DescribeGroups. A group that does not exist comes back as None.
pub async fn describe<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    group_ids: &[String],
    deadline: Deadline,
) -> Result<Vec<Option<Group>>> {
    let coords = coordinators(cluster, group_ids, deadline).await?;
    let calls = group_ids.iter().map(|g| {
        let coordinator = coords.get(g).copied().unwrap_or(-1);
        describe_one(cluster, g, coordinator, deadline)
    });
    join_all(calls).await.into_iter().collect()
}

async fn describe_one<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    group: &str,
    coordinator: i32,
    deadline: Deadline,
) -> Result<Option<Group>> {
    let target = Target::Broker(coordinator);
    let gid = GroupId(StrBytes::from_string(group.to_owned()));
    // KIP-848 first: a classic group answers GROUP_ID_NOT_FOUND here.
    let modern = cluster
        .call(target, &ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid.clone()]), deadline)
        .await;
    if let Ok(r) = &modern
        && let Some(g) = r.groups.first()
        && g.error_code == 0
    {
        let members = g
            .members
            .iter()
            .map(|m| {
                let mut assignment: Vec<(String, i32)> = m
                    .assignment
                    .topic_partitions
                    .iter()
                    .flat_map(|tp| tp.partitions.iter().map(move |p| (tp.topic_name.0.to_string(), *p)))
                    .collect();
                assignment.sort();
                Member {
                    member_id: m.member_id.to_string(),
                    instance_id: m.instance_id.as_ref().map(|i| i.to_string()),
                    client_id: m.client_id.to_string(),
                    client_host: m.client_host.to_string(),
                    assignment,
                }
            })
            .collect();
        return Ok(Some(Group {
            id: group.to_owned(),
            state: state_name(&g.group_state),
            group_type: "CONSUMER".into(),
            protocol_type: "consumer".into(),
            assignor: g.assignor_name.to_string(),
            coordinator,
            members,
        }));
    }
    let response = cluster.call(target, &DescribeGroupsRequest::default().with_groups(vec![gid]), deadline).await?;
    let Some(g) = response.groups.into_iter().next() else { return Ok(None) };
    if ResponseError::try_from_code(g.error_code) == Some(ResponseError::GroupIdNotFound) {
        return Ok(None);
    }
    group_error(group, g.error_code, g.error_message)?;
    // Classic groups that do not exist are reported as Dead with no members.
    if g.group_state.as_str() == "Dead" && g.members.is_empty() {
        return Ok(None);
    }
    let is_consumer = g.protocol_type.as_str() == "consumer";
    let members = g
        .members
        .iter()
        .map(|m| Member {
            member_id: m.member_id.to_string(),
            instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
            client_id: m.client_id.to_string(),
            client_host: m.client_host.to_string(),
            assignment: if is_consumer { decode_assignment(&m.member_assignment) } else { vec![] },
        })
        .collect();
    Ok(Some(Group {
        id: group.to_owned(),
        state: state_name(&g.group_state),
        group_type: "CLASSIC".into(),
        protocol_type: g.protocol_type.to_string(),
        assignor: g.protocol_data.to_string(),
        coordinator,
        members,
    }))
}

/// Committed offsets of a group: (topic, partition) → offset, for partitions with a commit.
pub async fn committed<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    group: &str,
    coordinator: i32,
    deadline: Deadline,
) -> Result<BTreeMap<(String, i32), i64>> {
    let all = committed_with_metadata(cluster, group, coordinator, deadline).await?;
    Ok(all.into_iter().map(|(k, (offset, _))| (k, offset)).collect())
}

/// Committed offsets with the metadata stored alongside each.
pub async fn committed_with_metadata<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    group: &str,
    coordinator: i32,
    deadline: Deadline,
) -> Result<BTreeMap<(String, i32), (i64, String)>> {
    let gid = GroupId(StrBytes::from_string(group.to_owned()));
    // v8+ (KIP-709) names groups in a list; older versions take one group id.
    let version = cluster.negotiated_version::<OffsetFetchRequest>(Target::Broker(coordinator), deadline).await?;
    let request = if version >= 8 {
        OffsetFetchRequest::default()
            .with_groups(vec![OffsetFetchRequestGroup::default().with_group_id(gid).with_topics(None)])
    } else {
        OffsetFetchRequest::default().with_group_id(gid).with_topics(None)
    };
    let response = cluster.call(Target::Broker(coordinator), &request, deadline).await?;
    let mut out = BTreeMap::new();
    if response.groups.is_empty() {
        group_error(group, response.error_code, None)?;
        for t in response.topics {
            for p in t.partitions {
                if p.error_code == 0 && p.committed_offset >= 0 {
                    let metadata = p.metadata.map(|m| m.to_string()).unwrap_or_default();
                    out.insert((t.name.0.to_string(), p.partition_index), (p.committed_offset, metadata));
                }
            }
        }
    }
    for g in response.groups {
        group_error(group, g.error_code, None)?;
        for t in g.topics {
            for p in t.partitions {
                if p.error_code == 0 && p.committed_offset >= 0 {
                    let metadata = p.metadata.map(|m| m.to_string()).unwrap_or_default();
                    out.insert((t.name.0.to_string(), p.partition_index), (p.committed_offset, metadata));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names() {
        assert_eq!(state_name("PreparingRebalance"), "PREPARING_REBALANCE");
        assert_eq!(state_name("Stable"), "STABLE");
        assert_eq!(state_name(""), "UNKNOWN");
    }

    #[test]
    fn classic_assignments_decode() {
        use kafka_protocol::messages::TopicName;
        use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
        use kafka_protocol::protocol::Encodable;
        let a = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
            TopicPartition::default().with_topic(TopicName(StrBytes::from_static_str("t"))).with_partitions(vec![2, 0]),
        ]);
        let mut buf = bytes::BytesMut::new();
        bytes::BufMut::put_i16(&mut buf, 1);
        a.encode(&mut buf, 1).expect("encodes");
        assert_eq!(decode_assignment(&buf.freeze()), vec![("t".to_string(), 0), ("t".to_string(), 2)]);
        assert_eq!(decode_assignment(&Bytes::from_static(b"\x00")), vec![]);
        assert_eq!(decode_assignment(&Bytes::from_static(b"\x00\x01\xff\xff\xff")), vec![]);
    }
}
