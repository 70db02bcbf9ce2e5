//! The classic group protocol (JoinGroup 11, SyncGroup 14, Heartbeat 12, LeaveGroup 13; the
//! consumer embedded protocol with the range assignor) for brokers without KIP-848. Each call is
//! one step; the v2 consumer drives them from its own requests, so no process stays resident.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, GroupId, HeartbeatRequest, JoinGroupRequest,
    LeaveGroupRequest, SyncGroupRequest, TopicName, consumer_protocol_assignment::TopicPartition as AssignedPartitions,
    join_group_request::JoinGroupRequestProtocol, leave_group_request::MemberIdentity,
    sync_group_request::SyncGroupRequestAssignment,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::error::{Error, Result};
use crate::kafka::ops::metadata::Topic;
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

const ASSIGNOR: &str = "range";

fn gid(group: &str) -> GroupId {
    GroupId(StrBytes::from_string(group.to_owned()))
}

fn check(code: i16) -> Result<()> {
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(code) => Err(Error::Broker { code, message: None }),
    }
}

/// A joined generation: who we are, and (for the leader) every member's subscription.
#[derive(Clone, Debug)]
pub struct Joined {
    pub member_id: String,
    pub generation: i32,
    /// Set when this member leads: (member id, subscribed topics).
    pub members: Option<Vec<(String, Vec<String>)>>,
}

fn subscription_bytes(topics: &[String]) -> Result<Bytes> {
    let sub = ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| StrBytes::from_string(t.clone())).collect());
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    sub.encode(&mut buf, 0).map_err(|e| Error::Protocol { broker: "coordinator".into(), reason: e.to_string() })?;
    Ok(buf.freeze())
}

fn subscribed_topics(metadata: &Bytes) -> Vec<String> {
    let mut buf = metadata.clone();
    if buf.len() < 2 {
        return vec![];
    }
    let version = i16::from_be_bytes([buf[0], buf[1]]).clamp(0, 3);
    bytes::Buf::advance(&mut buf, 2);
    ConsumerProtocolSubscription::decode(&mut buf, version)
        .map(|s| s.topics.iter().map(|t| t.to_string()).collect())
        .unwrap_or_default()
}

/// JoinGroup, answering MEMBER_ID_REQUIRED (KIP-394) by joining again with the id the broker
/// gave, which is written to `member_id` at once: a join that then outlives its deadline must be
/// sent again under that id, or every attempt would be one more new member (and one more
/// rebalance) in the group.
pub async fn join<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    coordinator: i32,
    group: &str,
    member_id: &mut String,
    topics: &[String],
    session_timeout_ms: i32,
    rebalance_timeout_ms: i32,
    deadline: Deadline,
) -> Result<Joined> {
    for _ in 0..2 {
        let request = JoinGroupRequest::default()
            .with_group_id(gid(group))
            .with_session_timeout_ms(session_timeout_ms)
            .with_rebalance_timeout_ms(rebalance_timeout_ms)
            .with_member_id(StrBytes::from_string(member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![
                JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str(ASSIGNOR))
                    .with_metadata(subscription_bytes(topics)?),
            ]);
        let response = cluster.call(Target::Broker(coordinator), &request, deadline).await?;
        if ResponseError::try_from_code(response.error_code) == Some(ResponseError::MemberIdRequired) {
            *member_id = response.member_id.to_string();
            continue;
        }
        check(response.error_code)?;
        let me = response.member_id.to_string();
        let members = (response.leader.as_str() == me).then(|| {
            response.members.iter().map(|m| (m.member_id.to_string(), subscribed_topics(&m.metadata))).collect()
        });
        return Ok(Joined { member_id: me, generation: response.generation_id, members });
    }
    Err(Error::Protocol { broker: "coordinator".into(), reason: "JoinGroup kept asking for a member id".into() })
}

/// The range assignor: per topic, members subscribed to it (sorted) get consecutive ranges.
pub fn range_assign(members: &[(String, Vec<String>)], topics_meta: &[Topic]) -> BTreeMap<String, Vec<(String, i32)>> {
    let mut out: BTreeMap<String, Vec<(String, i32)>> = members.iter().map(|(m, _)| (m.clone(), vec![])).collect();
    let mut topics: Vec<&String> = members.iter().flat_map(|(_, t)| t.iter()).collect();
    topics.sort();
    topics.dedup();
    for topic in topics {
        let Some(t) = topics_meta.iter().find(|t| &t.name == topic) else { continue };
        let mut subscribers: Vec<&String> =
            members.iter().filter(|(_, ts)| ts.contains(topic)).map(|(m, _)| m).collect();
        subscribers.sort();
        let (n, k) = (t.partitions.len(), subscribers.len());
        for (i, m) in subscribers.iter().enumerate() {
            let start = i * (n / k) + i.min(n % k);
            let len = n / k + usize::from(i < n % k);
            if let Some(list) = out.get_mut(*m) {
                list.extend(t.partitions[start..start + len].iter().map(|p| (topic.clone(), p.id)));
            }
        }
    }
    out
}

