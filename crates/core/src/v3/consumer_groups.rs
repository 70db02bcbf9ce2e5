//! v3 consumer groups, classic and KIP-848: groups, their consumers and assignments, and lags
//! (committed offsets from OffsetFetch against log-end offsets from ListOffsets).

use http::StatusCode;
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Links, collection, resource};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::groups::{self, Group, Member};
use crate::kafka::ops::{metadata, offsets};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

fn group_view(links: &Links, g: &Group) -> Value {
    let base = format!("/consumer-groups/{}", g.id);
    resource(
        "KafkaConsumerGroup",
        links.url(&base),
        links.crn(&format!("/consumer-group={}", g.id)),
        json!({
            "cluster_id": links.cluster_id(),
            "consumer_group_id": g.id,
            "is_simple": g.is_simple(),
            "partition_assignor": g.assignor,
            "state": g.state,
            "type": g.group_type,
            "is_mixed_consumer_group": false,
            "coordinator": links.related(&format!("/brokers/{}", g.coordinator)),
            "consumers": links.related(&format!("{base}/consumers")),
            "lag_summary": links.related(&format!("{base}/lag-summary")),
        }),
    )
}

fn consumer_view(links: &Links, g: &Group, m: &Member) -> Value {
    let base = format!("/consumer-groups/{}/consumers/{}", g.id, m.member_id);
    resource(
        "KafkaConsumer",
        links.url(&base),
        links.crn(&format!("/consumer-group={}/consumer={}", g.id, m.member_id)),
        json!({
            "cluster_id": links.cluster_id(),
            "consumer_group_id": g.id,
            "consumer_id": m.member_id,
            "instance_id": m.instance_id,
            "client_id": m.client_id,
            "assignments": links.related(&format!("{base}/assignments")),
        }),
    )
}

fn assignment_view(links: &Links, g: &Group, m: &Member, topic: &str, partition: i32) -> Value {
    resource(
        "KafkaConsumerAssignment",
        links.url(&format!(
            "/consumer-groups/{}/consumers/{}/assignments/{topic}/partitions/{partition}",
            g.id, m.member_id
        )),
        links.crn(&format!(
            "/consumer-group={}/consumer={}/assignment={topic}/partition={partition}",
            g.id, m.member_id
        )),
        json!({
            "cluster_id": links.cluster_id(),
            "consumer_group_id": g.id,
            "consumer_id": m.member_id,
            "topic_name": topic,
            "partition_id": partition,
            "partition": links.related(&format!("/topics/{topic}/partitions/{partition}")),
            "lag": links.related(&format!("/consumer-groups/{}/lags/{topic}/partitions/{partition}", g.id)),
        }),
    )
}

async fn one_group<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<(String, Group)> {
    let cluster_id = ctx.check_cluster().await?;
    let id = ctx.param("group").to_owned();
    validate::protocol_string("the consumer group id", &id)?;
    let mut found = groups::describe(ctx.cluster(), std::slice::from_ref(&id), ctx.deadline).await?;
    let group =
        found.pop().flatten().ok_or_else(|| ApiError::not_found(format!("Consumer group '{id}' not found.")))?;
    Ok((cluster_id, group))
}

fn member<'a>(g: &'a Group, id: &str) -> ApiResult<&'a Member> {
    g.members
        .iter()
        .find(|m| m.member_id == id)
        .ok_or_else(|| ApiError::not_found(format!("Consumer '{id}' not found in consumer group '{}'.", g.id)))
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let cluster_id = ctx.check_cluster().await?;
    let ids: Vec<String> = groups::list(ctx.cluster(), ctx.deadline).await?.into_iter().map(|g| g.id).collect();
    let described = groups::describe(ctx.cluster(), &ids, ctx.deadline).await?;
    let links = Links::new(ctx, &cluster_id);
    let data = described.iter().flatten().map(|g| group_view(&links, g)).collect();
    Ok(ctx.json(StatusCode::OK, &collection("KafkaConsumerGroupList", links.url("/consumer-groups"), data)))
}

