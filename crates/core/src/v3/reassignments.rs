//! v3 reassignments in progress (ListPartitionReassignments): all, a topic's, one partition's.

use http::StatusCode;
use serde_json::{Value, json};

use super::{Links, collection, resource};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::kafka::ops::reassignments::{self, Reassignment};
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::validate;

fn view(links: &Links, r: &Reassignment) -> Value {
    let base = format!("/topics/{}/partitions/{}", r.topic, r.partition);
    resource(
        "KafkaReassignment",
        links.url(&format!("{base}/reassignment")),
        links.crn(&format!("/topic={}/partition={}/reassignment", r.topic, r.partition)),
        json!({
            "cluster_id": links.cluster_id(),
            "topic_name": r.topic,
            "partition_id": r.partition,
            "adding_replicas": r.adding,
            "removing_replicas": r.removing,
            "replicas": links.related(&format!("{base}/replicas")),
        }),
    )
}

pub async fn all<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let cluster_id = ctx.check_cluster().await?;
    let list = reassignments::list(ctx.cluster(), None, ctx.deadline).await?;
    let links = Links::new(ctx, &cluster_id);
    let data = list.iter().map(|r| view(&links, r)).collect();
    Ok(ctx.json(
        StatusCode::OK,
        &collection("KafkaReassignmentList", links.url("/topics/-/partitions/-/reassignment"), data),
    ))
}

pub async fn of_topic<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let (cluster_id, topic) = super::topics::checked_topic(ctx, ctx.param("topic")).await?;
    let all: Vec<i32> = topic.partitions.iter().map(|p| p.id).collect();
    let list = reassignments::list(ctx.cluster(), Some((&topic.name, &all)), ctx.deadline).await?;
    let links = Links::new(ctx, &cluster_id);
    let data = list.iter().map(|r| view(&links, r)).collect();
    let self_url = links.url(&format!("/topics/{}/partitions/-/reassignment", topic.name));
    Ok(ctx.json(StatusCode::OK, &collection("KafkaReassignmentList", self_url, data)))
}

pub async fn of_partition<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let name = ctx.param("topic");
    validate::topic_name(name)?;
    let id = validate::partition_id(name, ctx.param("partition"))?;
    let (cluster_id, topic) = super::topics::checked_topic(ctx, name).await?;
    if topic.partition(id).is_none() {
        return Err(ApiError::partition_not_found(name, id));
    }
    let list = reassignments::list(ctx.cluster(), Some((name, &[id])), ctx.deadline).await?;
    let r = list
        .iter()
        .find(|r| r.partition == id)
        .ok_or_else(|| ApiError::not_found(format!("No reassignment in progress for partition {id} of '{name}'.")))?;
    Ok(ctx.json(StatusCode::OK, &view(&Links::new(ctx, &cluster_id), r)))
}
