//! v3 replicas (from Metadata): a partition's replicas, one replica, a broker's partition replicas.

use http::StatusCode;
use serde_json::{Value, json};

use super::topics::checked_topic;
use super::{Links, checked_metadata, collection, resource};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::metadata::{Partition, Topics};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

fn replica_view(links: &Links, topic: &str, p: &Partition, broker: i32) -> Value {
    let base = format!("/topics/{topic}/partitions/{}/replicas/{broker}", p.id);
    resource(
        "KafkaReplica",
        links.url(&base),
        links.crn(&format!("/topic={topic}/partition={}/replica={broker}", p.id)),
        json!({
            "cluster_id": links.cluster_id(),
            "topic_name": topic,
            "partition_id": p.id,
            "broker_id": broker,
            "is_leader": p.leader == broker,
            "is_in_sync": p.isr.contains(&broker),
            "broker": links.related(&format!("/brokers/{broker}")),
        }),
    )
}

async fn partition<C: Connect, R: Runtime, K: KvStore>(
    ctx: &Ctx<'_, C, R, K>,
) -> ApiResult<(String, String, Partition)> {
    let name = ctx.param("topic");
    validate::topic_name(name)?;
    let id = validate::partition_id(name, ctx.param("partition"))?;
    let (cluster_id, topic) = checked_topic(ctx, name).await?;
    let p = topic.partition(id).cloned().ok_or_else(|| ApiError::partition_not_found(name, id))?;
    Ok((cluster_id, topic.name, p))
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, topic, p) = partition(ctx).await?;
    let links = Links::new(ctx, &cluster_id);
    let data = p.replicas.iter().map(|&b| replica_view(&links, &topic, &p, b)).collect();
    let self_url = links.url(&format!("/topics/{topic}/partitions/{}/replicas", p.id));
    Ok(ctx.json(StatusCode::OK, &collection("KafkaReplicaList", self_url, data)))
}

pub async fn get<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let broker = validate::broker_id(ctx.param("broker"))?;
    let (cluster_id, topic, p) = partition(ctx).await?;
    if !p.replicas.contains(&broker) {
        return Err(ApiError::not_found(format!(
            "Broker {broker} holds no replica of partition {} of '{topic}'.",
            p.id
        )));
    }
    Ok(ctx.json(StatusCode::OK, &replica_view(&Links::new(ctx, &cluster_id), &topic, &p, broker)))
}

/// Every partition replica a broker holds.
pub async fn of_broker<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let broker = validate::broker_id(ctx.param("broker"))?;
    let meta = checked_metadata(ctx, Topics::All).await?;
    if !meta.brokers.iter().any(|b| b.id == broker) {
        return Err(ApiError::broker_not_found(broker));
    }
    let links = Links::new(ctx, &meta.cluster_id);
    let data = meta
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.replicas.contains(&broker))
                .map(|p| replica_view(&links, &t.name, p, broker))
        })
        .collect();
    Ok(ctx.json(
        StatusCode::OK,
        &collection("KafkaReplicaList", links.url(&format!("/brokers/{broker}/partition-replicas")), data),
    ))
}