pub async fn get<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, g) = one_group(ctx).await?;
    Ok(ctx.json(StatusCode::OK, &group_view(&Links::new(ctx, &cluster_id), &g)))
}

pub async fn consumers<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, g) = one_group(ctx).await?;
    let links = Links::new(ctx, &cluster_id);
    let mut members: Vec<&Member> = g.members.iter().collect();
    members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    let data = members.iter().map(|m| consumer_view(&links, &g, m)).collect();
    Ok(ctx.json(
        StatusCode::OK,
        &collection("KafkaConsumerList", links.url(&format!("/consumer-groups/{}/consumers", g.id)), data),
    ))
}

pub async fn consumer<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, g) = one_group(ctx).await?;
    let m = member(&g, ctx.param("consumer"))?;
    Ok(ctx.json(StatusCode::OK, &consumer_view(&Links::new(ctx, &cluster_id), &g, m)))
}

pub async fn assignments<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, g) = one_group(ctx).await?;
    let m = member(&g, ctx.param("consumer"))?;
    let links = Links::new(ctx, &cluster_id);
    let data = m.assignment.iter().map(|(t, p)| assignment_view(&links, &g, m, t, *p)).collect();
    let self_url = links.url(&format!("/consumer-groups/{}/consumers/{}/assignments", g.id, m.member_id));
    Ok(ctx.json(StatusCode::OK, &collection("KafkaConsumerAssignmentList", self_url, data)))
}

pub async fn assignment<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, g) = one_group(ctx).await?;
    let m = member(&g, ctx.param("consumer"))?;
    let (topic, partition) = (ctx.param("topic"), ctx.param("partition"));
    let found = m.assignment.iter().find(|(t, p)| t == topic && p.to_string() == partition).ok_or_else(|| {
        ApiError::not_found(format!(
            "Partition {partition} of '{topic}' is not assigned to consumer '{}'.",
            m.member_id
        ))
    })?;
    Ok(ctx.json(StatusCode::OK, &assignment_view(&Links::new(ctx, &cluster_id), &g, m, &found.0, found.1)))
}

/// One partition's lag: who owns it, where the group is, where the log ends.
struct LagRow<'a> {
    topic: String,
    partition: i32,
    current: i64,
    end: i64,
    owner: Option<&'a Member>,
}

async fn lags_of<'g, C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
    g: &'g Group,
) -> ApiResult<Vec<LagRow<'g>>> {
    let committed = groups::committed(ctx.cluster(), &g.id, g.coordinator, ctx.deadline).await?;
    let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (t, p) in committed.keys() {
        by_topic.entry(t.clone()).or_default().push(*p);
    }
    let names: Vec<String> = by_topic.keys().cloned().collect();
    let meta = if names.is_empty() {
        None
    } else {
        // A topic deleted since the commit is simply absent from the answer.
        match metadata::fetch(ctx.cluster(), metadata::Topics::Named(&names), ctx.deadline).await {
            Ok(m) => Some(m),
            Err(e) if e.kafka_code() == Some(kafka_protocol::ResponseError::UnknownTopicOrPartition) => None,
            Err(e) => return Err(e.into()),
        }
    };
    let calls = by_topic.iter().filter_map(|(t, parts)| {
        let topic = meta.as_ref()?.topic(t)?.clone();
        let parts: Vec<i32> = parts.iter().copied().filter(|p| topic.partition(*p).is_some()).collect();
        Some(async move {
            let ends = offsets::list(ctx.cluster(), &topic, &parts, offsets::LATEST, ctx.deadline).await;
            (topic.name.clone(), ends)
        })
    });
    let mut rows = Vec::new();
    for (topic, ends) in futures::future::join_all(calls).await {
        for (partition, end) in ends? {
            let current = committed.get(&(topic.clone(), partition)).copied().unwrap_or(0);
            let owner = g.members.iter().find(|m| m.assignment.iter().any(|(t, p)| *t == topic && *p == partition));
            rows.push(LagRow { topic: topic.clone(), partition, current, end, owner });
        }
    }
    rows.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(rows)
}