fn assignment_bytes(parts: &[(String, i32)]) -> Result<Bytes> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in parts {
        by_topic.entry(t).or_default().push(*p);
    }
    let a = ConsumerProtocolAssignment::default().with_assigned_partitions(
        by_topic
            .into_iter()
            .map(|(t, ps)| {
                AssignedPartitions::default()
                    .with_topic(TopicName(StrBytes::from_string(t.to_owned())))
                    .with_partitions(ps)
            })
            .collect(),
    );
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    a.encode(&mut buf, 0).map_err(|e| Error::Protocol { broker: "coordinator".into(), reason: e.to_string() })?;
    Ok(buf.freeze())
}

/// SyncGroup: the leader hands out `assignments`; everyone gets its own back.
pub async fn sync<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    coordinator: i32,
    group: &str,
    joined: &Joined,
    assignments: &BTreeMap<String, Vec<(String, i32)>>,
    deadline: Deadline,
) -> Result<Vec<(String, i32)>> {
    let mut request = SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(joined.generation)
        .with_member_id(StrBytes::from_string(joined.member_id.clone()));
    if cluster.negotiated_version::<SyncGroupRequest>(Target::Broker(coordinator), deadline).await? >= 5 {
        request = request
            .with_protocol_type(Some(StrBytes::from_static_str("consumer")))
            .with_protocol_name(Some(StrBytes::from_static_str(ASSIGNOR)));
    }
    let mut list = Vec::new();
    for (m, parts) in assignments {
        list.push(
            SyncGroupRequestAssignment::default()
                .with_member_id(StrBytes::from_string(m.clone()))
                .with_assignment(assignment_bytes(parts)?),
        );
    }
    let response = cluster.call(Target::Broker(coordinator), &request.with_assignments(list), deadline).await?;
    check(response.error_code)?;
    let mut buf = response.assignment.clone();
    if buf.len() < 2 {
        return Ok(vec![]);
    }
    let version = i16::from_be_bytes([buf[0], buf[1]]).clamp(0, 3);
    bytes::Buf::advance(&mut buf, 2);
    let a = ConsumerProtocolAssignment::decode(&mut buf, version)
        .map_err(|e| Error::Protocol { broker: "coordinator".into(), reason: e.to_string() })?;
    let mut out: Vec<(String, i32)> = a
        .assigned_partitions
        .iter()
        .flat_map(|tp| tp.partitions.iter().map(move |p| (tp.topic.0.to_string(), *p)))
        .collect();
    out.sort();
    Ok(out)
}

pub async fn heartbeat<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    coordinator: i32,
    group: &str,
    member_id: &str,
    generation: i32,
    deadline: Deadline,
) -> Result<()> {
    let request = HeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(StrBytes::from_string(member_id.to_owned()));
    check(cluster.call(Target::Broker(coordinator), &request, deadline).await?.error_code)
}

pub async fn leave<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    coordinator: i32,
    group: &str,
    member_id: &str,
    deadline: Deadline,
) -> Result<()> {
    let mut request = LeaveGroupRequest::default().with_group_id(gid(group));
    request = if cluster.negotiated_version::<LeaveGroupRequest>(Target::Broker(coordinator), deadline).await? >= 3 {
        request
            .with_members(vec![MemberIdentity::default().with_member_id(StrBytes::from_string(member_id.to_owned()))])
    } else {
        request.with_member_id(StrBytes::from_string(member_id.to_owned()))
    };
    check(cluster.call(Target::Broker(coordinator), &request, deadline).await?.error_code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::ops::metadata::Partition;

    #[test]
    fn range_assignment_splits_like_the_java_assignor() {
        let part = |id| Partition { id, leader: 1, replicas: vec![1], isr: vec![1], error: None };
        let meta = vec![Topic {
            name: "t".into(),
            id: uuid::Uuid::nil(),
            is_internal: false,
            partitions: (0..5).map(part).collect(),
        }];
        let members = vec![("b".to_string(), vec!["t".to_string()]), ("a".to_string(), vec!["t".to_string()])];
        let got = range_assign(&members, &meta);
        assert_eq!(got["a"], vec![("t".to_string(), 0), ("t".to_string(), 1), ("t".to_string(), 2)]);
        assert_eq!(got["b"], vec![("t".to_string(), 3), ("t".to_string(), 4)]);
        let bytes = subscription_bytes(&["x".into(), "y".into()]).expect("encodes");
        assert_eq!(subscribed_topics(&bytes), vec!["x", "y"]);
    }
}