fn lag_view(links: &Links, g: &Group, r: &LagRow<'_>) -> Value {
    resource(
        "KafkaConsumerLag",
        links.url(&format!("/consumer-groups/{}/lags/{}/partitions/{}", g.id, r.topic, r.partition)),
        links.crn(&format!("/consumer-group={}/lag={}/partition={}", g.id, r.topic, r.partition)),
        json!({
            "cluster_id": links.cluster_id(),
            "consumer_group_id": g.id,
            "topic_name": r.topic,
            "partition_id": r.partition,
            "current_offset": r.current,
            "log_end_offset": r.end,
            "lag": (r.end - r.current).max(0),
            "consumer_id": r.owner.map_or("", |m| m.member_id.as_str()),
            "instance_id": r.owner.and_then(|m| m.instance_id.clone()),
            "client_id": r.owner.map_or("", |m| m.client_id.as_str()),
        }),
    )
}

pub async fn lags<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, g) = one_group(ctx).await?;
    let rows = lags_of(ctx, &g).await?;
    let links = Links::new(ctx, &cluster_id);
    let data = rows.iter().map(|r| lag_view(&links, &g, r)).collect();
    Ok(ctx.json(
        StatusCode::OK,
        &collection("KafkaConsumerLagList", links.url(&format!("/consumer-groups/{}/lags", g.id)), data),
    ))
}

pub async fn lag<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, g) = one_group(ctx).await?;
    let (topic, partition) = (ctx.param("topic").to_owned(), ctx.param("partition").to_owned());
    let rows = lags_of(ctx, &g).await?;
    let row = rows.iter().find(|r| r.topic == topic && r.partition.to_string() == partition).ok_or_else(|| {
        ApiError::not_found(format!(
            "Consumer group '{}' has no committed offset for partition {partition} of '{topic}'.",
            g.id
        ))
    })?;
    Ok(ctx.json(StatusCode::OK, &lag_view(&Links::new(ctx, &cluster_id), &g, row)))
}

pub async fn lag_summary<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, g) = one_group(ctx).await?;
    let rows = lags_of(ctx, &g).await?;
    // As Confluent's lag summary: a group without committed offsets has no summary (404); a
    // partition nobody owns (an EMPTY group) names no consumer ("" ids, as Confluent writes them).
    let lag = |r: &LagRow<'_>| (r.end - r.current).max(0);
    let Some(max) = rows.iter().max_by_key(|r| lag(r)) else {
        return Err(ApiError::not_found("Consumer group offsets could not be found."));
    };
    let links = Links::new(ctx, &cluster_id);
    let total: i64 = rows.iter().map(lag).sum();
    let owner = max.owner;
    let consumer_id = owner.map_or("", |m| m.member_id.as_str());
    let v = resource(
        "KafkaConsumerGroupLagSummary",
        links.url(&format!("/consumer-groups/{}/lag-summary", g.id)),
        links.crn(&format!("/consumer-group={}/lag-summary", g.id)),
        json!({
            "cluster_id": cluster_id,
            "consumer_group_id": g.id,
            "max_lag_consumer_id": consumer_id,
            "max_lag_instance_id": owner.and_then(|m| m.instance_id.clone()),
            "max_lag_client_id": owner.map_or("", |m| m.client_id.as_str()),
            "max_lag_topic_name": max.topic,
            "max_lag_partition_id": max.partition,
            "max_lag": lag(max),
            "total_lag": total,
            "max_lag_consumer": links.related(&format!("/consumer-groups/{}/consumers/{consumer_id}", g.id)),
            "max_lag_partition": links.related(&format!("/topics/{}/partitions/{}", max.topic, max.partition)),
        }),
    );
    Ok(ctx.json(StatusCode::OK, &v))
}
